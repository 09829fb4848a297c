import EvaluatorCore
import EvaluatorTestSupport
import Foundation
import Testing

/// An evaluation at a window whose pad is absent (issue 13): it opens — the case must not be
/// lost — but the answer says `"prompted": false`, health is degraded, the pad is prompted as
/// soon as its bus comes, and the record is flagged `pad_offline`.
@Suite("a pad that is not there: prompted false, pad_offline, prompted when it comes")
struct PadOfflineTests {
    @Test("opened with the bus absent: 201 prompted false, health degraded; the bus comes, the pad is prompted, the rating is flagged pad_offline; with the pad there: prompted true")
    func absentPad() async throws {
        let dir = temporaryFolder()
        let receiver = Receiver()
        try await receiver.start()
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: receiver.port), logger: logs.logger)
        let (code, opened) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "O-1"}"#)
        #expect(code == 201 && opened["prompted"] as? Bool == false, "\(opened)")
        #expect(logs.contains("evaluation opened while the window's pad is absent or detached"))
        let (health, body) = try await daemon.request(.GET, "/healthz")
        #expect(health == 200 && body["status"] as? String == "degraded")
        #expect((body["problems"] as? [[String: Any]])?.contains { $0["code"] as? String == "pad_absent" } == true)

        let pad = try plugPad(dir: dir)
        defer { pad.close() }
        #expect(await pad.nextFrame(timeoutMs: 5000) == .startRating(address: 3))
        pad.press(address: 3, key: 3)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 3))
        #expect(await eventually { receiver.records(case: "O-1").first?["outcome"] as? String == "rated" })
        #expect((receiver.records(case: "O-1").first?["flags"] as? [String])?.contains("pad_offline") == true)

        let (_, again) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "O-2"}"#)
        #expect(again["prompted"] as? Bool == true)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        pad.press(address: 3, key: 2)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 2))
        #expect(await eventually { receiver.records(case: "O-2").first?["outcome"] as? String == "rated" })
        #expect((receiver.records(case: "O-2").first?["flags"] as? [String])?.contains("pad_offline") == false)
        await daemon.stop()
        await receiver.stop()
    }

    @Test("presses today survive a restart: counted from the rollups before any press of the new run")
    func pressesTodayAcrossRestart() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        defer { pad.close() }
        let config = try testConfig(dir: dir, receiverPort: nil)
        let logs = LogCapture()
        var daemon = try await RunningDaemon(config: config, logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        for c in ["P-1", "P-2"] { #expect(try await daemon.rateAtW01(pad, c)) }
        pad.press(address: 3, key: 1)  // no open evaluation: a press that rates nothing, still a press
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 1))
        func pressesToday() async throws -> Int? {
            let pads = try await daemon.request(.GET, "/v1/status").1["pads"] as? [[String: Any]]
            return pads?.first { $0["window_id"] as? String == "W01" }?["presses_today"] as? Int
        }
        #expect(try await pressesToday() == 3)
        await daemon.stop()
        daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        #expect(try await pressesToday() == 3)
        await daemon.stop()
    }
}
