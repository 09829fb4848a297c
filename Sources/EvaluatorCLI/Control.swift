import ArgumentParser
import AsyncHTTPClient
import EvaluatorCore
import EvaluatorWire
import EvaluatorProtocol
import EvaluatorStore
import Foundation
import NIOCore

/// What `evaluatorctl` does; the commands in `Commands.swift` only parse arguments.
public enum Control {
    /// A one-paragraph summary of a valid config, for `check-config`.
    /// `check-config`: the config (when valid), every error, the warnings.
    public struct ConfigCheck {
        public var config: GatewayConfig?
        public var errors: [ConfigError]
        public var warnings: [String]

        public var json: String {
            let obj: [String: Any] = [
                "ok": errors.isEmpty,
                "errors": errors.map { e -> [String: Any] in
                    var o: [String: Any] = ["file": e.file, "key": e.key, "message": e.message, "code": e.code.name]
                    if let l = e.line { o["line"] = l }
                    return o
                },
                "warnings": warnings,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    public static func checkConfig(path: String) -> ConfigCheck {
        do {
            let c = try GatewayConfig.load(path: path, files: .system)
            return ConfigCheck(config: c, errors: [], warnings: ConfigWarnings.of(c))
        } catch {
            return ConfigCheck(config: nil, errors: error.all, warnings: [])
        }
    }

    public static func summary(_ c: GatewayConfig) -> String {
        var lines = [
            "ok: \(c.source)",
            "  gateway \(c.gatewayID), region \(c.region), state in \(c.stateDir)",
            "  api on \(c.api)\(c.apiAccess.tokens.map { "; \($0.tokens.count) token(s): " + $0.tokens.map { "\($0.name) (\($0.scope))" }.joined(separator: ", ") } ?? "; no tokens file (local callers only)"); sessions time out after \(c.sessionTimeoutMs / 1000) s; repeats within \(c.retransmitWindowMs) ms count once",
            "  scores: " + Level.allCases.map { "\($0.rawValue)=\(c.scores.score($0))" }.joined(separator: " "),
        ]
        for b in c.buses { lines.append("  bus \(b.id): \(b.port) at \(b.baud) baud, \(b.proto)") }
        for w in c.windows {
            lines.append("  window \(w.id) \(w.name) (\(w.department)): " + (w.pad.map { "pad \($0.id), key map \($0.keymap.name)" } ?? "no pad"))
        }
        lines.append("  uplink: " + (c.uplink.map { "\($0.summary), batches of ≤\($0.batchMax), every \($0.flushIntervalMs) ms" } ?? "none (records kept locally)"))
        return lines.joined(separator: "\n")
    }

    /// The token `evaluatorctl` uses: `--token-file` (a file holding just the token), else
    /// `EVALUATORCTL_TOKEN`, else, when this user can read them (root can), the first `read` or
    /// `api` token of the config's tokens file — or for an admin verb the admin token file's
    /// token (issue 20). nil when the daemon has no tokens file.
    /// - Parameter admin: the verb changes stored records or the configuration (reload, resend,
    ///   salvage, pair): only an `admin` token will do.
    public static func token(file: String?, environment: [String: String], config: GatewayConfig, admin: Bool = false) throws -> String? {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigError(code: .unreadable, file: file, line: nil, key: "--token-file", message: "cannot read the token file")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let t = environment["EVALUATORCTL_TOKEN"], !t.isEmpty { return t }
        let tokens = config.apiAccess.tokens?.tokens ?? []
        if admin { return (config.apiAccess.adminToken ?? tokens.first { $0.scope == .admin })?.secret }
        return (tokens.first { $0.scope == .read || $0.scope == .api } ?? tokens.first { $0.scope == .admin })?.secret
    }

    /// GET a path of the daemon's local API and return the status and body.
    public static func apiGet(_ api: APIClient, path: String) async throws -> (Int, String) {
        try await api.send(.GET, path: path)
    }

    /// What a verb did: lines for a person, a JSON object for `--json`, and whether it succeeded.
    public struct Outcome: Sendable {
        public var lines: [String]
        public var ok: Bool
        public var fields: [String: JSONValue] = [:]

        /// `{"ok", "messages", …fields}`.
        public var json: String {
            var o = fields
            o["ok"] = .bool(ok)
            o["messages"] = .array(lines.map { .string($0) })
            return JSONValue.object(o).text
        }
    }

    /// Prints an outcome (lines, or its JSON) and exits 1 when it failed.
    public static func emit(_ o: Outcome, json: Bool) throws {
        if json { print(o.json) } else { for l in o.lines { print(l) } }
        if !o.ok { throw ExitCode(.failure) }
    }

    public struct CommandFailed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes the udev rules (0644, atomically), reloads udev and applies them to the input and
    /// hidraw nodes present.
    public static func installUdevRules(_ text: String, path: String = UdevRules.path) throws {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        } catch {
            throw CommandFailed(description: "cannot write \(path) (run as root): \(error.localizedDescription)")
        }
        for args in [["control", "--reload"], ["trigger", "--action=change", "--subsystem-match=input", "--subsystem-match=hidraw"]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/udevadm")
            p.arguments = args
            do { try p.run() } catch {
                throw CommandFailed(description: "wrote \(path) but cannot run udevadm \(args.joined(separator: " ")): \(error.localizedDescription)")
            }
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw CommandFailed(description: "wrote \(path) but udevadm \(args.joined(separator: " ")) exited \(p.terminationStatus)")
            }
        }
    }

}
