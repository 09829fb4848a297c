import EvaluatorAPI
import EvaluatorCore
import EvaluatorDevices
import EvaluatorProtocol
import EvaluatorStore
import EvaluatorUplink
import Foundation
import Logging

/// Device-side state of one pad, for status and health logs.
struct PadState {
    var presses = 0
    /// Presses on `day` (the box's local calendar day).
    var pressesToday = 0
    var day = ""
    var lastPressAt: Millis?
    var errors = 0
    /// USB pads: the node being read, nil while detached.
    var attachedPath: String?
}

struct BusState {
    var port: SerialPort?
    var errors = 0
}

/// The heart of the daemon: owns the window-session policy and applies its decisions — commit
/// records durably first, then prompt or acknowledge pads. An actor, so events from the API,
/// the buses and the session clock are applied one at a time.
public actor Gateway: EvaluationService {
    public let config: GatewayConfig
    let store: Store
    let logger: Logger
    let clock: @Sendable () -> Millis
    let makeID: @Sendable () -> String
    let uplinkWake: Signal
    let uplinkMonitor: UplinkMonitor
    /// Fired when a session is saved, so the session clock can sleep until the next deadline.
    public nonisolated let deadlinesChanged = Signal()
    let startedAt: Millis
    let registry: DeviceRegistry?
    private var policy: WindowSessions
    private var buses: [String: BusState] = [:]
    private var pads: [String: PadState] = [:]
    private var loggedUnknownKeys: Set<String> = []
    /// Windows by id and by serial pad ("bus#address"), built once: looked up on every press.
    private let windowsByID: [String: WindowConfig]
    private let windowsBySerialPad: [String: WindowConfig]

    public init(
        config: GatewayConfig, store: Store, logger: Logger, registry: DeviceRegistry? = nil,
        uplinkWake: Signal = Signal(), uplinkMonitor: UplinkMonitor = UplinkMonitor(),
        clock: @escaping @Sendable () -> Millis = { Millis(date: Date()) },
        makeID: @escaping @Sendable () -> String = { RandomID.uuid() }
    ) throws(StoreError) {
        self.config = config
        self.store = store
        self.logger = logger
        self.clock = clock
        self.makeID = makeID
        self.uplinkWake = uplinkWake
        self.uplinkMonitor = uplinkMonitor
        self.registry = registry
        self.startedAt = clock()
        windowsByID = Dictionary(config.windows.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        windowsBySerialPad = Dictionary(config.windows.compactMap { w in
            guard let bus = w.pad?.bus, let address = w.pad?.address else { return nil }
            return ("\(bus)#\(address)", w)
        }, uniquingKeysWith: { a, _ in a })
        let restored = try store.openSessions()
        policy = WindowSessions(config: config.policyConfig, restoring: restored)
        for s in restored {
            logger.info("restored open evaluation", metadata: [
                "window": "\(s.windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)",
                "expires_at": "\(s.expiresAt)",
            ])
        }
    }

    // MARK: Applying decisions (group commit)

    /// What to do for one event once its group is durable: talk to the pads, count the press.
    private struct AfterCommit {
        var decisions: [Decision]
        /// The pad whose press this was: counted once acked, charged an error if the commit fails.
        var pad: String?
        var countOnlyFirstAck: Bool
        var at: Millis
    }

    /// Events whose store changes are committed together, in arrival order, in one transaction.
    private struct CommitGroup {
        /// The policy before the group's first event: put back if the commit fails.
        var before: WindowSessions
        var changes: [StoreChange] = []
        var after: [AfterCommit] = []
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    /// Events applied to the policy, not committed yet. They are committed as soon as the
    /// commit in flight (`inFlight`, if any) is done: one fsync for all the presses that
    /// arrived meanwhile.
    private var pending: CommitGroup?
    private var inFlight: CommitGroup?
    /// A commit task is queued on the actor (one task per burst, not one per event).
    private var commitScheduled = false
    /// Group commits made and events they carried, for status and the benchmark.
    public private(set) var commitStats = (groups: 0, events: 0)

    /// Runs one event through the policy and queues its store changes for the next group
    /// commit. Pads are prompted or acknowledged only after that commit is durable (R7); if it
    /// fails, the policy is put back as it was before the group and nothing in it is
    /// acknowledged: the pads send again.
    @discardableResult
    private func apply(_ event: SessionEvent, pad: String? = nil, countOnlyFirstAck: Bool = false) -> [Decision] {
        if pending == nil { pending = CommitGroup(before: policy) }
        let decisions = policy.handle(event)
        let now = clock()
        var records: [RatingRecord] = []
        var saves: [Session] = []
        var removes: [String] = []
        for d in decisions {
            switch d {
            case let .record(draft):
                records.append(RatingRecord(recordID: makeID(), gatewayID: config.gatewayID, region: config.region, recordedAt: now, draft: draft))
            case let .saveSession(s): saves.append(s)
            case let .removeSession(id): removes.append(id)
            default: break
            }
        }
        let change = StoreChange(records: records, saveSessions: saves, removeSessions: removes)
        if !change.isEmpty { pending!.changes.append(change) }
        pending!.after.append(AfterCommit(decisions: decisions, pad: pad, countOnlyFirstAck: countOnlyFirstAck, at: now))
        if inFlight == nil && !commitScheduled {
            commitScheduled = true
            Task { await self.commitPending() }
        }
        return decisions
    }

    /// Applies an event and waits until it is durable (the API answers only then).
    private func applyAndWait(_ event: SessionEvent) async throws(StoreError) -> [Decision] {
        let decisions = apply(event)
        do {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                pending!.waiters.append(c) // set by `apply` just above, in the same turn of the actor
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(code: .write, path: store.path, message: "\(error)")
        }
        return decisions
    }

    /// Commits the pending group, then the one that gathered meanwhile, until none is left.
    private func commitPending() async {
        commitScheduled = false
        while inFlight == nil, let group = pending {
            pending = nil
            inFlight = group
            var failure: StoreError?
            let changes = group.changes
            if !changes.isEmpty {
                do { try await store.commitAsync(changes) } catch { failure = error }
            }
            inFlight = nil
            if failure == nil, !changes.isEmpty {
                commitStats.groups += 1
                commitStats.events += changes.count
            }
            if let failure {
                // Everything applied since the group began is undone, the group that gathered
                // meanwhile included: it was applied on top of this one.
                policy = group.before
                var failed = [group]
                if let later = pending { failed.append(later) }
                pending = nil
                logger.error("store cannot write; nothing acknowledged", metadata: [
                    "error": "\(failure)", "store.path": "\(store.path)",
                    "events": "\(failed.reduce(0) { $0 + $1.after.count })",
                ])
                for g in failed {
                    for a in g.after { if let pad = a.pad { pads[pad, default: PadState()].errors += 1 } }
                    for w in g.waiters { w.resume(throwing: failure) }
                }
                return
            }
            finish(group)
        }
    }

    /// The group is durable: log its records, wake the uplink and the session clock, talk to
    /// the pads, answer the API.
    private func finish(_ group: CommitGroup) {
        let records = group.changes.flatMap(\.records)
        for r in records { logRecord(r) }
        if !records.isEmpty { uplinkWake.fire() }
        if group.changes.contains(where: { !$0.saveSessions.isEmpty }) { deadlinesChanged.fire() }
        for a in group.after {
            var acked = false
            for d in a.decisions {
                switch d {
                case let .prompt(windowID): prompt(windowID: windowID)
                case let .ack(pad, key, repeated):
                    ack(pad: pad, key: key, repeated: repeated)
                    if !repeated { acked = true }
                case let .unknownKey(pad, key):
                    if loggedUnknownKeys.insert("\(pad)/\(key)").inserted {
                        logger.warning("unknown key ignored (logged once per key)", metadata: ["pad": "\(pad)", "key": "\(key)"])
                    }
                case let .strayReason(pad, key, reason):
                    logger.notice("reason key with no bad rating waiting for it; ignored", metadata: ["pad": "\(pad)", "key": "\(key)", "reason": "\(reason)"])
                default: break
                }
            }
            if let pad = a.pad, acked || !a.countOnlyFirstAck { countPress(pad, at: a.at) }
        }
        flushOutgoing()
        for w in group.waiters { w.resume() }
    }

    /// True while a record rating one of these cases waits for its commit (R3: an API request
    /// for such a case must not slip in before the store shows it rated).
    private func uncommittedRating(among caseIDs: [String]) -> String? {
        let wanted = Set(caseIDs)
        for group in [inFlight, pending].compactMap({ $0 }) {
            for change in group.changes {
                for r in change.records where r.draft.outcome == .rated {
                    if let hit = ([r.draft.caseID].compactMap { $0 } + r.draft.batchCaseIDs).first(where: wanted.contains) { return hit }
                }
            }
        }
        return nil
    }

    private func logRecord(_ r: RatingRecord) {
        let d = r.draft
        logger.info("record stored", metadata: [
            "record_id": "\(r.recordID)", "outcome": "\(d.outcome.rawValue)", "window": "\(d.windowID ?? "-")",
            "case_id": "\(d.caseID ?? "-")", "level": "\(d.level?.rawValue ?? "-")", "pad": "\(d.pad ?? "-")",
            "flags": "\(d.flags.map(\.rawValue).joined(separator: ","))",
        ])
    }

    // MARK: Pads

    /// Frames for the pads, gathered while a committed group is finished and written with one
    /// write(2) per bus (64 acks after a 64-press group commit are one write, not 64).
    private var outgoing: [String: [Framed68Frame]] = [:]

    private func send(_ frame: Framed68Frame, bus: String) {
        outgoing[bus, default: []].append(frame)
    }

    private func flushOutgoing() {
        for (bus, frames) in outgoing.sorted(by: { $0.key < $1.key }) {
            let what = { frames.map { "\($0)" }.joined(separator: ", ") }
            guard let port = buses[bus]?.port else {
                logger.warning("cannot send to pad: bus not attached", metadata: ["bus": "\(bus)", "frames": "\(what())"])
                continue
            }
            do {
                try port.write(frames.flatMap { $0.encoded() })
            } catch {
                buses[bus]?.errors += 1
                logger.warning("write to bus failed", metadata: ["bus": "\(bus)", "frames": "\(what())", "error": "\(error)"])
            }
        }
        outgoing = [:]
    }

    private func prompt(windowID: String) {
        guard let pad = windowsByID[windowID]?.pad, let bus = pad.bus, let address = pad.address else {
            return // USB HID pads have no prompt channel.
        }
        send(.startRating(address: address), bus: bus)
    }

    private func ack(pad: String, key: Int, repeated: Bool) {
        guard let (bus, address) = Self.splitPad(pad) else { return }
        send(.ack(address: address, key: UInt8(truncatingIfNeeded: key)), bus: bus)
    }

    static func splitPad(_ pad: String) -> (String, UInt8)? {
        guard let hash = pad.lastIndex(of: "#"), let a = UInt8(pad[pad.index(after: hash)...]) else { return nil }
        return (String(pad[..<hash]), a)
    }

    public func busAttached(_ busID: String, port: SerialPort) {
        buses[busID, default: BusState()].port = port
    }

    public func busDetached(_ busID: String) {
        buses[busID]?.port = nil
    }

    /// The valid frames of one read from a bus, handled in one turn of the actor: presses that
    /// arrive together are committed together.
    public func handleFrames(bus: String, frames: [Framed68Frame]) {
        for frame in frames { handleFrame(bus: bus, frame: frame) }
    }

    /// A valid frame arrived on a bus.
    public func handleFrame(bus: String, frame: Framed68Frame) {
        guard let key = frame.pressedKey else {
            logger.debug("ignored frame that is not an evaluator press", metadata: ["bus": "\(bus)", "frame": "\(frame)"])
            return
        }
        let padRef = "\(bus)#\(frame.address)"
        let window = windowsBySerialPad[padRef]
        let level = window?.pad?.keymap.level(forKey: Int(key)) ?? KeyMap.framed68FourKey.level(forKey: Int(key))
        apply(.press(windowID: window?.id, pad: padRef, key: Int(key), level: level, at: clock()), pad: padRef, countOnlyFirstAck: true)
    }

    /// A USB HID pad (evdev or hidraw) reported a key-down, as a Linux key code.
    public func handleKey(windowID: String, code: UInt16) {
        guard let window = windowsByID[windowID], let pad = window.pad else { return }
        let key = Int(code)
        let level = pad.keymap.level(forKey: key)
        let reason = pad.keymap.reason(forKey: key)
        if level == nil && reason == nil {
            // Logged once per key and pad; the press is not a rating.
            if loggedUnknownKeys.insert("\(pad.reference)/\(key)").inserted {
                logger.warning("unknown key ignored (logged once per key)", metadata: [
                    "window": "\(windowID)", "pad": "\(pad.reference)", "key": "\(KeyNames.name(key))", "keymap": "\(pad.keymap.name)",
                ])
            }
            return
        }
        apply(.keyPress(windowID: windowID, pad: pad.reference, key: key, level: level, reason: reason,
                        holdsReasons: pad.keymap.hasReasonKeys, at: clock()), pad: pad.reference)
    }

    /// The box's local calendar day, for "presses today", recomputed only when a press falls
    /// outside the day last computed. localtime_r/mktime, not DateFormatter/Calendar: those load
    /// ICU's data into the daemon's memory (idle RSS, issue 6).
    private var today: (start: Millis, end: Millis, name: String) = (Millis(0), Millis(0), "")

    private func dayName(_ now: Millis) -> String {
        if now < today.start || !(now < today.end) {
            var t = time_t(now.value >= 0 ? now.value / 1000 : (now.value - 999) / 1000)
            var parts = tm()
            localtime_r(&t, &parts)
            func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
            let name = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            var first = parts
            first.tm_hour = 0; first.tm_min = 0; first.tm_sec = 0; first.tm_isdst = -1
            var next = first
            next.tm_mday += 1
            let start = Int64(mktime(&first)) * 1000
            let end = Int64(mktime(&next)) * 1000
            today = (Millis(start), Millis(end > start ? end : start + 86_400_000), name)
        }
        return today.name
    }

    private func countPress(_ ref: String, at now: Millis) {
        let day = dayName(now)
        var p = pads[ref] ?? PadState()
        if p.day != day {
            p.day = day
            p.pressesToday = 0
        }
        p.presses += 1
        p.pressesToday += 1
        p.lastPressAt = now
        pads[ref] = p
    }

    public func padAttached(windowID: String, path: String) {
        guard let ref = windowsByID[windowID]?.pad?.reference else { return }
        pads[ref, default: PadState()].attachedPath = path
    }

    public func padDetached(windowID: String) {
        guard let ref = windowsByID[windowID]?.pad?.reference else { return }
        pads[ref, default: PadState()].attachedPath = nil
    }

    public func padError(windowID: String) {
        guard let ref = windowsByID[windowID]?.pad?.reference else { return }
        pads[ref, default: PadState()].errors += 1
    }

    // MARK: Session clock

    public func nextDeadline() -> Millis? { policy.nextDeadline }

    public func tick() {
        let now = clock()
        guard let d = policy.nextDeadline, d <= now else { return }
        apply(.tick(at: now))
    }

    // MARK: EvaluationService (the API)

    public func openEvaluation(windowID: String, request: EvaluationRequest) async throws(APIFailure) -> (Session, reused: Bool) {
        guard config.windows.contains(where: { $0.id == windowID }) else { throw .unknownWindow(windowID) }
        let rated: String?
        do {
            rated = try uncommittedRating(among: request.allCaseIDs) ?? store.firstRatedCase(among: request.allCaseIDs)
        } catch {
            throw APIFailure(status: 503, code: "store_unavailable", message: "\(error)")
        }
        if let rated {
            throw APIFailure(status: 409, code: "already_rated", message: "case \"\(rated)\" has already been rated (one rating per case, R3)")
        }
        let decisions: [Decision]
        do {
            decisions = try await applyAndWait(.open(windowID: windowID, sessionID: makeID(), request: request, at: clock()))
        } catch {
            throw APIFailure(status: 503, code: "store_unavailable", message: "\(error)")
        }
        for d in decisions {
            switch d {
            case let .opened(s, reused):
                logger.info("evaluation opened", metadata: [
                    "window": "\(windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)",
                    "batch_cases": "\(s.request.batchCaseIDs.count)", "expires_at": "\(s.expiresAt)", "reused": "\(reused)",
                ])
                return (s, reused)
            case let .rejected(.caseOpenElsewhere(caseID, other)):
                throw APIFailure(status: 409, code: "case_open_elsewhere", message: "case \"\(caseID)\" is being evaluated at window \"\(other)\" now")
            case .rejected(.unknownWindow): throw .unknownWindow(windowID)
            default: continue
            }
        }
        throw APIFailure(status: 500, code: "internal", message: "policy gave no answer")
    }

    public func cancelEvaluation(windowID: String) async throws(APIFailure) -> Session {
        guard config.windows.contains(where: { $0.id == windowID }) else { throw .unknownWindow(windowID) }
        let decisions: [Decision]
        do {
            decisions = try await applyAndWait(.cancel(windowID: windowID, at: clock()))
        } catch {
            throw APIFailure(status: 503, code: "store_unavailable", message: "\(error)")
        }
        for d in decisions {
            if case let .cancelled(s) = d {
                logger.info("evaluation cancelled", metadata: ["window": "\(windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)"])
                return s
            }
        }
        throw APIFailure(status: 404, code: "no_open_evaluation", message: "window \"\(windowID)\" has no open, unrated evaluation to cancel")
    }

    public func windowViews() async -> [WindowView] {
        config.windows.map { w in
            WindowView(id: w.id, name: w.name, department: w.department, pad: w.pad?.reference,
                       session: policy.sessions[w.id].map(SessionView.init))
        }
    }

    public func padViews() -> [PadView] {
        var views: [PadView] = []
        for bus in config.buses {
            let attached = buses[bus.id]?.port != nil
            let refs = Set(config.windows.compactMap { $0.pad?.bus == bus.id ? $0.pad?.reference : nil })
                .union(pads.keys.filter { $0.hasPrefix(bus.id + "#") })
            for ref in refs.sorted() {
                let p = pads[ref] ?? PadState()
                views.append(PadView(
                    pad: ref, window_id: config.windows.first { $0.pad?.reference == ref }?.id, bus: bus.id, path: bus.port,
                    state: attached ? "attached" : "detached", last_press_at: p.lastPressAt?.rfc3339, presses: p.presses, presses_today: p.pressesToday,
                    errors: p.errors + (buses[bus.id]?.errors ?? 0)
                ))
            }
        }
        for w in config.windows {
            guard let pad = w.pad, pad.bus == nil else { continue }
            let p = pads[pad.reference] ?? PadState()
            let path: String
            switch pad.source {
            case let .hid(_, configured): path = p.attachedPath ?? configured
            case let .udev(_, match): path = p.attachedPath ?? "udev: \(match)"
            case .serial: path = ""
            }
            views.append(PadView(
                pad: pad.reference, window_id: w.id, bus: "usb", path: path, state: p.attachedPath != nil ? "attached" : "detached",
                last_press_at: p.lastPressAt?.rfc3339, presses: p.presses, presses_today: p.pressesToday, errors: p.errors
            ))
        }
        return views
    }

    public func devicesView() async -> DevicesView {
        let devices = await registry?.snapshot() ?? []
        let free = DeviceMatcher.unconfiguredKeypads(windows: config.windows, devices: devices).sorted { $0.devnode < $1.devnode }
        let hotplug = await registry?.available == true ? "on" : "off"
        return DevicesView(pads: padViews(), unconfigured: free.map { d in
            UnconfiguredDeviceView(path: d.devnode, id_path: d.idPath, vendor: d.properties["ID_VENDOR_ID"], product: d.properties["ID_MODEL_ID"],
                                   model: d.properties["ID_MODEL"], config_line: DeviceMatcher.suggestedPadLine(for: d))
        }, hotplug: hotplug)
    }

    public func statusView() async throws(APIFailure) -> StatusView {
        do {
            let up = uplinkMonitor.snapshot
            let lastSent = try store.lastSentAt()
            var view = StatusView(
                gateway_id: config.gatewayID, region: config.region, started_at: startedAt.rfc3339,
                records: try store.recordCount(), backlog: try store.backlogCount(),
                last_upload_at: (up.lastSuccessAt ?? lastSent)?.rfc3339, last_upload_error: up.lastError,
                uplink: config.uplink.map { $0.postgres != nil ? "postgres: \($0.postgres!.host):\($0.postgres!.port)/\($0.postgres!.database) table \($0.postgres!.table)" : $0.url } ?? "none (records kept locally)",
                open_sessions: policy.sessions.count, pads: padViews()
            )
            view.quarantined = try store.quarantinedCount()
            return view
        } catch {
            throw APIFailure(status: 503, code: "store_unavailable", message: "\(error)")
        }
    }
}
