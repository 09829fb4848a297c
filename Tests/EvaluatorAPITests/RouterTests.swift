import EvaluatorAPI
import EvaluatorCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A fake gateway: every call is noted (so a test sees whether a request reached it), writes
/// answer `unknown_window`, reads answer empty values. The router and its access middleware
/// are the real ones (issue 21: the API target's own tests, no daemon).
final class FakeService: EvaluationService {
    let calls = Mutex<[String]>([])
    private func note(_ call: String) { calls.withLock { $0.append(call) } }

    func openEvaluation(windowID: String, request: EvaluationRequest, caller: String) async throws(Rejection) -> OpenedEvaluation {
        note("open \(windowID) \(caller)"); throw .unknownWindow(windowID)
    }
    func cancelEvaluation(windowID: String, caller: String) async throws(Rejection) -> Session { note("cancel"); throw .unknownWindow(windowID) }
    func windows() async -> [WindowSnapshot] { note("windows"); return [] }
    func status() async throws(Rejection) -> StatusSnapshot { note("status"); throw .storeUnavailable("fake") }
    func devices() async -> DevicesSnapshot { note("devices"); return DevicesSnapshot(pads: [], unconfigured: [], hotplug: false) }
    func resend(recordIDs: [String]?, caller: String) async throws(Rejection) -> ResendResult { note("resend"); return ResendResult(requeued: [], notResendable: []) }
    func stats(since: String?, until: String?, by: String?) async throws(Rejection) -> StatsReport { note("stats"); throw .invalidQuery("fake") }
    func health() async -> HealthSnapshot { note("health"); return HealthSnapshot(status: .ok, problems: []) }
    func importSalvaged(_ request: ImportRequest, caller: String) async throws(Rejection) -> ImportResult {
        note("import \(caller)"); return ImportResult(imported: 0, alreadyPresent: 0, ratedCases: 0)
    }
    func setStaff(windowID: String, staff: StaffMember?, caller: String) async throws(Rejection) -> WindowSnapshot { note("staff"); throw .unknownWindow(windowID) }
    func screenPad(ofWindow windowID: String) async -> PadID? { note("screenPad"); return windowID == "W01" ? .screen(name: "T1") : nil }
    func staffPhoto(windowID: String) async -> String? { note("photo"); return nil }
    func pairPad(windowID: String, address: String, caller: String) async throws(Rejection) -> PairingCode { note("pair"); throw .noScreenPad(windowID) }
    func exchangePairing(windowID: String, code: String, remote: String) async throws(Rejection) -> String {
        note("exchange"); throw .noScreenPad(windowID) // (a refused pairing is a 403 of its own)
    }
    func pairedAt(windowID: String) async -> String? { nil }
    func setPaused(windowID: String, paused: Bool, caller: String) async throws(Rejection) -> WindowSnapshot { note("pause"); throw .unknownWindow(windowID) }
}

@Suite("API: the router with its access middleware, against a fake gateway (issue 21)")
struct RouterTests {
    static let tokens = TokenSet(tokens: [
        APIToken(name: "it", scope: .admin, secret: "admin-secret-0123456789"),
        APIToken(name: "queue", scope: .api, secret: "api-secret-0123456789"),
        APIToken(name: "dash", scope: .read, secret: "read-secret-0123456789"),
        APIToken(name: "T1", scope: .pad(window: "W01"), secret: "pad-secret-0123456789"),
    ])

    @Test("every route × every caller: 401 without a token, 403 for a scope that may not, else the gateway is asked — and a refused call never reaches it")
    func scopeTable() async throws {
        let service = FakeService()
        let router = EvaluatorAPI.router(service: service, maxBodyBytes: 65_536, tokens: TokenBox(Self.tokens),
                                         reload: { caller in ReloadResult(outcome: .applied, at: Millis(0), trigger: caller) },
                                         metrics: { "" })
        let app = Application(router: router)
        typealias M = HTTPRequest.Method
        let open = #"{"case_id": "C1"}"#
        // (method, path, body, may: admin api read pad:W01 nobody)
        let rows: [(M, String, String?, [Bool])] = [
            (.post, "/v1/windows/W01/evaluations", open, [true, true, false, false, false]),
            (.delete, "/v1/windows/W01/evaluations/current", nil, [true, true, false, false, false]),
            (.put, "/v1/windows/W01/staff", #"{"staff_id": "S1", "name": "李娜"}"#, [true, true, false, false, false]),
            (.post, "/v1/windows/W01/pause", nil, [true, true, false, false, false]),
            (.get, "/v1/status", nil, [true, true, true, false, false]),
            (.get, "/v1/windows", nil, [true, true, true, false, false]),
            (.get, "/v1/devices", nil, [true, true, true, false, false]),
            (.get, "/v1/stats", nil, [true, true, true, false, false]),
            (.get, "/metrics", nil, [true, true, true, false, false]),
            (.get, "/ui", nil, [true, true, true, false, false]),
            (.post, "/v1/records/import", #"{"records": []}"#, [true, false, false, false, false]),
            (.post, "/v1/records/resend", "{}", [true, false, false, false, false]),
            (.post, "/v1/reload", nil, [true, false, false, false, false]),
            (.get, "/ui/pads", nil, [true, false, false, false, false]),
            (.post, "/v1/pads/W01/pair", "{}", [true, false, false, false, false]),
            (.get, "/pad/W01/photo", nil, [false, false, false, true, false]),
            (.get, "/healthz", nil, [true, true, true, true, true]),
            (.get, "/pad/W01", nil, [true, true, true, true, true]),
            (.post, "/pad/W01/pair", #"{"code": "12345678"}"#, [true, true, true, true, true]),
            (.get, "/assets/hall.js", nil, [true, true, true, true, true]),
        ]
        let callers: [(String, String?)] = [("admin", "admin-secret-0123456789"), ("api", "api-secret-0123456789"),
                                            ("read", "read-secret-0123456789"), ("pad:W01", "pad-secret-0123456789"), ("nobody", nil)]
        try await app.test(.router) { client in
            for (method, path, body, may) in rows {
                for ((who, secret), allowed) in zip(callers, may) {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let secret { headers[.authorization] = "Bearer \(secret)" }
                    let before = service.calls.withLock { $0.count }
                    let status = try await client.execute(uri: path, method: method, headers: headers,
                                                          body: body.map { ByteBuffer(string: $0) }) { $0.status.code }
                    let reached = service.calls.withLock { $0.count } > before
                    if path.hasPrefix("/assets/") { #expect(status == 200, "\(who) \(path): \(status)") }
                    if allowed {
                        #expect(status != 401 && status != 403, "\(who) \(method) \(path): \(status)")
                    } else {
                        #expect(status == (secret == nil ? 401 : 403), "\(who) \(method) \(path): \(status)")
                        #expect(!reached, "\(who) \(method) \(path) reached the gateway")
                    }
                }
            }
        }
        // What the callers did is named by their token (R11).
        #expect(service.calls.withLock { $0 }.contains("open W01 queue") && service.calls.withLock { $0 }.contains("import it"))
        #expect(!service.calls.withLock { $0 }.contains("import queue"))
    }

    @Test("a refusal is JSON naming the scope and what it may not do; a token in a URL is taken only on a page")
    func refusals() async throws {
        let service = FakeService()
        let app = Application(router: EvaluatorAPI.router(service: service, maxBodyBytes: 65_536, tokens: TokenBox(Self.tokens)))
        try await app.test(.router) { client in
            let forbidden = try await client.execute(uri: "/v1/records/import", method: .post,
                                                     headers: [.authorization: "Bearer api-secret-0123456789", .contentType: "application/json"],
                                                     body: ByteBuffer(string: #"{"records": []}"#)) { $0 }
            #expect(forbidden.status == .forbidden)
            let text = String(buffer: forbidden.body)
            #expect(text.contains(#""code":"forbidden""#) && text.contains("token queue (scope api) may not POST /v1/records/import") && text.contains("admin"))
            // ?token= on an API route is not a token (it would sit in proxy logs).
            let viaQuery = try await client.execute(uri: "/v1/status?token=read-secret-0123456789", method: .get) { $0.status.code }
            #expect(viaQuery == 401)
            let page = try await client.execute(uri: "/ui?token=read-secret-0123456789", method: .get) { $0.status.code }
            #expect(page == 200)
        }
        #expect(!service.calls.withLock { $0 }.contains { $0.hasPrefix("import") })
    }

    @Test("the pages are files (issue 21): HTML at its route, CSS and JavaScript under /assets with their types, a policy with no 'unsafe-inline'; an HTML file is not an asset")
    func pagesAsFiles() async throws {
        let service = FakeService()
        let app = Application(router: EvaluatorAPI.router(service: service, maxBodyBytes: 65_536, tokens: TokenBox(Self.tokens)))
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/pad/W01", method: .get) { $0 }
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains(#"<script src="/assets/pad.js"></script>"#) && html.contains(#"href="/assets/pad.css""#))
            #expect(!html.contains("<script>") && !html.contains("<style>"), "no inline script or style is left")
            let csp = page.headers[.contentSecurityPolicy] ?? ""
            #expect(csp.contains("script-src 'self'") && csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"))
            for (name, type, marker) in [("pad.js", "text/javascript", "WebSocket"), ("pad.css", "text/css", "{"), ("hall.js", "text/javascript", "/v1/status"), ("hall.css", "text/css", "{")] {
                let r = try await client.execute(uri: "/assets/\(name)", method: .get) { $0 }
                #expect(r.status == .ok && r.headers[.contentType]?.hasPrefix(type) == true, "\(name)")
                #expect(String(buffer: r.body).contains(marker), "\(name)")
                #expect(r.headers[.init("X-Content-Type-Options")!] == "nosniff")
            }
            #expect(try await client.execute(uri: "/assets/hall.html", method: .get) { $0.status } == .notFound)
            #expect(try await client.execute(uri: "/assets/../v1/status", method: .get) { $0.status } != .ok)
        }
    }
}

/// The one screen-pad rule (issue 21): which token may open the WebSocket of window W03,
/// whose screen is T1. The upgrade passes the access middleware first (any `/v1/` path is
/// allowed to admin and api), so this rule is what keeps them off a pad's socket.
@Suite("the screen-pad rule")
struct ScreenPadRuleTests {
    @Test("only W03's pad line named after its screen, or W03's pairing, is W03's pad", arguments: [
        (APIToken(name: "T1", scope: .pad(window: "W03"), secret: "s"), true),
        (APIToken(name: "paired-pad-W03", scope: .pad(window: "W03"), secret: "s", paired: true), true),
        (APIToken(name: "T2", scope: .pad(window: "W03"), secret: "s"), false),
        (APIToken(name: "T1", scope: .pad(window: "W01"), secret: "s"), false),
        (APIToken(name: "paired-pad-W01", scope: .pad(window: "W01"), secret: "s", paired: true), false),
        (APIToken(name: "T1", scope: .admin, secret: "s"), false),
        (APIToken(name: "T1", scope: .api, secret: "s"), false),
        (APIToken(name: "T1", scope: .read, secret: "s"), false),
    ])
    func rule(token: APIToken, allowed: Bool) {
        #expect(Access.isScreenPad(token, window: "W03", pad: .screen(name: "T1")) == allowed)
    }

    @Test("no token is no pad")
    func none() {
        #expect(!Access.isScreenPad(nil, window: "W03", pad: .screen(name: "T1")))
    }
}
