import EvaluatorAPI
import EvaluatorCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
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
    ///
    /// `screens`: a screen pad's WebSocket (`GET /v1/pads/{window}/ws` with the pad's token) is
    /// upgraded and served there; any other request, or one whose token does not fit, goes to the
    /// router (which answers 401/403/426 in words).
    init(router: Router<APIRequestContext>, address: BindAddress, access: APIAccess, logger: Logger, screens: ScreenPads? = nil,
         heartbeat: @escaping @Sendable () async -> Duration = { .seconds(15) },
         onServerRunning: @escaping @Sendable (any Channel) async -> Void) throws {
        let responder = router.buildResponder()
        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(Int64(access.idleTimeoutS)))
        let idle = TimeAmount.seconds(Int64(access.idleTimeoutS))
        var builder = HTTPServerBuilder { responder in
            IdleUntilFirstRequest(base: HTTP1WebSocketUpgradeChannel(
                responder: responder,
                configuration: .init(http1: http1, ws: .init(maxFrameSize: ScreenProtocol.maxPadMessageBytes)),
                shouldUpgrade: { request, channel, _ in
                    guard let screens, let (pad, window, secret) = await screens.pad(forUpgrade: request) else { return .dontUpgrade }
                    // A screen pad's liveness is its heartbeat from now on.
                    FirstRequestIdle.release(channel)
                    let remote = channel.remoteAddress.map { a in a.ipAddress.map { "\($0):\(a.port ?? 0)" } ?? "\(a)" } ?? "?"
                    let period = await heartbeat()
                    return .upgrade([:]) { inbound, outbound, _ in
                        await screens.serve(pad: pad, window: window, secret: secret, remote: remote, channel: channel, inbound: inbound, outbound: outbound, heartbeat: period)
                    }
                }
            ), idle: idle)
        }
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
                FirstRequestIdle.release(channel)
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

/// A connection that sends no bytes for `idle` before its first request is closed. With the
/// WebSocket upgrade in the pipeline, Hummingbird starts its own idle timer only once the first
/// request head has arrived, so 2,000 connections that never send one would be held forever
/// (HostileInputTests). Released at the first request (Hummingbird's timer takes over) or at a
/// screen pad's upgrade (its heartbeat takes over).
struct IdleUntilFirstRequest<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let idle: TimeAmount
    static var name: String { FirstRequestIdle.name }

    final class CloseOnIdle: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = NIOAny
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle), name: Self.name + ".timer")
            try channel.pipeline.syncOperations.addHandler(CloseOnIdle(), name: Self.name)
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }

}

enum FirstRequestIdle {
    static let name = "evaluatord.first-request-idle"

    /// Takes the timer out of `channel`'s pipeline (nothing happens if it is gone already).
    static func release(_ channel: any Channel) {
        for n in [name, name + ".timer"] { channel.pipeline.removeHandler(name: n, promise: nil) }
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
