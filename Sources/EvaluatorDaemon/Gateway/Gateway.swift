import EvaluatorCore
import EvaluatorStore
import EvaluatorSupport
import EvaluatorUplink
import Foundation
import Logging

/// The heart of the daemon: owns the window-session policy and applies its decisions — commit
/// records durably first (`GroupCommit`), then tell the pads (`PadCommandRouter`) and answer
/// the API. An actor, so events from the API, the pads and the session clock are applied one
/// at a time. Device input is turned into events in `Gateway+Devices.swift`, the API's calls
/// in `Gateway+API.swift`; pad statistics live off the actor in `PadStats`.
public actor Gateway {
    public private(set) var config: GatewayConfig
    let store: Store
    let logger: Logger
    let clock: @Sendable () -> Millis
    let makeID: @Sendable () -> String
    let uplinkWake: WakeSignal
    let uplinkMonitor: UplinkMonitor
    let registry: DeviceRegistry?
    let padCommands: PadCommandRouter
    /// Fired when a session is saved, so the session clock can sleep until the next deadline.
    public nonisolated let deadlinesChanged = WakeSignal()
    /// Fired when events wait for their commit: the `CommitService` commits them.
    nonisolated let commitWork = WakeSignal()
    public nonisolated let stats: PadStats
    /// `/metrics` (a registry of this gateway's own).
    public nonisolated let metrics: DaemonMetrics
    /// Open evaluations found in the store at start.
    public nonisolated let restoredSessions: Int
    /// Screen pads paired with `evaluatorctl pair` (issue 20); nil in tests that pair nothing.
    nonisolated let pairings: PadPairings?
    let startedAt: Millis
    var policy: WindowSessions
    var commits = GroupCommit()
    let log: DecisionLog
    /// The hall as of the last durable commit, for readers that must not wait on the actor.
    nonisolated let board: HallBoard
    /// Problems found at start, admin actions and a replaced store, as `audit` records.
    public nonisolated let auditor: AuditWriter

    public init(
        config: GatewayConfig, store: Store, logger: Logger, registry: DeviceRegistry? = nil,
        padCommands: PadCommandRouter = PadCommandRouter(), stats: PadStats = PadStats(), metrics: DaemonMetrics = DaemonMetrics(),
        uplinkWake: WakeSignal = WakeSignal(), uplinkMonitor: UplinkMonitor = UplinkMonitor(), pairings: PadPairings? = nil,
        clock: @escaping @Sendable () -> Millis = { Millis(date: Date()) },
        makeID: @escaping @Sendable () -> String = { RandomID.uuidV7(unixMillis: Millis(date: Date()).value) }
    ) throws(StoreError) {
        self.config = config
        self.store = store
        self.logger = logger
        log = DecisionLog(logger)
        self.clock = clock
        self.makeID = makeID
        self.uplinkWake = uplinkWake
        self.uplinkMonitor = uplinkMonitor
        self.registry = registry
        self.pairings = pairings
        self.padCommands = padCommands
        self.stats = stats
        self.metrics = metrics
        metrics.declare(windows: config.windows)
        self.startedAt = clock()
        let restored = try store.openSessions()
        restoredSessions = restored.count
        let policy = WindowSessions(config: config.policyConfig, restoring: restored, floods: try store.openFloods(), windowStates: try store.windowStates())
        self.policy = policy
        board = HallBoard(HallState(config: config, sessions: policy.sessions, windowStates: policy.windowStates))
        auditor = AuditWriter(store: store, board: board, logger: logger, uplinkWake: uplinkWake, clock: clock, makeID: makeID)
        stats.seedToday(from: store, config: config, at: clock())
        log.restored(restored)
    }

    /// A reload's new configuration (already checked by `ConfigReload`): windows, key maps,
    /// session knobs and signals take effect for the next event; open evaluations stay open.
    func reload(_ new: GatewayConfig) async {
        config = new
        policy.reconfigure(new.policyConfig)
        board.update { $0.config = new }
        metrics.declare(windows: new.windows)
        await registry?.update(windows: new.windows)
    }

    func noteReload(_ result: ReloadResult) async {
        board.update { $0.lastReload = result }
        let changes = result.changes.isEmpty ? "" : ": " + result.changes.joined(separator: "; ")
        await adminAudit(caller: result.trigger, "reload \(result.outcome)\(result.outcome == .refused ? " (\(result.message))" : changes)")
    }

    /// Answers once the actor runs it: the watchdog's proof that the gateway is not stuck.
    public func heartbeat() {}

    /// Group commits made and events they carried, for the benchmark and tests.
    public var commitStats: (groups: Int, events: Int) { commits.stats }

    // MARK: Applying events

    /// Runs one event through the policy and queues its store changes for the next group
    /// commit. Pads are prompted or acknowledged only after that commit is durable (R7); if it
    /// fails, the policy is put back as it was before the group and nothing in it is
    /// acknowledged: the pads send again.
    @discardableResult
    func apply(_ event: SessionEvent, pad: PadID? = nil) -> [Decision] {
        applyRecording(event, pad: pad).decisions
    }

    /// `apply`, also returning the records the event made (with their ids).
    func applyRecording(_ event: SessionEvent, pad: PadID? = nil) -> (decisions: [Decision], records: [RatingRecord]) {
        // The policy as it was before the group's first event (put back if the commit fails).
        // Kept only for that first event: holding it across every event would make each
        // event's change copy the whole policy (copy-on-write).
        let before: WindowSessions? = commits.pending == nil ? policy : nil
        let decisions = policy.handle(event)
        let now = clock()
        var records: [RatingRecord] = []
        var saves: [Session] = []
        var removes: [String] = []
        var floods: [Flood] = []
        var floodsEnded: [PadID] = []
        var windowStates: [String: WindowState] = [:]
        for d in decisions {
            switch d {
            case let .record(draft):
                records.append(RatingRecord(recordID: makeID(), gatewayID: config.gatewayID, region: config.region, recordedAt: now, draft: draft))
            case let .saveSession(s): saves.append(s)
            case let .removeSession(id): removes.append(id)
            case let .saveFlood(f): floods.append(f)
            case let .removeFlood(pad): floodsEnded.append(pad)
            case let .saveWindowState(w, state): windowStates[w] = state
            default: break
            }
        }
        let change = StoreChange(records: records, saveSessions: saves, removeSessions: removes, saveFloods: floods, removeFloods: floodsEnded,
                                 saveWindowStates: windowStates, chainID: records.isEmpty ? nil : store.chainID)
        if commits.add(change, .init(decisions: decisions, pad: pad, at: now), policyBefore: before!) {
            commitWork.fire()
        }
        return (decisions, records)
    }

    /// Applies an event and waits until it is durable (the API answers only then).
    func applyAndWait(_ event: SessionEvent) async throws(StoreError) -> [Decision] {
        try await applyAndWaitRecording(event).decisions
    }

    /// `applyAndWait`, also returning the records the event made.
    func applyAndWaitRecording(_ event: SessionEvent, pad: PadID? = nil) async throws(StoreError) -> (decisions: [Decision], records: [RatingRecord]) {
        let result = applyRecording(event, pad: pad)
        do {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                commits.addWaiter(c) // the group `apply` just used, in the same turn of the actor
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(code: .write, path: store.path, message: "\(error)")
        }
        return result
    }

    /// Commits the pending group, then the one that gathered meanwhile, until none is left.
    func commitPending() async {
        while let group = commits.takePending() {
            if !group.changes.isEmpty {
                do {
                    try await store.commit(group.changes)
                } catch where error.code == .corrupt {
                    // SQLite says the file is damaged: a new store takes over and the group is
                    // committed there (a USB pad does not send its press again).
                    await storeDamaged(error.message)
                    do {
                        try await store.commit(group.changes)
                    } catch {
                        fail(error)
                        return
                    }
                } catch {
                    fail(error)
                    return
                }
            }
            commits.committed()
            finish(group)
        }
    }

    /// The commit failed: everything applied since the group began is undone, and nothing in
    /// it (or in the group that gathered meanwhile) is acknowledged.
    private func fail(_ failure: StoreError) {
        let failed = commits.failed()
        if let first = failed.first { policy = first.before }
        board.update { $0.commitFailure = failure.message }
        logger.error("store cannot write; nothing acknowledged", metadata: [
            "error": "\(failure)", "store.path": "\(store.path)",
            "events": "\(failed.reduce(0) { $0 + $1.after.count })",
        ])
        for g in failed {
            for a in g.after { if let pad = a.pad { stats.padError(pad) } }
            for w in g.waiters { w.resume(throwing: failure) }
        }
    }

    /// The group is durable: log its records, wake the uplink and the session clock, tell the
    /// pads, answer the API.
    private func finish(_ group: GroupCommit.Group) {
        let records = group.changes.flatMap(\.records)
        for r in records {
            log.stored(r)
            metrics.record(outcome: r.draft.outcome.rawValue, level: r.draft.level?.rawValue)
        }
        let now = clock()
        if !records.isEmpty { uplinkWake.fire() }
        if group.changes.contains(where: { !$0.saveSessions.isEmpty || !$0.saveFloods.isEmpty }) { deadlinesChanged.fire() }
        var commands: [PadCommand] = []
        for a in group.after {
            var acked = false
            for d in a.decisions {
                switch d {
                case let .prompt(pad, until): commands.append(.prompt(pad, until: until))
                case let .ack(pad, key, repeated):
                    commands.append(.ack(pad, key: key))
                    if !repeated { acked = true }
                case .screenRated: acked = true // the screen service sends the ack (it waits for this commit)
                case let .flooding(pad, _, until):
                    stats.flooding(pad, until: until)
                    log.decided(d, pads: policy.config.pads)
                case .unknownKey, .strayReason: log.decided(d, pads: policy.config.pads)
                default: break
                }
            }
            if let pad = a.pad {
                metrics.press(window: policy.config.pads.entry(for: pad)?.windowID)
                if acked {
                    stats.countPress(pad, at: a.at)
                    metrics.pressToAck(ms: now.value - a.at.value)
                }
            }
        }
        commands += PadCommand.screenRefreshes(group.changes, pads: policy.config.pads)
        // What is durable now: the policy before the group that gathered meanwhile, if any.
        let durable = commits.pending?.before ?? policy
        board.update {
            $0.sessions = durable.sessions
            $0.windowStates = durable.windowStates
            $0.commitFailure = nil
        }
        padCommands.send(commands)
        for w in group.waiters { w.resume() }
    }

    /// The store file is damaged (at a write, or found by the background check): replaced,
    /// carrying the open evaluations, flood counts and window states (`AuditWriter`).
    func storeDamaged(_ reason: String) async {
        await auditor.replaceDamaged(reason, carrying: policy)
    }

    func adminAudit(caller: String, _ what: String) async { await auditor.adminAudit(caller: caller, what) }

    /// The background check's finding (`StoreCheckService`).
    public func backgroundCheck(_ result: String) async {
        guard result != "ok" else { return }
        await storeDamaged("quick_check: \(result)")
    }

    // MARK: Session clock

    public func nextDeadline() -> Millis? { policy.nextDeadline }

    public func tick() {
        let now = clock()
        guard let d = policy.nextDeadline, d <= now else { return }
        apply(.tick(at: now))
    }
}
