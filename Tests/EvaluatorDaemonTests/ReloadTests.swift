import EvaluatorCLI
import EvaluatorCore
import EvaluatorWire
@testable import EvaluatorDaemon
import EvaluatorTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Reload (issue 13): SIGHUP, `POST /v1/reload`, `evaluatorctl reload`.
@Suite("reload: applied without dropping open evaluations, refused with the reason", .serialized)
struct ReloadTests {
    static let w03 = "[[window]]\nid = \"W03\"\ndepartment = \"税务局\"\npad = { bus = \"bus1\", address = 5 }\n"

    @Test("a new window and session settings apply while W01's evaluation stays open and the bus stays open; tokens come into force; a changed api.listen or a broken file is refused and the running config stays")
    func inProcess() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        defer { pad.close() }
        let file = dir + "/evaluatord.toml"
        let base = testConfigText(dir: dir, receiverPort: nil)
        try base.write(toFile: file, atomically: true, encoding: .utf8)
        let logs = LogCapture()
        let notify = try DatagramListener(path: dir + "/notify")
        defer { notify.stop() }
        let daemon = try await RunningDaemon(config: try GatewayConfig.load(path: file, files: .system), logger: logs.logger, configSource: file,
                                             notifier: SystemdNotifier(socketPath: notify.path, watchdogMs: nil))
        #expect(await eventually(5) { logs.contains("bus attached") })
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "R-1"}"#).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))

        // A window added, the timeout changed.
        try (base.replacingOccurrences(of: "timeout_s = 30", with: "timeout_s = 45") + Self.w03).write(toFile: file, atomically: true, encoding: .utf8)
        let before = notify.messages.count
        let applied = await daemon.daemon.reloader.reload(trigger: "test")
        #expect(applied.outcome == .applied, "\(applied)")
        // systemd hears RELOADING=1 (with the monotonic time Type=notify-reload asks for), then READY=1.
        #expect(await eventually(5) { notify.messages.count >= before + 2 })
        let told = notify.messages.dropFirst(before).map(\.text)
        #expect(told.first?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true && told.dropFirst().first == "READY=1", "\(told)")
        #expect(applied.changes == ["window W03 added", "session settings changed"])
        // The open evaluation survived and is rated on the same, never reopened, bus.
        pad.press(address: 3, key: 2)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 2))
        #expect(logs.lines.withLock { $0.filter { $0.contains("bus attached") }.count } == 1)
        // The new window rates, with the new timeout.
        let (code, opened) = try await daemon.request(.POST, "/v1/windows/W03/evaluations", json: #"{"case_id": "R-3"}"#)
        #expect(code == 201)
        let prompted = try #require(Millis.parseRFC3339(opened["prompted_at"] as? String ?? ""))
        let expires = try #require(Millis.parseRFC3339(opened["expires_at"] as? String ?? ""))
        #expect(expires.value - prompted.value == 45_000)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 5))
        pad.press(address: 5, key: 1)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 5, key: 1))

        // A change that needs a restart: refused, naming the key; nothing else of the file applies.
        try (base.replacingOccurrences(of: "127.0.0.1:0", with: "127.0.0.1:1") + Self.w03 + "[[window]]\nid = \"W04\"\ndepartment = \"d\"\npad = { bus = \"bus1\", address = 6 }\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let refused = await daemon.daemon.reloader.reload(trigger: "test")
        #expect(refused.outcome == .refused && refused.message.contains("api.listen changed") && refused.message.contains("restart"), "\(refused)")
        #expect(try await daemon.request(.POST, "/v1/windows/W04/evaluations", json: #"{"case_id": "R-4"}"#).0 == 404)
        // A broken file: refused with the file and line.
        try "[gateway\nid = 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let broken = await daemon.daemon.reloader.reload(trigger: "test")
        #expect(broken.outcome == .refused && broken.message.contains(file), "\(broken)")
        #expect(logs.contains("reload refused; the running configuration is kept"))
        let (_, status) = try await daemon.request(.GET, "/v1/status")
        let last = try #require(status["last_reload"] as? [String: Any])
        #expect(last["result"] as? String == "refused" && last["trigger"] as? String == "test")

        // Tokens: from none to a tokens file, in force at once.
        let tokens = try writeTokens(dir)
        try (base.replacingOccurrences(of: "listen = \"127.0.0.1:0\"", with: "listen = \"127.0.0.1:0\"\ntokens_file = \"\(tokens)\"") + Self.w03)
            .write(toFile: file, atomically: true, encoding: .utf8)
        let withTokens = await daemon.daemon.reloader.reload(trigger: "test")
        #expect(withTokens.changes.contains("tokens changed") && withTokens.changes.contains("session settings changed"), "\(withTokens)")
        #expect(try await daemon.request(.GET, "/v1/status").0 == 401)
        #expect(try await daemon.request(.GET, "/v1/status", token: readToken).0 == 200)
        // Through the API: neither a read nor an api token may reload (issue 20); the admin
        // token may, and nothing changed.
        #expect(try await daemon.request(.POST, "/v1/reload", json: "{}", token: readToken).0 == 403)
        #expect(try await daemon.request(.POST, "/v1/reload", json: "{}", token: apiToken).0 == 403)
        let (reloadCode, answer) = try await daemon.request(.POST, "/v1/reload", json: "{}", token: adminToken)
        #expect(reloadCode == 200 && answer["result"] as? String == "unchanged" && answer["trigger"] as? String == "admin")
        await daemon.stop()
    }

    @Test("the binary: SIGHUP reloads and the daemon lives on; evaluatorctl reload exits 1 on a refusal and 0 once applied; SIGTERM logs the stop")
    func binary() async throws {
        let dir = temporaryFolder()
        let file = dir + "/evaluatord.toml"
        let port = try freePort()
        let base = testConfigText(dir: dir, receiverPort: nil).replacingOccurrences(of: "127.0.0.1:0", with: "127.0.0.1:\(port)")
        try base.write(toFile: file, atomically: true, encoding: .utf8)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: builtExecutable("evaluatord"))
        daemon.arguments = ["--config", file]
        let err = Pipe()
        daemon.standardError = err
        let said = OutputCollector(err)
        try daemon.run()
        defer { if daemon.isRunning { daemon.terminate() } }
        #expect(await eventually(10) { said.text.contains("api listening; ready") }, "\(said.text)")
        #expect(said.text.contains("evaluatord \(BuildInfo.version)") && said.text.contains("starting"))

        try (base + Self.w03).write(toFile: file, atomically: true, encoding: .utf8)
        kill(daemon.processIdentifier, SIGHUP)
        #expect(await eventually(10) { said.text.contains("configuration reloaded") }, "\(said.text)")
        #expect(daemon.isRunning)

        let ctl = builtExecutable("evaluatorctl")
        try base.replacingOccurrences(of: "state_dir = \"\(dir)/state\"", with: "state_dir = \"\(dir)/elsewhere\"").write(toFile: file, atomically: true, encoding: .utf8)
        let (refusedStatus, refusedOut) = try runCommand(ctl, ["reload", "--config", file])
        #expect(refusedStatus == 1 && refusedOut.contains("reload refused") && refusedOut.contains("gateway.state_dir"), "\(refusedOut)")
        try (base + Self.w03).write(toFile: file, atomically: true, encoding: .utf8)
        let (okStatus, okOut) = try runCommand(ctl, ["reload", "--config", file])
        #expect(okStatus == 0 && okOut.contains("reloaded: nothing changed"), "\(okOut)")

        // status: one screen while it runs (no colour in a pipe), the schema with --json.
        let (statusCode, screen) = try runCommand(ctl, ["status", "--config", file])
        #expect(statusCode == 0 && screen.hasPrefix("● evaluatord \(BuildInfo.version)") && !screen.contains("\u{1B}["), "\(screen)")
        // Three reloads (SIGHUP applied, one refused, one unchanged): three audit records (issue 20).
        #expect(screen.contains("pads: 0/3 attached") && screen.contains("backlog: 3 records waiting") && screen.contains("uplink: none"), "\(screen)")
        #expect(screen.contains("last reload: ") && screen.contains("applied (queue)") == false)
        let (_, json) = try runCommand(ctl, ["status", "--json", "--config", file])
        let parsed = try JSONDecoder().decode(StatusView.self, from: Data(json.utf8))
        #expect(parsed.state == "degraded" && parsed.problems.contains { $0.code == "pad_absent" } && parsed.last_reload?.result == "unchanged")

        daemon.terminate()
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        #expect(await eventually(5) { said.text.contains("evaluatord stopped; 0 open evaluations kept") }, "\(said.text)")
        // Down: it says so, shows what the store holds, and exits 3 like systemctl status.
        let (downCode, down) = try runCommand(ctl, ["status", "--config", file])
        #expect(downCode == ExitStatus.notRunning.rawValue, "\(down)")
        #expect(down.contains("evaluatord is not running") && down.contains("records: 3") && down.contains("backlog: 3 records waiting"), "\(down)")
    }
}

/// A TCP socket bound to a free port on 127.0.0.1 (listening when `listening`), and its port.
func boundSocket(listening: Bool = false) -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    if listening { listen(fd, 1) }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return (fd, Int(UInt16(bigEndian: addr.sin_port)))
}

/// A TCP port free right now on 127.0.0.1.
func freePort() throws -> Int {
    let (fd, port) = boundSocket()
    close(fd)
    return port
}

/// What a child process writes to a pipe, as it arrives.
final class OutputCollector: Sendable {
    private let data = Mutex(Data())
    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] h in
            let chunk = h.availableData
            self.data.withLock { $0.append(chunk) }
        }
    }
    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}
