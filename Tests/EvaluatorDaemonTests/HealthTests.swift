import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorTestSupport
import Foundation
import Testing

/// `GET /healthz` (issue 13): "looks healthy but forwards nothing" is the worst failure a
/// store-and-forward agent has.
@Suite("health: ok, degraded, failing", .serialized)
struct HealthTests {
    @Test("configured pads that are absent make health degraded, naming each; attached, it is ok")
    func padsAbsent() async throws {
        let dir = temporaryFolder()
        let config = try testConfig(dir: dir, receiverPort: nil)
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        let (code, absent) = try await daemon.request(.GET, "/healthz")
        #expect(code == 200)
        #expect(absent["status"] as? String == "degraded")
        let problems = try #require(absent["problems"] as? [[String: Any]])
        #expect(problems.map { $0["code"] as? String } == ["pad_absent", "pad_absent"])
        #expect((problems.first?["message"] as? String)?.contains("pad bus1#3 of window W01 is not attached") == true)
        let pad = try plugPad(dir: dir)
        #expect(await eventually(15) { (try? await daemon.request(.GET, "/healthz").1["status"] as? String) == "ok" })
        await daemon.stop()
        pad.close()
    }

    @Test("records waiting longer than uplink.stall_alert_s with no upload: degraded (uplink_stalled), rating goes on; uploads again: ok")
    func uplinkStalled() async throws {
        let dir = temporaryFolder()
        let receiver = Receiver()
        try await receiver.start()
        receiver.failWith.withLock { $0 = 503 }
        let pad = try plugPad(dir: dir)
        let text = testConfigText(dir: dir, receiverPort: receiver.port).replacingOccurrences(of: "request_timeout_ms = 2000", with: "request_timeout_ms = 2000\nstall_alert_s = 1")
        let daemon = try await RunningDaemon(config: try GatewayConfig.parse(text, source: "e2e.toml", files: .system), logger: LogCapture().logger)
        #expect(await eventually { (try? await daemon.request(.GET, "/healthz").1["status"] as? String) == "ok" })
        #expect(try await daemon.rateAtW01(pad, "U-1"))
        try await Task.sleep(for: .milliseconds(1500))
        let (code, stalled) = try await daemon.request(.GET, "/healthz")
        #expect(code == 200, "degraded, not failing: ratings are still taken")
        let problem = try #require((stalled["problems"] as? [[String: Any]])?.first)
        #expect(stalled["status"] as? String == "degraded")
        #expect(problem["code"] as? String == "uplink_stalled")
        #expect((problem["message"] as? String)?.contains("nothing was uploaded since start; last error: ") == true, "\(problem)")
        #expect(try await daemon.rateAtW01(pad, "U-2"), "rating goes on")
        receiver.failWith.withLock { $0 = nil }
        #expect(await eventually { (try? await daemon.request(.GET, "/healthz").1["status"] as? String) == "ok" })
        await daemon.stop()
        await receiver.stop()
        pad.close()
    }
}
