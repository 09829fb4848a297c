@testable import EvaluatorAPI
import EvaluatorCore
import Foundation
import Hummingbird
import Testing

@Suite("API: the open-evaluation body and how rejections become HTTP answers")
struct APITests {
    @Test("a valid body becomes a request; timeout_s in ms; the case id trimmed")
    func validBody() throws {
        let r = try OpenBody.parse(Data(#"{"case_id": " C1 ", "batch_case_ids": ["C2"], "staff_id": "S9", "timeout_s": 20}"#.utf8))
        #expect(r == EvaluationRequest(caseID: "C1", batchCaseIDs: ["C2"], staffID: "S9", timeoutMs: 20_000))
    }

    @Test("bad bodies are refused with a message naming the field", arguments: [
        (#"{}"#, "field case_id is required"),
        (#"{"case_id": ""}"#, "field case_id must not be empty"),
        (#"{"case_id": 5}"#, "field case_id must be a string"),
        (#"{"case_id": "C", "timeout_s": 0}"#, "field timeout_s must be between 1 and 3600, got 0"),
        (#"{"case_id": "C", "batch_case_ids": [" "]}"#, "field batch_case_ids[0] must not be empty"),
        ("not json", "body is not valid JSON"),
    ])
    func badBodies(body: String, message: String) {
        #expect(throws: RequestError(message)) { try OpenBody.parse(Data(body.utf8)) }
    }

    @Test("each rejection maps to one status and a stable code")
    func rejections() {
        let table: [(Rejection, Int, String)] = [
            (.unknownWindow("W9"), 404, "unknown_window"),
            (.alreadyRated(caseID: "C1"), 409, "already_rated"),
            (.caseOpenElsewhere(caseID: "C1", windowID: "W02"), 409, "case_open_elsewhere"),
            (.nothingToCancel(windowID: "W01"), 404, "no_open_evaluation"),
            (.storeUnavailable("disk I/O error"), 503, "store_unavailable"),
            (.batchTooLarge(cases: 51, max: 50), 400, "batch_too_large"),
            (.invalidQuery("since"), 400, "bad_request"),
            (.invalidImport("foreign"), 400, "invalid_import"),
            (.staffChanged(windowID: "W01", caseID: "C1", from: "S1", to: nil), 409, "staff_changed"),
            (.noScreenPad("W01"), 404, "not_found"),
            (.pairingRefused("wrong code"), 403, "pairing_refused"),
        ]
        // Every rejection has its own entry (a new code without one would answer 500).
        #expect(APIFailure.http.count == table.count)
        for (r, status, code) in table {
            let f = APIFailure(r)
            #expect(f.status == status && f.code == code && f.message == r.message)
        }
        #expect(APIFailure(.alreadyRated(caseID: "C1")).message == #"case "C1" has already been rated (one rating per case and stage, R3)"#)
    }
}

/// Who may call what (issue 20, R8 R10 R11): `api` is the business system clerks operate — the
/// party a rating judges — so it may open, cancel, sign staff in and pause, but never create a
/// record (import), re-send, reload or see a screen pad's link; `read` only reads figures.
@Suite("API: which scope may call which route")
struct ScopeTableTests {
    @Test("the table of scopes × routes")
    func table() {
        typealias M = HTTPRequest.Method
        // (method, path, admin, api, read, pad:W01)
        let rows: [(M, String, Bool, Bool, Bool, Bool)] = [
            (.post, "/v1/windows/W01/evaluations", true, true, false, false),
            (.delete, "/v1/windows/W01/evaluations/current", true, true, false, false),
            (.put, "/v1/windows/W01/staff", true, true, false, false),
            (.post, "/v1/windows/W01/pause", true, true, false, false),
            (.get, "/v1/status", true, true, true, false),
            (.get, "/v1/windows", true, true, true, false),
            (.get, "/v1/devices", true, true, true, false),
            (.get, "/v1/stats", true, true, true, false),
            (.get, "/metrics", true, true, true, false),
            (.get, "/ui", true, true, true, false),
            (.post, "/v1/records/import", true, false, false, false),
            (.post, "/v1/records/resend", true, false, false, false),
            (.post, "/v1/reload", true, false, false, false),
            (.get, "/ui/pads", true, false, false, false),
            (.post, "/v1/pads/W01/pair", true, false, false, false),
            (.get, "/pad/W01", false, false, false, true),
            (.get, "/v1/pads/W01/ws", true, true, false, true),
            (.get, "/pad/W02", false, false, false, false),
        ]
        for (method, path, admin, api, read, pad) in rows {
            #expect(Access.allows(.admin, method: method, path: path) == admin, "admin \(method) \(path)")
            #expect(Access.allows(.api, method: method, path: path) == api, "api \(method) \(path)")
            #expect(Access.allows(.read, method: method, path: path) == read, "read \(method) \(path)")
            #expect(Access.allows(.pad(window: "W01"), method: method, path: path) == pad, "pad:W01 \(method) \(path)")
        }
    }
}

@Suite("API: the pages' policy (issue 20)")
struct PagePolicyTests {
    @Test("connect-src is the page's own origin, never framed; a strange Host is not echoed")
    func policy() {
        let csp = EvaluatorAPI.contentSecurityPolicy(host: "192.168.1.20:8740")
        #expect(csp.contains("connect-src 'self' ws://192.168.1.20:8740 wss://192.168.1.20:8740;"))
        #expect(csp.contains("frame-ancestors 'none'") && !csp.contains("ws: ") && !csp.contains("wss:;"))
        #expect(!csp.contains("unsafe-inline"), "the pages' script and style are files (issue 21)")
        let odd = EvaluatorAPI.contentSecurityPolicy(host: "evil.example; script-src *")
        #expect(odd.contains("connect-src 'self';") && !odd.contains("evil"))
    }
}

@Suite("API: no web page drives the API without tokens (issue 20, CSRF and DNS rebinding)")
struct BrowserGuardTests {
    @Test("Host, Origin and Content-Type rules on a loopback TCP listener; none on the unix socket")
    func rules() throws {
        var access = APIAccess()
        access.allowedHosts = ["queue-pc"]
        access.allowedOrigins = ["http://queue.hall.local:8080"]
        let guardRule = try #require(BrowserGuard(listen: .tcp(host: "127.0.0.1", port: 8740), access: access))
        #expect(BrowserGuard(listen: .unix(path: "/run/evaluatord/api.sock"), access: access) == nil)
        let json = "application/json; charset=utf-8"
        let rows: [(HTTPRequest.Method, String?, String?, String?, String?)] = [
            (.post, "127.0.0.1:8740", nil, json, nil),
            (.post, "localhost:8740", nil, "Application/JSON", nil),
            (.post, "[::1]:8740", nil, json, nil),
            (.post, "queue-pc:8740", nil, json, nil),
            (.get, "127.0.0.1:8740", nil, nil, nil),
            (.delete, "127.0.0.1:8740", nil, json, nil),
            (.post, "127.0.0.1:8740", "http://127.0.0.1:8740", json, nil),
            (.post, "127.0.0.1:8740", "http://queue.hall.local:8080", json, nil),
            (.post, "127.0.0.1:8740", nil, "text/plain", "needs Content-Type: application/json"),
            (.post, "127.0.0.1:8740", nil, nil, "needs Content-Type: application/json"),
            (.delete, "127.0.0.1:8740", nil, "application/x-www-form-urlencoded", "needs Content-Type: application/json"),
            (.post, "rebound.attacker.example:8740", nil, json, "is not this API's address"),
            (.get, "rebound.attacker.example:8740", nil, nil, "is not this API's address"),
            (.get, nil, nil, nil, "is not this API's address"),
            (.post, "127.0.0.1:8740", "http://attacker.example", json, "Origin http://attacker.example may not call"),
            (.get, "127.0.0.1:8740", "null", nil, "Origin null may not call"),
        ]
        for (method, host, origin, type, refusal) in rows {
            let got = guardRule.refusal(method: method, host: host, origin: origin, contentType: type)
            if let refusal { #expect(got?.contains(refusal) == true, "\(method) \(host ?? "-") \(origin ?? "-"): \(got ?? "allowed")") } else { #expect(got == nil, "\(got ?? "")") }
        }
        #expect(guardRule.cors(origin: "http://queue.hall.local:8080")?[.accessControlAllowOrigin] == "http://queue.hall.local:8080")
        #expect(guardRule.cors(origin: "http://attacker.example") == nil)
    }
}
