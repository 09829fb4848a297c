import EvaluatorCore
import EvaluatorStore
import Foundation
import Synchronization

/// Screen pads paired instead of given a standing token (issue 20): hall IT runs `evaluatorctl
/// pair WINDOW`, which asks for a one-time code (8 digits, 10 minutes, single use, bound to the
/// window); the tablet opens `/pad/WINDOW?pair=CODE` and exchanges the code for the pad's own
/// secret. Pairing again revokes the previous secret (its live socket is closed by the
/// observers). Only SHA-256 of each secret is kept, in its own 0600 file in the state folder —
/// outside the SQLite store, so a damaged-store replacement does not unpair every tablet.
/// Codes live in memory only: a restart voids them (run `pair` again).
public final class PadPairings: Sendable {
    struct Paired: Codable, Sendable, Hashable {
        var secret_sha256: String
        var paired_at: String
        var paired_by: String
        var remote: String?
    }

    struct File: Codable {
        var version = 1
        var pads: [String: Paired] = [:]
    }

    struct Pending: Sendable {
        var codeHash: String
        var expiresAt: Millis
        var by: String
        var wrong: Int
    }

    /// How long a code is good for, and how many wrong codes void it.
    static let codeLifetimeMs: Int64 = 600_000
    static let maxWrongCodes = 5
    /// The file's name in the state folder.
    static let fileName = "pads.paired"

    let path: String
    private let state: Mutex<(paired: [String: Paired], pending: [String: Pending])>
    private let observers = Mutex<[@Sendable () -> Void]>([])

    /// Reads the file if it is there. It must be a regular file (no symlink) owned by this
    /// process's user or root, readable by nobody else; anything else is refused by name.
    public init(stateDir: String) throws(ConfigError) {
        path = (stateDir as NSString).appendingPathComponent(Self.fileName)
        var paired: [String: Paired] = [:]
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw Self.fail(path, "is not a regular file")
            }
            guard st.st_uid == geteuid() || st.st_uid == 0 else { throw Self.fail(path, "is owned by uid \(st.st_uid), not by root or the service user") }
            guard st.st_mode & 0o077 == 0 else { throw Self.fail(path, "is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))): chmod 600 it") }
            let data = FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile()
            guard let file = try? JSONDecoder().decode(File.self, from: data) else { throw Self.fail(path, "is not a pairing file (JSON with \"pads\")") }
            paired = file.pads
        } else if errno != ENOENT {
            throw Self.fail(path, errno == ELOOP ? "is a symlink (refused)" : "cannot be read: \(String(cString: strerror(errno)))")
        }
        state = Mutex((paired, [:]))
    }

    private static func fail(_ path: String, _ message: String) -> ConfigError {
        ConfigError(code: .invalid, file: path, line: 0, key: "", message: "the screen pads' pairing file \(message)")
    }

    static func hash(_ secret: String) -> String { Chain.sha256Hex(Array(secret.utf8)) }

    /// Called after a pairing replaces a secret (the screen service closes revoked sockets).
    func observe(_ f: @escaping @Sendable () -> Void) { observers.withLock { $0.append(f) } }

    /// A new one-time code for `window`, replacing any code not used yet.
    func issue(window: String, by: String, now: Millis) -> (code: String, expiresAt: Millis) {
        var rng = SystemRandomNumberGenerator()
        let code = String(format: "%08d", Int.random(in: 0..<100_000_000, using: &rng))
        let expires = now + Self.codeLifetimeMs
        state.withLock { $0.pending[window] = Pending(codeHash: Self.hash(window + ":" + code), expiresAt: expires, by: by, wrong: 0) }
        return (code, expires)
    }

    enum ExchangeError: Error, Equatable {
        case noCode, expired, wrong(left: Int), write(String)
    }

    /// Trades a code for the pad's new secret (returned once, never stored in clear), written
    /// durably before it is returned. The code is used up either way once it is right.
    func exchange(window: String, code: String, remote: String, now: Millis) -> Result<String, ExchangeError> {
        let checked: Result<Pending, ExchangeError> = state.withLock { s in
            guard var p = s.pending[window] else { return .failure(.noCode) }
            guard p.expiresAt > now else {
                s.pending[window] = nil
                return .failure(.expired)
            }
            guard Self.hash(window + ":" + code) == p.codeHash else {
                p.wrong += 1
                s.pending[window] = p.wrong >= Self.maxWrongCodes ? nil : p
                return .failure(.wrong(left: Self.maxWrongCodes - p.wrong))
            }
            s.pending[window] = nil
            return .success(p)
        }
        let pending: Pending
        switch checked {
        case let .success(p): pending = p
        case let .failure(e): return .failure(e)
        }
        var rng = SystemRandomNumberGenerator()
        let secret = "pad-" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let entry = Paired(secret_sha256: Self.hash(secret), paired_at: now.rfc3339, paired_by: pending.by, remote: remote)
        let written: String? = state.withLock { s in
            var file = File(pads: s.paired)
            file.pads[window] = entry
            if let problem = Self.write(file, to: path) { return problem }
            s.paired = file.pads
            return nil
        }
        if let written { return .failure(.write(written)) }
        for f in observers.withLock({ $0 }) { f() }
        return .success(secret)
    }

    /// The window a pad secret was paired for, if any.
    func window(ofSecret secret: String) -> String? {
        let h = Self.hash(secret)
        return state.withLock { s in s.paired.first(where: { $0.value.secret_sha256 == h })?.key }
    }

    func pairing(of window: String) -> Paired? { state.withLock { $0.paired[window] } }

    /// Writes the file whole: a new file beside it (O_EXCL|O_NOFOLLOW, 0600), fsync, rename,
    /// fsync of the folder. Returns what went wrong, or nil.
    static func write(_ file: File, to path: String) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(file) else { return "cannot encode the pairing file" }
        let temp = path + ".new"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "cannot create \(temp): \(String(cString: strerror(errno)))" }
        let ok = data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { return false }
                off += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            unlink(temp)
            return "cannot write \(path): \(String(cString: strerror(errno)))"
        }
        let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
        return nil
    }
}
