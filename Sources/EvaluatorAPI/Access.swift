import EvaluatorCore
import EvaluatorWire
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// The request context of the local API: who is calling (the token's name, or `api` when the
/// daemon has no tokens file).
public struct APIRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token's name; logged with each action and recorded on the records it produced (R11).
    public var caller = "api"
    /// The token the request's secret stands for (a tokens-file line, the admin token or a
    /// screen pad's pairing), set by the access middleware; nil without one.
    public var token: APIToken?
    /// The peer's address (`ip:port`, or the unix socket), for the records of who paired a pad.
    public var remote: String
    /// The connection, for a screen pad's WebSocket (its liveness and its close at shutdown).
    public let channel: any Channel
    /// Where the screen route leaves its WebSocket handler (hummingbird-websocket's upgrade).
    public let webSocket = WebSocketHandlerReference<Self>()

    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
        remote = source.channel.remoteAddress.map { a in a.ipAddress.map { "\($0):\(a.port ?? 0)" } ?? (a.pathname.map { "unix:\($0)" } ?? "\(a)") } ?? "?"
    }
}

/// The tokens in force: replaced whole by a reload, read once per request.
public final class TokenBox: Sendable {
    private let value: Mutex<TokenSet?>
    public init(_ tokens: TokenSet?) { value = Mutex(tokens) }
    public var current: TokenSet? { value.withLock { $0 } }
    public func replace(_ tokens: TokenSet?) { value.withLock { $0 = tokens } }
}

/// Who may call what (R10, R11). Pure: the scope, the method and the path in; allowed or not.
public enum Access {
    /// The token of an `Authorization: Bearer TOKEN` header (the API's requests and the screen
    /// pads' WebSocket upgrades read it the same way).
    public static func bearer(_ header: String?) -> String? {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// The routes that change stored records or the configuration, or show a secret: only
    /// `admin` (hall IT) may call them (issue 20). `api` is the business system clerks
    /// operate — the party a rating judges — so it may not create (import), re-send, reload or
    /// see a screen pad's link.
    public static let adminPaths: Set<String> = ["/v1/records/import", "/v1/records/resend", "/v1/reload", "/ui/pads"]
    /// What `read` may GET: figures and state, never a secret.
    public static let readPaths: Set<String> = ["/v1/status", "/v1/windows", "/v1/devices", "/v1/stats", "/metrics", "/ui"]

    public static func isAdminOnly(_ path: String) -> Bool {
        adminPaths.contains(path) || (path.hasPrefix("/v1/pads/") && path.hasSuffix("/pair"))
    }

    public static func allows(_ scope: APIToken.Scope, method: HTTPRequest.Method, path: String) -> Bool {
        switch scope {
        case .admin:
            return path.hasPrefix("/v1/") || isAdminOnly(path) || (method == .get && readPaths.contains(path))
        case .api:
            if isAdminOnly(path) { return false }
            return path.hasPrefix("/v1/") || (method == .get && readPaths.contains(path))
        case .read:
            return method == .get && readPaths.contains(path)
        case let .pad(window):
            return method == .get && (path == "/pad/\(window)" || path == "/pad/\(window)/photo" || path == "/v1/pads/\(window)/ws")
        }
    }

    /// The one rule for a screen pad's connection (issue 21): `token` is the pad of `window`,
    /// whose screen is `pad` — a `pad:WINDOW` line named after that screen, or the window's
    /// pairing. Any other token (admin, api, read, another window's or another screen's) is not,
    /// whatever else its scope allows.
    public static func isScreenPad(_ token: APIToken?, window: String, pad: PadID) -> Bool {
        guard let token, token.scope == .pad(window: window) else { return false }
        return token.paired || pad == .screen(name: token.name)
    }

    /// What anyone may call without a token (issue 20): the health check, a screen pad's page
    /// and the pages' files (static: they hold no secret; the tablet brings its own) and the pairing exchange, whose
    /// one-time code is the credential (8 digits, 10 minutes, 5 wrong tries void it).
    public static func isOpen(method: HTTPRequest.Method, path: String) -> Bool {
        if method == .get { return path == "/healthz" || isPadPage(path) || isPageFile(path) }
        return method == .post && path.hasPrefix("/pad/") && path.hasSuffix("/pair") && path.split(separator: "/").count == 3
    }

    /// `/assets/{file}`: the pages' CSS and JavaScript (static, the same for everyone; issue 21).
    static func isPageFile(_ path: String) -> Bool { isOneSegment(path, under: "/assets/") }

    /// `/pad/{window}`.
    static func isPadPage(_ path: String) -> Bool { isOneSegment(path, under: "/pad/") }

    /// `prefix` followed by one non-empty path segment.
    private static func isOneSegment(_ path: String, under prefix: String) -> Bool {
        path.hasPrefix(prefix) && path.count > prefix.count && !path.dropFirst(prefix.count).contains("/")
    }
}

/// A TCP listener without tokens (loopback only: anything else needs tokens) must not be
/// driven by a web page the clerk opens (issue 20): a page can POST `text/plain` or a form to
/// 127.0.0.1 (CSRF) or rebind its own name to it (DNS rebinding). Pure: the request's method
/// and headers in, a refusal (403) or nil. With tokens, or on the unix socket, it is not used.
public struct BrowserGuard: Sendable {
    /// Host names a request's `Host` may carry (lower case).
    public let hosts: Set<String>
    /// Origins of web-based window systems that may call, with CORS answers.
    public let origins: Set<String>

    /// nil for a unix socket.
    public init?(listen: APIListen, access: APIAccess) {
        guard case let .tcp(host, _) = listen else { return nil }
        var hosts: Set<String> = [host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))]
        if listen.isLocal { hosts.formUnion(["localhost", "127.0.0.1", "::1"]) }
        self.hosts = hosts.union(access.allowedHosts)
        origins = Set(access.allowedOrigins)
    }

    /// The host name of a `Host` header (`name:port`, `[v6]:port`).
    static func hostName(_ authority: String) -> String {
        let a = authority.lowercased()
        if a.hasPrefix("["), let end = a.firstIndex(of: "]") { return String(a[a.index(after: a.startIndex)..<end]) }
        return String(a.split(separator: ":", maxSplits: 1).first ?? "")
    }

    public func refusal(method: HTTPRequest.Method, host: String?, origin: String?, contentType: String?) -> String? {
        guard let host, hosts.contains(Self.hostName(host)) else {
            return "Host \"\(host ?? "")\" is not this API's address: add it to [api] allowed_hosts if a system reaches the API by that name"
        }
        if let origin, !origins.contains(origin), origin != "http://\(host)", origin != "https://\(host)" {
            return "Origin \(origin) may not call this API (a web page's request): add it to [api] allowed_origins for a browser-based window system"
        }
        if ![.get, .head, .options].contains(method) {
            let media = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard media == "application/json" else {
                return "a \(method) needs Content-Type: application/json (got \(contentType ?? "none"))"
            }
        }
        return nil
    }

    /// The CORS headers for an allowed origin (nil for any other).
    public func cors(origin: String?) -> HTTPFields? {
        guard let origin, origins.contains(origin) else { return nil }
        return [.accessControlAllowOrigin: origin, .vary: "Origin", .accessControlAllowMethods: "GET, POST, PUT, DELETE",
                .accessControlAllowHeaders: "Content-Type, Authorization", .accessControlMaxAge: "600"]
    }
}

/// With a tokens file, every request but `GET /healthz` needs `Authorization: Bearer TOKEN` (or,
/// for a browser page's GET, `?token=`) with a sufficient scope: 401 `unauthorized` without a
/// known token, 403 `forbidden` with the wrong scope; nothing is changed either way.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let tokens: TokenBox
    var browser: BrowserGuard?
    /// A paired screen pad's secret as a `pad:WINDOW` token (issue 20).
    var pairedPad: (@Sendable (String) -> APIToken?)?

    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        let current = tokens.current
        context.token = Self.secret(request).flatMap { current?.find($0) ?? pairedPad?($0) }
        guard current != nil else {
            guard let browser else { return try await next(request, context) }
            let origin = request.headers[.origin]
            if let refusal = browser.refusal(method: request.method, host: request.head.authority, origin: origin, contentType: request.headers[.contentType]) {
                return EvaluatorAPI.failure(APIFailure(status: 403, code: "forbidden", message: refusal))
            }
            let cors = browser.cors(origin: origin)
            if request.method == .options, let cors { return Response(status: .noContent, headers: cors) }
            var response = try await next(request, context)
            if let cors { response.headers.append(contentsOf: cors) }
            return response
        }
        let path = request.uri.path
        if Access.isOpen(method: request.method, path: path) { return try await next(request, context) }
        guard let token = context.token else {
            return EvaluatorAPI.failure(APIFailure(status: 401, code: "unauthorized", message: "a valid token is required: Authorization: Bearer TOKEN"))
        }
        guard Access.allows(token.scope, method: request.method, path: path) else {
            let needs = Access.isAdminOnly(path) ? ": only an admin token may (hall IT: evaluatorctl as root uses the admin token file)" : ""
            return EvaluatorAPI.failure(APIFailure(status: 403, code: "forbidden", message: "token \(token.name) (scope \(token.scope)) may not \(request.method) \(path)\(needs)"))
        }
        context.caller = token.name
        return try await next(request, context)
    }

    /// The pages a browser opens with `?token=` (the hall status page, a screen pad's page and
    /// its WebSocket); anywhere else a token in the URL would end up in proxy logs.
    static func isPage(_ path: String) -> Bool {
        path == "/ui" || path.hasPrefix("/pad/") || (path.hasPrefix("/v1/pads/") && path.hasSuffix("/ws"))
    }

    /// The bearer token, or for a page's GET the `token` query parameter.
    static func secret(_ request: Request) -> String? {
        if let token = Access.bearer(request.headers[.authorization]) { return token }
        if request.method == .get, isPage(request.uri.path), let t = request.uri.queryParameters.get("token") { return t }
        return nil
    }
}
