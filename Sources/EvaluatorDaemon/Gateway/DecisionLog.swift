import EvaluatorCore
import EvaluatorProtocol
import EvaluatorStore
import Logging
import Synchronization

/// The journal lines of the policy's decisions, once they are durable: what was stored, keys
/// nobody mapped (once per key), floods, stray reasons, evaluations restored at start. Only
/// words: nothing here decides (issue 21).
final class DecisionLog: Sendable {
    let logger: Logger
    /// Unknown keys already logged ("pad/key").
    private let loggedUnknownKeys = Mutex<Set<String>>([])

    init(_ logger: Logger) { self.logger = logger }

    func cancelled(_ s: Session, caller: String) {
        logger.info("evaluation cancelled", metadata: [
            "window": "\(s.windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)", "caller": "\(caller)",
        ])
    }

    func ignored(_ frame: Framed68Frame, bus: String) {
        logger.debug("ignored frame that is not an evaluator press", metadata: ["bus": "\(bus)", "frame": "\(frame)"])
    }

    /// A group commit failed: nothing in it was acknowledged (the pads send again).
    func commitFailed(_ failure: StoreError, path: String, events: Int) {
        logger.error("store cannot write; nothing acknowledged", metadata: [
            "error": "\(failure)", "store.path": "\(path)", "events": "\(events)",
        ])
    }

    func stored(_ r: RatingRecord) {
        let d = r.draft
        logger.info("record stored", metadata: [
            "record_id": "\(r.recordID)", "outcome": "\(d.outcome.rawValue)", "window": "\(d.windowID ?? "-")",
            "case_id": "\(d.caseID ?? "-")", "level": "\(d.level?.rawValue ?? "-")", "pad": "\(d.pad?.description ?? "-")",
            "flags": "\(d.flags.map(\.rawValue).joined(separator: ","))",
        ])
    }

    /// The words for one durable decision (those that need any).
    func decided(_ d: Decision, pads: PadDirectory) {
        switch d {
        case let .unknownKey(pad, key):
            guard loggedUnknownKeys.withLock({ $0.insert("\(pad)/\(key)").inserted }) else { return }
            let entry = pads.entry(for: pad)
            logger.warning("unknown key ignored (logged once per key)", metadata: [
                "window": "\(entry?.windowID ?? "-")", "pad": "\(pad)", "key": "\(pad.retransmits ? "\(key)" : KeyNames.name(key))",
                "keymap": "\(entry?.keymap.name ?? PadDirectory.unownedSerialKeymap.name)",
            ])
        case let .flooding(pad, max, _):
            logger.warning("pad flooding: presses beyond the per-minute limit are counted into one record per minute (logged once per minute)", metadata: [
                "pad": "\(pad)", "max_presses_per_minute": "\(max)",
            ])
        case let .strayReason(pad, key, reason):
            logger.notice("reason key with no bad rating waiting for it; ignored", metadata: ["pad": "\(pad)", "key": "\(key)", "reason": "\(reason)"])
        default: return
        }
    }

    func opened(_ s: Session, reused: Bool, updated: Bool, prompted: Bool, caller: String) {
        logger.log(level: prompted ? .info : .warning, updated ? "evaluation updated" : prompted ? "evaluation opened"
                   : "evaluation opened while the window's pad is absent or detached: the citizen is not prompted; its record is flagged pad_offline", metadata: [
            "window": "\(s.windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)",
            "batch_cases": "\(s.request.batchCaseIDs.count)", "expires_at": "\(s.expiresAt)", "reused": "\(reused)",
            "caller": "\(caller)", "prompted": "\(prompted)",
        ])
    }

    func windowState(_ windowID: String, before: WindowState, after state: WindowState, caller: String) {
        logger.notice(state.paused != before.paused ? (state.paused ? "window paused" : "window resumed")
                      : state.staff.map { _ in "staff signed in" } ?? "staff signed out", metadata: [
            "window": "\(windowID)", "staff_id": "\(state.staff?.staffID ?? before.staff?.staffID ?? "-")", "caller": "\(caller)",
        ])
    }

    func restored(_ sessions: [Session]) {
        for s in sessions {
            logger.info("restored open evaluation", metadata: [
                "window": "\(s.windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)",
                "expires_at": "\(s.expiresAt)",
            ])
        }
    }
}
