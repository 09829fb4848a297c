import EvaluatorCore
import EvaluatorStore
import Logging
import ServiceLifecycle

/// Retention (`[store] keep_sent_days`): records accepted upstream and older than that are
/// pruned in the background, as a prefix of the chain with a checkpoint (docs/CHAIN.md).
/// Unsent and quarantined records are never pruned. Runs at start, then hourly, in slices of
/// 10,000 records so the writer is never held long (a press's commit waits at most one slice).
struct RetentionService: Service {
    let store: Store
    let keepDays: Int
    let logger: Logger
    let clock: @Sendable () -> Millis
    var intervalMs: Int64 = 3_600_000

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pruneOnce()
                try? await Task.sleep(for: .milliseconds(intervalMs))
            }
        }
    }

    /// Prunes everything due now, slice by slice; logs the total once.
    func pruneOnce() async {
        let before = Millis(clock().value - Int64(keepDays) * 86_400_000)
        var total = 0
        do {
            while !Task.isCancelled {
                let n = try await store.prune(recordedBefore: before)
                total += n
                if n == 0 { break }
                await Task.yield()
            }
        } catch {
            logger.error("retention: cannot prune sent records", metadata: ["error": "\(error)"])
        }
        if total > 0 {
            let checkpoint = try? store.checkpoint()
            logger.notice("retention: pruned records accepted upstream before the cut-off", metadata: [
                "records": "\(total)", "keep_sent_days": "\(keepDays)", "checkpoint.seq": "\(checkpoint?.seq ?? 0)",
            ])
        }
    }
}
