import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

func sharedFixture(_ name: String) throws -> [UInt8] {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return [UInt8](try Data(contentsOf: repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures/evdev/\(name)")))
}

func hidConfig(dir: String, receiverPort: Int) throws -> GatewayConfig {
    try GatewayConfig.parse("""
    [gateway]
    id = "370211-test-02"
    region = "370211"
    state_dir = "\(dir)/state"

    [api]
    listen = "127.0.0.1:0"

    [[window]]
    id = "W03"
    department = "税务局"
    pad = { evdev = "\(dir)/kbd.fifo", keymap = "keypad-5" }

    [[window]]
    id = "W04"
    department = "人社局"
    pad = { hidraw = "\(dir)/hidraw.fifo", keymap = "keypad-5" }

    [uplink]
    url = "http://127.0.0.1:\(receiverPort)/ratings"
    flush_interval_ms = 100
    backoff_initial_ms = 50
    backoff_max_ms = 400
    """, source: "hid-e2e.toml", files: .system)
}

/// The writing end of a FIFO, opened once the daemon holds the reading end.
func openWriter(_ path: String) async -> Int32 {
    for _ in 0..<200 {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if fd >= 0 { return fd }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return -1
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n > 0 { off += n } else { usleep(1000) }
    }
}

@Suite("end to end: USB HID pads replayed through FIFOs", .serialized)
struct HIDEndToEndTests {
    @Test("the evdev and hidraw fixtures rate cases and reach the loopback central store")
    func fixturesThroughFIFOs() async throws {
        let dir = temporaryFolder()
        #expect(mkfifo("\(dir)/kbd.fifo", 0o600) == 0)
        #expect(mkfifo("\(dir)/hidraw.fifo", 0o600) == 0)
        let receiver = Receiver()
        try await receiver.start()
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try hidConfig(dir: dir, receiverPort: receiver.port), logger: logs.logger)
        #expect(try await daemon.request(.POST, "/v1/windows/W03/evaluations", json: #"{"case_id": "H-1"}"#).0 == 201)
        #expect(try await daemon.request(.POST, "/v1/windows/W04/evaluations", json: #"{"case_id": "H-2"}"#).0 == 201)

        let evdev = await openWriter("\(dir)/kbd.fifo")
        let hidraw = await openWriter("\(dir)/hidraw.fifo")
        #expect(evdev >= 0 && hidraw >= 0)
        writeAll(evdev, try sharedFixture("usb-keypad-kp1-5-hold-double.bin"))
        writeAll(hidraw, try sharedFixture("usb-keypad-kp1-5-hold-double.hidraw.bin"))
        close(evdev)
        close(hidraw)

        // KP1 rates (非常不满意, needs a reason: the pad has no reason keys); KP2 KP3 KP4 KP5
        // KP4 are extra presses; "1" (twice) and F1 are unknown keys: logged once each, and
        // stored like any press (issue 11: ack means durable).
        for (window, caseID) in [("W03", "H-1"), ("W04", "H-2")] {
            #expect(await eventually { receiver.records.filter { $0["window_id"] as? String == window }.count == 9 }, "\(window)")
            let rated = receiver.records(case: caseID)
            #expect(rated.count == 1)
            #expect(rated.first?["level"] as? String == "very_dissatisfied")
            // The fixture is replayed at machine speed: the signals (instant, burst) are set
            // aside here and checked on their own below.
            func flags(_ r: [String: Any]) -> [String] { (r["flags"] as? [String] ?? []).filter { !["instant", "burst"].contains($0) } }
            #expect(rated.first.map(flags) == ["needs_reason"])
            let extra = receiver.records.filter { $0["window_id"] as? String == window && $0["outcome"] as? String == "no_case" && !($0["level"] is NSNull) }
            let unknown = receiver.records.filter { $0["window_id"] as? String == window && flags($0) == ["unknown_key"] }
            #expect(unknown.compactMap { $0["key"] as? Int } == [2, 2, 59], "KEY_1 twice, KEY_F1")
            #expect(extra.compactMap { $0["level"] as? String } == ["dissatisfied", "basic", "satisfied", "very_satisfied", "satisfied"])
            #expect(extra.allSatisfy { flags($0) == ["extra_press"] })
            // Nine presses within a second: from the sixth on, each is flagged burst (R9).
            let burst = receiver.records.filter { $0["window_id"] as? String == window && ($0["flags"] as? [String] ?? []).contains("burst") }
            #expect(burst.count == 4, "\(window)")
        }
        #expect(logs.lines.withLock { $0.filter { $0.contains("unknown key ignored") && $0.contains("pad=evdev:W03") }.count } == 2)
        #expect(await eventually { logs.lines.withLock { $0.filter { $0.contains("pad detached") }.count } == 2 })
        await daemon.stop()
        await receiver.stop()
    }

    @Test("a FIFO-backed pad detached and re-attached keeps its window's session")
    func detachKeepsSession() async throws {
        let dir = temporaryFolder()
        #expect(mkfifo("\(dir)/kbd.fifo", 0o600) == 0)
        let receiver = Receiver()
        try await receiver.start()
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try hidConfig(dir: dir, receiverPort: receiver.port), logger: logs.logger)
        #expect(try await daemon.request(.POST, "/v1/windows/W03/evaluations", json: #"{"case_id": "D-1"}"#).0 == 201)

        let first = await openWriter("\(dir)/kbd.fifo")
        #expect(await eventually { logs.contains("pad attached") })
        close(first)
        #expect(await eventually { logs.contains("pad detached") })

        let second = await openWriter("\(dir)/kbd.fifo")
        #expect(await eventually { logs.lines.withLock { $0.filter { $0.contains("pad attached") && $0.contains("W03") }.count } == 2 })
        let kp5: [UInt8] = [
            InputEventBytes.key(76, 1), InputEventBytes.syn, InputEventBytes.key(76, 0), InputEventBytes.syn,
        ].flatMap { $0 }
        writeAll(second, kp5)
        #expect(await eventually { receiver.records(case: "D-1").first?["level"] as? String == "very_satisfied" })
        close(second)
        await daemon.stop()
        await receiver.stop()
    }
}

extension HIDEndToEndTests {
    @Test("a second daemon on the same pad node is refused and says why: no press is counted twice")
    func padLocked() async throws {
        let dir = temporaryFolder(), other = temporaryFolder()
        #expect(mkfifo("\(dir)/kbd.fifo", 0o600) == 0)
        #expect(mkfifo("\(dir)/hidraw.fifo", 0o600) == 0)
        for name in ["kbd.fifo", "hidraw.fifo"] {
            try FileManager.default.createSymbolicLink(atPath: "\(other)/\(name)", withDestinationPath: "\(dir)/\(name)")
        }
        let receiver = Receiver()
        try await receiver.start()
        let logs = LogCapture(), otherLogs = LogCapture()
        let first = try await RunningDaemon(config: try hidConfig(dir: dir, receiverPort: receiver.port), logger: logs.logger)
        #expect(await eventually { logs.lines.withLock { $0.filter { $0.contains("pad attached") }.count } == 2 })
        let second = try await RunningDaemon(config: try hidConfig(dir: other, receiverPort: receiver.port), logger: otherLogs.logger)
        #expect(await eventually { otherLogs.lines.withLock { $0.contains { $0.contains("pad cannot be opened") && $0.contains("in use by another program") } } })
        #expect(!otherLogs.contains("pad attached"))
        await second.stop()
        await first.stop()
        await receiver.stop()
    }
}

enum InputEventBytes {
    static func key(_ code: UInt16, _ value: Int32) -> [UInt8] { event(type: 1, code: code, value: value) }
    static let syn = event(type: 0, code: 0, value: 0)
    static func event(type: UInt16, code: UInt16, value: Int32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: type.littleEndian) { out += $0 }
        withUnsafeBytes(of: code.littleEndian) { out += $0 }
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
        return out
    }
}
