import EvaluatorAPI
import EvaluatorCore
import EvaluatorWire
import Foundation
import HTTPTypes
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The screen pads' device service (issue 14, docs/SCREEN-PAD.md): one WebSocket per pad at
/// `GET /v1/pads/{window}/ws`, always with the pad's own `pad:WINDOW` token. It writes what the
/// gateway says a screen should show (prompt, idle, paused) when it changes, answers ratings
/// only after the gateway's durable commit, pings, and marks a pad that stops answering
/// detached. A new connection replaces the older one (`{"type":"replaced"}`, then closed).
/// A pad authenticates with its `pad:WINDOW` line's token or with the secret its pairing gave
/// it (issue 20); a connection whose secret stops being valid (reload, new pairing) is closed.
final class ScreenPads: Sendable {
    struct Connection {
        var id: Int
        /// The secret the pad connected with, for its window: checked again when tokens or
        /// pairings change.
        var secret: String
        var window: String
        var outbox: AsyncStream<String>.Continuation
        /// The last state or prompt written (a refresh that changes nothing writes nothing).
        var lastView: String?
        var lastHeard: ContinuousClock.Instant
        var remote: String
        /// The TCP connection, closed outright at shutdown.
        var channel: (any Channel)?
    }

    private let connections = Mutex<(next: Int, byPad: [PadID: Connection])>((1, [:]))
    /// Per screen pad: when a refused rating was last logged, and how many since (issue 20).
    private let refusals = Mutex<[PadID: (loggedAt: ContinuousClock.Instant, unlogged: Int)]>([:])
    let gateway: Gateway
    let service: HallService
    let tokens: TokenBox
    let pairings: PadPairings?
    let stats: PadStats
    let logger: Logger

    init(gateway: Gateway, service: HallService, tokens: TokenBox, pairings: PadPairings? = nil, logger: Logger) {
        self.gateway = gateway
        self.service = service
        self.tokens = tokens
        self.pairings = pairings
        self.stats = gateway.stats
        self.logger = logger
        pairings?.observe { [weak self] in self?.revalidate(reason: "the window was paired again") }
    }

    /// The token a paired pad's secret stands for (scope `pad:WINDOW`, named after its screen),
    /// for the API's pages; nil for any other secret.
    func pairedToken(_ secret: String) -> APIToken? {
        guard let window = pairings?.window(ofSecret: secret) else { return nil }
        return APIToken(name: "paired-pad-\(window)", scope: .pad(window: window), secret: secret, paired: true)
    }

    /// Whether `secret` lets `pad` (the screen of `window`) connect now: the token it stands for
    /// passes the one screen-pad rule (`Access.isScreenPad`), as at the upgrade.
    private func authenticates(_ secret: String, window: String, pad: PadID) -> Bool {
        Access.isScreenPad(tokens.current?.find(secret) ?? pairedToken(secret), window: window, pad: pad)
    }

    /// Closes every connection whose secret no longer authenticates its pad (a reload changed
    /// its token, or the window was paired again), logged and counted.
    func revalidate(reason: String) {
        let all = connections.withLock { c in c.byPad.map { ($0.key, $0.value) } }
        for (pad, conn) in all {
            guard !authenticates(conn.secret, window: conn.window, pad: pad) else { continue }
            logger.warning("screen pad disconnected: \(reason)", metadata: ["pad": "\(pad)", "remote": "\(conn.remote)"])
            gateway.metrics.screenDisconnect(pad: pad, reason: "revoked")
            conn.outbox.yield(ScreenProtocol.ServerMessage.refused(sessionID: nil, code: .invalid, message: "此评价器已被重新配对或令牌已更换，请联系管理员").text)
            close(pad, conn.id)
            conn.channel?.close(promise: nil)
        }
    }

    /// Serves one connection until it closes, is replaced, or stops answering.
    func serve(_ connection: ScreenConnection, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let (pad, window, secret, remote, channel) = (connection.pad, connection.window, connection.token.secret, connection.remote, connection.channel)
        // A screen pad's liveness is its heartbeat from now on (no longer the first-request deadline).
        FirstRequestIdle.release(channel)
        let heartbeat = service.screenHeartbeat
        let (stream, outbox) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = attach(pad, window: window, secret: secret, outbox: outbox, remote: remote, channel: channel)
        logger.notice("screen pad connected", metadata: ["pad": "\(pad)", "remote": "\(remote)"])
        await refresh(pad)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in stream {
                    do { try await outbound.write(.text(text)) } catch { break }
                }
                try? await outbound.close(.normalClosure, reason: nil)
            }
            group.addTask { [self] in
                // Ping every period; a pad that leaves a ping unanswered for a period (silent
                // for about two) is gone (a dead tablet keeps its TCP connection for minutes).
                // Silence counts from a ping sent, never from the attach: a sleep that wakes
                // late on a loaded box must not detach a pad that was never asked (seen in CI).
                var asked: ContinuousClock.Instant?
                while !Task.isCancelled {
                    try? await Task.sleep(for: heartbeat)
                    if Task.isCancelled { return }
                    guard let heard = lastHeard(pad, id) else { return }
                    if let asked, heard < asked, ContinuousClock.now - asked > heartbeat {
                        logger.warning("screen pad missed its heartbeat; detached", metadata: ["pad": "\(pad)", "remote": "\(remote)"])
                        gateway.metrics.screenDisconnect(pad: pad, reason: "heartbeat")
                        close(pad, id)
                        return
                    }
                    if asked.map({ heard >= $0 }) ?? true { asked = ContinuousClock.now }
                    send(pad, id, ScreenProtocol.ServerMessage.ping.text)
                }
            }
            do {
                for try await message in inbound.messages(maxSize: ScreenProtocol.maxPadMessageBytes) {
                    heard(pad, id)
                    guard case let .text(text) = message else {
                        send(pad, id, ScreenProtocol.ServerMessage.refused(sessionID: nil, code: .invalid, message: "messages are JSON text").text)
                        continue
                    }
                    switch ScreenProtocol.parse(text) {
                    case .success(.pong): continue
                    case let .success(.rate(rating)):
                        let answer = await service.rateOnScreen(pad: pad, rating: rating)
                        if case let .refused(sid, window, code, message) = answer { logRefusal(pad: pad, window: window, sessionID: sid, code: code, message: message) }
                        send(pad, id, answer.message.text)
                    case let .failure(e):
                        send(pad, id, ScreenProtocol.ServerMessage.refused(sessionID: e.sessionID, code: .invalid, message: e.message).text)
                    }
                }
            } catch {
                logger.info("screen pad connection ended", metadata: ["pad": "\(pad)", "error": "\(error)"])
            }
            close(pad, id)
            group.cancelAll()
        }
        logger.notice("screen pad disconnected", metadata: ["pad": "\(pad)", "remote": "\(remote)"])
    }

    /// Writes what the pad should show now, if it changed since the last write.
    func refresh(_ pad: PadID) async {
        guard let view = service.screenView(pad: pad) else { return }
        let text = view.text
        let target: AsyncStream<String>.Continuation? = connections.withLock { c in
            guard var conn = c.byPad[pad], conn.lastView != text else { return nil }
            conn.lastView = text
            c.byPad[pad] = conn
            return conn.outbox
        }
        target?.yield(text)
    }

    private func attach(_ pad: PadID, window: String, secret: String, outbox: AsyncStream<String>.Continuation, remote: String, channel: (any Channel)?) -> Int {
        let (id, old) = connections.withLock { c -> (Int, Connection?) in
            let id = c.next
            c.next += 1
            let old = c.byPad[pad]
            c.byPad[pad] = Connection(id: id, secret: secret, window: window, outbox: outbox, lastView: nil, lastHeard: .now, remote: remote, channel: channel)
            return (id, old)
        }
        if let old {
            // Evidence of a second device on the pad's secret (issue 20): logged with both
            // addresses and counted.
            logger.warning("screen pad replaced by a new connection", metadata: ["pad": "\(pad)", "old": "\(old.remote)", "new": "\(remote)"])
            gateway.metrics.screenDisconnect(pad: pad, reason: "replaced")
            old.outbox.yield(ScreenProtocol.ServerMessage.replaced.text)
            old.outbox.finish()
        }
        stats.padAttached(pad, path: "websocket \(remote)")
        return id
    }

    private func heard(_ pad: PadID, _ id: Int) {
        connections.withLock { c in if c.byPad[pad]?.id == id { c.byPad[pad]?.lastHeard = .now } }
    }

    private func lastHeard(_ pad: PadID, _ id: Int) -> ContinuousClock.Instant? {
        connections.withLock { c in c.byPad[pad]?.id == id ? c.byPad[pad]?.lastHeard : nil }
    }

    /// A refused rating is logged, but a pad sending refused ratings over and over is logged
    /// once a minute with the count since (issue 20: the journal is not a flood's to fill).
    private func logRefusal(pad: PadID, window: String?, sessionID: String, code: ScreenRefusal, message: String) {
        let now = ContinuousClock.now
        let since: Int? = refusals.withLock { log in
            if let entry = log[pad], now - entry.loggedAt < .seconds(60) {
                log[pad]?.unlogged += 1
                return nil
            }
            defer { log[pad] = (now, 0) }
            return (log[pad]?.unlogged ?? 0) + 1
        }
        guard let since else { return }
        logger.notice("screen pad rating refused", metadata: [
            "pad": "\(pad)", "window": "\(window ?? "-")", "session_id": "\(sessionID)", "code": "\(code.rawValue)", "reason": "\(message)",
            "refused_since_last_log": "\(since)",
        ])
    }

    private func send(_ pad: PadID, _ id: Int, _ text: String) {
        let target = connections.withLock { c in c.byPad[pad]?.id == id ? c.byPad[pad]?.outbox : nil }
        target?.yield(text)
    }

    /// Closes every connection (a normal close) at shutdown: the API's graceful shutdown waits
    /// for every connection, and a tablet never hangs up by itself.
    /// The TCP connections are closed outright: a normal WebSocket close would wait for each
    /// tablet's answer (measured: a client that does not answer held the stop for over 40 s).
    func closeAll() {
        let all = connections.withLock { c -> [(PadID, Int, (any Channel)?)] in c.byPad.map { ($0.key, $0.value.id, $0.value.channel) } }
        for (pad, id, channel) in all {
            close(pad, id)
            channel?.close(promise: nil)
        }
    }

    /// Ends connection `id` of `pad` (if it is still the pad's): the pad is detached.
    private func close(_ pad: PadID, _ id: Int) {
        let gone = connections.withLock { c -> Connection? in
            guard let conn = c.byPad[pad], conn.id == id else { return nil }
            c.byPad[pad] = nil
            return conn
        }
        guard let gone else { return }
        gone.outbox.finish()
        stats.padAttached(pad, path: nil)
    }
}

/// Reads the gateway's commands for screen pads (prompts, refreshes after a commit) and has
/// `ScreenPads` write what changed.
struct ScreenCommandService: Service {
    let screens: ScreenPads
    let commands: AsyncStream<[PadCommand]>

    /// Listed after the API in the service group, so it stops first: its stop closes the
    /// screen pads' WebSockets, which the API's graceful shutdown would otherwise wait for.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await batch in commands {
                for pad in Set(batch.map(\.pad)).sorted() { await screens.refresh(pad) }
            }
        }
        screens.closeAll()
    }
}
