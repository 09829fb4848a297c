import EvaluatorAPI
import EvaluatorCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The local HTTP API as one Service. Hummingbird's `Application.run()` also starts a
/// `DateCache` that wakes every second to re-format the `Date` header; on an idle hall PC that
/// timer was most of the daemon's wake-ups (issue 6: ≤ 1 wake-up/s idle). The API answers a
/// few requests a minute, so the header is formatted per response instead, and nothing ticks.
struct APIServer: Service {
    private let server: any Service

    /// Bounded (issue 11): an idle connection is closed after `access.idleTimeoutS`, at most
    /// `access.maxConnections` are open (more wait in the listen backlog), and with a
    /// certificate the API speaks TLS.
    init(router: Router<APIRequestContext>, address: BindAddress, access: APIAccess, logger: Logger,
         onServerRunning: @escaping @Sendable (any Channel) async -> Void) throws {
        let responder = router.buildResponder()
        var builder = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(Int64(access.idleTimeoutS))))
        if let cert = access.tlsCertFile, let key = access.tlsKeyFile {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
            tls.minimumTLSVersion = .tlsv12
            builder = try .tls(builder, tlsConfiguration: tls)
        }
        server = try builder.buildServer(
            configuration: ServerConfiguration(address: address, serverName: "evaluatord",
                                               availableConnectionsDelegate: MaximumAvailableConnections(access.maxConnections)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, writer, channel in
                let context = APIRequestContext(source: .init(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch {
                    logger.debug("api: unhandled error", metadata: ["error": "\(error)"])
                    response = Response(status: .internalServerError)
                }
                response.headers[.date] = HTTPDate.string(Date())
                response.headers[.server] = "evaluatord"
                try await writer.write(response: response.head, body: response.body)
            },
            onServerRunning: onServerRunning
        )
    }

    func run() async throws {
        try await server.run()
    }
}

/// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), formatted without a locale.
public enum HTTPDate {
    public static func string(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
