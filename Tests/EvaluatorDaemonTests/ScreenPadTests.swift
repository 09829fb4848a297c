import AsyncHTTPClient
import EvaluatorCore
import EvaluatorTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing
import EvaluatorStore

let screenToken = "scr-T1-0123456789abcdefghijklmnopqrstuvwxyz"

/// The test config with a screen pad `T1` at window W03 (and the key pads of W01, W02), reasons
/// and, optionally, dimensions; tokens: queue (api), hall-it (read), T1 (pad:W03), tablet-1 (pad:W01).
func screenConfigText(dir: String, receiverPort: Int?, heartbeatS: Int = 15, dimensions: Bool = false, padLine: Bool = true) throws -> String {
    let tokens = try writeTokens(dir)
    if padLine {
        try (String(contentsOfFile: tokens, encoding: .utf8) + "\nT1 pad:W03 \(screenToken)\n").write(toFile: tokens, atomically: true, encoding: .utf8)
    }
    chmod(tokens, 0o600)
    var text = testConfigText(dir: dir, receiverPort: receiverPort, api: "tokens_file = \"\(tokens)\"")
    text += """

    [[window]]
    id = "W03"
    name = "综合受理3号窗"
    department = "行政审批服务局"
    pad = { screen = "T1" }

    [screen]
    heartbeat_s = \(heartbeatS)

    [reasons.dissatisfied]
    207 = "等候时间长"
    208 = "服务态度差"

    [reasons.very_dissatisfied]
    108 = "办事效率低"
    109 = "要求重复提交材料"

    """
    if dimensions {
        text += "[[dimension]]\nid = \"attitude\"\ntext = \"服务态度\"\n\n[[dimension]]\nid = \"efficiency\"\ntext = \"办事效率\"\n"
    }
    return text
}

/// A screen pad over a real WebSocket (HummingbirdWSClient): what the gateway sent, in order.
final class PadSocket: Sendable {
    final class Shared: Sendable {
        let received = Mutex<[String]>([])
        let writer = Mutex<WebSocketOutboundWriter?>(nil)
        let ended = Mutex(false)
    }
    private let shared = Shared()
    private let cursor = Mutex(0)
    let task: Task<Void, any Error>

    init(api: String, window: String = "W03", token: String = screenToken) {
        let url = api.replacingOccurrences(of: "http://", with: "ws://") + "/v1/pads/\(window)/ws?token=\(token)"
        let shared = shared
        task = Task {
            defer { shared.ended.withLock { $0 = true } }
            try await WebSocketClient.connect(url: url, logger: Logger(label: "pad")) { inbound, outbound, _ in
                shared.writer.withLock { $0 = outbound }
                for try await m in inbound.messages(maxSize: 1 << 16) {
                    if case let .text(t) = m { shared.received.withLock { $0.append(t) } }
                }
            }
        }
    }

    var isClosed: Bool { shared.ended.withLock { $0 } }

    /// The next message (pings skipped unless asked for) within `seconds`.
    func next(_ seconds: Double = 10, pings: Bool = false) async -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let text: String? = shared.received.withLock { r in
                cursor.withLock { c in
                    while c < r.count {
                        let t = r[c]
                        c += 1
                        if pings || !t.contains(#""type":"ping""#) { return t }
                    }
                    return nil
                }
            }
            if let text { return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// The next message of `type`, skipping others.
    func next(type: String, _ seconds: Double = 10) async -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let m = await next(deadline.timeIntervalSinceNow, pings: type == "ping") else { return nil }
            if m["type"] as? String == type { return m }
        }
        return nil
    }

    func send(_ text: String) async throws {
        for _ in 0..<200 where shared.writer.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        try await shared.writer.withLock { $0 }!.write(.text(text))
    }

    func close() async {
        try? await shared.writer.withLock { $0 }?.close(.normalClosure, reason: nil)
        task.cancel()
    }
}

@Suite("screen pads over the WebSocket, without a browser (issue 14, docs/SCREEN-PAD.md)")
struct ScreenPadTests {
    @Test("pairing (issue 20): a screen pad without a pad: line is unpaired; admin's one-time code is traded once for a secret kept hashed in a 0600 file; pairing again revokes and disconnects the old tablet; audit records")
    func pairing() async throws {
        let dir = temporaryFolder()
        try FileManager.default.createDirectory(atPath: dir + "/photos", withIntermediateDirectories: true)
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: URL(fileURLWithPath: dir + "/photos/S1.png"))
        try "root:x:0:0".write(toFile: dir + "/secret.txt", atomically: false, encoding: .utf8)
        symlink(dir + "/secret.txt", dir + "/photos/S2.png")
        let configText = try screenConfigText(dir: dir, receiverPort: nil, padLine: false)
            .replacingOccurrences(of: "[screen]\n", with: "[screen]\nphoto_dir = \"\(dir)/photos\"\n")
        let config = try GatewayConfig.parse(configText, source: "s.toml", files: .system)
        #expect(ConfigWarnings.of(config).contains { $0.contains("evaluatorctl pair W03") })
        let logs = LogCapture()
        var daemon = try await RunningDaemon(config: config, logger: logs.logger)
        let (_, status) = try await daemon.request(.GET, "/v1/status", token: readToken)
        let t1 = (status["pads"] as? [[String: Any]])?.first { $0["pad"] as? String == "screen:T1" }
        #expect(t1?["state"] as? String == "unpaired", "\(t1 ?? [:])")
        // The page itself needs no token (it holds no secret); a socket without a secret is refused.
        #expect(try await daemon.request(.GET, "/pad/W03").0 == 200)
        let nobody = PadSocket(api: daemon.api, token: "pad-0000000000000000000000000000000000000000000000000000000000000000")
        #expect(await eventually(30) { nobody.isClosed })

        // Only admin may ask for a code; api and read may not, and no code is in any read answer.
        #expect(try await daemon.request(.POST, "/v1/pads/W03/pair", json: "{}", token: apiToken).0 == 403)
        #expect(try await daemon.request(.POST, "/v1/pads/W03/pair", json: "{}", token: readToken).0 == 403)
        #expect(try await daemon.request(.POST, "/v1/pads/W01/pair", json: "{}", token: adminToken).0 == 404)
        let (issued, first) = try await daemon.request(.POST, "/v1/pads/W03/pair", json: #"{"address": "192.168.1.20:8080"}"#, token: adminToken)
        #expect(issued == 201, "\(first)")
        let code = try #require(first["code"] as? String)
        #expect(code.count == 8 && code.allSatisfy(\.isNumber))
        #expect(first["url"] as? String == "http://192.168.1.20:8080/pad/W03?pair=\(code)")
        #expect((first["qr_svg"] as? String)?.hasPrefix("<svg") == true)
        let (_, pads) = try await daemon.request(.GET, "/ui/pads", token: adminToken)
        #expect(!"\(pads)".contains(code))

        // The tablet: a wrong code is refused and counted; the right one gives the secret, once.
        let wrong = code == "00000000" ? "00000001" : "00000000"
        let (bad, badBody) = try await daemon.request(.POST, "/pad/W03/pair", json: #"{"code": "\#(wrong)"}"#)
        #expect(bad == 403 && "\(badBody)".contains("4 more tries"), "\(badBody)")
        #expect(try await daemon.request(.POST, "/pad/W03/pair", json: #"{"code": "12"}"#).0 == 400)
        let (ok, traded) = try await daemon.request(.POST, "/pad/W03/pair", json: #"{"code": "\#(code)"}"#)
        #expect(ok == 200)
        let secret = try #require(traded["secret"] as? String)
        #expect(try await daemon.request(.POST, "/pad/W03/pair", json: #"{"code": "\#(code)"}"#).0 == 403, "single use")

        // The secret is kept hashed only, 0600, in the state folder (outside the store).
        let file = dir + "/state/pads.paired"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!text.contains(secret) && text.contains(Chain.sha256Hex(Array(secret.utf8))))
        var st = stat()
        #expect(lstat(file, &st) == 0 && st.st_mode & 0o777 == 0o600)

        // The paired tablet rates; status says attached; its photo route takes the secret.
        let pad = PadSocket(api: daemon.api, token: secret)
        #expect(await pad.next(type: "state") != nil)
        #expect(try await daemon.request(.POST, "/v1/windows/W03/evaluations", json: #"{"case_id": "P-1"}"#, token: apiToken).0 == 201)
        let prompt = try #require(await pad.next(type: "prompt"))
        try await pad.send(#"{"type": "rate", "session_id": "\#(prompt["session_id"] as? String ?? "")", "level": "satisfied"}"#)
        #expect(await pad.next(type: "ack") != nil)
        #expect(try await daemon.request(.GET, "/v1/windows", token: secret).0 == 403, "a pad secret is no API token")
        // The photo route takes the paired secret, and never follows a symlink (issue 20).
        #expect(try await daemon.request(.PUT, "/v1/windows/W03/staff", json: #"{"staff_id": "S1", "name": "李娜", "photo": "S1.png"}"#, token: apiToken).0 == 200)
        #expect(try await daemon.request(.GET, "/pad/W03/photo", token: secret).0 == 200)
        #expect(try await daemon.request(.GET, "/pad/W03/photo").0 == 401)
        #expect(try await daemon.request(.PUT, "/v1/windows/W03/staff", json: #"{"staff_id": "S2", "name": "王芳", "photo": "S2.png"}"#, token: apiToken).0 == 200)
        #expect(try await daemon.request(.GET, "/pad/W03/photo", token: secret).0 == 404)

        // Pairing again revokes the first tablet: its socket is closed, its secret refused.
        let (_, second) = try await daemon.request(.POST, "/v1/pads/W03/pair", json: "{}", token: adminToken)
        let code2 = try #require(second["code"] as? String)
        #expect((second["url"] as? String)?.hasPrefix("http://127.0.0.1:") == true)
        let (_, traded2) = try await daemon.request(.POST, "/pad/W03/pair", json: #"{"code": "\#(code2)"}"#)
        let secret2 = try #require(traded2["secret"] as? String)
        #expect(await eventually { pad.isClosed })
        #expect(await eventually { logs.contains("screen pad disconnected: the window was paired again") })
        let stale = PadSocket(api: daemon.api, token: secret)
        #expect(await eventually { stale.isClosed })
        let metrics = await daemon.daemon.service.metricsText()
        #expect(metrics.contains(#"evaluatord_screen_disconnects_total{pad="screen:T1",reason="revoked"} 1"#), "\(metrics)")

        // Audit records: two codes issued, two pairings.
        let audits = try daemon.daemon.store.recentRecords(limit: 50).map(\.body).filter { $0.contains(#""outcome":"audit""#) }
        #expect(audits.filter { $0.contains("pairing code issued for the screen pad of window W03") }.count == 2)
        #expect(audits.filter { $0.contains("screen pad of window W03 paired from 127.0.0.1") && $0.contains(#""opened_by":"admin""#) }.count == 2)

        // A restart keeps the pairing (the file, not the store).
        await daemon.stop()
        daemon = try await RunningDaemon(config: config, logger: logs.logger)
        let again = PadSocket(api: daemon.api, token: secret2)
        #expect(await again.next(type: "state") != nil)
        await again.close()
        await daemon.stop()
    }

    @Test("a reload that changes a screen pad's token closes its live socket; a replaced connection is counted with both addresses (issue 20)")
    func reloadRevokes() async throws {
        let dir = temporaryFolder()
        let file = dir + "/s.toml"
        try screenConfigText(dir: dir, receiverPort: nil).write(toFile: file, atomically: true, encoding: .utf8)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try GatewayConfig.load(path: file, files: .system), logger: logs.logger, configSource: file)
        let first = PadSocket(api: daemon.api)
        #expect(await first.next(type: "state") != nil)
        let pad = PadSocket(api: daemon.api)
        #expect(await first.next(type: "replaced") != nil)
        #expect(await pad.next(type: "state") != nil)
        #expect(logs.contains("screen pad replaced by a new connection"))
        // The same tokens again: nothing changes, the socket stays.
        let tokens = dir + "/tokens"
        let text = try String(contentsOfFile: tokens, encoding: .utf8)
        try text.replacingOccurrences(of: "queue-token", with: "queue2-token").write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        #expect(await daemon.daemon.reloader.reload(trigger: "test").outcome == .applied)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!pad.isClosed, "a pad whose secret did not change stays connected")
        // T1's secret changes: its socket is closed at once.
        try text.replacingOccurrences(of: screenToken, with: "scr-T1-new-0123456789abcdefghijklmnopqrstuvwxyz").write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        #expect(await daemon.daemon.reloader.reload(trigger: "test").outcome == .applied)
        #expect(await eventually { pad.isClosed })
        #expect(logs.contains("screen pad disconnected: its secret changed in a reload"))
        let metrics = await daemon.daemon.service.metricsText()
        #expect(metrics.contains(#"evaluatord_screen_disconnects_total{pad="screen:T1",reason="replaced"} 1"#))
        #expect(metrics.contains(#"evaluatord_screen_disconnects_total{pad="screen:T1",reason="revoked"} 1"#))
        await first.close()
        await daemon.stop()
    }

    @Test("config: a screen pad has its pad:WINDOW line or is paired — no line is a warning, not an exit 78 (issue 20); a line of its name with another scope is an error")
    func tokenRule() throws {
        let dir = temporaryFolder()
        let good = try screenConfigText(dir: dir, receiverPort: nil)
        #expect(throws: Never.self) { try GatewayConfig.parse(good, source: "s.toml", files: .system) }
        #expect(!ConfigWarnings.of(try GatewayConfig.parse(good, source: "s.toml", files: .system)).contains { $0.contains("screen pad") })
        let noTokens = good.replacingOccurrences(of: "tokens_file = \"\(dir)/tokens\"", with: "")
        let loose = try GatewayConfig.parse(noTokens, source: "s.toml", files: .system)
        #expect(ConfigWarnings.of(loose).contains("window W03: screen pad \"T1\" has no pad:W03 line — it rates only once paired (evaluatorctl pair W03)"))
        let otherName = good.replacingOccurrences(of: "pad = { screen = \"T1\" }", with: "pad = { screen = \"T9\" }")
        #expect(ConfigWarnings.of(try GatewayConfig.parse(otherName, source: "s.toml", files: .system)).contains { $0.contains("screen pad \"T9\" has no pad:W03 line") })
        let wrongScope = good.replacingOccurrences(of: "pad = { screen = \"T1\" }", with: "pad = { screen = \"tablet-1\" }")
        do {
            _ = try GatewayConfig.parse(wrongScope, source: "s.toml", files: .system)
            Issue.record("a screen whose name has another window's token was accepted")
        } catch {
            #expect(error.description.contains("the token named \"tablet-1\" has scope pad:W01, but screen pad \"tablet-1\" serves window W03"), "\(error)")
        }
    }

    @Test("prompt → bad level with a reason → ack after the commit, record upstream with level, reason, channel; a resend gets the same record id; refusals named")
    func rateOverWebSocket() async throws {
        let dir = temporaryFolder()
        let bus = try plugPad(dir: dir)
        defer { bus.close() }
        let receiver = Receiver()
        try await receiver.start()
        let config = try GatewayConfig.parse(try screenConfigText(dir: dir, receiverPort: receiver.port), source: "s.toml", files: .system)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: config, logger: logs.logger)

        // Plain HTTP on the WebSocket's path: 401 without a token, 403 with a read token, 426 with its own.
        #expect(try await daemon.request(.GET, "/v1/pads/W03/ws").0 == 401)
        #expect(try await daemon.request(.GET, "/v1/pads/W03/ws", token: readToken).0 == 403)
        #expect(try await daemon.request(.GET, "/v1/pads/W03/ws", token: screenToken).0 == 426)
        // Another pad's token cannot open this pad's socket; nor can the business system's, a
        // read token or hall IT's, though the access middleware lets each of them GET /v1/…:
        // the upgrade goes through the router, then the one screen-pad rule (issue 21).
        for token in [padToken, apiToken, readToken, adminToken] {
            let stranger = PadSocket(api: daemon.api, token: token)
            #expect(await eventually { stranger.isClosed }, "\(token.prefix(6))")
            #expect(await stranger.next(0.2) == nil)
            await stranger.close()
        }

        let pad = PadSocket(api: daemon.api)
        let idle = try #require(await pad.next(type: "state"))
        #expect(idle["state"] as? String == "idle")
        #expect((idle["window"] as? [String: Any])?["name"] as? String == "综合受理3号窗")
        #expect(idle["staff"] is NSNull)
        #expect(try await eventually { try await daemon.request(.GET, "/v1/devices", token: apiToken).1.description.contains("websocket 127.0.0.1") })

        // Staff signs in: the screen shows them.
        #expect(try await daemon.request(.PUT, "/v1/windows/W03/staff", json: #"{"staff_id": "S2048", "name": "李娜", "title": "综合受理岗"}"#, token: apiToken).0 == 200)
        let signedIn = try #require(await pad.next(type: "state"))
        #expect((signedIn["staff"] as? [String: Any])?["name"] as? String == "李娜")

        // An evaluation: prompted true, and the prompt carries the masked case, the matter, the reasons.
        let (code, opened) = try await daemon.request(.POST, "/v1/windows/W03/evaluations",
                                                      json: #"{"case_id": "2026-SD-000777", "matter_name": "企业开办"}"#, token: apiToken)
        #expect(code == 201 && opened["prompted"] as? Bool == true)
        let prompt = try #require(await pad.next(type: "prompt"))
        let sid = try #require(prompt["session_id"] as? String)
        #expect(prompt["case_id_masked"] as? String == "**********0777")
        #expect(prompt["matter_name"] as? String == "企业开办")
        #expect((prompt["staff"] as? [String: Any])?["staff_id"] as? String == "S2048")
        #expect(((prompt["reasons"] as? [String: Any])?["dissatisfied"] as? [[String: Any]])?.map { $0["code"] as? String } == ["207", "208"])
        #expect((prompt["levels"] as? [[String: Any]])?.count == 5)

        // Refusals: a reason not offered for the level, an unknown session, not JSON.
        try await pad.send(#"{"type": "rate", "session_id": "\#(sid)", "level": "dissatisfied", "reason": "108"}"#)
        let wrongReason = try #require(await pad.next(type: "refused"))
        #expect(wrongReason["code"] as? String == "invalid" && (wrongReason["message"] as? String)?.contains("not offered") == true)
        try await pad.send(#"{"type": "rate", "session_id": "nope", "level": "satisfied"}"#)
        #expect(try #require(await pad.next(type: "refused"))["code"] as? String == "not_open")
        try await pad.send("hello")
        #expect(try #require(await pad.next(type: "refused"))["code"] as? String == "invalid")

        // The rating: acked with its record id, which is the record upstream.
        try await pad.send(#"{"type": "rate", "session_id": "\#(sid)", "level": "dissatisfied", "reason": "207", "reason_text": "窗口人少"}"#)
        let ack = try #require(await pad.next(type: "ack"))
        #expect(ack["session_id"] as? String == sid)
        let recordID = try #require(ack["record_id"] as? String)
        #expect(await eventually { receiver.records(case: "2026-SD-000777").first?["outcome"] as? String == "rated" })
        let r = try #require(receiver.records(case: "2026-SD-000777").first)
        #expect(r["record_id"] as? String == recordID)
        #expect(r["level"] as? String == "dissatisfied" && r["reason"] as? String == "207" && r["reason_text"] as? String == "窗口人少")
        #expect(r["channel"] as? String == "screen" && r["pad"] as? String == "screen:T1" && r["staff_id"] as? String == "S2048")
        #expect((r["flags"] as? [String])?.contains("needs_reason") == false)

        // The same rating again (the ack was lost): the same ack, nothing stored twice.
        try await pad.send(#"{"type": "rate", "session_id": "\#(sid)", "level": "dissatisfied", "reason": "207", "reason_text": "窗口人少"}"#)
        #expect(try #require(await pad.next(type: "ack"))["record_id"] as? String == recordID)
        try await Task.sleep(for: .milliseconds(300))
        let (_, stats) = try await daemon.request(.GET, "/v1/stats", token: apiToken)
        #expect((stats["total"] as? [String: Any])?["rated"] as? Int == 1)

        // A second connection replaces the first: "replaced", then closed.
        let second = PadSocket(api: daemon.api)
        #expect(await pad.next(type: "replaced") != nil)
        #expect(await eventually { pad.isClosed })
        #expect(await second.next(type: "state") != nil)

        // Paused: the screen says so.
        #expect(try await daemon.request(.POST, "/v1/windows/W03/pause", token: apiToken).0 == 200)
        #expect(try #require(await second.next(type: "state"))["state"] as? String == "paused")

        // Expired: a rating after the evaluation's time is refused, never acked.
        _ = try await daemon.request(.POST, "/v1/windows/W03/evaluations", json: #"{"case_id": "C-EXP", "timeout_s": 1}"#, token: apiToken)
        let short = try #require(await second.next(type: "prompt"))
        try await Task.sleep(for: .milliseconds(1200))
        try await second.send(#"{"type": "rate", "session_id": "\#(short["session_id"] as? String ?? "")", "level": "satisfied"}"#)
        let late = try #require(await second.next(type: "refused"))
        #expect(["expired", "not_open"].contains(late["code"] as? String ?? ""))
        #expect(receiver.records(case: "C-EXP").allSatisfy { $0["outcome"] as? String != "rated" })
        // Refused ratings within a minute are logged once, the next log line carries the count (issue 20).
        #expect(logs.lines.withLock { $0.filter { $0.contains("screen pad rating refused") }.count } == 1)

        await second.close()
        await daemon.stop()
        await receiver.stop()
    }

    @Test("a rating resent after a restart lost its ack gets the same record id and stores nothing: no refused evidence, no extra press (issue 20)")
    func resendAfterRestart() async throws {
        let dir = temporaryFolder()
        let bus = try plugPad(dir: dir)
        defer { bus.close() }
        let config = try GatewayConfig.parse(try screenConfigText(dir: dir, receiverPort: nil), source: "s.toml", files: .system)
        let first = try await RunningDaemon(config: config, logger: LogCapture().logger)
        let pad = PadSocket(api: first.api)
        _ = try #require(await pad.next(type: "state"))
        #expect(try await first.request(.POST, "/v1/windows/W03/evaluations", json: #"{"case_id": "RS-1", "timeout_s": 300}"#, token: apiToken).0 == 201)
        let prompt = try #require(await pad.next(type: "prompt"))
        let sid = try #require(prompt["session_id"] as? String)
        let rating = #"{"type": "rate", "session_id": "\#(sid)", "level": "satisfied"}"#
        try await pad.send(rating)
        let ack = try #require(await pad.next(type: "ack"))
        let recordID = try #require(ack["record_id"] as? String)
        await pad.close()
        await first.stop()
        let before = try Store(readOnlyPath: config.databasePath).recordCount()

        // The daemon starts again with the rated evaluation still open; the tablet resends.
        let second = try await RunningDaemon(config: config, logger: LogCapture().logger)
        let again = PadSocket(api: second.api)
        _ = try #require(await again.next(type: "state"))
        try await again.send(rating)
        #expect(try #require(await again.next(type: "ack"))["record_id"] as? String == recordID)
        // And once more (now from memory): still the same ack.
        try await again.send(rating)
        #expect(try #require(await again.next(type: "ack"))["record_id"] as? String == recordID)
        await again.close()
        await second.stop()
        let store = try Store(readOnlyPath: config.databasePath)
        #expect(try store.recordCount() == before)
        #expect(try store.recentRecords(limit: 50).allSatisfy { !$0.body.contains(#""refused""#) })
    }

    @Test("a pad that stops answering pings is detached; an evaluation opened then answers prompted false and is flagged pad_offline")
    func heartbeat() async throws {
        let dir = temporaryFolder()
        let bus = try plugPad(dir: dir)
        defer { bus.close() }
        let receiver = Receiver()
        try await receiver.start()
        let heartbeatS = 2
        let config = try GatewayConfig.parse(try screenConfigText(dir: dir, receiverPort: receiver.port, heartbeatS: heartbeatS, dimensions: true), source: "s.toml", files: .system)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: config, logger: logs.logger)
        let pad = PadSocket(api: daemon.api)
        #expect(await pad.next(type: "state") != nil)
        // It answers the first ping, then goes silent. Waits derive from the period, with room
        // for a loaded two-core box: a ping is due after one period, detached after two silent.
        // (Seen in a full parallel run on two cores: the first ping came after more than 16 s.)
        let ping = try #require(await pad.next(type: "ping", Double(heartbeatS) * 3 + 30),
                                "\(logs.lines.withLock { $0.filter { $0.contains("screen") } })")
        #expect(ping.count == 1)
        func state() async throws -> String? {
            let pads = try await daemon.request(.GET, "/v1/status", token: apiToken).1["pads"] as? [[String: Any]]
            return pads?.first { $0["pad"] as? String == "screen:T1" }?["state"] as? String
        }
        // On a box loaded enough that the ping reached us after two periods, the daemon has
        // detached the pad already and the pong has no socket left (seen once in a full
        // parallel run): then only the detach below is to check.
        if (try? await pad.send(#"{"type": "pong"}"#)) != nil, !pad.isClosed {
            let now = try await state()
            #expect(now == "attached" || pad.isClosed, "state \(now ?? "-")")
        }
        #expect(await eventually(Double(heartbeatS) * 2 * 3 + 10) { (try? await state()) == "detached" })
        let (_, opened) = try await daemon.request(.POST, "/v1/windows/W03/evaluations", json: #"{"case_id": "C-OFF"}"#, token: apiToken)
        #expect(opened["prompted"] as? Bool == false)

        // Dimensions: configured ones are taken, unknown ones refused.
        let again = PadSocket(api: daemon.api)
        let prompt = try #require(await again.next(type: "prompt"))
        #expect((prompt["dimensions"] as? [[String: Any]])?.map { $0["id"] as? String } == ["attitude", "efficiency"])
        let sid = prompt["session_id"] as? String ?? ""
        try await again.send(#"{"type": "rate", "session_id": "\#(sid)", "level": "satisfied", "dimensions": {"speed": "basic"}}"#)
        #expect(try #require(await again.next(type: "refused"))["code"] as? String == "invalid")
        try await again.send(#"{"type": "rate", "session_id": "\#(sid)", "level": "satisfied", "dimensions": {"attitude": "very_satisfied", "efficiency": "basic"}}"#)
        #expect(await again.next(type: "ack") != nil)
        #expect(await eventually { receiver.records(case: "C-OFF").first?["outcome"] as? String == "rated" })
        let r = try #require(receiver.records(case: "C-OFF").first)
        #expect((r["flags"] as? [String])?.contains("pad_offline") == true)
        #expect(r["dimensions"] as? [String: String] == ["attitude": "very_satisfied", "efficiency": "basic"])
        await again.close()
        await pad.close()
        await daemon.stop()
        await receiver.stop()
    }
}
