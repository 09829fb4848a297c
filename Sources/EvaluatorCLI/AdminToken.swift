import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `evaluatorctl admin-token init` (issue 20): makes the admin token file hall IT's verbs use
/// (salvage, resend, reload, pair) — a separate file beside the operator's tokens file, which
/// is never edited. The package's postinst runs it; a hand install runs it once as root.
struct AdminTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "Manage the admin token file (hall IT's token for salvage, resend, reload and pairing).",
        subcommands: [Init.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the admin token file (0600, owned by the user running this: root) if it is not there.",
            discussion: "Without [api] tokens_file there is nothing to do (every local caller may act): exit 0. An existing file is kept: exit 0. The token is never printed; evaluatorctl run as root reads the file, and the packaged unit hands it to the daemon (LoadCredential=admin.token). Restart the daemon after creating it."
        )
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Print JSON instead of text.") var json = false

        func run() throws {
            let config = try options.load()
            try Control.emit(try Control.adminTokenInit(config: config), json: json)
        }
    }
}

extension Control {
    /// Creates the admin token file: 32 random bytes as 64 hex digits, written exclusively
    /// (`O_EXCL|O_NOFOLLOW`, 0600): never over a file or through a link that is already there.
    public static func adminTokenInit(config: GatewayConfig) throws -> Outcome {
        guard let path = config.apiAccess.adminTokenFile else {
            return Outcome(lines: ["no [api] tokens_file: every local caller may act, there is no admin token to make"], ok: true, fields: ["created": .bool(false)])
        }
        var st = stat()
        if lstat(path, &st) == 0 {
            return Outcome(lines: ["\(path) is there already: kept"], ok: true, fields: ["created": .bool(false), "path": .string(path)])
        }
        var rng = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CommandFailed(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((token + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fchmod(fd, 0o600) == 0, fsync(fd) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(path)
            throw CommandFailed(description: "cannot write \(path): \(why)")
        }
        return Outcome(lines: ["\(path) created (0600): evaluatorctl run as this user uses it for salvage, resend, reload and pair; restart evaluatord to take it"],
                       ok: true, fields: ["created": .bool(true), "path": .string(path)])
    }
}
