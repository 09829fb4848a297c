import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorStore
import EvaluatorTestSupport
import Foundation
import GRDB
import Testing

/// Writes the WAL into the database file and empties it, so the file alone holds the store.
func checkpoint(_ path: String) throws {
    try DatabaseQueue(path: path).inDatabase { db in _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
}

func overwrite(_ path: String, at offset: Int, bytes: Int) throws {
    let h = try #require(FileHandle(forUpdatingAtPath: path))
    try h.seek(toOffset: UInt64(offset))
    h.write(Data(repeating: 0xAB, count: bytes))
    try h.close()
}

extension RunningDaemon {
    var client: APIClient {
        APIClient(listen: .tcp(host: "127.0.0.1", port: Int(api.split(separator: ":").last!)!), token: nil)
    }

    /// Opens an evaluation at W01 and presses `key` on its pad; true when acked. A second
    /// start-rating frame before the ack is skipped: an evaluation opened while the bus was
    /// attaching is prompted by the open and again by the attach (harmless for a pad).
    func rateAtW01(_ pad: SimulatedPad, _ caseID: String, key: UInt8 = 2) async throws -> Bool {
        guard try await request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "\#(caseID)"}"#).0 == 201,
              await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3) else { return false }
        pad.press(address: 3, key: key)
        var frame = await pad.nextFrame(timeoutMs: 10_000)
        if frame == .startRating(address: 3) { frame = await pad.nextFrame(timeoutMs: 10_000) }
        return frame == .ack(address: 3, key: key)
    }
}

/// The store never blocks the hall (issue 13): a store damaged by a power cut is moved aside,
/// a new store (a new chain, opened by an audit record naming the moved file) takes over, and
/// rating goes on; `evaluatorctl salvage` brings the readable unsent records back.
@Suite("a damaged store is replaced, never left refusing presses", .serialized)
struct StoreDamageTests {
    @Test("a truncated store: moved aside at start; the new chain opens with an audit record naming it; presses are rated; health is degraded")
    func truncated() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let config = try testConfig(dir: dir, receiverPort: nil)
        var daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        for c in ["T-1", "T-2", "T-3"] { #expect(try await daemon.rateAtW01(pad, c)) }
        await daemon.stop()
        try checkpoint(config.databasePath)
        #expect(truncate(config.databasePath, 8192) == 0)

        let logs = LogCapture()
        daemon = try await RunningDaemon(config: config, logger: logs.logger)
        #expect(logs.contains("error store check: the damaged store was moved to \(config.databasePath).damaged-"))
        let moved = try FileManager.default.contentsOfDirectory(atPath: config.stateDir).filter { $0.hasPrefix("evaluatord.sqlite.damaged-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
        #expect(moved.count == 1)
        let (code, health) = try await daemon.request(.GET, "/healthz")
        #expect(code == 200)
        #expect(health["status"] as? String == "degraded")
        #expect((health["problems"] as? [[String: Any]])?.first?["code"] as? String == "store_replaced")
        #expect(try await daemon.rateAtW01(pad, "T-4"), "rating goes on")
        await daemon.stop()

        let store = try Store(readOnlyPath: config.databasePath)
        let first = try #require(try store.recentRecords(limit: 10).last)
        #expect(first.seq == 1 && first.outcome == "audit")
        #expect(first.body.contains("store_replaced: the damaged store was moved to \(config.stateDir)/\(moved[0])"))
        guard case .ok(3, 1, 3, _) = try store.verifyChain() else { // the audit, T-4's service record (issue 22), its rating
            Issue.record("the new chain does not verify: \(try store.verifyChain())")
            return
        }
    }

    @Test("pages overwritten in the middle: found by the background check while running, replaced; salvage re-imports the readable unsent records once")
    func overwritten() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let config = try testConfig(dir: dir, receiverPort: nil)
        try StateFolder.prepare(stateDir: config.stateDir, databasePath: config.databasePath)
        let oldChain: ChainHead
        do {
            let store = try Store(path: config.databasePath)
            for chunk in 0..<4 { try await store.commit(records: makeRecords(300, prefix: "old\(chunk)-")) }
            // The first half was sent: salvage restores their cases as `known` (issue 20).
            try await store.markAllSentForBench(keepUnsent: 600)
            oldChain = try store.chainHead()
        }
        try checkpoint(config.databasePath)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: config.databasePath)[.size] as? Int)
        try overwrite(config.databasePath, at: size * 3 / 10 / 4096 * 4096, bytes: 8 * 4096)

        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: config, logger: logs.logger, storeCheckAfterMs: 100)
        #expect(await eventually(20) { logs.contains("store damaged: moved aside, a new store takes over; rating goes on") || logs.contains("error store check: the damaged store was moved to") })
        #expect(try await daemon.rateAtW01(pad, "N-1"), "rating goes on")
        let (_, health) = try await daemon.request(.GET, "/healthz")
        #expect(health["status"] as? String == "degraded")

        let moved = try #require(try FileManager.default.contentsOfDirectory(atPath: config.stateDir).first { $0.hasPrefix("evaluatord.sqlite.damaged-") && !$0.contains("-wal") && !$0.contains("-shm") })
        let damaged = config.stateDir + "/" + moved
        let first = try await Control.salvage(config: config, file: damaged, api: daemon.client, progress: false)
        let (lines, ok) = (first.lines, first.ok)
        #expect(ok, "\(lines)")
        #expect(lines.first?.hasPrefix("read ") == true)
        #expect(lines.last?.contains("through evaluatord's API") == true, "\(lines)")
        let imported = try #require(lines.last.flatMap { Int($0.split(separator: " ")[1]) })
        #expect(imported > 300, "\(lines)")
        // --json says the same.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(first.json.utf8)) as? [String: Any])
        #expect(json["ok"] as? Bool == true && json["imported"] as? Int == imported && json["via"] as? String == "daemon")
        let again = try await Control.salvage(config: config, file: damaged, api: daemon.client, progress: false).lines
        #expect(again.last?.hasPrefix("imported 0 unsent record(s) with their record ids (\(imported) were already here)") == true, "\(again)")
        // Only records of this gateway's damaged stores, whose hashes fit, are taken (issue 20).
        let reader = try SalvageReader(path: damaged)
        let real = try #require(reader.nextWindow()?.first { !$0.sent && $0.body.contains(#""outcome":"rated""#) }?.body)
        let realID = try #require((try JSONSerialization.jsonObject(with: Data(real.utf8)) as? [String: Any])?["record_id"] as? String)
        let current = try daemon.daemon.store.chainHead().chainID
        let refusals: [(String, String)] = [
            (#"{"records": [\#(real.replacingOccurrences(of: oldChain.chainID, with: current))]}"#, "is not one of this gateway's replaced stores"),
            (#"{"records": [\#(real.replacingOccurrences(of: #""score":8"#, with: #""score":9223372036854775807"#))]}"#, "its hash does not fit its bytes"),
            (#"{"records": [\#(real)], "rated_cases": [{"case_id": "C-ELSE", "record_id": "\#(realID)"}]}"#, "does not rate case C-ELSE"),
            (#"{"records": [], "rated_cases": [{"case_id": "C-ELSE", "record_id": "made-up"}]}"#, "names record made-up, which is not in the request"),
        ]
        for (body, why) in refusals {
            let (code, answer) = try await daemon.request(.POST, "/v1/records/import", json: body)
            let error = answer["error"] as? [String: Any]
            #expect(code == 400 && error?["code"] as? String == "invalid_import" && (error?["message"] as? String)?.contains(why) == true, "\(answer)")
        }
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "C-ELSE"}"#).0 == 201, "a refused import marked nothing rated")
        _ = try await daemon.request(.DELETE, "/v1/windows/W01/evaluations/current")
        // A salvaged rated case is rated: it cannot be opened again (R3).
        let (code, body) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "C7"}"#)
        #expect(code == 409, "\(body)")
        await daemon.stop()
        // With the daemon stopped, salvage writes the store directly (and still imports once).
        let directOutcome = try await Control.salvage(config: config, file: damaged, api: daemon.client, progress: false)
        let (direct, directOK) = (directOutcome.lines, directOutcome.ok)
        #expect(directOK && direct.last?.hasPrefix("imported 0 unsent record(s) with their record ids (\(imported) were already here)") == true, "\(direct)")
        #expect(direct.last?.hasSuffix("evaluatord is not running: they are sent when it starts") == true, "\(direct)")

        let store = try Store(readOnlyPath: config.databasePath)
        #expect(try store.chainHead().chainID != oldChain.chainID)
        guard case let .ok(records, 1, _, _) = try store.verifyChain() else {
            Issue.record("the new chain with salvaged records does not verify: \(try store.verifyChain())")
            return
        }
        // Each import request is an admin action: an audit record naming who and the counts (issue 20).
        let all = try store.recentRecords(limit: 100_000)
        let importAudits = all.filter { $0.outcome == "audit" && $0.body.contains("admin: import of salvaged records") }
        #expect(!importAudits.isEmpty && importAudits.allSatisfy { $0.body.contains(#""opened_by":"api""#) })
        #expect(records == Int64(imported + 5 + importAudits.count), "the audit record, the new rating and the cancelled C-ELSE with their service records (issue 22), the salvaged ones, the import audits")
        #expect(all.contains { $0.body.contains("\"salvaged\"") })
        let audit = try #require(all.last)
        #expect(audit.outcome == "audit" && audit.body.contains(moved))
        #expect(try store.replacedChains().map(\.chainID) == [oldChain.chainID], "the damaged store's chain is noted")
    }

    @Test("evaluatorctl backup: a consistent copy while the daemon runs; never over an existing file")
    func backup() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let config = try testConfig(dir: dir, receiverPort: nil)
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        #expect(try await daemon.rateAtW01(pad, "K-1"))
        let made = try Control.backup(config: config, destination: dir + "/copy.sqlite", progress: false)
        #expect(made.lines.first?.hasPrefix("backup written: \(dir)/copy.sqlite (2 records, chain ") == true, "K-1's service record (issue 22) and its rating")
        #expect(made.json.contains(#""records":2"#))
        #expect(throws: StoreError.self) { try Control.backup(config: config, destination: dir + "/copy.sqlite", progress: false) }
        #expect(try await daemon.rateAtW01(pad, "K-2"))
        await daemon.stop()
        let copy = try Store(readOnlyPath: dir + "/copy.sqlite")
        #expect(try copy.recordCount() == 2)
        guard case .ok(2, 1, 2, _) = try copy.verifyChain() else {
            Issue.record("the backup's chain does not verify")
            return
        }
    }
}
