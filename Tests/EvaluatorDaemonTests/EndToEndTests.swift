import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorProtocol
import EvaluatorTestSupport
import Foundation
import Testing

/// The real daemon with a real pty pair as the "68" bus, a real SQLite file, and a real HTTP
/// server on 127.0.0.1 as the central store.
@Suite("end to end: pty pad → daemon → SQLite → loopback central store", .serialized)
struct EndToEndTests {
    @Test("prompt, press, ack, record upstream; retransmit once; no-case kept; timeout unrated; outage buffered")
    func spine() async throws {
        let dir = temporaryFolder()
        let receiver = Receiver()
        try await receiver.start()
        let pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: receiver.port), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })

        // 1. The business system opens an evaluation; the pad sees its start-rating frame.
        let (status, opened) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: """
            {"case_id": "C-1", "matter_code": "370211-BDC-001", "matter_name": "不动产登记", "staff_id": "S1024"}
            """)
        #expect(status == 201)
        #expect(opened["session_id"] as? String != nil)
        #expect(opened["expires_at"] as? String != nil)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))

        // 2. Press key 2 (满意): acked after the commit; a retransmit (the pad did not hear the ack
        //    in time) is acked again, counted once. Sent at once: waiting for the first ack could
        //    take longer than retransmit_window_ms on a loaded machine, and a later press is an
        //    extra press, not a retransmit.
        pad.press(address: 3, key: 2)
        pad.press(address: 3, key: 2)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 2))
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 2))
        #expect(await eventually { receiver.records(case: "C-1").count == 1 })
        let rated = try #require(receiver.records(case: "C-1").first)
        #expect(rated["outcome"] as? String == "rated")
        #expect(rated["level"] as? String == "satisfied")
        #expect(rated["score"] as? Int == 8)
        #expect(rated["window_id"] as? String == "W01")
        #expect(rated["department"] as? String == "自然资源局")
        #expect(rated["staff_id"] as? String == "S1024")
        #expect(rated["matter_code"] as? String == "370211-BDC-001")
        #expect(rated["pad"] as? String == "bus1#3")
        #expect(rated["gateway_id"] as? String == "370211-test-01")
        #expect(rated["region"] as? String == "370211")
        let batchKeys = receiver.batches.withLock { $0.map(\.key) }
        #expect(batchKeys.allSatisfy { !$0.isEmpty })

        // A case is rated once: a second evaluation of C-1 is refused.
        let (again, againBody) = try await daemon.request(.POST, "/v1/windows/W02/evaluations", json: #"{"case_id": "C-1"}"#)
        #expect(again == 409)
        #expect((againBody["error"] as? [String: Any])?["code"] as? String == "already_rated")

        // 3. A press with no open session is kept as no_case.
        pad.press(address: 4, key: 0)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 4, key: 0))
        #expect(await eventually { receiver.records.contains { $0["outcome"] as? String == "no_case" && $0["window_id"] as? String == "W02" } })

        // 4. A session that times out yields an unrated record.
        let (s2, _) = try await daemon.request(.POST, "/v1/windows/W02/evaluations", json: #"{"case_id": "C-2", "timeout_s": 1}"#)
        #expect(s2 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 4))
        #expect(await eventually { receiver.records(case: "C-2").first?["outcome"] as? String == "unrated" })

        // 5. The central store goes down: presses are still acked and kept; they arrive after it
        //    comes back, none twice.
        let port = receiver.port
        await receiver.stop()
        for (i, key) in [(3, UInt8(3)), (4, UInt8(1))] {
            let (s, _) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: "{\"case_id\": \"C-\(i)\", \"batch_case_ids\": [\"C-\(i)b\"]}")
            #expect(s == 201)
            #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
            pad.press(address: 3, key: key)
            #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: key))
        }
        #expect(await eventually { logs.contains("uplink batch not accepted; will retry") })
        // The status schema during an outage (issue 13): the backlog, its oldest age, and the
        // uplink failing since, with its attempts and next retry.
        let (_, st) = try await daemon.request(.GET, "/v1/status")
        let backlog = try #require(st["backlog"] as? [String: Any])
        #expect((backlog["records"] as? Int ?? 0) >= 2 && backlog["oldest_age_s"] is Int && backlog["quarantined"] as? Int == 0)
        let uplink = try #require(st["uplink"] as? [String: Any])
        #expect(uplink["state"] as? String == "failing" && (uplink["attempts"] as? Int ?? 0) >= 1)
        #expect(uplink["failing_since"] is String && uplink["next_retry_at"] is String && uplink["last_error"] is String)
        #expect(st["state"] as? String == "ok" && st["version"] as? String == BuildInfo.description && st["uptime_s"] is Int)
        let pads = try #require(st["pads"] as? [[String: Any]])
        #expect(pads.first?["kind"] as? String == "serial" && (pads.first?["presses_today"] as? Int ?? 0) >= 2)
        try await receiver.start(port: port)
        #expect(await eventually { receiver.records(case: "C-3").count == 1 && receiver.records(case: "C-4").count == 1 })
        #expect(receiver.records(case: "C-3").first?["batch_case_ids"] as? [String] == ["C-3b"])
        #expect(await eventually { ((try? await daemon.request(.GET, "/v1/status").1["backlog"]) as? [String: Any])?["records"] as? Int == 0 })
        let (_, after) = try await daemon.request(.GET, "/v1/status")
        #expect((after["uplink"] as? [String: Any])?["state"] as? String == "ok" && (after["uplink"] as? [String: Any])?["last_upload_at"] is String)
        let ids = receiver.records.compactMap { $0["record_id"] as? String }
        #expect(Set(ids).count == ids.count, "no record arrives twice")
        #expect(ids.count == 5, "\(receiver.records.map { "\($0["outcome"] ?? "-") \($0["case_id"] ?? "-") \($0["flags"] ?? "-")" })")

        await daemon.stop()
        pad.close()
        await receiver.stop()
    }

    @Test("API errors say what is wrong and touch nothing stored")
    func apiErrors() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: LogCapture().logger)
        func error(_ r: (Int, [String: Any])) -> String { "\(r.0) \((r.1["error"] as? [String: Any])?["code"] as? String ?? "-")" }

        #expect(error(try await daemon.request(.POST, "/v1/windows/W99/evaluations", json: #"{"case_id": "X"}"#)) == "404 unknown_window")
        #expect(error(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "#)) == "400 bad_request")
        #expect(error(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"matter_code": "m"}"#)) == "400 bad_request")
        #expect(error(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": 12}"#)) == "400 bad_request")
        #expect(error(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "X", "timeout_s": 0}"#)) == "400 bad_request")
        let big = "{\"case_id\": \"X\", \"matter_name\": \"\(String(repeating: "a", count: 70_000))\"}"
        #expect(error(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: big)) == "413 body_too_large")
        #expect(error(try await daemon.request(.DELETE, "/v1/windows/W01/evaluations/current")) == "404 no_open_evaluation")
        let (_, missing) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"matter_code": "m"}"#)
        #expect((missing["error"] as? [String: Any])?["message"] as? String == "field case_id is required")

        // Nothing was stored by any of those.
        let (_, st0) = try await daemon.request(.GET, "/v1/status")
        #expect(st0["records"] as? Int == 0)

        // Cancel: a cancelled record (evidence, R11).
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "K-1"}"#).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        let (c, cancelled) = try await daemon.request(.DELETE, "/v1/windows/W01/evaluations/current")
        #expect(c == 200)
        #expect(cancelled["outcome"] as? String == "cancelled")
        let (_, st1) = try await daemon.request(.GET, "/v1/status")
        #expect(st1["records"] as? Int == 2, "the service record (issue 22) and the cancelled record")
        #expect((st1["uplink"] as? [String: Any])?["state"] as? String == "none")

        let (w, windows) = try await daemon.request(.GET, "/v1/windows")
        #expect(w == 200)
        #expect((windows["windows"] as? [[String: Any]])?.map { $0["id"] as? String } == ["W01", "W02"])
        #expect(try await daemon.request(.GET, "/healthz").0 == 200)

        await daemon.stop()
        pad.close()
    }

    @Test("open sessions survive a restart: a press still rates, an expired one yields unrated")
    func restart() async throws {
        let dir = temporaryFolder()
        let receiver = Receiver()
        try await receiver.start()
        var pad = try plugPad(dir: dir)
        let config = try testConfig(dir: dir, receiverPort: receiver.port)
        let first = try await RunningDaemon(config: config, logger: LogCapture().logger)
        #expect(try await first.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "R-1", "timeout_s": 60}"#).0 == 201)
        #expect(try await first.request(.POST, "/v1/windows/W02/evaluations", json: #"{"case_id": "R-2", "timeout_s": 1}"#).0 == 201)
        await first.stop()
        pad.close()

        try await Task.sleep(for: .milliseconds(1500))
        pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let second = try await RunningDaemon(config: config, logger: logs.logger)
        #expect(logs.contains("restored open evaluation"))
        #expect(await eventually { logs.contains("bus attached") })
        // The restored evaluation prompts its pad again (issue 13).
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        pad.press(address: 3, key: 3)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 3))
        #expect(await eventually { receiver.records(case: "R-1").first?["outcome"] as? String == "rated" })
        #expect((receiver.records(case: "R-1").first?["flags"] as? [String])?.contains("restored") == true)
        #expect(await eventually { receiver.records(case: "R-2").first?["outcome"] as? String == "unrated" })
        await second.stop()
        pad.close()
        await receiver.stop()
    }

    @Test("a bus port that disappears is reopened when it comes back, without losing the session")
    func busReattach() async throws {
        let dir = temporaryFolder()
        var pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "B-1"}"#).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))

        pad.close()
        try? FileManager.default.removeItem(atPath: "\(dir)/pad-bus1")
        #expect(await eventually { logs.contains("bus port lost; will reopen") })
        #expect(await eventually { logs.contains("bus port cannot be opened; retrying with backoff") })

        pad = try plugPad(dir: dir)
        #expect(await eventually(15) { logs.lines.withLock { $0.filter { $0.contains("bus attached") }.count } == 2 })
        pad.press(address: 3, key: 0)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 0))
        let (_, st) = try await daemon.request(.GET, "/v1/status")
        #expect(st["records"] as? Int == 2, "the service record (issue 22) and the rating")
        let store = daemon.daemon.store
        let body = try #require(try store.recentRecords(limit: 1).first?.body)
        #expect(body.contains("\"case_id\":\"B-1\""))
        #expect(body.contains("\"needs_reason\""))
        await daemon.stop()
        pad.close()
    }

    @Test("a second daemon on the same bus port is refused and says why; the first keeps every press")
    func portLocked() async throws {
        let dir = temporaryFolder(), other = temporaryFolder()
        let pad = try plugPad(dir: dir)
        try FileManager.default.createSymbolicLink(atPath: "\(other)/pad-bus1", withDestinationPath: pad.slavePath)
        let logs = LogCapture(), otherLogs = LogCapture()
        let first = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        let second = try await RunningDaemon(config: try testConfig(dir: other, receiverPort: nil), logger: otherLogs.logger)
        #expect(await eventually { otherLogs.lines.withLock { $0.contains { $0.contains("bus port cannot be opened") && $0.contains("in use by another program") } } })
        for i in 0..<20 {
            pad.press(address: 4, key: UInt8(i % 4))
            #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 4, key: UInt8(i % 4)))
        }
        #expect(try first.daemon.store.recordCount() == 20)
        #expect(try second.daemon.store.recordCount() == 0)
        #expect(!otherLogs.contains("bus attached"))
        await second.stop()
        await first.stop()
        pad.close()
    }

    @Test("line noise between frames: every valid press is recovered and acked")
    func noisyLine() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        pad.write([0x00, 0x68, 0x55, 0x13] + Framed68Frame.press(address: 4, key: 1).encoded() + [0x68, 0x03, 0x03, 0x68, 0x03, 0x11, 0x02, 0x99, 0x16])
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 4, key: 1))
        #expect(await eventually { logs.contains("bus decoder resynchronised") })
        let (_, st) = try await daemon.request(.GET, "/v1/status")
        #expect(st["records"] as? Int == 1, "the corrupt frame was not accepted")
        await daemon.stop()
        pad.close()
    }
}
