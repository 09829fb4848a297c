import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

/// evaluatorctl: the operator's tool. Subcommands nest under this root and share the
/// `--config` option group; the work lives in `Control`.
public struct EvaluatorCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "evaluatorctl",
        abstract: "Operate an evaluatord gateway.",
        discussion: ExitStatus.helpText,
        version: "evaluatorctl " + BuildInfo.description,
        subcommands: [CheckConfig.self, Status.self, Reload.self, UdevRulesCommand.self, Export.self, Devices.self, Records.self, Pending.self, Resend.self, Verify.self, Stats.self, Salvage.self, Backup.self, AdminTokenCommand.self, Pair.self, Purge.self, Simulate.self]
    )

    public init() {}
}

extension ExitStatus {
    /// The exit statuses, for `--help`.
    public static var helpText: String {
        "Exit statuses: " + allCases.map { "\($0.rawValue) \($0.meaning)" }.joined(separator: "; ") + "."
    }
}

extension ExitCode {
    public init(_ status: ExitStatus) { self.init(status.rawValue) }
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path of the daemon's TOML configuration.")
    var config: String = "/etc/evaluatord/evaluatord.toml"

    @Option(name: .long, help: "A file holding just the API token to use (else $EVALUATORCTL_TOKEN, else the first read or api token of the config's tokens file — for reload, resend, salvage and pair the admin token file — when it can be read).")
    var tokenFile: String?

    @Flag(name: .long, help: "Use the embedded demo configuration instead.")
    var demo = false

    /// The daemon's API with the token this operator can use.
    func api(_ config: GatewayConfig, admin: Bool = false) throws -> APIClient {
        APIClient(listen: config.api, token: try Control.token(file: tokenFile, environment: ProcessInfo.processInfo.environment, config: config, admin: admin))
    }

    func load() throws -> GatewayConfig {
        do {
            return try GatewayConfig.load(commandLine: config, demo: demo, workingDirectory: FileManager.default.currentDirectoryPath,
                                          files: .operatorView)
        } catch {
            printError("evaluatorctl: configuration error: \(error)")
            throw ExitCode(.config)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration without starting anything: every error, then warnings about risky but valid settings.",
        discussion: "Exit 0 when valid (warnings do not fail it), 78 when the file has errors."
    )
    @Argument(help: "Path of the TOML configuration.") var path: String
    @Flag(name: .long, help: "Print {\"ok\", \"errors\": [{\"file\", \"line\", \"key\", \"message\"}], \"warnings\": [...]}.") var json = false

    func run() throws {
        let result = Control.checkConfig(path: path)
        if json {
            print(result.json)
        } else {
            if let config = result.config { print(Control.summary(config)) }
            for e in result.errors { printError(e.line1) }
            if !result.errors.isEmpty { printError("\(result.errors.count) error\(result.errors.count == 1 ? "" : "s") in \(path)") }
            for w in result.warnings { print("warning: \(w)") }
        }
        if !result.errors.isEmpty { throw ExitCode(.config) }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's state on one screen: problems, pads, backlog, uplink, last reload.",
        discussion: "Like `systemctl status`: with the daemon down it says so, shows what the store holds, and exits 3. --json prints /v1/status (README \"Status\" has the schema)."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print the daemon's JSON (with the daemon down: {\"state\": \"stopped\", \"reason\"}).") var json = false

    func run() async throws {
        let config = try options.load()
        let now = Millis(date: Date())
        let color = !json && isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let code: Int, body: String
        do {
            (code, body) = try await Control.apiGet(try options.api(config), path: "/v1/status")
        } catch let e as APIClient.Unreachable {
            if json {
                let obj = ["state": "stopped", "reason": e.reason]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(await StatusScreen.renderDown(reason: "the API at \(config.api) does not answer: \(e.reason)", config: config, now: now, color: color))
            }
            throw ExitCode(.notRunning)
        }
        guard code == 200, let view = try? JSONDecoder().decode(StatusView.self, from: Data(body.utf8)) else {
            printError("evaluatorctl status: the daemon answered HTTP \(code): \(body)")
            throw ExitCode(.failure)
        }
        print(json ? body : StatusScreen.render(view, timeZone: config.signals.timeZone, now: now, color: color))
    }
}

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running daemon to re-read its configuration file and wait for the result.",
        discussion: "Windows, key maps, session settings, hours, tokens and the uplink are applied without dropping open evaluations; a pad or bus is reopened only if its own lines changed. A file with an error, or a change that needs a restart (state_dir, api.listen …), is refused and the daemon keeps running on its old configuration: exit 1. `systemctl reload evaluatord` runs this."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.reload(api: try options.api(config, admin: true)), json: json)
    }
}

struct UdevRulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udev-rules",
        abstract: "Print (or install) udev rules giving the service user the USB pad nodes the config names, and nothing else.",
        discussion: "With --install (as root): writes \(UdevRules.path), reloads udev and re-applies the rules to the nodes present. Run it again after changing the pads."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Write the rules file and apply it (root).") var install = false
    @Option(name: .long, help: "The service user the nodes are given to.") var user = "evaluatord"
    @Flag(name: .long, help: "Print {\"path\", \"rules\", \"installed\"}.") var json = false

    func run() throws {
        let text = UdevRules.render(config: try options.load(), user: user)
        var outcome = Control.Outcome(lines: [], ok: true, fields: ["path": .string(UdevRules.path), "rules": .string(text), "installed": .bool(install)])
        if install {
            do {
                try Control.installUdevRules(text)
                outcome.lines = ["wrote \(UdevRules.path); udev reloaded and the rules applied to the pads present"]
            } catch {
                outcome = Control.Outcome(lines: ["\(error)"], ok: false, fields: ["path": .string(UdevRules.path), "installed": .bool(false)])
            }
        } else if !json {
            print(text, terminator: "")
            return
        }
        try Control.emit(outcome, json: json)
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List pads (window, state, path, last press, presses today, errors) and unconfigured keypads with the config line that binds them.")
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print the daemon's JSON instead of a table.") var json = false

    func run() async throws {
        let config = try options.load()
        let (code, body) = try await Control.apiGet(try options.api(config), path: "/v1/devices")
        guard code == 200 else {
            print(body)
            throw ExitCode(.failure)
        }
        print(json ? body : try Control.devicesTable(json: body))
    }
}

struct Records: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show recent records from the store (no rater data).")
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "How many records.") var limit = 20
    @Flag(name: .long, help: "Print the stored record objects as a JSON array, oldest first.") var json = false

    func run() throws {
        let config = try options.load()
        print(json ? try Control.recordsJSON(config: config, limit: limit) : try Control.recordsTable(config: config, limit: limit))
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the records of a period as CSV or JSON lines (no rater data; a column says whether the centre has them).",
        discussion: "DATE is YYYY-MM-DD (a day in gateway.time_zone; --until includes it) or RFC 3339 on the hour; default today. Works while the daemon runs. Progress on a terminal, none in a pipe."
    )
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "From DATE (default: the start of today).") var since: String?
    @Option(name: .long, help: "Until DATE (default: the end of today).") var until: String?
    @Option(name: .long, help: "csv or jsonl.") var format = "csv"
    @Option(name: .long, help: "Write to this new file instead of standard output.") var output: String?
    @Flag(name: .long, help: "Print a JSON summary {\"records\", \"since\", \"until\", \"format\", \"output\"} on standard error (with --output: on standard output).") var json = false

    func run() throws {
        let config = try options.load()
        guard let fmt = RecordExport.Format(rawValue: format) else {
            printError("evaluatorctl export: --format \"\(format)\" is not one of csv, jsonl")
            throw ExitCode(.usage)
        }
        let query: StatsQuery
        do {
            query = try StatsQuery.parse(since: since, until: until, by: nil, now: Millis(date: Date()), timeZone: config.signals.timeZone)
        } catch {
            printError("evaluatorctl export: \(error.message)")
            throw ExitCode(.usage)
        }
        do {
            let outcome = try Control.export(config: config, since: query.since, until: query.until, format: fmt, output: output,
                                             progress: isatty(2) == 1 && !json)
            if json || output != nil {
                let text = json ? outcome.json : outcome.lines.joined(separator: "\n")
                if output != nil { print(text) } else { printError(text) }
            }
        } catch {
            printError("evaluatorctl export: \(error)")
            throw ExitCode(.failure)
        }
    }
}

struct Pending: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List records not yet accepted by the central store (or only the quarantined ones).")
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Only records the central store refused (poison records), with its answer.") var quarantined = false
    @Option(name: .long, help: "How many records.") var limit = 50
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() throws {
        let config = try options.load()
        print(json ? try Control.pendingJSON(config: config, quarantined: quarantined, limit: limit)
                   : try Control.pendingTable(config: config, quarantined: quarantined, limit: limit))
    }
}

struct Resend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Put quarantined records back in the queue (after the central store was fixed).")
    @OptionGroup var options: ConfigOption
    @Argument(help: "record_id values to re-send; none: every quarantined record.") var recordIDs: [String] = []
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.resend(config: config, api: try options.api(config, admin: true), recordIDs: recordIDs.isEmpty ? nil : recordIDs), json: json)
    }
}

struct Pair: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pair a window's screen pad (issue 20): a one-time 8-digit code, valid 10 minutes, and the address with a QR code for the tablet.",
        discussion: "Admin only (run as root: the admin token file). The tablet opens the address (or scans the QR code); its page trades the code for the pad's own secret and keeps it. Pairing again revokes the previous tablet's secret and disconnects it. The daemon must be running."
    )
    @OptionGroup var options: ConfigOption
    @Argument(help: "The window whose screen pad to pair.") var window: String
    @Option(name: .long, help: "HOST[:PORT] the tablet reaches the API at (default: the address evaluatorctl reached it at).") var address: String?
    @Flag(name: .long, help: "Print JSON: {window_id, code, expires_at, url}.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.pair(api: try options.api(config, admin: true), window: window, address: address, qr: !json), json: json)
    }
}

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete this gateway's store and pairings (decommissioning, a fresh start) — never ratings the centre does not have, unless told how many.",
        discussion: "Refused while evaluatord runs. With ratings not yet accepted by the centre (waiting or quarantined) it refuses and names their count; --force COUNT with exactly that count deletes them anyway. Make a backup first (evaluatorctl backup)."
    )
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "The number of unsent ratings you accept to lose (as purge named it).") var force: Int?
    @Flag(name: .long, help: "Delete nothing: exit 0 when nothing is unsent, 1 when something is (the package's removal asks this).") var check = false
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.purge(config: config, force: force, checkOnly: check), json: json)
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk the store's tamper-evident chain (R8): every record's hash, seq and prev_hash.",
        discussion: "Exit 0: chain ok; 1: chain broken (the first break is named); 2: the store cannot be read. Works while the daemon runs."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print JSON: {\"ok\", \"records\", \"first_seq\", \"last_seq\", \"head\"} or {\"ok\": false, \"seq\", \"what\"}.") var json = false

    func run() throws {
        let config = try options.load()
        let result = Control.verify(config: config, progress: isatty(2) == 1 && !json)
        print(json ? result.json : result.line)
        if result.status != .success { throw ExitCode(result.status) }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Participation and results statistics (R14, R15) from the store: opened, rated, participation, levels, bad share, mean score, flags.",
        discussion: "DATE is YYYY-MM-DD (a day in gateway.time_zone; --until includes it) or an RFC 3339 time on the hour. Default: today. Works while the daemon runs."
    )
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "From DATE (default: the start of today).") var since: String?
    @Option(name: .long, help: "Until DATE (default: the end of today).") var until: String?
    @Option(name: .long, help: "Group by window, staff, department or day.") var by = "window"
    @Flag(name: .long, help: "Print JSON: {since, until, by, total, groups}.") var json = false

    func run() throws {
        let config = try options.load()
        let query: StatsQuery
        do {
            query = try StatsQuery.parse(since: since, until: until, by: by, now: Millis(date: Date()), timeZone: config.signals.timeZone)
        } catch {
            printError("evaluatorctl stats: \(error.message)")
            throw ExitCode(.usage)
        }
        let report = try Store(readOnlyPath: config.databasePath, timeZone: config.signals.timeZone).stats(query)
        print(json ? report.json : Control.statsTable(report))
    }
}

struct Salvage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-import the readable unsent records of a damaged store evaluatord moved aside (same record ids), and its rated cases (R3).",
        discussion: "Through the daemon's API while it runs, directly otherwise. Salvaging twice imports once."
    )
    @OptionGroup var options: ConfigOption
    @Argument(help: "The damaged file (evaluatord.sqlite.damaged-…).") var file: String
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        do {
            try Control.emit(try await Control.salvage(config: config, file: file, api: try options.api(config, admin: true), progress: isatty(2) == 1 && !json), json: json)
        } catch let e as StoreError {
            printError("evaluatorctl salvage: \(e)")
            throw ExitCode(.failure)
        }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write an online, consistent copy of the store (works while the daemon runs).")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The new file to write (never overwritten).") var destination: String
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() throws {
        let config = try options.load()
        do {
            try Control.emit(try Control.backup(config: config, destination: destination, progress: isatty(2) == 1 && !json), json: json)
        } catch let e as ExitCode {
            throw e
        } catch {
            printError("evaluatorctl backup: \(error)")
            throw ExitCode(.failure)
        }
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Simulate a \"68\" pad on a pty: answer start-rating prompts with a key press.")
    @Option(name: .long, help: "Symlink to create for the pty (the bus port in the config).") var link: String
    @Option(name: .long, help: "Pad address on the bus.") var address: UInt8 = 3
    @Option(name: .long, help: "Key to press (framed68-4key: 0 不满意, 1 基本满意, 2 满意, 3 非常满意).") var key: UInt8 = 3
    @Option(name: .long, help: "Delay between prompt and press, ms.") var delayMs = 500
    @Option(name: .long, help: "Exit after this many prompts (0 = run until stopped).") var answers = 0

    @Flag(name: .long, help: "Print each event as a JSON line {\"message\"}.") var json = false

    func run() async throws {
        try await Control.simulate(link: link, address: address, key: key, delayMs: delayMs, answers: answers) { [json] line in
            let text = json ? JSONValue.object(["message": .string(line)]).text : line
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }
}

public func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
