import EvaluatorCore
import EvaluatorStore
import EvaluatorSupport
import Foundation
import CoreMetrics
import Logging
import ServiceLifecycle
import Synchronization

/// What the uplink last did, for `/v1/status`.
public struct UplinkSnapshot: Sendable {
    public var lastSuccessAt: Millis?
    public var lastError: String?
    public var consecutiveFailures: Int
    /// When the current run of failures began; nil while the last attempt succeeded.
    public var failingSince: Millis?
    public var nextRetryAt: Millis?
}

public final class UplinkMonitor: Sendable {
    private let state = Mutex(UplinkSnapshot(lastSuccessAt: nil, lastError: nil, consecutiveFailures: 0))
    public init() {}
    public var snapshot: UplinkSnapshot { state.withLock { $0 } }
    func succeeded(at: Millis) { state.withLock { $0 = UplinkSnapshot(lastSuccessAt: at, lastError: nil, consecutiveFailures: 0) } }
    func failed(_ message: String, at: Millis, nextRetryAt: Millis) {
        state.withLock {
            $0.lastError = message
            $0.consecutiveFailures += 1
            if $0.failingSince == nil { $0.failingSince = at }
            $0.nextRetryAt = nextRetryAt
        }
    }
}

/// Sends stored records to the central store in batches. At-least-once: a batch keeps its id
/// (the `Idempotency-Key`) and records until a 2xx; only then are they marked sent. Never
/// deletes or evicts an unsent record (R7, R16).
public struct UplinkService: Service, CustomStringConvertible {
    public var description: String { "UplinkService(\(config))" }

    let config: UplinkConfig
    let gatewayID: String
    let store: Store
    let logger: Logger
    let wake: WakeSignal
    let monitor: UplinkMonitor
    let clock: @Sendable () -> Millis
    /// Waits between retries; a test passes a virtual one to live through a day-long outage.
    let sleep: @Sendable (Int64) async -> Void
    /// `evaluatord_uplink_requests_total{result}` and `evaluatord_upload_seconds` (the daemon's
    /// Prometheus registry; no-op by default).
    let metrics: any MetricsFactory

    public init(config: UplinkConfig, gatewayID: String, store: Store, logger: Logger, wake: WakeSignal, monitor: UplinkMonitor,
                clock: @escaping @Sendable () -> Millis,
                sleep: @escaping @Sendable (Int64) async -> Void = { try? await Task.sleep(for: .milliseconds($0)) },
                metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.metrics = metrics
        self.config = config
        self.gatewayID = gatewayID
        self.store = store
        self.logger = logger
        self.wake = wake
        self.monitor = monitor
        self.clock = clock
        self.sleep = sleep
    }

    public func run() async throws {
        let sink: any UplinkSink
        do {
            sink = try Self.makeSink(config: config, gatewayID: gatewayID, logger: logger, clock: clock)
        } catch {
            // Config validation read these files; if they went bad since, say so and keep
            // everything queued (never fall back to an unverified connection).
            logger.error("uplink TLS files cannot be loaded; nothing is sent until they are fixed and the daemon restarted",
                         metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await sink.run() }
            await cancelWhenGracefulShutdown {
                await loop { await sink.deliver($0) }
            }
            group.cancelAll()
        }
        await sink.shutdown()
    }

    /// The sink the config names: PostgreSQL rows, or HTTP POSTs in the configured profile.
    static func makeSink(config: UplinkConfig, gatewayID: String, logger: Logger, clock: @escaping @Sendable () -> Millis) throws -> any UplinkSink {
        if let target = config.postgres { return try PostgresSink(config: target, logger: logger) }
        return try HTTPSink(config: config, gatewayID: gatewayID, clock: clock)
    }

    /// Runs `uplink.max_in_flight` senders; each takes a batch no other sender holds.
    func loop(deliver: @escaping @Sendable (OutboxBatch) async -> UplinkVerdict) async {
        let claimed = Claims()
        await withDiscardingTaskGroup { group in
            for _ in 0..<max(1, config.maxInFlight) {
                group.addTask { await sender(deliver: deliver, claimed: claimed) }
            }
        }
    }

    final class Claims: Sendable {
        let ids = Mutex<Set<String>>([])
        func snapshot() -> Set<String> { ids.withLock { $0 } }
        func claim(_ id: String) -> Bool { ids.withLock { $0.insert(id).inserted } }
        func release(_ id: String) { _ = ids.withLock { $0.remove(id) } }
    }

    /// How often an idle uplink looks at the outbox without being woken.
    static let idleLookMs: Int64 = 60_000

    func sender(deliver: (OutboxBatch) async -> UplinkVerdict, claimed: Claims) async {
        var backoff = Backoff(initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs)
        var rng = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            let batch: OutboxBatch?
            do {
                batch = try await store.nextBatch(max: config.batchMax, newBatchID: RandomID.uuid(), now: clock(),
                                                  excluding: claimed.snapshot())
            } catch {
                logger.error("uplink cannot read the outbox", metadata: ["error": "\(error)"])
                await sleep(backoff.nextDelay(using: &rng))
                continue
            }
            guard let batch, claimed.claim(batch.batchID) else {
                // Nothing to send: a new record wakes the uplink at once; the outbox is looked
                // at again within a minute for records re-queued by `evaluatorctl resend` from
                // another process. No once-a-second polling on an idle hall PC (issue 6).
                await wake.wait(milliseconds: batch == nil ? max(config.flushIntervalMs, Self.idleLookMs) : config.flushIntervalMs)
                continue
            }
            defer { claimed.release(batch.batchID) }
            let meta: Logger.Metadata = ["uplink.batch_id": "\(batch.batchID)", "uplink.records": "\(batch.bodies.count)"]
            let began = ContinuousClock.now
            let verdict = await deliver(batch)
            let took = ContinuousClock.now - began
            CoreMetrics.Timer(label: "evaluatord_upload_seconds", factory: metrics)
                .recordNanoseconds(took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
            CoreMetrics.Counter(label: "evaluatord_uplink_requests_total", dimensions: [("result", verdict.metricLabel)], factory: metrics).increment()
            switch verdict {
            case .accepted:
                do {
                    try await store.markSent(batchID: batch.batchID, at: clock())
                    monitor.succeeded(at: clock())
                    if backoff.failures > 0 { logger.notice("uplink recovered", metadata: meta) }
                    backoff.reset()
                    logger.debug("uplink batch sent", metadata: meta)
                } catch {
                    logger.error("uplink sent a batch but cannot mark it sent; it will be re-sent with the same Idempotency-Key",
                                 metadata: meta.merging(["error": "\(error)"]) { $1 })
                    await sleep(backoff.nextDelay(using: &rng))
                }
            case let .reject(message):
                // Nothing of the batch was accepted. Split it until the record(s) the central
                // store refuses are alone, then set those aside; the good ones still go.
                do {
                    if batch.recordIDs.count <= 1 {
                        try await store.quarantine(batchID: batch.batchID, reason: message, at: clock())
                        logger.error("uplink: the central store refuses this record; quarantined (see `evaluatorctl pending --quarantined`, re-send with `evaluatorctl resend`)",
                                     metadata: meta.merging(["record_id": "\(batch.recordIDs.first ?? "-")", "uplink.error": "\(message)"]) { $1 })
                    } else {
                        let halves = try await store.split(batchID: batch.batchID, into: (RandomID.uuid(), RandomID.uuid()), now: clock())
                        logger.warning("uplink: batch refused; bisecting to find the record(s) it refuses",
                                       metadata: meta.merging(["uplink.error": "\(message)", "uplink.halves": "\(halves.map(\.recordIDs.count))"]) { $1 })
                    }
                } catch {
                    logger.error("uplink cannot bisect or quarantine", metadata: meta.merging(["error": "\(error)"]) { $1 })
                    await sleep(backoff.nextDelay(using: &rng))
                }
            case let .retry(message, retryAfter):
                try? await store.noteFailure(batchID: batch.batchID, error: message)
                var delay = backoff.nextDelay(using: &rng)
                // The server's Retry-After is honoured (up to an hour, against absurd values).
                if let retryAfter { delay = max(delay, min(retryAfter, HTTPSink.retryAfterCapMs)) }
                let now = clock()
                monitor.failed(message, at: now, nextRetryAt: Millis(now.value + delay))
                let level: Logger.Level = backoff.failures == 1 || backoff.failures % 20 == 0 ? .warning : .debug
                logger.log(level: level, "uplink batch not accepted; will retry", metadata: meta.merging([
                    "uplink.error": "\(message)", "uplink.retry_in_ms": "\(delay)", "uplink.failures": "\(backoff.failures)",
                ]) { $1 })
                await sleep(delay)
            }
        }
    }
}
