import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One daemon per state folder. Two evaluatord on one folder both ran before: both restored the
/// same open evaluation, both wrote an `unrated` record for one case under different record ids,
/// and the same batch was POSTed twice (issue 11). The daemon takes this lock (flock on
/// `evaluatord.lock`, holding its PID) before it opens the store, and keeps it while it runs;
/// the kernel releases it when the process ends, however it ends.
public final class StateLock: Sendable {
    public let path: String
    private let fd: Mutex<Int32>

    public static func path(stateDir: String) -> String { (stateDir as NSString).appendingPathComponent("evaluatord.lock") }

    /// Takes the lock or throws `.locked` naming the holder's PID.
    public init(stateDir: String) throws(StoreError) {
        path = Self.path(stateDir: stateDir)
        do {
            try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        } catch {
            throw StoreError(code: .open, path: stateDir, message: "cannot create the state folder: \(error.localizedDescription)")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(code: .open, path: path, message: "cannot open the lock file: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readPID(fd)
            close(fd)
            throw StoreError(code: .locked, path: path, message: "another evaluatord\(holder.map { " (PID \($0))" } ?? "") is running on this state folder; stop it first (one daemon per state folder)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = Mutex(fd)
    }

    /// Gives the folder up (the daemon stopped); another daemon may take it now.
    public func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
        }
    }

    /// The PID in the lock file while a daemon holds it; nil when nobody does.
    public static func holder(stateDir: String) -> Int32? {
        let fd = open(path(stateDir: stateDir), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return readPID(fd) ?? 0
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    deinit { release() }
}
