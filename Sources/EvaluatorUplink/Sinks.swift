import AsyncHTTPClient
import EvaluatorCore
import EvaluatorStore
import Foundation
import NIOCore
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

    /// Classifies an HTTP status. Pure.
    public static func verdict(status: Int, retryAfter: String?, body: String, now: Millis) -> UplinkVerdict {
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

    public func deliver(_ batch: OutboxBatch) async -> UplinkVerdict {
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
