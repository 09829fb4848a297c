import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon's log goes (issue 13): under systemd, the journal's native protocol with a
/// priority and one field per metadata key (`journalctl -u evaluatord WINDOW=W01`); on a
/// terminal or in a pipe, one readable line with the message first.
public enum DaemonLog {
    /// The journal's socket when stderr is the journal (systemd sets `JOURNAL_STREAM` to the
    /// device and inode of the stream it connected, sd_journal_stream_fd(3)); nil otherwise.
    public static func journalSocket(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let stream = environment["JOURNAL_STREAM"] else { return nil }
        var st = stat()
        guard fstat(2, &st) == 0, stream == "\(st.st_dev):\(st.st_ino)" else { return nil }
        let path = "/run/systemd/journal/socket"
        return access(path, W_OK) == 0 ? path : nil
    }

    /// Installs the process's log handler at `level`.
    public static func bootstrap(level: Logger.Level, identifier: String) {
        let journal = journalSocket().map { JournalSink(socketPath: $0) }
        LoggingSystem.bootstrap { _ in
            if let journal {
                var h = JournalLogHandler(sink: journal, identifier: identifier)
                h.logLevel = level
                return h
            }
            var h = TextLogHandler(stream: .standardError)
            h.logLevel = level
            return h
        }
    }
}

/// syslog(3) priorities for journald's PRIORITY= field.
extension Logger.Level {
    var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// One line per entry: `15:04:05.123 warning  the message  key=value key=value`.
public struct TextLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let stream: FileHandle

    public init(stream: FileHandle) { self.stream = stream }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        stream.write(Data(Self.line(level: event.level, message: "\(event.message)", metadata: all, date: Date()).utf8))
    }

    static func line(level: Logger.Level, message: String, metadata: Logger.Metadata, date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&t, &parts)
        let ms = Int(date.timeIntervalSince1970 * 1000) % 1000
        let stamp = String(format: "%04d-%02d-%02d %02d:%02d:%02d.%03d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                           parts.tm_hour, parts.tm_min, parts.tm_sec, ms)
        let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let name = "\(level)".padding(toLength: 8, withPad: " ", startingAt: 0)
        return "\(stamp) \(name) \(message)" + (fields.isEmpty ? "" : "  " + fields) + "\n"
    }
}

/// The journal's datagram socket, opened once.
public final class JournalSink: Sendable {
    let socketPath: String
    private let fd: Int32

    public init(socketPath: String) {
        self.socketPath = socketPath
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends one entry; false when the journal did not take it.
    func send(_ entry: [UInt8]) -> Bool {
        fd >= 0 && sendDatagram(fd: fd, to: socketPath, entry)
    }
}

/// The journal's native protocol (systemd.journal-fields(7), "Native Journal Protocol"): MESSAGE,
/// PRIORITY, SYSLOG_IDENTIFIER and each metadata key as an upper-case field (`window` → WINDOW,
/// `device.path` → DEVICE_PATH). An entry the socket refuses goes to stderr with its `<N>`
/// priority prefix, which journald also reads.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let sink: JournalSink
    let identifier: String

    public init(sink: JournalSink, identifier: String) {
        self.sink = sink
        self.identifier = identifier
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let message = "\(event.message)"
        if !sink.send(Self.entry(level: event.level, message: message, metadata: all, identifier: identifier)) {
            FileHandle.standardError.write(Data("<\(event.level.syslogPriority)>\(message)\n".utf8))
        }
    }

    /// A metadata key as a journal field name: A–Z, 0–9 and `_`, not starting with `_` (those are
    /// journald's own) or a digit, at most 64 characters.
    static func fieldName(_ key: String) -> String {
        // The device services log a node as `path`: in the journal it is DEVICE_PATH (PATH
        // reads like the environment variable).
        if key == "path" { return "DEVICE_PATH" }
        var name = String(key.uppercased().unicodeScalars.map { ("A"..."Z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "_" })
        while name.hasPrefix("_") { name.removeFirst() }
        if name.first?.isNumber ?? true { name = "F" + name }
        return String(name.prefix(64))
    }

    static func entry(level: Logger.Level, message: String, metadata: Logger.Metadata, identifier: String) -> [UInt8] {
        var out: [UInt8] = []
        func field(_ name: String, _ value: String) {
            let bytes = Array(value.utf8)
            if bytes.contains(0x0A) {
                // NAME\n, the value's length as 64-bit little endian, the value, \n.
                out += Array(name.utf8) + [0x0A]
                withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { out += $0 }
                out += bytes + [0x0A]
            } else {
                out += Array(name.utf8) + [0x3D] + bytes + [0x0A]
            }
        }
        field("MESSAGE", message)
        field("PRIORITY", "\(level.syslogPriority)")
        field("SYSLOG_IDENTIFIER", identifier)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            let name = fieldName(key)
            guard !["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"].contains(name) else { continue }
            field(name, "\(value)")
        }
        return out
    }
}
