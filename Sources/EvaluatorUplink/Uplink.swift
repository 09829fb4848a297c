import AsyncHTTPClient
import EvaluatorCore
import EvaluatorStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// What the uplink last did, for `/v1/status`.
public struct UplinkSnapshot: Sendable {
    public var lastSuccessAt: Millis?
    public var lastError: String?
    public var consecutiveFailures: Int
}

public final class UplinkMonitor: Sendable {
    private let state = Mutex(UplinkSnapshot(lastSuccessAt: nil, lastError: nil, consecutiveFailures: 0))
    public init() {}
    public var snapshot: UplinkSnapshot { state.withLock { $0 } }
    func succeeded(at: Millis) { state.withLock { $0 = UplinkSnapshot(lastSuccessAt: at, lastError: nil, consecutiveFailures: 0) } }
    func failed(_ message: String) {
        state.withLock {
            $0.lastError = message
            $0.consecutiveFailures += 1
        }
    }
}

/// The body the generic-json profile sends: `{"gateway_id", "batch_id", "records": [...]}`.
/// Records are inserted as the exact JSON that was stored.
public func genericJSONBody(gatewayID: String, batch: OutboxBatch) -> String {
    func quoted(_ s: String) -> String {
        String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
    }
    return "{\"batch_id\":\(quoted(batch.batchID)),\"gateway_id\":\(quoted(gatewayID)),\"records\":[\(batch.bodies.joined(separator: ","))]}"
}

/// Exponential backoff with full jitter and a cap (R16: retry forever, never drop).
public struct Backoff: Sendable {
    public var initialMs: Int64
    public var maxMs: Int64
    public private(set) var failures = 0

    public init(initialMs: Int64, maxMs: Int64) {
        self.initialMs = initialMs
        self.maxMs = maxMs
    }

    /// The ceiling for the next delay: initial × 2^failures, capped.
    public var ceilingMs: Int64 {
        let shift = min(failures, 30)
        return min(maxMs, initialMs << shift)
    }

    /// Records a failure and returns the delay to wait: uniform in [initial/2, ceiling].
    public mutating func nextDelay<R: RandomNumberGenerator>(using rng: inout R) -> Int64 {
        let ceiling = ceilingMs
        failures += 1
        let floor = min(initialMs / 2, ceiling)
        return Int64.random(in: floor...ceiling, using: &rng)
    }

    public mutating func reset() { failures = 0 }
}

/// Sends stored records to the central store in batches. At-least-once: a batch keeps its id
/// (the `Idempotency-Key`) and records until a 2xx; only then are they marked sent. Never
/// deletes or evicts an unsent record (R7, R16).
public struct UplinkService: Service {
    let config: UplinkConfig
    let gatewayID: String
    let store: Store
    let logger: Logger
    let wake: Signal
    let monitor: UplinkMonitor
    let clock: @Sendable () -> Millis

    public init(config: UplinkConfig, gatewayID: String, store: Store, logger: Logger, wake: Signal, monitor: UplinkMonitor,
                clock: @escaping @Sendable () -> Millis) {
        self.config = config
        self.gatewayID = gatewayID
        self.store = store
        self.logger = logger
        self.wake = wake
        self.monitor = monitor
        self.clock = clock
    }

    public func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await cancelWhenGracefulShutdown {
            await loop(client: client)
        }
        try? await client.shutdown()
    }

    enum Outcome {
        case sent
        case failed(String, retryAfterMs: Int64?)
    }

    func loop(client: HTTPClient) async {
        var backoff = Backoff(initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs)
        var rng = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            let batch: OutboxBatch?
            do {
                batch = try store.nextBatch(max: config.batchMax, newBatchID: UUID().uuidString.lowercased(), now: clock())
            } catch {
                logger.error("uplink cannot read the outbox", metadata: ["error": "\(error)"])
                await wake.wait(milliseconds: backoff.nextDelay(using: &rng))
                continue
            }
            guard let batch else {
                await wake.wait(milliseconds: config.flushIntervalMs)
                continue
            }
            switch await send(batch, client: client) {
            case .sent:
                do {
                    try store.markSent(batchID: batch.batchID, at: clock())
                    monitor.succeeded(at: clock())
                    if backoff.failures > 0 {
                        logger.notice("uplink recovered", metadata: ["uplink.batch_id": "\(batch.batchID)"])
                    }
                    backoff.reset()
                    logger.debug("uplink batch sent", metadata: ["uplink.batch_id": "\(batch.batchID)", "uplink.records": "\(batch.bodies.count)"])
                } catch {
                    logger.error("uplink sent a batch but cannot mark it sent; it will be re-sent with the same Idempotency-Key",
                                 metadata: ["uplink.batch_id": "\(batch.batchID)", "error": "\(error)"])
                    await wake.wait(milliseconds: backoff.nextDelay(using: &rng))
                }
            case let .failed(message, retryAfter):
                monitor.failed(message)
                try? store.noteFailure(batchID: batch.batchID, error: message)
                var delay = backoff.nextDelay(using: &rng)
                if let retryAfter { delay = max(delay, min(retryAfter, config.backoffMaxMs)) }
                let level: Logger.Level = backoff.failures == 1 || backoff.failures % 20 == 0 ? .warning : .debug
                logger.log(level: level, "uplink batch not accepted; will retry", metadata: [
                    "uplink.batch_id": "\(batch.batchID)", "uplink.records": "\(batch.bodies.count)",
                    "uplink.error": "\(message)", "uplink.retry_in_ms": "\(delay)", "uplink.failures": "\(backoff.failures)",
                ])
                try? await Task.sleep(for: .milliseconds(delay))
            }
        }
    }

    func send(_ batch: OutboxBatch, client: HTTPClient) async -> Outcome {
        var request = HTTPClientRequest(url: config.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Idempotency-Key", value: batch.batchID)
        request.body = .bytes(ByteBuffer(string: genericJSONBody(gatewayID: gatewayID, batch: batch)))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(config.requestTimeoutMs))
            let body = try await response.body.collect(upTo: 64 * 1024)
            let code = Int(response.status.code)
            if (200..<300).contains(code) { return .sent }
            var retryAfter: Int64?
            if let v = response.headers.first(name: "Retry-After"), let s = Int64(v.trimmingCharacters(in: .whitespaces)) {
                retryAfter = s * 1000
            }
            let text = String(buffer: body).prefix(200)
            return .failed("HTTP \(code) from \(config.url): \(text)", retryAfterMs: retryAfter)
        } catch {
            return .failed("\(config.url): \(error)", retryAfterMs: nil)
        }
    }
}
