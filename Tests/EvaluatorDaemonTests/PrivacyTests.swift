import EvaluatorCore
import EvaluatorDaemon
import EvaluatorStore
import EvaluatorTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

func mode(_ path: String) -> mode_t {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & 0o777 : 0
}

/// R10: the state folder is 0700 and the database files 0600 whatever the umask; a link or
/// another user's folder is refused at start with a message.
@Suite("privacy of the state folder (R10)", .serialized)
struct PrivacyTests {
    @Test("under umask 022 the folder is 0700 and the database, WAL and SHM 0600; an existing 0644 store is made private")
    func modes() async throws {
        let old = umask(0o022)
        defer { umask(old) }
        let dir = temporaryFolder()
        let config = try testConfig(dir: dir, receiverPort: nil)
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        #expect(mode(config.stateDir) == 0o700)
        for suffix in ["", "-wal", "-shm"] {
            #expect(FileManager.default.fileExists(atPath: config.databasePath + suffix), "\(suffix)")
            #expect(mode(config.databasePath + suffix) == 0o600, "\(suffix)")
        }
        #expect(mode(StateLock.path(stateDir: config.stateDir)) == 0o600)
        await daemon.stop()
        chmod(config.stateDir, 0o755)
        chmod(config.databasePath, 0o644)
        let again = try await RunningDaemon(config: config, logger: LogCapture().logger)
        #expect(mode(config.stateDir) == 0o700 && mode(config.databasePath) == 0o600)
        await again.stop()
    }

    @Test("a state folder or database that is a symbolic link is refused, saying so")
    func links() throws {
        let dir = temporaryFolder()
        let config = try testConfig(dir: dir, receiverPort: nil)
        try FileManager.default.createDirectory(atPath: dir + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: config.stateDir, withDestinationPath: dir + "/elsewhere")
        #expect { _ = try Daemon(config: config, logger: LogCapture().logger) } throws: { error in
            "\(error)".contains("the state folder (gateway.state_dir) is a symbolic link; refused")
        }
        try FileManager.default.removeItem(atPath: config.stateDir)
        try FileManager.default.createDirectory(atPath: config.stateDir, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: config.databasePath, withDestinationPath: dir + "/elsewhere/x.sqlite")
        #expect { _ = try Daemon(config: config, logger: LogCapture().logger) } throws: { error in
            "\(error)".contains("evaluatord.sqlite: the database is a symbolic link; refused")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/elsewhere/x.sqlite"), "nothing was created through the link")
    }

    @Test("a state folder owned by another user is refused, naming both users", .enabled(if: geteuid() == 0, "needs root to chown"))
    func otherOwner() throws {
        let dir = temporaryFolder()
        let config = try testConfig(dir: dir, receiverPort: nil)
        try FileManager.default.createDirectory(atPath: config.stateDir, withIntermediateDirectories: true)
        #expect(chown(config.stateDir, 65534, 65534) == 0)
        #expect { _ = try Daemon(config: config, logger: LogCapture().logger) } throws: { error in
            "\(error)".contains("the state folder (gateway.state_dir) belongs to") && "\(error)".contains("but evaluatord runs as root; refused")
        }
    }
}
