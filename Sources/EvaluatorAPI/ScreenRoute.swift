import EvaluatorCore
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// A screen pad's WebSocket, accepted by the screen route: which pad, its token, its connection.
public struct ScreenConnection: Sendable {
    public let window: String
    public let pad: PadID
    public let token: APIToken
    public let remote: String
    public let channel: any Channel
}

extension EvaluatorAPI {
    /// The router a WebSocket upgrade goes through (issue 21): `GET /v1/pads/{window}/ws` behind
    /// the same access middleware as every other route (tokens, pairing secrets, the browser
    /// guard), then the one screen-pad rule (`Access.isScreenPad`). An upgrade it does not take
    /// goes on to the API's router as a plain request, which answers 401/403/426 in words.
    /// - Parameter screenPad: the screen pad of a window (nil: none, or not a screen).
    /// - Parameter serve: serves an accepted connection until it closes.
    public static func screenRouter(tokens: TokenBox, pairedPad: (@Sendable (String) -> APIToken?)? = nil, browser: BrowserGuard? = nil,
                                    screenPad: @escaping @Sendable (String) -> PadID?,
                                    serve: @escaping @Sendable (ScreenConnection, WebSocketInboundStream, WebSocketOutboundWriter) async -> Void)
        -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: AccessMiddleware(tokens: tokens, browser: browser, pairedPad: pairedPad))
        router.ws("/v1/pads/:window/ws") { _, context in
            guard let window = context.parameters.get("window"), let pad = screenPad(window),
                  Access.isScreenPad(context.token, window: window, pad: pad) else { return .dontUpgrade }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, ws in
            let context = ws.requestContext
            guard let window = context.parameters.get("window"), let pad = screenPad(window), let token = context.token else { return }
            await serve(ScreenConnection(window: window, pad: pad, token: token, remote: context.remote, channel: context.channel), inbound, outbound)
        }
        return router
    }
}
