import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorStore
import EvaluatorTestSupport
import Foundation
import GRDB
import Testing

/// The chain seen from the centre (issue 12, R8, R17): records received by a loopback central
/// store across several batches and a restart pass the stand-alone verifier; a history rewritten
/// after its head was sent is caught; a trigger slipped into the store is dropped and reported.
@Suite("end to end: the chain as the centre receives it", .serialized)
struct ChainEndToEndTests {
    /// Rates `cases` at W01 with the pad, one after the other, and presses once with no case.
    func rate(_ daemon: RunningDaemon, _ pad: SimulatedPad, _ cases: [String], receiver: Receiver) async throws {
        for c in cases {
            #expect(try await daemon.rateAtW01(pad, c, key: c.hasSuffix("1") ? 0 : 3))
            #expect(await eventually { receiver.records(case: c).count == 1 })
        }
        pad.press(address: 4, key: 1)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 4, key: 1))
    }

    /// Every batch body received, one per line, as the centre would keep them.
    func received(_ receiver: Receiver) throws -> String {
        let file = temporaryFolder() + "/received.jsonl"
        let lines = receiver.batches.withLock { $0.map { String(decoding: $0.body, as: UTF8.self) } }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test("batches across a restart verify; a trigger is dropped and audited; a rewritten history is caught",
          .enabled(if: hasPython, "python3 is not installed"))
    func centre() async throws {
        let dir = temporaryFolder()
        let receiver = Receiver()
        try await receiver.start()
        let pad = try plugPad(dir: dir)
        let config = try testConfig(dir: dir, receiverPort: receiver.port)
        var daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        try await rate(daemon, pad, ["A-1", "A-2", "A-3"], receiver: receiver)
        #expect(await eventually { receiver.records.count == 4 })
        await daemon.stop()

        // A trigger that would soften every later bad rating, put in while the daemon was down.
        try DatabaseQueue(path: config.databasePath).inDatabase { db in
            try db.execute(sql: """
                CREATE TRIGGER soften AFTER INSERT ON record WHEN NEW.bad = 1
                BEGIN UPDATE record SET body = replace(body, '"bad":true', '"bad":false') WHERE seq = NEW.seq; END
                """)
        }
        let logs = LogCapture()
        daemon = try await RunningDaemon(config: config, logger: logs.logger)
        #expect(logs.contains("error store check: foreign trigger \"soften\" on record dropped"))
        let (_, status) = try await daemon.request(.GET, "/v1/status")
        #expect(status["state"] as? String == "degraded")
        let problems = try #require(status["problems"] as? [[String: Any]])
        #expect(problems.first?["code"] as? String == "store_foreign_object")
        try await rate(daemon, pad, ["B-1", "B-2"], receiver: receiver)
        #expect(await eventually { receiver.records.contains { $0["outcome"] as? String == "audit" } && receiver.records.count == 8 })
        #expect(receiver.records(case: "B-1").first?["bad"] as? Bool == true)
        let chain = try #require(status["chain"] as? [String: Any])
        #expect(chain["seq"] as? Int == 8, "A-1…A-3 and B-1…B-2 each stored a service record first (issue 22)")
        await daemon.stop()

        let ok = try runChainVerifier([try received(receiver)])
        #expect(ok.0 == 0, "\(ok.1)")
        #expect(ok.1.contains("ok: 13 records, seq 1…13"), "\(ok.1)")
        #expect(receiver.batches.withLock { $0.count } >= 3)

        // Someone with write access rewrites A-1's bad rating as good and re-hashes everything
        // after it, so the local chain verifies again; the centre holds the old hashes.
        try DatabaseQueue(path: config.databasePath).inDatabase { db in
            let chainID = try String.fetchOne(db, sql: "SELECT chain_id FROM chain")!
            var prev = ChainLink.zeroHash
            for row in try Row.fetchAll(db, sql: "SELECT seq, body FROM record ORDER BY seq") {
                let seq: Int64 = row["seq"]
                guard case var .object(o) = try JSONDecoder().decode(JSONValue.self, from: Data((row["body"] as String).utf8)) else { continue }
                if o["case_id"] == .string("A-1") { o["level"] = .string("very_satisfied"); o["bad"] = .bool(false) }
                let (body, hash) = Chain.seal(object: o, link: ChainLink(chainID: chainID, seq: seq, prevHash: prev))
                try db.execute(sql: "UPDATE record SET body = ?, hash = ? WHERE seq = ?", arguments: [body, hash, seq])
                prev = hash
            }
            try db.execute(sql: "UPDATE chain SET head_hash = ?", arguments: [prev])
        }
        #expect(try Store(readOnlyPath: config.databasePath).verifyChain() == .ok(records: 13, first: 1, last: 13, head: try Store(readOnlyPath: config.databasePath).chainHead().hash))
        daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        try await rate(daemon, pad, ["C-2"], receiver: receiver)
        #expect(await eventually { receiver.records.count == 10 })
        await daemon.stop()
        await receiver.stop()
        let caught = try runChainVerifier([try received(receiver)])
        #expect(caught.0 == 1, "\(caught.1)")
        #expect(caught.1.contains("seq 14: prev_hash mismatch: seq 13 was edited, removed or swapped"), "\(caught.1)")
    }

    @Test("retention: sent records older than keep_sent_days are pruned in the background, up to the first unsent one; verify starts at the checkpoint")
    func retention() async throws {
        let dir = temporaryFolder()
        let config = try GatewayConfig.parse(testConfigText(dir: dir, receiverPort: nil) + "\n[store]\nkeep_sent_days = 30\n", source: "e2e.toml", files: .system)
        do {
            let store = try Store(path: config.databasePath)
            try await store.commit(records: makeRecords(6)) // recorded in 1970
            _ = try await store.nextBatch(max: 4, newBatchID: "b1", now: Millis(10))
            try await store.markSent(batchID: "b1", at: Millis(20))
        }
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: config, logger: logs.logger)
        #expect(await eventually { logs.contains("retention: pruned records accepted upstream before the cut-off") })
        await daemon.stop()
        let store = try Store(readOnlyPath: config.databasePath)
        #expect(try store.checkpoint().seq == 4)
        #expect(try store.recordCount() == 2, "the unsent records stay")
        guard case .ok(2, 5, 6, _) = try store.verifyChain() else {
            Issue.record("the pruned chain does not verify: \(try store.verifyChain())")
            return
        }
    }

    @Test("GET /v1/stats answers the rollups; a bad query and an oversized batch are 400 with the reason")
    func statsAPI() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let receiver = Receiver()
        try await receiver.start()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: receiver.port), logger: LogCapture().logger)
        let batch = (2...51).map { "\"B-\($0)\"" }.joined(separator: ",")
        let (tooMany, refusal) = try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "B-1", "batch_case_ids": [\#(batch)]}"#)
        #expect(tooMany == 400)
        #expect((refusal["error"] as? [String: Any])?["code"] as? String == "batch_too_large")
        try await rate(daemon, pad, ["S-2"], receiver: receiver)
        let (status, stats) = try await daemon.request(.GET, "/v1/stats?by=window")
        #expect(status == 200)
        let groups = try #require(stats["groups"] as? [[String: Any]])
        let w01 = try #require(groups.first { $0["key"] as? String == "W01" })
        #expect(w01["opened"] as? Int == 1 && w01["rated"] as? Int == 1 && w01["participation"] as? Double == 1)
        #expect((stats["total"] as? [String: Any])?["no_case"] as? Int == 1)
        let (bad, why) = try await daemon.request(.GET, "/v1/stats?by=matter")
        #expect(bad == 400)
        #expect((why["error"] as? [String: Any])?["message"] as? String == "by: \"matter\" is not one of window, staff, department, day")
        await daemon.stop()
        await receiver.stop()
    }
}
