import AsyncHTTPClient
import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorStore
import EvaluatorTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing
#if canImport(Glibc)
import Glibc
#endif

let apiToken = "queue-token-0123456789abcdefghijklmnop"
let readToken = "read-token-0123456789abcdefghijklmnopq"
let padToken = "pad-token-0123456789abcdefghijklmnopqr"
let adminToken = "admin-token-0123456789abcdefghijklmnop"

/// A tokens file (mode 0600) with one token of each scope, and beside it the admin token file
/// (`admin.token`, 0600) the daemon reads besides it (issue 20).
func writeTokens(_ dir: String, admin: Bool = true) throws -> String {
    if admin {
        try (adminToken + "\n").write(toFile: dir + "/admin.token", atomically: true, encoding: .utf8)
        chmod(dir + "/admin.token", 0o600)
    }
    let path = dir + "/tokens"
    try """
    # NAME SCOPE TOKEN
    queue api \(apiToken)
    hall-it read \(readToken)
    tablet-1 pad:W01 \(padToken)
    """.write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o600)
    return path
}

/// Server-side sockets of `port` that a process has accepted (established, with an inode).
/// This process's resident set (VmRSS, KiB): the daemon runs in the test process.
func residentKiB() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

func acceptedConnections(port: UInt16) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return 0 }
    let hexPort = String(format: "%04X", port)
    return text.split(separator: "\n").dropFirst().filter { line in
        let f = line.split(separator: " ")
        return f.count > 9 && f[1].hasSuffix(":" + hexPort) && f[3] == "01" && f[9] != "0"
    }.count
}

/// The repository's debug build of an executable (swift test builds them).
func builtExecutable(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/\(name)").path
}

@Suite("hostile input: API access, ids, one daemon per state folder (issue 11)", .serialized)
struct HostileInputTests {
    @Test("with a tokens file: 401 without or with an unknown token, 403 for the wrong scope, nothing changed; healthz open; the caller's name on the records")
    func tokens() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let config = try testConfig(dir: dir, receiverPort: nil, api: "tokens_file = \"\(try writeTokens(dir))\"")
        let daemon = try await RunningDaemon(config: config, logger: logs.logger)
        let open = #"{"case_id": "T-1"}"#
        #expect(try await daemon.request(.GET, "/healthz").0 == 200)
        let none = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: open)
        #expect(none.0 == 401 && (none.1["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: open, token: "x" + apiToken).0 == 401)
        let wrong = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: open, token: readToken)
        #expect(wrong.0 == 403 && (wrong.1["error"] as? [String: Any])?["code"] as? String == "forbidden")
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: open, token: padToken).0 == 403)
        #expect(try await daemon.request(.DELETE, "/v1/windows/W01/evaluations/current", token: readToken).0 == 403)
        #expect(try await daemon.request(.GET, "/v1/status").0 == 401)
        #expect(try await daemon.request(.GET, "/v1/status", token: padToken).0 == 403)
        #expect(try await daemon.request(.GET, "/v1/status", token: readToken).0 == 200)
        #expect(try await daemon.request(.GET, "/v1/status?token=\(readToken)").0 == 401, "a token in the URL only for the browser pages")
        #expect(try await daemon.request(.GET, "/v1/windows", token: apiToken).0 == 200)
        let windows = try await daemon.request(.GET, "/v1/windows", token: readToken)
        #expect(((windows.1["windows"] as? [[String: Any]]) ?? []).allSatisfy { $0["session"] == nil || $0["session"] is NSNull }, "nothing was opened by the refused calls")
        // The queue system opens, the clerk's PC (same token here) cancels; then opens again and the pad rates.
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: open, token: apiToken).0 == 201)
        #expect(try await daemon.request(.DELETE, "/v1/windows/W01/evaluations/current", token: apiToken).0 == 200)
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "T-2"}"#, token: apiToken).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        pad.press(address: 3, key: 2)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 2))
        let bodies = try daemon.daemon.store.recentRecords(limit: 10).map { try JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any] ?? [:] }
        let cancelled = try #require(bodies.first { $0["outcome"] as? String == "cancelled" })
        #expect(cancelled["opened_by"] as? String == "queue" && cancelled["ended_by"] as? String == "queue")
        let rated = try #require(bodies.first { $0["outcome"] as? String == "rated" })
        #expect(rated["opened_by"] as? String == "queue" && rated["ended_by"] is NSNull)
        #expect(logs.contains("evaluation cancelled") && logs.contains("caller=queue"))
        #expect(!logs.lines.withLock { $0.joined() }.contains(apiToken), "a token never reaches a log")
        await daemon.stop()
        pad.close()
    }

    @Test("issue 20: an api or read token cannot import, resend, reload or see a pad's link; the admin token can, and each admin action is an audit record naming it")
    func adminScope() async throws {
        let dir = temporaryFolder()
        let logs = LogCapture()
        let config = try testConfig(dir: dir, receiverPort: nil, api: "tokens_file = \"\(try writeTokens(dir))\"")
        #expect(config.apiAccess.adminToken?.secret == adminToken && config.apiAccess.adminTokenFile == dir + "/admin.token")
        let daemon = try await RunningDaemon(config: config, logger: logs.logger)
        let before = try daemon.daemon.store.recordCount()
        // What a clerk-side token tried before: made-up records imported and sealed into the chain.
        let forged = #"{"records": [{"record_id": "forged-1", "outcome": "rated", "case_id": "C-X", "level": "very_satisfied", "score": 10, "recorded_at": "2026-01-01T00:00:00.000Z"}], "rated_cases": [{"case_id": "C-Y", "record_id": "forged-1"}]}"#
        for token in [apiToken, readToken, padToken] {
            let (code, body) = try await daemon.request(.POST, "/v1/records/import", json: forged, token: token)
            #expect(code == 403 && (body["error"] as? [String: Any])?["code"] as? String == "forbidden", "\(body)")
            #expect(try await daemon.request(.POST, "/v1/records/resend", json: "{}", token: token).0 == 403)
            #expect(try await daemon.request(.POST, "/v1/reload", json: "{}", token: token).0 == 403)
            #expect(try await daemon.request(.GET, "/ui/pads", token: token).0 == 403)
        }
        #expect(try daemon.daemon.store.recordCount() == before, "nothing was stored by the refused calls")
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "C-Y"}"#, token: apiToken).0 == 201, "C-Y was not marked rated")
        // read never sees a secret: no token in anything it may GET.
        for path in ["/v1/status", "/v1/windows", "/v1/devices", "/v1/stats", "/ui"] {
            var r = HTTPClientRequest(url: daemon.api + path)
            r.headers.add(name: "Authorization", value: "Bearer \(readToken)")
            let resp = try await HTTPClient.shared.execute(r, timeout: .seconds(10))
            let text = String(buffer: try await resp.body.collect(upTo: 1 << 20))
            #expect(resp.status.code == 200, "\(path)")
            for secret in [apiToken, padToken, adminToken, readToken] { #expect(!text.contains(secret), "\(path) shows a token") }
        }
        // The admin token may; each action is an audit record with who and the counts.
        let (code, resent) = try await daemon.request(.POST, "/v1/records/resend", json: "{}", token: adminToken)
        #expect(code == 200 && resent["requeued"] as? Int == 0, "\(resent)")
        #expect(try await daemon.request(.GET, "/ui/pads", token: adminToken).0 == 200)
        let audits = try daemon.daemon.store.recentRecords(limit: 20).filter { $0.outcome == "audit" }
            .map { try JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any] ?? [:] }
        let audit = try #require(audits.first { ($0["detail"] as? String)?.hasPrefix("admin: resend") == true }, "\(audits)")
        #expect(audit["opened_by"] as? String == "admin" && (audit["detail"] as? String)?.contains("0 queued again") == true)
        #expect(!logs.lines.withLock { $0.joined() }.contains(adminToken), "the admin token never reaches a log")
        await daemon.stop()
    }

    @Test("issue 20: without tokens on TCP, a web page cannot open, pause or reload: text/plain, a foreign Origin or Host is 403 and nothing changes; an allowed origin gets CORS")
    func browserCannotDrive() async throws {
        let dir = temporaryFolder()
        let config = try testConfig(dir: dir, receiverPort: nil, api: #"allowed_origins = ["http://queue.hall.local:8080"]"#)
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        func send(_ method: HTTPMethod, _ path: String, _ headers: [(String, String)], body: String? = nil) async throws -> (Int, HTTPHeaders) {
            var r = HTTPClientRequest(url: daemon.api + path)
            r.method = method
            for (k, v) in headers { r.headers.replaceOrAdd(name: k, value: v) }
            if let body { r.body = .bytes(ByteBuffer(string: body)) }
            let resp = try await HTTPClient.shared.execute(r, timeout: .seconds(10))
            _ = try await resp.body.collect(upTo: 1 << 20)
            return (Int(resp.status.code), resp.headers)
        }
        let open = #"{"case_id": "CSRF-1"}"#
        // What a page the clerk opens can send without a preflight.
        #expect(try await send(.POST, "/v1/windows/W01/evaluations", [("Content-Type", "text/plain")], body: open).0 == 403)
        #expect(try await send(.POST, "/v1/windows/W01/pause", [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://attacker.example")]).0 == 403)
        #expect(try await send(.POST, "/v1/windows/W01/evaluations", [("Content-Type", "application/json"), ("Origin", "http://attacker.example")], body: open).0 == 403)
        #expect(try await send(.POST, "/v1/reload", [("Content-Type", "text/plain")], body: "{}").0 == 403)
        // DNS rebinding: the attacker's name resolving to 127.0.0.1.
        #expect(try await send(.GET, "/v1/status", [("Host", "rebound.attacker.example")]).0 == 403)
        #expect(try await send(.POST, "/v1/windows/W01/evaluations", [("Content-Type", "application/json"), ("Host", "rebound.attacker.example:80")], body: open).0 == 403)
        let (_, windows) = try await daemon.request(.GET, "/v1/windows")
        let w01 = ((windows["windows"] as? [[String: Any]]) ?? []).first { $0["id"] as? String == "W01" }
        #expect((w01?["session"] == nil || w01?["session"] is NSNull) && w01?["paused"] as? Bool == false, "nothing changed: \(w01 ?? [:])")
        // The allowed browser-based window system: a preflight, then the call, with CORS headers.
        let pre = try await send(.OPTIONS, "/v1/windows/W01/evaluations", [("Origin", "http://queue.hall.local:8080"), ("Access-Control-Request-Method", "POST")])
        #expect(pre.0 == 204 && pre.1["Access-Control-Allow-Origin"].first == "http://queue.hall.local:8080")
        let ok = try await send(.POST, "/v1/windows/W01/evaluations", [("Content-Type", "application/json"), ("Origin", "http://queue.hall.local:8080")], body: open)
        #expect(ok.0 == 201 && ok.1["Access-Control-Allow-Origin"].first == "http://queue.hall.local:8080")
        await daemon.stop()
    }

    @Test("without a tokens file every local caller may act, named api on the records; edits are recorded, a staff change is 409 (issue 20)")
    func noTokens() async throws {
        let dir = temporaryFolder()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: LogCapture().logger)
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "N-1", "staff_id": "S1"}"#).0 == 201)
        // The same case with another staff_id: refused (the pad shows S1), nothing changes (issue 20).
        let (status, refused) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "N-1", "staff_id": "S2"}"#)
        let error = refused["error"] as? [String: Any]
        #expect(status == 409 && error?["code"] as? String == "staff_changed", "\(refused)")
        let message = error?["message"] as? String ?? ""
        #expect(message.contains("cancel the evaluation and open it again"))
        // Edited details update the open session, never end it, and are on its record.
        let (edited, again) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "N-1", "staff_id": "S1", "matter_name": "抵押登记"}"#)
        #expect(edited == 201 && again["reused"] as? Bool == true && again["updated"] as? Bool == true)
        #expect(try daemon.daemon.store.ratingsCount() == 0, "no unrated record for a case still at the window")
        #expect(try await daemon.request(.DELETE, "/v1/windows/W01/evaluations/current").0 == 200)
        let body = try #require(try daemon.daemon.store.recentRecords(limit: 1).first?.body)
        #expect(body.contains(#""ended_by":"api""#) && body.contains(#""opened_by":"api""#) && body.contains(#""staff_id":"S1""#))
        #expect(body.contains(#""field":"matter_name","from":null,"to":"抵押登记""#) && body.contains(#""edited""#), "\(body)")
        // A timeout shortened to 1 s ends the evaluation: its record names who did it.
        #expect(try await daemon.request(.POST, "/v1/windows/W02/evaluations", json: #"{"case_id": "N-2"}"#).0 == 201)
        #expect(try await daemon.request(.POST, "/v1/windows/W02/evaluations", json: #"{"case_id": "N-2", "timeout_s": 1}"#).0 == 201)
        #expect(await eventually(15) { (try? daemon.daemon.store.ratingsCount()) == 2 })
        let expired = try #require(try daemon.daemon.store.recentRecords(limit: 1).first?.body)
        #expect(expired.contains(#""outcome":"unrated""#) && expired.contains(#""ended_by":"api""#) && expired.contains(#""field":"timeout_s""#), "\(expired)")
        await daemon.stop()
    }

    @Test("ids: NFC (a decomposed É is the rated case), control and format characters refused, byte caps, unknown fields and arrays named")
    func ids() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: "{\"case_id\": \"CAF\u{00C9}-1\"}").0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        pad.press(address: 3, key: 3)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 3))
        // The same case written with a combining accent (E + U+0301): the same case, already rated.
        let again = try await daemon.request(.POST, "/v1/windows/W02/evaluations", json: "{\"case_id\": \"CAFE\u{0301}-1\"}")
        #expect(again.0 == 409 && (again.1["error"] as? [String: Any])?["code"] as? String == "already_rated")
        func refused(_ json: String, _ message: String) async throws {
            let (status, body) = try await daemon.request(.POST, "/v1/windows/W02/evaluations", json: json)
            let text = (body["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(status == 400 && text.contains(message), "\(json): \(status) \(text)")
        }
        try await refused(#"{"case_id": "A\nrecord stored outcome=rated"}"#, "control or invisible formatting character (U+000A)")
        try await refused("{\"case_id\": \"A\u{200B}B\"}", "U+200B")
        try await refused("{\"case_id\": \"A\u{202E}B\"}", "U+202E")
        try await refused("{\"case_id\": \"A\u{2028}B\"}", "U+2028")
        try await refused("{\"case_id\": \"\(String(repeating: "案", count: 43))\"}", "longer than 128 bytes")
        try await refused("{\"case_id\": \"C\", \"matter_name\": \"\(String(repeating: "事", count: 86))\"}", "matter_name is longer than 256 bytes")
        try await refused(#"{"case_id": "C", "staf_id": "S1"}"#, #"unknown field "staf_id""#)
        try await refused(#"[{"case_id": "C"}]"#, "must be a JSON object {…}, not an array")
        #expect(try daemon.daemon.store.ratingsCount() == 1, "refused requests stored nothing")
        await daemon.stop()
        pad.close()
    }

    @Test("a planted secret — URL password and query, every token — never reaches check-config, status, last_upload_error, a log line or a config error")
    func secretsNeverPrinted() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let closed = try ScriptedServer { _, _ in .answer(200, commit: true) }
        closed.stop()
        let url = "http://rater:S3cretPass@127.0.0.1:\(closed.port)/ratings?appkey=S3cretQuery"
        let text = testConfigText(dir: dir, receiverPort: nil, api: "tokens_file = \"\(try writeTokens(dir))\"")
            + "[uplink]\nurl = \"\(url)\"\nbackoff_initial_ms = 50\nbackoff_max_ms = 200\nflush_interval_ms = 50\n"
        let config = try GatewayConfig.parse(text, source: "secret.toml", files: .system)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: config, logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "S-1"}"#, token: apiToken).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        pad.press(address: 3, key: 3)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 3))
        #expect(await eventually { logs.contains("uplink batch not accepted") })
        let status = try await daemon.request(.GET, "/v1/status", token: readToken).1
        let statusText = String(decoding: try JSONSerialization.data(withJSONObject: status), as: UTF8.self)
        #expect(statusText.contains("***"), "the URL is shown, redacted: \(statusText)")
        #expect(((status["uplink"] as? [String: Any])?["last_error"] as? String)?.contains("connection refused") == true)
        var configError = ""
        do {
            _ = try GatewayConfig.parse(text.replacingOccurrences(of: "http://rater", with: "ftp://rater"), source: "secret.toml", files: .system)
        } catch {
            configError = "\(error)"
        }
        #expect(configError.contains("is not an http"))
        let outputs = [Control.summary(config), statusText, configError, logs.lines.withLock { $0.joined(separator: "\n") }]
        for secret in ["S3cretPass", "S3cretQuery", apiToken, readToken, padToken] {
            for (i, o) in outputs.enumerated() where o.contains(secret) {
                Issue.record("\(secret) was printed in output \(i): \(o.components(separatedBy: "\n").filter { $0.contains(secret) }.prefix(3))")
            }
        }
        await daemon.stop()
        pad.close()
    }

    @Test("1,500 idle and 256 dripping connections cannot starve the API (issue 20): a head is due header_timeout_ms after accept, the oldest head-less go at the cap; an evaluation opens and is rated within 5 s, the press acked")
    func starvation() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 8192 {
            limit.rlim_cur = min(limit.rlim_max, 8192)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        defer { pad.close() }
        let logs = LogCapture()
        // The defaults: max_connections 256, header_timeout_ms 3000, idle_timeout_s 30 (the other
        // tests allow a head 10 s: 2 cores running every suite at once stall a loop for seconds).
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil, api: "header_timeout_ms = 3000"), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        let rssBefore = residentKiB()
        let port = UInt16(daemon.api.split(separator: ":").last ?? "") ?? 0
        func connectSocket() -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { return fd }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = port.bigEndian
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            return fd
        }
        let idle = (0..<1500).map { _ in connectSocket() }.filter { $0 >= 0 }
        let drip = (0..<256).map { _ in connectSocket() }.filter { $0 >= 0 }
        defer { for fd in idle + drip { close(fd) } }
        #expect(idle.count == 1500 && drip.count == 256)
        // The dripping ones send a request head a byte a second (the idle timer used to reset per byte).
        let dripping = Task.detached {
            let head = Array("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8)
            for i in 0..<head.count where !Task.isCancelled {
                for fd in drip { var b = head[i]; _ = send(fd, &b, 1, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        defer { dripping.cancel() }
        try await Task.sleep(for: .milliseconds(200))
        let started = Date()
        var opened = false
        _ = await eventually(5) {
            opened = (try? await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "I-1"}"#).0) == 201
            return opened
        }
        #expect(opened, "an evaluation opens while 1,756 connections wait without a head")
        #expect(await pad.nextFrame(timeoutMs: 5_000) == .startRating(address: 3))
        pad.press(address: 3, key: 3)
        #expect(await pad.nextFrame(timeoutMs: 5_000) == .ack(address: 3, key: 3))
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds < 5, "opened and rated in \(seconds) s")
        #expect(try daemon.daemon.store.recentRecords(limit: 1).first?.body.contains(#""case_id":"I-1""#) == true)
        // Head-less connections are closed: every dripping one by its deadline (3 s, absolute,
        // from its accept; those whose SYN the full backlog dropped connect on a retry later).
        var closed = Set<Int32>()
        _ = await eventually(30) {
            var byte: UInt8 = 0
            for fd in drip where !closed.contains(fd) {
                let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
                if n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)) { closed.insert(fd) }
            }
            return closed.count == drip.count
        }
        #expect(closed.count == drip.count, "\(closed.count) of \(drip.count) dripping connections closed although they kept sending")
        #expect(acceptedConnections(port: port) <= 256 + 2, "the API holds at most max_connections")
        print("starvation test: RSS \(rssBefore) KiB before, \(residentKiB()) KiB after 1,756 hostile connections; opened and rated in \(String(format: "%.2f", seconds)) s")
        await daemon.stop()
    }

    @Test("a pairing code's address is https when the API serves TLS (issue 20)")
    func pairingOverTLS() async throws {
        let pki = try TestPKI()
        let dir = temporaryFolder()
        let text = try screenConfigText(dir: dir, receiverPort: nil, padLine: false)
            .replacingOccurrences(of: "[api]\n", with: "[api]\ntls_cert_file = \"\(pki.serverCert)\"\ntls_key_file = \"\(pki.serverKey)\"\n")
        let daemon = try await RunningDaemon(config: try GatewayConfig.parse(text, source: "s.toml", files: .system), logger: LogCapture().logger)
        let port = daemon.api.split(separator: ":").last ?? ""
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.ca)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        var r = HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/pads/W03/pair")
        r.method = .POST
        r.headers.add(name: "Authorization", value: "Bearer \(adminToken)")
        r.headers.add(name: "Content-Type", value: "application/json")
        r.body = .bytes(ByteBuffer(string: #"{"address": "hall-gw.local:8740"}"#))
        let response = try await client.execute(r, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status.code == 201, "\(body)")
        #expect(body.contains(#""url":"https://hall-gw.local:8740/pad/W03?pair="#), "\(body)")
        try await client.shutdown()
        await daemon.stop()
    }

    @Test("the API over TLS: HTTPS with the certificate answers; plain HTTP gets nothing")
    func apiTLS() async throws {
        let pki = try TestPKI()
        let dir = temporaryFolder()
        let logs = LogCapture()
        let config = try testConfig(dir: dir, receiverPort: nil, api: "tls_cert_file = \"\(pki.serverCert)\"\ntls_key_file = \"\(pki.serverKey)\"")
        let daemon = try await RunningDaemon(config: config, logger: logs.logger)
        let port = daemon.api.split(separator: ":").last ?? ""
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.ca)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let response = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/healthz"), timeout: .seconds(5))
        #expect(response.status.code == 200)
        try await client.shutdown()
        let plain = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(3))
        #expect(plain?.status.code != 200, "plain HTTP is not served next to TLS")
        await daemon.stop()
    }

    @Test("the API's unix socket gets the configured mode, not the umask's")
    func socketMode() async throws {
        let dir = temporaryFolder()
        let socket = dir + "/run/api.sock"
        var config = try testConfig(dir: dir, receiverPort: nil, api: "socket_mode = \"0640\"")
        config.api = .unix(path: socket)
        let old = umask(0o000)
        defer { umask(old) }
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        var st = stat()
        #expect(stat(socket, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o640, "mode \(String(st.st_mode & 0o777, radix: 8))")
        await daemon.stop()
    }

    @Test("a key the pad's map does not know is stored (no_case, unknown_key, the raw key) and acked only after that")
    func unknownKeyStored() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        pad.press(address: 3, key: 9)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 9))
        let body = try #require(try daemon.daemon.store.recentRecords(limit: 1).first?.body)
        #expect(body.contains(#""flags":["unknown_key"]"#) && body.contains(#""key":9"#) && body.contains(#""outcome":"no_case""#))
        #expect(logs.contains("unknown key ignored (logged once per key)"))
        await daemon.stop()
        pad.close()
    }

    @Test("two daemons on one state folder: the second is refused naming the first's PID; the binary exits 75")
    func oneDaemonPerStateFolder() async throws {
        let dir = temporaryFolder()
        let config = try testConfig(dir: dir, receiverPort: nil)
        let first = try await RunningDaemon(config: config, logger: LogCapture().logger)
        var other = config
        other.api = .tcp(host: "127.0.0.1", port: 0)
        #expect {
            _ = try Daemon(config: other, logger: LogCapture().logger)
        } throws: { error in
            (error as? StoreError)?.code == .locked && "\(error)".contains("PID \(getpid())")
        }
        try testConfigText(dir: dir, receiverPort: nil).write(toFile: dir + "/e2e.toml", atomically: true, encoding: .utf8)
        let binary = builtExecutable("evaluatord")
        try #require(FileManager.default.isExecutableFile(atPath: binary))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["--config", dir + "/e2e.toml"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == ExitStatus.busy.rawValue, "\(said)")
        #expect(said.contains("PID \(getpid())"), "\(said)")
        await first.stop()
        // Once the first stops, the folder is free again.
        let second = try await RunningDaemon(config: config, logger: LogCapture().logger)
        await second.stop()
    }

    @Test("resend through the running daemon's API: unknown ids are named and the command fails")
    func resendThroughAPI() async throws {
        let dir = temporaryFolder()
        let config = try testConfig(dir: dir, receiverPort: nil)
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        let (status, body) = try await daemon.request(.POST, "/v1/records/resend", json: #"{"record_ids": ["nope"]}"#)
        #expect(status == 200 && body["not_resendable"] as? [String] == ["nope"] && body["requeued"] as? Int == 0)
        let port = Int(daemon.api.split(separator: ":").last ?? "") ?? 0
        let client = APIClient(listen: .tcp(host: "127.0.0.1", port: port), token: nil)
        let outcome = try await Control.resend(config: config, api: client, recordIDs: ["nope"])
        #expect(!outcome.ok)
        #expect(outcome.lines.first?.contains("cannot resend nope") == true)
        #expect(outcome.json.contains(#""not_resendable":["nope"]"#) && outcome.json.contains(#""via":"daemon""#), "\(outcome.json)")
        await daemon.stop()
    }
}
