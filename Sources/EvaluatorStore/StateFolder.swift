import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The state folder's privacy (R10): the folder is 0700 and the database, WAL and SHM files
/// 0600 whatever the umask; a folder or database that is a symbolic link, or owned by another
/// user, is refused before anything is opened (a link could send ratings to a file someone
/// else reads; another user's folder is not ours to write).
public enum StateFolder {
    /// Makes (or checks) the folder and the database file for the daemon. Call before the
    /// lock and the store are opened.
    public static func prepare(stateDir: String, databasePath: String) throws(StoreError) {
        try checkNotForeign(stateDir, what: "the state folder (gateway.state_dir)", directory: true)
        if !exists(stateDir) {
            do {
                try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError(code: .open, path: stateDir, message: "cannot create the state folder: \(error.localizedDescription)")
            }
        }
        guard chmod(stateDir, 0o700) == 0 else {
            throw StoreError(code: .open, path: stateDir, message: "cannot make the state folder private (chmod 0700): \(String(cString: strerror(errno)))")
        }
        try checkNotForeign(databasePath, what: "the database", directory: false)
        // SQLite gives the -wal and -shm files the database file's mode: made 0600 here first,
        // they are 0600 from their first byte.
        let fd = open(databasePath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw StoreError(code: .open, path: databasePath, message: "cannot open the database: \(String(cString: strerror(errno)))")
        }
        close(fd)
        for file in [databasePath, databasePath + "-wal", databasePath + "-shm", StateLock.path(stateDir: stateDir)] where exists(file) {
            try checkNotForeign(file, what: "a state file", directory: false)
            _ = chmod(file, 0o600)
        }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Refuses a symbolic link, the wrong kind of file, or another user's file.
    static func checkNotForeign(_ path: String, what: String, directory: Bool) throws(StoreError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        let type = st.st_mode & S_IFMT
        if type == S_IFLNK {
            throw StoreError(code: .open, path: path, message: "\(what) is a symbolic link; refused (R10: point state_dir at the real folder)")
        }
        if directory ? type != S_IFDIR : type != S_IFREG {
            throw StoreError(code: .open, path: path, message: "\(what) is not a \(directory ? "folder" : "regular file")")
        }
        if st.st_uid != geteuid() {
            let owner = getpwuid(st.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(st.st_uid)"
            let me = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
            throw StoreError(code: .open, path: path, message: "\(what) belongs to \(owner), but evaluatord runs as \(me); refused (R10: chown it to \(me))")
        }
    }
}
