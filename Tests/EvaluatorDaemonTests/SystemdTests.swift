import EvaluatorCore
@testable import EvaluatorDaemon
import EvaluatorTestSupport
import Foundation
import GRDB
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's notify socket or the journal's: it keeps what
/// arrives, with the time it arrived.
final class DatagramListener: Sendable {
    let path: String
    let received = Mutex<[(at: Date, bytes: [UInt8])]>([])
    private let fd: Int32
    private let stopped = Mutex(false)

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EINVAL) }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while !stopped.withLock({ $0 }) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { received.withLock { $0.append((Date(), Array(buffer[0..<n]))) } }
            }
            close(fd)
        }
        thread.start()
    }

    func stop() { stopped.withLock { $0 = true } }

    /// The datagrams as text.
    var messages: [(at: Date, text: String)] { received.withLock { $0 }.map { ($0.at, String(decoding: $0.bytes, as: UTF8.self)) } }
}

@Suite("systemd: notify, watchdog, journal, start failures (issue 13)", .serialized)
struct SystemdTests {
    @Test("READY=1, STATUS= and WATCHDOG=1 while the writer makes progress; no pet while another program holds the write lock; pets again after; STOPPING=1 first on shutdown; an uplink outage never stops the pets")
    func watchdog() async throws {
        let dir = temporaryFolder()
        let listener = try DatagramListener(path: dir + "/notify")
        defer { listener.stop() }
        // The uplink points at a port nobody listens on: a provincial outage all along.
        let config = try testConfig(dir: dir, receiverPort: 9)
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger,
                                             notifier: SystemdNotifier(socketPath: listener.path, watchdogMs: 400))
        #expect(await eventually(15) { listener.messages.filter { $0.text == "WATCHDOG=1" }.count >= 3 })
        let texts = listener.messages.map(\.text)
        #expect(texts.first?.hasPrefix("READY=1\n") == true)
        #expect(texts.contains { $0.hasPrefix("STATUS=") && $0.contains("pads attached") && $0.contains("backlog 0") })

        // Another program takes the write lock (an operator's sqlite3 left in a transaction).
        let foreign = try DatabaseQueue(path: config.databasePath)
        // When the lock was really taken (a loaded box may start the closure late).
        let heldAt = Mutex(Date.distantFuture)
        try await foreign.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            heldAt.withLock { $0 = Date() }
            Thread.sleep(forTimeInterval: 2)
            try db.execute(sql: "ROLLBACK")
        }
        let released = Date()
        let held = heldAt.withLock { $0 }
        #expect(await eventually(15) { listener.messages.contains { $0.text == "WATCHDOG=1" && $0.at > released } })
        // One pet may already have been on its way when the lock was taken (the probe of the
        // round before, a period of 200 ms); after that, none until the lock was let go.
        let during = listener.messages.filter { $0.text == "WATCHDOG=1" && $0.at > held.addingTimeInterval(0.5) && $0.at < released }
        #expect(during.isEmpty, "pets while the writer was stuck: \(during.map(\.at))")

        await daemon.stop()
        // The listener's thread takes the datagram in its own time.
        #expect(await eventually(5) { listener.messages.contains { $0.text == "STOPPING=1" } })
        let stopping = try #require(listener.messages.firstIndex { $0.text == "STOPPING=1" })
        #expect(!listener.messages[(stopping + 1)...].contains { $0.text.hasPrefix("READY=1") })
    }

    @Test("the journal gets MESSAGE, PRIORITY, the identifier and one upper-case field per metadata key; a value with a newline is sent length-prefixed")
    func journalFields() throws {
        let dir = temporaryFolder()
        let listener = try DatagramListener(path: dir + "/journal")
        defer { listener.stop() }
        var handler = JournalLogHandler(sink: JournalSink(socketPath: listener.path), identifier: "evaluatord")
        handler.logLevel = .debug
        let logger = Logger(label: "t") { _ in handler }
        logger.warning("pad detached", metadata: ["window": "W01", "pad": "bus1/3", "path": "/dev/ttyUSB0", "case_id": "C-1", "error": "line one\nline two"])
        #expect(eventually(sync: 3) { !listener.received.withLock { $0 }.isEmpty })
        let bytes = try #require(listener.received.withLock { $0.first?.bytes })
        let text = String(decoding: bytes, as: UTF8.self)
        for line in ["MESSAGE=pad detached", "PRIORITY=4", "SYSLOG_IDENTIFIER=evaluatord", "WINDOW=W01", "PAD=bus1/3", "DEVICE_PATH=/dev/ttyUSB0", "CASE_ID=C-1"] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "\(line) missing in \(text)")
        }
        // ERROR\n <8-byte little-endian length> line one\nline two \n
        let marker = Array("ERROR\n".utf8)
        let at = try #require((0...(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker })
        let length = bytes[(at + 6)..<(at + 14)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect(length == UInt64("line one\nline two".utf8.count))
        #expect(String(decoding: bytes[(at + 14)..<(at + 14 + Int(length))], as: UTF8.self) == "line one\nline two")
        #expect(JournalLogHandler.fieldName("_x.y-z") == "X_Y_Z" && JournalLogHandler.fieldName("3d") == "F3D")
    }

    @Test("on a terminal the message comes first, then the fields")
    func textLine() {
        let line = TextLogHandler.line(level: .notice, message: "api listening; ready", metadata: ["api.listen": "127.0.0.1:8740"], date: Date(timeIntervalSince1970: 0))
        #expect(line.hasSuffix(" notice   api listening; ready  api.listen=127.0.0.1:8740\n"), "\(line)")
    }

    @Test("a port another program holds is one sentence, before the state folder or any device is touched")
    func portTaken() throws {
        let dir = temporaryFolder()
        let (holder, port) = boundSocket(listening: true)
        defer { close(holder) }
        let text = testConfigText(dir: dir, receiverPort: nil).replacingOccurrences(of: "listen = \"127.0.0.1:0\"", with: "listen = \"127.0.0.1:\(port)\"")
        let config = try GatewayConfig.parse(text, source: "t.toml", files: .system)
        do {
            _ = try Daemon(config: config, logger: LogCapture().logger, notifier: SystemdNotifier(socketPath: nil, watchdogMs: nil))
            Issue.record("the daemon started on a taken port")
        } catch {
            #expect("\(error)" == "the API cannot listen on 127.0.0.1:\(port) (api.listen): address already in use")
        }
        #expect(!FileManager.default.fileExists(atPath: config.stateDir))
    }

    @Test("evaluatord --version and evaluatorctl --version name the release")
    func version() throws {
        for tool in ["evaluatord", "evaluatorctl"] {
            let (status, out) = try runCommand(builtExecutable(tool), ["--version"])
            #expect(status == 0)
            #expect(out.hasPrefix("\(tool) \(BuildInfo.version)"), "\(out)")
        }
    }
}

/// `eventually` for a synchronous condition.
func eventually(sync seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return condition()
}
