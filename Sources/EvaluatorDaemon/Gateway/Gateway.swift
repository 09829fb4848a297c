import EvaluatorCore
import EvaluatorStore
import EvaluatorSupport
import Foundation
import Logging

/// The heart of the daemon: owns the window-session policy and applies its decisions — commit
/// records durably first (`GroupCommit`), then tell the pads (`PadCommandRouter`) and answer
/// the API. An actor, so events from the API, the pads and the session clock are applied one
/// at a time. Device input is turned into events in `Gateway+Devices.swift`, the API's calls
/// in `Gateway+API.swift`; pad statistics live off the actor in `PadStats`.
public actor Gateway {
    /// The gateway's id and region, which name every record (a reload may not change them).
    let origin: (gatewayID: String, region: String)
    let store: Store
    let clock: @Sendable () -> Millis
    let makeID: @Sendable () -> String
    let uplinkWake: WakeSignal
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
    var policy: WindowSessions
    var commits = GroupCommit()
    /// The journal: what was decided, once durable.
    nonisolated let log: DecisionLog
    /// The hall as of the last durable commit, for readers that must not wait on the actor.
    nonisolated let board: HallBoard
    /// Problems found at start, admin actions and a replaced store, as `audit` records.
    public nonisolated let auditor: AuditWriter

    public init(
        config: GatewayConfig, store: Store, logger: Logger,
        padCommands: PadCommandRouter = PadCommandRouter(), stats: PadStats = PadStats(), metrics: DaemonMetrics = DaemonMetrics(), uplinkWake: WakeSignal = WakeSignal(),
        clock: @escaping @Sendable () -> Millis = { Millis(date: Date()) },
        makeID: @escaping @Sendable () -> String = { RandomID.uuidV7(unixMillis: Millis(date: Date()).value) }
    ) throws(StoreError) {
        origin = (config.gatewayID, config.region)
        self.store = store
        log = DecisionLog(logger)
        self.clock = clock
        self.makeID = makeID
        self.uplinkWake = uplinkWake
        self.padCommands = padCommands
        self.stats = stats
        self.metrics = metrics
        metrics.declare(windows: config.windows)
        let restored = try store.openSessions()
        restoredSessions = restored.count
        let policy = WindowSessions(config: config.policyConfig, restoring: restored, floods: try store.openFloods(), windowStates: try store.windowStates())
        self.policy = policy
        board = HallBoard(HallState(config: config, sessions: policy.sessions, windowStates: policy.windowStates))
        auditor = AuditWriter(store: store, board: board, logger: logger, uplinkWake: uplinkWake, clock: clock, makeID: makeID)
        log.restored(restored)
    }

    /// A reload's new configuration (already checked by `ConfigReload`): windows, key maps,
    /// session knobs and signals take effect for the next event; open evaluations stay open.
    func reload(_ new: GatewayConfig) {
        policy.reconfigure(new.policyConfig)
        board.update { $0.config = new }
        metrics.declare(windows: new.windows)
    }

    /// Answers once the actor runs it: the watchdog's proof that the gateway is not stuck.
    public func heartbeat() {}

    /// Group commits made and events they carried, for the benchmark and tests.
    public var commitStats: (groups: Int, events: Int) { commits.stats }

    // MARK: Applying events

    /// Runs one event through the policy and queues its store changes (and the records it made,
    /// returned with their ids) for the next group commit. Pads are prompted or acknowledged only
    /// after that commit is durable (R7); if it fails, the policy is put back as it was before
    /// the group and nothing in it is acknowledged: the pads send again.
    @discardableResult
    func apply(_ event: SessionEvent, pad: PadID? = nil) -> (decisions: [Decision], records: [RatingRecord]) {
        // The policy as it was before the group's first event (put back if the commit fails).
        // Kept only for that first event: holding it across every event would make each
        // event's change copy the whole policy (copy-on-write).
        let before: WindowSessions? = commits.pending == nil ? policy : nil
        let decisions = policy.handle(event)
        let now = clock()
        let change = StoreChange(decisions, stamp: RecordStamp(gatewayID: origin.gatewayID, region: origin.region, at: now, makeID: makeID), chainID: store.chainID)
        if commits.add(change, .init(decisions: decisions, pad: pad, at: now), policyBefore: before!) {
            commitWork.fire()
        }
        return (decisions, change.records)
    }

    /// Applies an event and waits until it is durable (the API answers only then).
    func applyAndWait(_ event: SessionEvent, pad: PadID? = nil) async throws(StoreError) -> (decisions: [Decision], records: [RatingRecord]) {
        let result = apply(event, pad: pad)
        // Waits for the group `apply` just used (added in the same turn of the actor).
        try await withCheckedContinuation { commits.addWaiter($0) }.get()
        return result
    }

    /// Commits the pending group, then the one that gathered meanwhile, until none is left.
    func commitPending() async {
        while let group = commits.takePending() {
            do {
                if !group.changes.isEmpty { try await write(group.changes) }
            } catch {
                return fail(error)
            }
            commits.committed()
            finish(group)
        }
    }

    /// One group's transaction. SQLite says the file is damaged: a new store takes over and the
    /// group is committed there (a USB pad does not send its press again).
    private func write(_ changes: [StoreChange]) async throws(StoreError) {
        do {
            try await store.commit(changes)
        } catch where error.code == .corrupt {
            await storeDamaged(error.message)
            try await store.commit(changes)
        }
    }

    /// The commit failed: everything applied since the group began is undone, and nothing in
    /// it (or in the group that gathered meanwhile) is acknowledged.
    private func fail(_ failure: StoreError) {
        let failed = commits.failed()
        if let first = failed.first { policy = first.before }
        board.update { $0.commitFailure = failure.message }
        log.commitFailed(failure, path: store.path, events: failed.reduce(0) { $0 + $1.after.count })
        for g in failed {
            for a in g.after { if let pad = a.pad { stats.padError(pad) } }
            for w in g.waiters { w.resume(returning: .failure(failure)) }
        }
    }

    /// The group is durable: log its records, wake the uplink and the session clock, tell the
    /// pads, answer the API.
    private func finish(_ group: GroupCommit.Group) {
        if group.changes.contains(where: { !$0.records.isEmpty }) { uplinkWake.fire() }
        if group.changes.contains(where: { !$0.saveSessions.isEmpty || !$0.saveFloods.isEmpty }) { deadlinesChanged.fire() }
        let done = AfterDurable(group, pads: policy.config.pads)
        done.report(group.changes, log: log, stats: stats, metrics: metrics, pads: policy.config.pads, now: clock())
        // What is durable now: the policy before the group that gathered meanwhile, if any.
        let durable = commits.pending?.before ?? policy
        board.update {
            $0.sessions = durable.sessions
            $0.windowStates = durable.windowStates
            $0.commitFailure = nil
        }
        padCommands.send(done.commands)
        for w in group.waiters { w.resume(returning: .success(())) }
    }

    /// The store file is damaged (at a write, or found by the background check): replaced,
    /// carrying the open evaluations, flood counts and window states (`AuditWriter`).
    func storeDamaged(_ reason: String) async {
        await auditor.replaceDamaged(reason, carrying: policy)
    }

    public func nextDeadline() -> Millis? { policy.nextDeadline }

    public func tick() {
        let now = clock()
        guard let d = policy.nextDeadline, d <= now else { return }
        apply(.tick(at: now))
    }
}
