import EvaluatorCore
import EvaluatorStore
import EvaluatorSupport
import ServiceLifecycle
import Synchronization

/// Group commit: the events applied to the policy whose store changes are not durable yet.
/// Events that arrive while a commit is being fsynced gather in `pending` and are committed
/// together, in arrival order, in one transaction: one fsync for all of them (issue 6). Pads
/// are told and API callers answered only once their group is durable (R7).
struct GroupCommit {
    /// What to do for one event once its group is durable.
    struct AfterCommit {
        var decisions: [Decision]
        /// The pad whose press this was: counted once acked, charged an error if the commit fails.
        var pad: PadID?
        var at: Millis
    }

    struct Group {
        /// The policy before the group's first event: put back if the commit fails.
        var before: WindowSessions
        var changes: [StoreChange] = []
        var after: [AfterCommit] = []
        /// API callers waiting for the commit: told its outcome (a Result, so the error stays typed).
        var waiters: [CheckedContinuation<Result<Void, StoreError>, Never>] = []
    }

    private(set) var pending: Group?
    private(set) var inFlight: Group?
    /// The commit service was woken and has not taken the pending group yet.
    private var woken = false
    /// Group commits made and events they carried, for the benchmark and tests.
    private(set) var stats = (groups: 0, events: 0)

    /// Adds one event to the pending group. True when the commit service must be woken (once
    /// per burst, not once per event).
    mutating func add(_ change: StoreChange, _ after: AfterCommit, policyBefore: @autoclosure () -> WindowSessions) -> Bool {
        if pending == nil { pending = Group(before: policyBefore()) }
        if !change.isEmpty { pending!.changes.append(change) }
        pending!.after.append(after)
        guard inFlight == nil, !woken else { return false }
        woken = true
        return true
    }

    /// Waits for the pending group's commit (call right after `add`, in the same actor turn).
    mutating func addWaiter(_ c: CheckedContinuation<Result<Void, StoreError>, Never>) {
        pending!.waiters.append(c)
    }

    /// The pending group becomes the one in flight; nil when nothing waits or a commit runs.
    mutating func takePending() -> Group? {
        woken = false
        guard inFlight == nil, let group = pending else { return nil }
        pending = nil
        inFlight = group
        return group
    }

    /// The commit in flight is durable.
    mutating func committed() {
        if let g = inFlight, !g.changes.isEmpty {
            stats.groups += 1
            stats.events += g.changes.count
        }
        inFlight = nil
    }

    /// The commit in flight failed: it and the group that gathered meanwhile (applied on top of
    /// it) are undone. Returns them, oldest first.
    mutating func failed() -> [Group] {
        let failed = [inFlight, pending].compactMap { $0 }
        inFlight = nil
        pending = nil
        return failed
    }

    /// A case among these that a record waiting for its commit rates (R3: an API request for
    /// such a case must not slip in before the store shows it rated).
    func uncommittedRating(among caseIDs: [String], stage: String) -> String? {
        let wanted = Set(caseIDs)
        for r in uncommitted where r.draft.outcome == .rated && r.draft.stage == stage {
            if let hit = ([r.draft.caseID].compactMap { $0 } + r.draft.batchCaseIDs).first(where: wanted.contains) { return hit }
        }
        return nil
    }

    /// The case's highest service number among records not durable yet (issue 22; 0: none).
    func uncommittedLastService(of caseID: String) -> Int {
        uncommitted.filter { $0.draft.outcome == .service && $0.draft.caseID == caseID }.compactMap(\.draft.serviceNo).max() ?? 0
    }

    /// The records of the groups in flight and pending.
    private var uncommitted: some Sequence<RatingRecord> {
        [inFlight, pending].compactMap { $0 }.lazy.flatMap(\.changes).flatMap(\.records)
    }
}

/// Runs the gateway's group commits inside the ServiceGroup. Started before every service that
/// feeds the gateway, so it stops after them: what they applied is still made durable. It is
/// never cancelled on a graceful shutdown (a cancelled GRDB write is interrupted, and the group
/// would be rolled back): the shutdown only ends its loop, then one last commit runs.
struct CommitService: Service {
    let gateway: Gateway

    final class Stopping: Sendable {
        let flag = Mutex(false)
    }

    func run() async throws {
        let stopping = Stopping()
        await withGracefulShutdownHandler {
            while !stopping.flag.withLock({ $0 }) && !Task.isCancelled {
                await gateway.commitWork.wait(milliseconds: nil)
                await gateway.commitPending()
            }
        } onGracefulShutdown: {
            stopping.flag.withLock { $0 = true }
            gateway.commitWork.fire()
        }
        await gateway.commitPending()
    }
}
