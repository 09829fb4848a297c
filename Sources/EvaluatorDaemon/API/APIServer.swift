import EvaluatorAPI
import EvaluatorCore
import EvaluatorWire
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
import Synchronization

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
    /// `screenRouter`: a WebSocket upgrade goes through it (`EvaluatorAPI.screenRouter`: the
    /// access middleware, then the screen-pad rule); one it does not take goes to `router` as a
    /// plain request (which answers 401/403/426 in words).
    init(router: Router<APIRequestContext>, screenRouter: Router<APIRequestContext> = Router(context: APIRequestContext.self),
         address: BindAddress, access: APIAccess, logger: Logger,
         onServerRunning: @escaping @Sendable (any Channel) async -> Void) throws {
        let responder = router.buildResponder()
        let screenResponder = screenRouter.buildResponder()
        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(Int64(access.idleTimeoutS)))
        let headerTimeout = TimeAmount.milliseconds(Int64(access.headerTimeoutMs))
        let probation = Probation(maxConnections: access.maxConnections)
        var builder = HTTPServerBuilder { responder in
            IdleUntilFirstRequest(base: HTTP1WebSocketUpgradeChannel(
                responder: responder,
                webSocketResponder: screenResponder,
                configuration: .init(http1: http1, ws: .init(maxFrameSize: ScreenProtocol.maxPadMessageBytes))
            ), headerTimeout: headerTimeout, probation: probation)
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

/// Until its first request head is complete, a connection is on probation (issue 20): it is
/// closed `headerTimeout` after accept — absolute, so a byte every 20 s does not keep it — and,
/// when the API holds `maxConnections`, the oldest connections still without a head are closed
/// so the next one in the listen backlog is served (1,500 idle sockets kept a real request
/// waiting over 45 s; 256 dripping ones held it forever). Hummingbird's own idle timer starts
/// only at the first head (the WebSocket upgrade is in the pipeline), so this is what bounds a
/// connection that never sends one. Released at the first request (Hummingbird's timer takes
/// over) or at a screen pad's upgrade (its heartbeat takes over).
struct IdleUntilFirstRequest<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let headerTimeout: TimeAmount
    let probation: Probation
    static var name: String { FirstRequestIdle.name }

    /// Closes its channel at the deadline unless removed (released) first.
    final class Deadline: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
        typealias InboundIn = NIOAny
        let timeout: TimeAmount
        let probation: Probation
        private var task: Scheduled<Void>?
        init(timeout: TimeAmount, probation: Probation) {
            self.timeout = timeout
            self.probation = probation
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let channel = context.channel
            task = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
            probation.enter(channel)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            task?.cancel()
            task = nil
            probation.leave(context.channel)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(Deadline(timeout: headerTimeout, probation: probation), name: Self.name)
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// The API's connections, and those among them without a first request head, oldest first.
final class Probation: Sendable {
    private let state = Mutex<(open: Int, waiting: [ObjectIdentifier: (seq: Int, channel: any Channel)], next: Int)>((0, [:], 0))
    let maxConnections: Int
    init(maxConnections: Int) { self.maxConnections = maxConnections }

    /// A new connection: counted until it closes; at the cap, the oldest head-less ones go.
    func enter(_ channel: any Channel) {
        let evict: [any Channel] = state.withLock { s in
            s.open += 1
            s.waiting[ObjectIdentifier(channel)] = (s.next, channel)
            s.next += 1
            guard s.open >= maxConnections else { return [] }
            // Keep a slot free: close the oldest head-less connection(s) above cap - 1.
            let excess = s.open - (maxConnections - 1)
            let oldest = s.waiting.values.sorted { $0.seq < $1.seq }.prefix(excess).map(\.channel)
            for c in oldest { s.waiting[ObjectIdentifier(c)] = nil }
            return oldest
        }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLock { s in
                s.open -= 1
                s.waiting[ObjectIdentifier(channel)] = nil
            }
        }
        for c in evict { c.close(promise: nil) }
    }

    /// The connection's first head came (or it upgraded): no longer evictable.
    func leave(_ channel: any Channel) {
        _ = state.withLock { $0.waiting.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

enum FirstRequestIdle {
    static let name = "evaluatord.first-request-head"

    /// Takes the deadline out of `channel`'s pipeline (nothing happens if it is gone already).
    static func release(_ channel: any Channel) {
        channel.pipeline.removeHandler(name: name, promise: nil)
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
