import ArgumentParser
import AsyncHTTPClient
import EvaluatorCore
import EvaluatorWire
import EvaluatorProtocol
import EvaluatorStore
import Foundation
import NIOCore

/// `export`, `records`, `pending`, `resend`: the store's records as an operator reads them.
extension Control {
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
        var table = TextTable(["recorded_at", "outcome", "bad", "window", "case", "record_id", quarantined ? "refused with" : "batch"])
        for r in rows {
            table.add([r.recordedAt.rfc3339, r.outcome, r.bad ? "yes" : "no", r.windowID ?? "-", r.caseID ?? "-", r.recordID,
                       quarantined ? (r.quarantineReason ?? "") : (r.batchID ?? "-")])
        }
        var out = table.lines
        out.append("\(rows.count) shown; \(try store.backlogCount()) waiting, \(try store.quarantinedCount()) quarantined")
        return out.joined(separator: "\n")
    }

    /// Recent records as a table. Shows identities of window and case, never rater data (R10).
    public static func recordsTable(config: GatewayConfig, limit: Int) throws -> String {
        let store = try Store(readOnlyPath: config.databasePath)
        let rows = try store.recentRecords(limit: limit)
        var table = TextTable(["recorded_at", "outcome", "level", "window", "case", "sent", "record_id"])
        for r in rows.reversed() {
            table.add([r.recordedAt.rfc3339, r.outcome, r.level ?? "-", r.windowID ?? "-", r.caseID ?? "-", r.sentAt == nil ? "no" : "yes", r.recordID])
        }
        var out = table.lines
        out.append("\(rows.count) shown; \(try store.backlogCount()) not yet sent of \(try store.recordCount()) stored")
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
            let v = try JSONDecoder().decode(ResendView.self, from: Data(text.utf8))
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
}
