import ArgumentParser
import AsyncHTTPClient
import EvaluatorCore
import EvaluatorWire
import EvaluatorProtocol
import EvaluatorStore
import Foundation
import NIOCore

/// `verify`, `salvage`, `backup`: the store file itself.
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
            let v = try JSONDecoder().decode(ImportView.self, from: Data(text.utf8))
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
