import EvaluatorCore
import EvaluatorProtocol
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

    func restored(_ sessions: [Session]) {
        for s in sessions {
            logger.info("restored open evaluation", metadata: [
                "window": "\(s.windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)",
                "expires_at": "\(s.expiresAt)",
            ])
        }
    }
}
