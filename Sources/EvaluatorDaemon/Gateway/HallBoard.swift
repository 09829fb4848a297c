import EvaluatorCore
import Synchronization

/// What the hall looks like as of the last durable commit (issue 21): the configuration, the
/// open evaluations, each window's serving state, the problems found, the last reload. The
/// gateway publishes it after each commit (and at a reload or a problem); status, health,
/// metrics, `/v1/windows` and screen views read it without waiting on the gateway actor, so a
/// status poll never queues behind presses.
struct HallState: Sendable {
    var config: GatewayConfig
    var sessions: [String: Session]
    var windowStates: [String: WindowState]
    /// What the start-up checks and a replaced store found (rating goes on).
    var problems: [Problem] = []
    /// The last commit failed (not corruption: e.g. the disk is full) and none succeeded since:
    /// the gateway cannot take ratings, health is failing.
    var commitFailure: String?
    /// The last reload since start.
    var lastReload: ReloadResult?
}

/// The published `HallState` (copy-on-write: a publish copies references, not the windows).
final class HallBoard: Sendable {
    private let state: Mutex<HallState>
    init(_ initial: HallState) { state = Mutex(initial) }
    var current: HallState { state.withLock { $0 } }
    func update(_ change: (inout HallState) -> Void) { state.withLock { change(&$0) } }
}
