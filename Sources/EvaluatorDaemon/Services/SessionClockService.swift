import EvaluatorCore
import ServiceLifecycle

/// Ends sessions when their deadline passes (R5: a timed-out session yields `unrated`).
/// Sleeps until the next deadline; with no open session it sleeps, with no timer, until one is
/// opened (no idle wake-ups).
struct SessionClockService: Service {
    let gateway: Gateway
    let clock: @Sendable () -> Millis

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let now = clock()
                // No open session: no timer at all (a new session fires deadlinesChanged).
                let wait = await gateway.nextDeadline().map { max(5, $0 - now) }
                await gateway.deadlinesChanged.wait(milliseconds: wait)
                await gateway.tick()
            }
        }
    }
}
