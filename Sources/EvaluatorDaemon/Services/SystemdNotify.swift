import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. A no-op outside systemd.
/// A value, so tests give the daemon a socket of their own instead of the process environment.
public struct SystemdNotifier: Sendable {
    /// The notify socket (`@name` for an abstract one), or nil outside systemd.
    public var socketPath: String?
    /// systemd's watchdog interval (`WatchdogSec=`, passed as WATCHDOG_USEC), or nil when off.
    public var watchdogMs: Int64?

    public init(socketPath: String?, watchdogMs: Int64?) {
        self.socketPath = socketPath
        self.watchdogMs = watchdogMs
    }

    /// From systemd's environment; WATCHDOG_PID, when set, must be this process.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> SystemdNotifier {
        var watchdog = env["WATCHDOG_USEC"].flatMap { Int64($0) }.map { $0 / 1000 }
        if let pid = env["WATCHDOG_PID"], pid != "\(getpid())" { watchdog = nil }
        return SystemdNotifier(socketPath: env["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }, watchdogMs: watchdog.flatMap { $0 > 0 ? $0 : nil })
    }

    @discardableResult
    public func send(_ state: String) -> Bool {
        guard let path = socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return sendDatagram(fd: fd, to: path, Array(state.utf8))
    }
}

/// Sends one datagram on `fd` to the unix socket at `path` (`@name`: the abstract namespace).
func sendDatagram(fd: Int32, to path: String, _ message: [UInt8]) -> Bool {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    var bytes = Array(path.utf8)
    let abstract = path.hasPrefix("@")
    if abstract { bytes[0] = 0 }
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
    let sent = withUnsafePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
        }
    }
    return sent == message.count
}
