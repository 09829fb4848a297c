import ArgumentParser
import AsyncHTTPClient
import EvaluatorCore
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
                    var o: [String: Any] = ["file": e.file, "key": e.key, "message": e.message, "code": e.code.rawValue]
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
            let c = try GatewayConfig.load(path: path)
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

    /// `evaluatorctl export`: records recorded in [since, until) as CSV or JSON lines, to
    /// `output` (a new file) or standard output, read slice by slice (the daemon keeps writing).
    public static func export(config: GatewayConfig, since: Millis, until: Millis, format: RecordExport.Format, output: String?,
                              progress: Bool) throws -> Outcome {
        let store = try Store(readOnlyPath: config.databasePath, timeZone: config.signals.timeZone)
        let handle: FileHandle
        if let output {
            // Exclusively, 0600, never through a symlink (issue 20).
            let fd = open(output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw CommandFailed(description: errno == EEXIST ? "\(output) already exists (or is a symlink); give a new file name"
                                                                 : "cannot create \(output): \(String(cString: strerror(errno)))")
            }
            handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        } else {
            handle = FileHandle.standardOutput
        }
        defer { if output != nil { try? handle.close() } }
        if format == .csv { handle.write(Data((RecordExport.csvHeader + "\n").utf8)) }
        let total = try store.chainHead().seq
        var after: Int64 = 0, written = 0
        while true {
            let (slice, last) = try store.exportSlice(afterSeq: after, limit: 5000, since: since, until: until)
            var chunk = ""
            for r in slice {
                guard case let .object(o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(r.body.utf8)) else { continue }
                chunk += (format == .csv ? RecordExport.csvRow(o, sent: r.sentAt != nil) : RecordExport.jsonLine(o, sent: r.sentAt != nil)) + "\n"
            }
            handle.write(Data(chunk.utf8))
            written += slice.count
            guard let last else { break }
            after = last
            if progress { printErrorInline("exporting: seq \(after) of \(total), \(written) records written") }
        }
        if progress { printErrorInline("") }
        return Outcome(lines: ["exported \(written) record(s) recorded from \(since.rfc3339) until \(until.rfc3339)" + (output.map { " to \($0)" } ?? "")],
                       ok: true, fields: ["records": .int(written), "since": .string(since.rfc3339), "until": .string(until.rfc3339),
                                          "format": .string(format.rawValue), "output": output.map { .string($0) } ?? .null])
    }

    /// `records --json`: the stored record objects, oldest first (what the centre receives; no rater data).
    public static func recordsJSON(config: GatewayConfig, limit: Int) throws -> String {
        let rows = try Store(readOnlyPath: config.databasePath).recentRecords(limit: limit)
        return "[" + rows.reversed().map(\.body).joined(separator: ",") + "]"
    }

    /// `pending --json`.
    public static func pendingJSON(config: GatewayConfig, quarantined: Bool, limit: Int) throws -> String {
        let rows = try Store(readOnlyPath: config.databasePath).pending(quarantined: quarantined, limit: limit)
        return JSONValue.array(rows.map { r in
            var o: [String: JSONValue] = ["record_id": .string(r.recordID), "recorded_at": .string(r.recordedAt.rfc3339), "outcome": .string(r.outcome),
                                          "bad": .bool(r.bad), "window_id": r.windowID.map { .string($0) } ?? .null, "case_id": r.caseID.map { .string($0) } ?? .null,
                                          "batch_id": r.batchID.map { .string($0) } ?? .null]
            if quarantined { o["quarantine_reason"] = r.quarantineReason.map { .string($0) } ?? .null }
            return .object(o)
        }).text
    }

    /// Unsent (or quarantined) records as a table.
    public static func pendingTable(config: GatewayConfig, quarantined: Bool, limit: Int) throws -> String {
        let store = try Store(readOnlyPath: config.databasePath)
        let rows = try store.pending(quarantined: quarantined, limit: limit)
        var out = ["recorded_at               outcome    bad  window  case                 record_id                             " + (quarantined ? "refused with" : "batch")]
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        for r in rows {
            out.append(pad(r.recordedAt.rfc3339, 26) + pad(r.outcome, 11) + pad(r.bad ? "yes" : "no", 5) + pad(r.windowID ?? "-", 8)
                       + pad(r.caseID ?? "-", 21) + pad(r.recordID, 38) + (quarantined ? (r.quarantineReason ?? "") : (r.batchID ?? "-")))
        }
        out.append("\(rows.count) shown; \(try store.backlogCount()) waiting, \(try store.quarantinedCount()) quarantined")
        return out.joined(separator: "\n")
    }

    /// Re-queues quarantined records. While the daemon runs this goes through its API (the CLI
    /// never writes the store under a running daemon), and the daemon sends them at once; with
    /// the daemon stopped, the store is written directly. Returns the lines to print and
    /// whether every named record could be re-sent.
    public static func resend(config: GatewayConfig, api: APIClient, recordIDs: [String]?) async throws -> Outcome {
        let result: ResendResult
        var how = "the daemon sends them now"
        do {
            let body = try JSONSerialization.data(withJSONObject: recordIDs.map { ["record_ids": $0] } ?? [:])
            let (code, text) = try await api.send(.POST, path: "/v1/records/resend", body: body)
            guard code == 200 else { return Outcome(lines: ["resend refused by the daemon (HTTP \(code)): \(text)"], ok: false) }
            struct View: Decodable { var record_ids: [String]; var not_resendable: [String] }
            let v = try JSONDecoder().decode(View.self, from: Data(text.utf8))
            result = ResendResult(requeued: v.record_ids, notResendable: v.not_resendable)
        } catch let e as APIClient.Unreachable {
            if let pid = StateLock.holder(stateDir: config.stateDir) {
                return Outcome(lines: ["evaluatord (PID \(pid)) holds the state folder but its API does not answer (\(e.reason)); nothing changed"], ok: false)
            }
            let store = try Store(path: config.databasePath)
            result = try await store.resend(recordIDs: recordIDs)
            store.keepOwnership()
            how = "evaluatord is not running; they go when it starts"
        }
        var lines = result.notResendable.map { "cannot resend \($0): no quarantined record has this id (unknown, already accepted, or still waiting)" }
        lines.append("\(result.requeued.count) record(s) queued again; \(how)")
        return Outcome(lines: lines, ok: result.notResendable.isEmpty, fields: [
            "requeued": .array(result.requeued.map { .string($0) }), "not_resendable": .array(result.notResendable.map { .string($0) }),
            "via": .string(how.hasPrefix("the daemon") ? "daemon" : "store"),
        ])
    }

    /// `purge [--force N]` (issue 20): removes the store (with its -wal/-shm) and the pads'
    /// pairings. Refused while the daemon runs, and while records the centre has not accepted
    /// exist unless `force` is exactly their count: nothing is lost by accident.
    public static func purge(config: GatewayConfig, force: Int?, checkOnly: Bool = false) async throws -> Outcome {
        if let pid = StateLock.holder(stateDir: config.stateDir), !checkOnly {
            return Outcome(lines: ["evaluatord (PID \(pid)) is running: stop it first (systemctl stop evaluatord); nothing was deleted"], ok: false)
        }
        var unsent = 0
        var st = stat()
        // An empty file is no store yet; one that cannot be read is an error (nothing deleted).
        if stat(config.databasePath, &st) == 0, st.st_size > 0 {
            let counts = try await Store(readOnlyPath: config.databasePath).counts()
            unsent = counts.backlog + counts.quarantined
        }
        if checkOnly {
            return Outcome(lines: ["\(unsent) rating record(s) have not reached the centre"], ok: unsent == 0, fields: ["unsent": .int(unsent)])
        }
        if unsent > 0 && force != unsent {
            let why = force.map { "--force \($0) does not match: " } ?? ""
            return Outcome(lines: ["\(why)\(unsent) rating record(s) have not reached the centre (waiting or quarantined); nothing was deleted. "
                                   + "Let them upload, or back them up (evaluatorctl backup FILE) and run evaluatorctl purge --force \(unsent)"],
                           ok: false, fields: ["unsent": .int(unsent), "deleted": .array([])])
        }
        var deleted: [String] = []
        for name in ["evaluatord.sqlite", "evaluatord.sqlite-wal", "evaluatord.sqlite-shm", "pads.paired"] {
            let path = (config.stateDir as NSString).appendingPathComponent(name)
            if unlink(path) == 0 { deleted.append(path) }
        }
        return Outcome(lines: ["deleted \(deleted.isEmpty ? "nothing (no store)" : deleted.joined(separator: ", "))" + (unsent > 0 ? "; \(unsent) unsent record(s) with it, as --force said" : "")],
                       ok: true, fields: ["unsent": .int(unsent), "deleted": .array(deleted.map { .string($0) })])
    }

    /// `pair WINDOW`: asks the daemon for a one-time pairing code (admin, issue 20).
    public static func pair(api: APIClient, window: String, address: String?, qr: Bool) async throws -> Outcome {
        let body = try JSONSerialization.data(withJSONObject: address.map { ["address": $0] } ?? [:])
        let path = "/v1/pads/\(window.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? window)/pair"
        let (code, text): (Int, String)
        do {
            (code, text) = try await api.send(.POST, path: path, body: body)
        } catch let e as APIClient.Unreachable {
            return Outcome(lines: ["pairing needs the running daemon: its API does not answer (\(e.reason))"], ok: false)
        }
        guard code == 201 else { return Outcome(lines: ["pairing refused by the daemon (HTTP \(code)): \(text)"], ok: false) }
        struct View: Decodable { var window_id: String; var code: String; var expires_at: String; var url: String }
        let v = try JSONDecoder().decode(View.self, from: Data(text.utf8))
        var lines = ["pairing code for the screen pad of window \(v.window_id): \(v.code) (single use, valid until \(v.expires_at))",
                     "open on the tablet: \(v.url)"]
        if qr, let art = TerminalQR.text(v.url) { lines.append(art) }
        lines.append("pairing again revokes this code's tablet; a code not used in 10 minutes is void")
        return Outcome(lines: lines, ok: true, fields: [
            "window_id": .string(v.window_id), "code": .string(v.code), "expires_at": .string(v.expires_at), "url": .string(v.url),
        ])
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

    /// `evaluatorctl reload`: asks the daemon, waits for its answer. Lines to print and whether it
    /// was applied (or found nothing to change).
    public static func reload(api: APIClient) async throws -> Outcome {
        let code: Int, text: String
        do {
            (code, text) = try await api.send(.POST, path: "/v1/reload", body: Data("{}".utf8))
        } catch let e as APIClient.Unreachable {
            return Outcome(lines: ["evaluatord does not answer (\(e.reason)): nothing was reloaded"], ok: false, fields: ["result": .string("unreachable")])
        }
        struct Applied: Decodable { var result: String; var changes: [String] }
        struct Refused: Decodable { struct E: Decodable { var code: String; var message: String }; var error: E }
        if code == 200, let v = try? JSONDecoder().decode(Applied.self, from: Data(text.utf8)) {
            let fields: [String: JSONValue] = ["result": .string(v.result), "changes": .array(v.changes.map { .string($0) })]
            if v.result == "unchanged" { return Outcome(lines: ["reloaded: nothing changed"], ok: true, fields: fields) }
            return Outcome(lines: ["reloaded:"] + v.changes.map { "  \($0)" }, ok: true, fields: fields)
        }
        if let v = try? JSONDecoder().decode(Refused.self, from: Data(text.utf8)) {
            return Outcome(lines: ["reload refused; the daemon keeps its running configuration: \(v.error.message)"], ok: false,
                           fields: ["result": .string("refused"), "reason": .string(v.error.message)])
        }
        return Outcome(lines: ["reload failed (HTTP \(code)): \(text)"], ok: false, fields: ["result": .string("failed")])
    }

    /// `/v1/devices` as an operator reads it.
    public static func devicesTable(json: String) throws -> String {
        struct Pad: Decodable {
            var pad: String
            var window_id: String?
            var path: String
            var state: String
            var last_press_at: String?
            var presses_today: Int
            var errors: Int
        }
        struct Free: Decodable {
            var path: String
            var model: String?
            var config_line: String?
        }
        struct View: Decodable {
            var pads: [Pad]
            var unconfigured: [Free]
            var hotplug: String
        }
        let v = try JSONDecoder().decode(View.self, from: Data(json.utf8))
        var out = ["window  pad           state     today  errors  last press                path"]
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        for p in v.pads {
            out.append(pad(p.window_id ?? "-", 8) + pad(p.pad, 14) + pad(p.state, 10) + pad("\(p.presses_today)", 7) + pad("\(p.errors)", 8)
                       + pad(p.last_press_at ?? "-", 26) + p.path)
        }
        out.append("hotplug: \(v.hotplug)")
        if !v.unconfigured.isEmpty {
            out.append("")
            out.append("unconfigured keypads (add the line to a [[window]] to bind one):")
            for f in v.unconfigured {
                out.append("  \(f.path) \(f.model ?? "")")
                out.append("    \(f.config_line ?? "(no ID_PATH: bind it with evdev = \"\(f.path)\")")")
            }
        }
        return out.joined(separator: "\n")
    }

    /// Recent records as a table. Shows identities of window and case, never rater data (R10).
    public static func recordsTable(config: GatewayConfig, limit: Int) throws -> String {
        let store = try Store(readOnlyPath: config.databasePath)
        let rows = try store.recentRecords(limit: limit)
        var out = ["recorded_at               outcome    level              window  case                 sent  record_id"]
        for r in rows.reversed() {
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
            out.append([
                pad(r.recordedAt.rfc3339, 25), pad(r.outcome, 10), pad(r.level ?? "-", 18), pad(r.windowID ?? "-", 7),
                pad(r.caseID ?? "-", 20), pad(r.sentAt == nil ? "no" : "yes", 5), r.recordID,
            ].joined(separator: " "))
        }
        out.append("\(rows.count) shown; \(try store.backlogCount()) not yet sent of \(try store.recordCount()) stored")
        return out.joined(separator: "\n")
    }

    /// Runs a simulated pad: links `link` to the pty, answers each start-rating prompt with a
    /// press of `key` after `delayMs`, and prints what crosses the line. Returns after
    /// `answers` prompts (0 = forever).
    public static func simulate(link: String, address: UInt8, key: UInt8, delayMs: Int, answers: Int,
                                print out: @Sendable (String) -> Void) async throws {
        let pad = try SimulatedPad()
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent.isEmpty ? "." : (link as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pad.slavePath)
        defer { try? FileManager.default.removeItem(atPath: link) }
        out("simulated pad at address \(address): \(link) -> \(pad.slavePath); waiting for a start-rating prompt")
        var answered = 0
        while answers == 0 || answered < answers {
            guard let frame = await pad.nextFrame(timeoutMs: 1000) else {
                if Task.isCancelled { return }
                continue
            }
            guard frame.address == address else { continue }
            if frame.function == Framed68Frame.Function.ackOrStart && frame.data == [Framed68Frame.startRatingKey] {
                out("pad ← start rating   [\(frame)]")
                try await Task.sleep(for: .milliseconds(delayMs))
                let press = Framed68Frame.press(address: address, key: key)
                out("pad → press key \(key)  [\(press)]")
                pad.press(address: address, key: key)
                // Wait for the ack; press again (a retransmit) if it does not come.
                var acked = false
                for _ in 0..<5 where !acked {
                    if let ack = await pad.nextFrame(timeoutMs: 1000), ack == .ack(address: address, key: key) {
                        out("pad ← ack key \(key)    [\(ack)]")
                        acked = true
                    } else {
                        out("pad → no ack yet; sending the press again")
                        pad.press(address: address, key: key)
                    }
                }
                answered += 1
            }
        }
    }
}

extension Control {
    /// What `evaluatorctl verify` prints and exits with.
    public struct VerifyResult: Sendable {
        public var status: ExitStatus
        public var line: String
        public var json: String
    }

    /// Walks the local chain (a read-only snapshot: works while the daemon runs). With
    /// `progress`, a counter on standard error for a long walk.
    public static func verify(config: GatewayConfig, progress: Bool) -> VerifyResult {
        let verdict: ChainVerdict
        do {
            let store = try Store(readOnlyPath: config.databasePath)
            verdict = try store.verifyChain { done, total in
                if progress { printErrorInline("verifying: \(done)/\(total) records") }
            }
            if progress { printErrorInline("") }
        } catch {
            let message = "cannot read the store: \(error)"
            return VerifyResult(status: .storeUnreadable, line: message, json: JSONValue.object(["ok": .bool(false), "error": .string(message)]).text)
        }
        switch verdict {
        case let .ok(records, first, last, head):
            let range = records == 0 ? "empty" : "seq \(first)…\(last)"
            return VerifyResult(status: .success, line: "chain ok: \(records) records, \(range), head \(head)",
                                json: JSONValue.object(["ok": .bool(true), "records": .int(Int(records)), "first_seq": .int(Int(first)),
                                                        "last_seq": .int(Int(last)), "head": .string(head)]).text)
        case let .broken(seq, what):
            return VerifyResult(status: .failure, line: "chain broken at seq \(seq): \(what)",
                                json: JSONValue.object(["ok": .bool(false), "seq": .int(Int(seq)), "what": .string(what)]).text)
        }
    }
}

/// Rewrites the current line of standard error (progress on a terminal); "" clears it.
func printErrorInline(_ s: String) {
    FileHandle.standardError.write(Data(("\r\u{1B}[K" + s).utf8))
}

extension Control {
    /// A stats report as an aligned table: one line per group, then the total.
    public static func statsTable(_ r: StatsReport) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
        func num(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
        let header = [r.by.rawValue, "opened", "rated", "unrated", "superseded", "cancelled", "no_case", "particip.", "bad", "bad share", "mean",
                      "instant", "burst", "off_hours", "large_batch"]
        func row(_ g: StatsGroup, _ name: String) -> [String] {
            let f = g.flags
            return [name, "\(g.opened)", "\(g.rated)", "\(g.counts["unrated"] ?? 0)", "\(g.counts["superseded"] ?? 0)", "\(g.counts["cancelled"] ?? 0)",
                    "\(g.counts["no_case"] ?? 0)", pct(g.participation), "\(g.counts["bad"] ?? 0)", pct(g.badShare), num(g.meanScore),
                    "\(f["instant"] ?? 0)", "\(f["burst"] ?? 0)", "\(f["off_hours"] ?? 0)", "\(f["large_batch"] ?? 0)"]
        }
        var rows = [header] + r.groups.map { row($0, $0.key ?? "(none)") }
        rows.append(row(r.total, "total"))
        var widths = header.map(displayWidth)
        for cells in rows { for (i, c) in cells.enumerated() { widths[i] = max(widths[i], displayWidth(c)) } }
        var out = ["statistics \(r.since.rfc3339) … \(r.until.rfc3339) by \(r.by.rawValue)"]
        for (n, cells) in rows.enumerated() {
            if n == rows.count - 1 { out.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
            out.append(cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - displayWidth(c))
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  "))
        }
        return out.joined(separator: "\n")
    }
}

/// Columns a text takes on a terminal: CJK and full-width characters take two (a department
/// name such as 自然资源局 is ten columns wide, not five).
func displayWidth(_ s: String) -> Int {
    s.unicodeScalars.reduce(0) { w, u in
        let v = u.value
        let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x20000...0x3FFFD).contains(v)
        return w + (wide ? 2 : 1)
    }
}

extension Control {
    /// `evaluatorctl salvage FILE`: every readable record of a damaged store (moved aside by the
    /// daemon) — the unsent ones imported into the live store with their record ids, the cases
    /// of every readable rating restored to the one-rating-per-case table (R3). Through the
    /// daemon's API while it runs (the CLI never writes a store a daemon holds), directly
    /// otherwise. Returns the lines to print and whether everything went in.
    public static func salvage(config: GatewayConfig, file: String, api: APIClient, progress: Bool) async throws -> Outcome {
        let live = URL(fileURLWithPath: config.databasePath).standardizedFileURL.resolvingSymlinksInPath().path
        guard URL(fileURLWithPath: file).standardizedFileURL.resolvingSymlinksInPath().path != live else {
            return Outcome(lines: ["\(file) is the live store; name the damaged file evaluatord moved aside (\(config.databasePath).damaged-…)"], ok: false)
        }
        let reader = try SalvageReader(path: file)
        let running = StateLock.holder(stateDir: config.stateDir) != nil
        let direct: Store? = running ? nil : try Store(path: config.databasePath)
        var total = ImportResult(imported: 0, alreadyPresent: 0, ratedCases: 0)
        // Requests stay under the daemon's body limit.
        let budget = max(4096, config.apiMaxBodyBytes - 1024)

        let scores = config.scores
        func send(_ records: [String], _ known: [String], _ cases: [(caseID: String, recordID: String)]) async throws {
            guard !records.isEmpty || !cases.isEmpty else { return }
            if let direct {
                // A Result rather than `catch where error.code == .refused`: that form crashes
                // the 6.x compiler in this nested async function (an ownership verifier error).
                let answer: Result<(imported: Int, present: Int, ratedCases: Int), StoreError>
                do {
                    answer = .success(try await direct.importSalvaged(records: records, known: known, ratedCases: cases, check: { scores.salvageProblem($0) }))
                } catch {
                    answer = .failure(error)
                }
                if case let .failure(e) = answer, e.code == .refused { throw SalvageRefused(message: "the store refused the import: \(e.message)") }
                let r = try answer.get()
                total.imported += r.imported; total.alreadyPresent += r.present; total.ratedCases += r.ratedCases
                return
            }
            let body = "{\"rated_cases\":[" + cases.map { "{\"case_id\":\(JSONText.quote($0.caseID)),\"record_id\":\(JSONText.quote($0.recordID))}" }.joined(separator: ",")
                + "],\"records\":[" + records.joined(separator: ",") + "],\"known\":[" + known.joined(separator: ",") + "]}"
            let (code, text) = try await api.send(.POST, path: "/v1/records/import", body: Data(body.utf8))
            guard code == 200 else { throw SalvageRefused(message: "the daemon refused the import (HTTP \(code)): \(text)") }
            struct View: Decodable { var imported: Int; var already_present: Int; var rated_cases: Int }
            let v = try JSONDecoder().decode(View.self, from: Data(text.utf8))
            total.imported += v.imported; total.alreadyPresent += v.already_present; total.ratedCases += v.rated_cases
        }

        // Every readable rating goes with the request that restores its cases: unsent ones to be
        // imported, sent ones as `known` (verified, never imported) — a rated case must name a
        // record of its request (issue 20).
        var records: [String] = [], known: [String] = [], cases: [(caseID: String, recordID: String)] = [], size = 64
        do {
            while let window = reader.nextWindow() {
                for (body, sent) in window {
                    let covered = Store.ratedCases(of: body)
                    guard !sent || !covered.isEmpty else { continue }
                    let adds = body.utf8.count + 1 + covered.reduce(0) { $0 + $1.caseID.utf8.count + $1.recordID.utf8.count + 32 }
                    if size + adds > budget {
                        try await send(records, known, cases)
                        records = []; known = []; cases = []; size = 64
                    }
                    if sent { known.append(body) } else { records.append(body) }
                    cases += covered
                    size += adds
                }
                if progress { printErrorInline("salvaging: seq \(reader.next - 1) of \(reader.last)") }
            }
            try await send(records, known, cases)
        } catch let e as SalvageRefused {
            return Outcome(lines: [e.message, "\(total.imported) record(s) were imported before that"], ok: false, fields: ["imported": .int(total.imported)])
        }
        if progress { printErrorInline("") }
        direct?.keepOwnership()
        let r = reader.result
        var lines = ["read \(r.readable) record(s) from \(file)" + (r.unreadable.isEmpty ? "" :
            "; unreadable (damaged pages): seq " + r.unreadable.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)…\($0.upperBound)" }.joined(separator: ", "))]
        lines.append("imported \(total.imported) unsent record(s) with their record ids (\(total.alreadyPresent) were already here); restored \(total.ratedCases) rated case(s); "
                     + (running ? "through evaluatord's API: they are sent now" : "evaluatord is not running: they are sent when it starts"))
        return Outcome(lines: lines, ok: true, fields: [
            "readable": .int(r.readable), "unreadable_seq": .array(r.unreadable.map { .array([.int(Int($0.lowerBound)), .int(Int($0.upperBound))]) }),
            "imported": .int(total.imported), "already_present": .int(total.alreadyPresent), "rated_cases": .int(total.ratedCases),
            "via": .string(running ? "daemon" : "store"),
        ])
    }

    struct SalvageRefused: Error { var message: String }

    /// `evaluatorctl backup DEST`: an online, consistent copy (SQLite's backup API on a read
    /// snapshot; the daemon goes on writing). DEST must not exist.
    public static func backup(config: GatewayConfig, destination: String, progress: Bool) throws -> Outcome {
        let store = try Store(readOnlyPath: config.databasePath)
        try store.backup(to: destination) { done, total in
            if progress { printErrorInline("backup: \(done)/\(total) pages") }
        }
        if progress { printErrorInline("") }
        let copy = try Store(readOnlyPath: destination)
        let head = try copy.chainHead()
        let records = try copy.recordCount()
        return Outcome(lines: ["backup written: \(destination) (\(records) records, chain \(head.chainID) head seq \(head.seq))"], ok: true, fields: [
            "destination": .string(destination), "records": .int(records), "chain_id": .string(head.chainID), "head_seq": .int(Int(head.seq)),
        ])
    }
}
