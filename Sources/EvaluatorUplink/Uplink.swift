import AsyncHTTPClient
import EvaluatorCore
import EvaluatorStore
import Foundation
import Logging
import NIOCore
import NIOSSL
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

    /// Records a failure and returns the delay to wait: full jitter, uniform in [0, ceiling]
    /// (so many gateways coming back after one outage do not retry in step).
    public mutating func nextDelay<R: RandomNumberGenerator>(using rng: inout R) -> Int64 {
        let ceiling = ceilingMs
        failures += 1
        return Int64.random(in: 0...ceiling, using: &rng)
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
    /// Waits between retries; a test passes a virtual one to live through a day-long outage.
    let sleep: @Sendable (Int64) async -> Void

    public init(config: UplinkConfig, gatewayID: String, store: Store, logger: Logger, wake: Signal, monitor: UplinkMonitor,
                clock: @escaping @Sendable () -> Millis,
                sleep: @escaping @Sendable (Int64) async -> Void = { try? await Task.sleep(for: .milliseconds($0)) }) {
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
        if let target = config.postgres {
            let sink = PostgresSink(config: target, logger: logger)
            await withDiscardingTaskGroup { group in
                group.addTask { await sink.client.run() }
                await cancelWhenGracefulShutdown {
                    await loop { await sink.deliver($0) }
                }
                group.cancelAll()
            }
            return
        }
        var clientConfig = HTTPClient.Configuration()
        clientConfig.timeout = .init(connect: .milliseconds(config.connectTimeoutMs), read: .milliseconds(config.requestTimeoutMs))
        do {
            clientConfig.tlsConfiguration = try Self.tlsConfiguration(config)
        } catch {
            // Config validation read these files; if they went bad since, say so and keep
            // everything queued (never fall back to an unverified connection).
            logger.error("uplink TLS files cannot be loaded; nothing is sent until they are fixed and the daemon restarted",
                         metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)
        await cancelWhenGracefulShutdown {
            await loop { await send($0, client: client) }
        }
        try? await client.shutdown()
    }

    /// Certificate verification stays on (full verification, hostname checked); a CA file
    /// replaces the system roots; a client certificate and key give mTLS.
    static func tlsConfiguration(_ config: UplinkConfig) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let ca = config.tlsCAFile { tls.trustRoots = .file(ca) }
        if let cert = config.tlsCertFile, let key = config.tlsKeyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return tls
    }

    /// What an answer means for a batch.
    public enum Verdict: Sendable, Equatable {
        case accepted
        /// Try the same batch again later (network errors, timeouts, 408, 425, 429, 5xx, and
        /// answers that are about us rather than the records: 401, 403, 404 …).
        case retry(String, retryAfterMs: Int64?)
        /// The central store refuses the content (400, 413, 422): bisect to find the poison.
        case reject(String)
    }

    /// Classifies an HTTP status. Pure.
    public static func verdict(status: Int, retryAfter: String?, body: String, now: Millis) -> Verdict {
        if (200..<300).contains(status) { return .accepted }
        let message = "HTTP \(status): \(body.prefix(200))"
        if [400, 413, 422].contains(status) { return .reject(message) }
        return .retry(message, retryAfterMs: retryAfter.flatMap { parseRetryAfter($0, now: now) })
    }

    /// `Retry-After` as delta-seconds or an HTTP date, in ms from `now` (never negative).
    public static func parseRetryAfter(_ value: String, now: Millis) -> Int64? {
        let v = value.trimmingCharacters(in: .whitespaces)
        if let s = Int64(v) { return max(0, s) * 1000 }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = f.date(from: v) else { return nil }
        return max(0, Millis(date: date) - now)
    }

    /// Runs `uplink.max_in_flight` senders; each takes a batch no other sender holds.
    func loop(deliver: @escaping @Sendable (OutboxBatch) async -> Verdict) async {
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

    func sender(deliver: (OutboxBatch) async -> Verdict, claimed: Claims) async {
        var backoff = Backoff(initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs)
        var rng = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            let batch: OutboxBatch?
            do {
                batch = try store.nextBatch(max: config.batchMax, newBatchID: RandomID.uuid(), now: clock(),
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
            switch await deliver(batch) {
            case .accepted:
                do {
                    try store.markSent(batchID: batch.batchID, at: clock())
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
                        try store.quarantine(batchID: batch.batchID, reason: message, at: clock())
                        logger.error("uplink: the central store refuses this record; quarantined (see `evaluatorctl pending --quarantined`, re-send with `evaluatorctl resend`)",
                                     metadata: meta.merging(["record_id": "\(batch.recordIDs.first ?? "-")", "uplink.error": "\(message)"]) { $1 })
                    } else {
                        let halves = try store.split(batchID: batch.batchID, into: (RandomID.uuid(), RandomID.uuid()), now: clock())
                        logger.warning("uplink: batch refused; bisecting to find the record(s) it refuses",
                                       metadata: meta.merging(["uplink.error": "\(message)", "uplink.halves": "\(halves.map(\.recordIDs.count))"]) { $1 })
                    }
                } catch {
                    logger.error("uplink cannot bisect or quarantine", metadata: meta.merging(["error": "\(error)"]) { $1 })
                    await sleep(backoff.nextDelay(using: &rng))
                }
            case let .retry(message, retryAfter):
                monitor.failed(message)
                try? store.noteFailure(batchID: batch.batchID, error: message)
                var delay = backoff.nextDelay(using: &rng)
                // The server's Retry-After is honoured (up to an hour, against absurd values).
                if let retryAfter { delay = max(delay, min(retryAfter, 3_600_000)) }
                let level: Logger.Level = backoff.failures == 1 || backoff.failures % 20 == 0 ? .warning : .debug
                logger.log(level: level, "uplink batch not accepted; will retry", metadata: meta.merging([
                    "uplink.error": "\(message)", "uplink.retry_in_ms": "\(delay)", "uplink.failures": "\(backoff.failures)",
                ]) { $1 })
                await sleep(delay)
            }
        }
    }

    func send(_ batch: OutboxBatch, client: HTTPClient) async -> Verdict {
        var request = HTTPClientRequest(url: config.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Idempotency-Key", value: batch.batchID)
        let renderer = ProfileRenderer(profile: config.profile, gatewayID: gatewayID, signingKey: config.signingKey)
        let body: String
        do {
            body = try renderer.body(batch: batch, now: clock())
        } catch {
            return .reject("cannot render the batch in profile \(config.profile.name): \(error)")
        }
        // The signature covers the JSON body as rendered, before any transfer compression.
        if let (header, value) = renderer.signature(of: body) { request.headers.add(name: header, value: value) }
        if config.gzip, let packed = try? Gzip.compress(Array(body.utf8)) {
            request.headers.add(name: "Content-Encoding", value: "gzip")
            request.body = .bytes(ByteBuffer(bytes: packed))
        } else {
            request.body = .bytes(ByteBuffer(string: body))
        }
        do {
            let response = try await client.execute(request, timeout: .milliseconds(config.requestTimeoutMs))
            let body = try await response.body.collect(upTo: 64 * 1024)
            return Self.verdict(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"),
                                body: String(buffer: body), now: clock())
        } catch {
            return .retry("\(config.url): \(error)", retryAfterMs: nil)
        }
    }
}
