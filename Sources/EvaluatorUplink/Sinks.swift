import AsyncHTTPClient
import EvaluatorCore
import EvaluatorStore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where batches go. The `UplinkService` owns batching, backoff and what a verdict means for
/// the outbox; a sink only delivers one batch and says how it went. Sinks are peers: HTTP in a
/// profile's format (`HTTPSink`), PostgreSQL rows (`PostgresSink`). A new sink implements
/// this and is chosen in `UplinkService.makeSink`.
public protocol UplinkSink: Sendable {
    /// Background work the sink needs while it is used (a connection pool); returns when the
    /// task is cancelled.
    func run() async
    func deliver(_ batch: OutboxBatch) async -> UplinkVerdict
    func shutdown() async
}

extension UplinkSink {
    public func run() async {}
    public func shutdown() async {}
}

/// What an answer means for a batch.
public enum UplinkVerdict: Sendable, Equatable {
    case accepted
    /// Try the same batch again later (network errors, timeouts, 408, 425, 429, 5xx, and
    /// answers that are about us rather than the records: 401, 403, 404 …).
    case retry(String, retryAfterMs: Int64?)
    /// The central store refuses the content (400, 413, 422): bisect to find the poison.
    case reject(String)
}

extension UplinkVerdict {
    /// The `result` label of `evaluatord_uplink_requests_total`.
    public var metricLabel: String {
        switch self {
        case .accepted: "accepted"
        case .retry: "retry"
        case .reject: "rejected"
        }
    }

    /// One deadline for a whole delivery attempt, for every sink: connecting, sending and the
    /// answer (a server that dribbles, or cannot be reached or verified, cannot hold the sender).
    static func within(ms: Int64, what: String, _ attempt: @escaping @Sendable () async -> UplinkVerdict) async -> UplinkVerdict {
        await withTaskGroup(of: UplinkVerdict.self) { group in
            group.addTask { await attempt() }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(ms))
                return .retry("\(what): no complete answer within \(ms) ms (uplink.request_timeout_ms)", retryAfterMs: nil)
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }
}

/// POSTs each batch, rendered in the configured profile, to the central store's URL.
public final class HTTPSink: UplinkSink {
    let config: UplinkConfig
    let gatewayID: String
    let clock: @Sendable () -> Millis
    let client: HTTPClient

    public init(config: UplinkConfig, gatewayID: String, clock: @escaping @Sendable () -> Millis) throws {
        self.config = config
        self.gatewayID = gatewayID
        self.clock = clock
        var clientConfig = HTTPClient.Configuration()
        clientConfig.timeout = .init(connect: .milliseconds(config.connectTimeoutMs), read: .milliseconds(config.requestTimeoutMs))
        // A 3xx is a failed attempt, never followed: a redirect must not carry ratings to
        // another host, nor turn the POST into a GET that "succeeds".
        clientConfig.redirectConfiguration = .disallow
        // A refused connection fails at once (the service's own backoff retries it), instead
        // of being retried inside the client until the connect timeout.
        clientConfig.connectionPool.retryConnectionEstablishment = false
        clientConfig.tlsConfiguration = try Self.tlsConfiguration(config)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)
    }

    public func shutdown() async {
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

    /// The longest wait a `Retry-After` may ask for: one hour (against absurd values).
    public static let retryAfterCapMs: Int64 = 3_600_000
    /// How much of an answer's body is read; the rest is discarded, never a reason to re-send.
    public static let maxAnswerBytes = 1 << 20

    /// Classifies an answer. Pure. A 2xx is accepted unless the profile's response rule says
    /// otherwise (provincial interfaces answer 200 with `{"code": "500", …}`); a 3xx is never
    /// followed: a failed attempt, retried, naming the status and the Location's host.
    public static func verdict(status: Int, headers: [(String, String)] = [], body: String, profile: UpstreamProfile = .genericJSON,
                               now: Millis) -> UplinkVerdict {
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        let excerpt = body.prefix(200)
        if (200..<300).contains(status) {
            guard let rule = profile.response else { return .accepted }
            switch rule.judge(body) {
            case .accepted: return .accepted
            case let .refused(value): return .reject("HTTP \(status) with \(rule.field) = \(value) (refused by profile \(profile.name)): \(excerpt)")
            case let .unknown(value):
                return .retry("HTTP \(status) with \(rule.field) = \(value ?? "missing") (neither accepted nor refused by profile \(profile.name)): \(excerpt)",
                              retryAfterMs: nil)
            }
        }
        if (300..<400).contains(status) {
            let host = header("location").flatMap { URL(string: $0)?.host } ?? "no Location"
            return .retry("HTTP \(status) redirect to \(host) not followed (check uplink.url)", retryAfterMs: nil)
        }
        let message = "HTTP \(status): \(excerpt)"
        if [400, 413, 422].contains(status) { return .reject(message) }
        return .retry(message, retryAfterMs: header("retry-after").flatMap { parseRetryAfter($0, now: now) })
    }

    /// `Retry-After` as delta-seconds or an HTTP date, in ms from `now`: never negative, and
    /// clamped to `retryAfterCapMs` before any arithmetic (a huge value cannot overflow).
    public static func parseRetryAfter(_ value: String, now: Millis) -> Int64? {
        let v = value.trimmingCharacters(in: .whitespaces)
        if !v.isEmpty, v.allSatisfy(\.isASCII), v.allSatisfy(\.isNumber) {
            // Digits only: more digits than fit in Int64 are more than the cap anyway.
            guard let seconds = Int64(v), seconds <= retryAfterCapMs / 1000 else { return retryAfterCapMs }
            return seconds * 1000
        }
        if Int64(v) != nil { return 0 } // a negative number of seconds
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = f.date(from: v), date.timeIntervalSince1970.isFinite,
              abs(date.timeIntervalSince1970) < 1e12 else { return nil }
        return min(retryAfterCapMs, max(0, Millis(date: date) - now))
    }

    public func deliver(_ batch: OutboxBatch) async -> UplinkVerdict {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Idempotency-Key", value: batch.batchID)
        let renderer = ProfileRenderer(profile: config.profile, gatewayID: gatewayID, signingKey: config.signingKey)
        let body: String
        do {
            body = try renderer.body(batch: batch, now: clock())
        } catch {
            return .reject("cannot render the batch in profile \(config.profile.name): \(error)")
        }
        // The signature covers the JSON body as rendered, before any transfer compression.
        if let (header, value) = renderer.signature(of: body) { headers.add(name: header, value: value) }
        let bytes: ByteBuffer
        if config.gzip, let packed = try? Gzip.compress(Array(body.utf8)) {
            headers.add(name: "Content-Encoding", value: "gzip")
            bytes = ByteBuffer(bytes: packed)
        } else {
            bytes = ByteBuffer(string: body)
        }
        // One deadline covers the whole exchange: connecting, sending, the head and the body
        // (a server that sends one byte every 29 s cannot hold the sender).
        let timeoutMs = config.requestTimeoutMs
        let sent = headers
        return await UplinkVerdict.within(ms: timeoutMs, what: config.redactedURL) {
            do {
                return try await self.exchange(headers: sent, body: bytes)
            } catch {
                return .retry("\(self.config.redactedURL): \(Self.describe(error))", retryAfterMs: nil)
            }
        }
    }

    private func exchange(headers: HTTPHeaders, body: ByteBuffer) async throws -> UplinkVerdict {
        var request = HTTPClientRequest(url: config.url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .milliseconds(config.requestTimeoutMs))
        var kept = ByteBuffer()
        for try await chunk in response.body {
            var chunk = chunk
            let room = Self.maxAnswerBytes - kept.readableBytes
            if room > 0, var part = chunk.readSlice(length: min(room, chunk.readableBytes)) {
                kept.writeBuffer(&part)
            }
        }
        return Self.verdict(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                            body: String(buffer: kept), profile: config.profile, now: clock())
    }

    /// A network error in words an operator can act on.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("errno: 111") {
            return "connection refused"
        }
        return text
    }
}
