import ArgumentParser
import AsyncHTTPClient
import EvaluatorCore
import EvaluatorWire
import EvaluatorProtocol
import EvaluatorStore
import Foundation
import NIOCore

/// The admin verbs that change the gateway: `purge`, `pair`, `reload` (issue 20).
extension Control {
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
        let v = try JSONDecoder().decode(PairingCodeView.self, from: Data(text.utf8))
        var lines = ["pairing code for the screen pad of window \(v.window_id): \(v.code) (single use, valid until \(v.expires_at))",
                     "open on the tablet: \(v.url)"]
        if qr, let art = TerminalQR.text(v.url) { lines.append(art) }
        lines.append("pairing again revokes this code's tablet; a code not used in 10 minutes is void")
        return Outcome(lines: lines, ok: true, fields: [
            "window_id": .string(v.window_id), "code": .string(v.code), "expires_at": .string(v.expires_at), "url": .string(v.url),
        ])
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
        if code == 200, let v = try? JSONDecoder().decode(ReloadView.self, from: Data(text.utf8)) {
            let fields: [String: JSONValue] = ["result": .string(v.result), "changes": .array(v.changes.map { .string($0) })]
            if v.result == "unchanged" { return Outcome(lines: ["reloaded: nothing changed"], ok: true, fields: fields) }
            return Outcome(lines: ["reloaded:"] + v.changes.map { "  \($0)" }, ok: true, fields: fields)
        }
        if let v = try? JSONDecoder().decode(ErrorView.self, from: Data(text.utf8)) {
            return Outcome(lines: ["reload refused; the daemon keeps its running configuration: \(v.error.message)"], ok: false,
                           fields: ["result": .string("refused"), "reason": .string(v.error.message)])
        }
        return Outcome(lines: ["reload failed (HTTP \(code)): \(text)"], ok: false, fields: ["result": .string("failed")])
    }
}
