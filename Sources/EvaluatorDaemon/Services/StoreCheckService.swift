import EvaluatorCore
import EvaluatorStore
import Logging
import ServiceLifecycle

/// The full check of the store file, in the background ten minutes after start and then daily:
/// `PRAGMA quick_check` on its own connection at nice 19 (the writer and the pads go on
/// meanwhile). Not sooner: a start often comes with a backlog to drain, and a check of a large
/// file holds a read snapshot for minutes, so the WAL cannot be checkpointed meanwhile. At start only the
/// chain's tail is read, so start-up does not grow with the store; this finds damage anywhere
/// else. Damage found here is handled as at a write (`Gateway.storeDamaged`): moved aside, a
/// new store, rating goes on.
struct StoreCheckService: Service {
    let store: Store
    let gateway: Gateway
    let logger: Logger
    var firstAfterMs: Int64 = 600_000
    var everyMs: Int64 = 86_400_000

    func run() async throws {
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: .milliseconds(firstAfterMs))
            while !Task.isCancelled {
                let started = ContinuousClock.now
                var result: String?
                do {
                    result = try await store.quickCheck()
                } catch let e as StoreError where e.code == .corrupt {
                    result = e.message
                } catch {
                    logger.warning("store check could not run; tried again tomorrow", metadata: ["error": "\(error)"])
                }
                if let result {
                    logger.info("store check (quick_check) done", metadata: ["result": "\(result.prefix(200))", "took": "\(ContinuousClock.now - started)"])
                    if result != "ok" { await gateway.storeDamaged("quick_check: \(result)") }
                }
                try? await Task.sleep(for: .milliseconds(everyMs))
            }
        }
    }
}
