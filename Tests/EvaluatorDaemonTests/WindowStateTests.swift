import EvaluatorCore
import EvaluatorTestSupport
import Foundation
import Testing

/// The window's serving state (issue 14): staff signed in, paused (暂停服务).
@Suite("a window's staff and pause: signed in, taken by evaluations, kept across a restart")
struct WindowStateTests {
    @Test("sign in: 200 with the window; an evaluation without staff_id takes theirs; pause keeps the open one rated; a restart keeps both; sign out; bad bodies named")
    func staffAndPause() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        defer { pad.close() }
        let receiver = Receiver()
        try await receiver.start()
        var config = try testConfig(dir: dir, receiverPort: receiver.port)
        // The photo of a sign-in must be a file in [screen] photo_dir.
        try FileManager.default.createDirectory(atPath: dir + "/photos", withIntermediateDirectories: true)
        try Data([0xFF, 0xD8, 0xFF]).write(to: URL(fileURLWithPath: dir + "/photos/S1024.jpg"))
        config.screen.photoDir = dir + "/photos"
        let logs = LogCapture()
        var daemon = try await RunningDaemon(config: config, logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })

        let (code, window) = try await daemon.request(.PUT, "/v1/windows/W01/staff", json: #"{"staff_id": "S1024", "name": "王芳", "title": "综合受理岗", "photo": "S1024.jpg"}"#)
        #expect(code == 200)
        let staff = try #require(window["staff"] as? [String: Any])
        #expect(staff["staff_id"] as? String == "S1024" && staff["name"] as? String == "王芳" && staff["title"] as? String == "综合受理岗")
        #expect(window["paused"] as? Bool == false && window["id"] as? String == "W01")
        #expect(logs.contains("staff signed in"))

        // An evaluation without staff_id is the signed-in staff's.
        #expect(try await daemon.rateAtW01(pad, "ST-1"))
        #expect(await eventually { receiver.records(case: "ST-1").first?["staff_id"] as? String == "S1024" })

        // Paused: shown; an evaluation opened before stays open and is rated.
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "ST-2"}"#).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        let (pc, paused) = try await daemon.request(.POST, "/v1/windows/W01/pause")
        #expect(pc == 200 && paused["paused"] as? Bool == true)
        #expect((paused["session"] as? [String: Any])?["case_id"] as? String == "ST-2")
        pad.press(address: 3, key: 3)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 3))
        #expect(await eventually { receiver.records(case: "ST-2").first?["outcome"] as? String == "rated" })

        // A restart keeps who is signed in and the pause.
        await daemon.stop()
        daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        let windows = try #require(try await daemon.request(.GET, "/v1/windows").1["windows"] as? [[String: Any]])
        let w01 = try #require(windows.first { $0["id"] as? String == "W01" })
        #expect((w01["staff"] as? [String: Any])?["staff_id"] as? String == "S1024" && w01["paused"] as? Bool == true)
        #expect(windows.first { $0["id"] as? String == "W02" }?["staff"] is NSNull)

        #expect(try await daemon.request(.POST, "/v1/windows/W01/resume").1["paused"] as? Bool == false)
        let (oc, out) = try await daemon.request(.DELETE, "/v1/windows/W01/staff")
        #expect(oc == 200 && out["staff"] is NSNull)

        // Bad input is named; nothing changes.
        let (b1, e1) = try await daemon.request(.PUT, "/v1/windows/W01/staff", json: #"{"staff_id": "S1"}"#)
        #expect(b1 == 400 && ((e1["error"] as? [String: Any])?["message"] as? String)?.contains("name is required") == true)
        let (b2, e2) = try await daemon.request(.PUT, "/v1/windows/W01/staff", json: #"{"staff_id": "S1", "name": "x", "photo": "../etc/passwd"}"#)
        #expect(b2 == 400 && ((e2["error"] as? [String: Any])?["message"] as? String)?.contains("photo must be a file name") == true)
        let (b3, e3) = try await daemon.request(.PUT, "/v1/windows/W01/staff", json: #"{"staff_id": "S1", "name": "x", "photo": "nobody.jpg"}"#)
        #expect(b3 == 400 && ((e3["error"] as? [String: Any])?["message"] as? String)?.contains("is not a file in [screen] photo_dir") == true)
        #expect(try await daemon.request(.POST, "/v1/windows/W09/pause").0 == 404)
        await daemon.stop()
        await receiver.stop()
    }
}
