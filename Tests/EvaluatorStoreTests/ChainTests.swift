import EvaluatorCore
import Foundation
import GRDB
import Testing
@testable import EvaluatorStore
import EvaluatorTestSupport

/// A store of `n` records committed in a few groups, bad ones among them.
func chainedStore(_ n: Int = 6) async throws -> Store {
    let store = try newStore()
    let records = makeRecords(n, bad: [1, 4])
    try await store.commit(records: Array(records.prefix(2)))
    try await store.commit(records: Array(records.dropFirst(2)))
    return store
}

/// Tampers with a copy of the store's file (as someone with write access to it would) and
/// returns the copy opened read-only, as `evaluatorctl verify` opens it.
func tampered(_ store: Store, _ sql: String) throws -> Store {
    let copy = temporaryFolder() + "/copy.sqlite"
    try DatabaseQueue(path: store.path).backup(to: try DatabaseQueue(path: copy))
    try DatabaseQueue(path: copy).inDatabase { db in try db.execute(sql: sql) }
    return try Store(readOnlyPath: copy)
}

/// A stored body read as the walk reads it.
func checked(_ body: String) throws -> Chain.Checked {
    try Array(body.utf8).withUnsafeBytes { raw in try Chain.check(raw) }
}

@Suite("tamper-evident chain (R8, R17)")
struct ChainTests {
    @Test("records are chained 1, 2, 3 … from 64 zeros; every body hashes to its hash; the head is the last")
    func chained() async throws {
        let store = try await chainedStore()
        let bodies = try store.recentRecords(limit: 10).reversed().map(\.body)
        var prev = ChainLink.zeroHash
        for (i, body) in bodies.enumerated() {
            let f = try checked(body)
            #expect(f.seq == Int64(i + 1))
            #expect(f.prev.text == prev)
            #expect(f.actual == f.stated)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(obj["hash"] as? String == f.stated.text)
            #expect(obj["chain_id"] as? String == (try store.chainHead()).chainID)
            prev = f.stated.text
        }
        #expect(try store.chainHead().seq == 6)
        #expect(try store.chainHead().hash == prev)
        #expect(try store.verifyChain() == .ok(records: 6, first: 1, last: 6, head: prev))
        #expect(try store.verifyChain(halvesFrom: 2) == .ok(records: 6, first: 1, last: 6, head: prev))
    }

    @Test("each kind of tampering is named at its seq", arguments: [
        ("UPDATE record SET body = replace(body, '\"level\":\"satisfied\"', '\"level\":\"very_satisfied\"') WHERE seq = 3", 3, "hash mismatch"),
        ("DELETE FROM record WHERE seq = 4", 4, "seq gap: records 4…4 are missing"),
        ("UPDATE record SET seq = -(7 - seq) WHERE seq IN (2, 5); UPDATE record SET seq = -seq WHERE seq < 0", 2, "the record says seq 5"),
        ("DELETE FROM record WHERE seq = 6", 6, "records 6…6 are missing"),
        ("UPDATE record SET body = replace(body, '\"bad\":true', '\"bad\":false') WHERE seq = 2", 2, "hash mismatch"),
    ])
    func tampering(sql: String, seq: Int64, what: String) async throws {
        let copy = try tampered(try await chainedStore(), sql)
        let verdict = try copy.verifyChain()
        #expect(try copy.verifyChain(halvesFrom: 2) == verdict, "walked in two halves at once: the same first break")
        guard case let .broken(at, message) = verdict else {
            Issue.record("tampering not found: \(verdict)")
            return
        }
        #expect(at == seq)
        #expect(message.contains(what), "\(message)")
    }

    @Test("a record edited and re-hashed still breaks the link of the next one")
    func rehashed() async throws {
        let store = try await chainedStore()
        let body = try #require(try store.recentRecords(limit: 10).first { $0.seq == 3 }?.body)
        let edited = body.replacingOccurrences(of: "\"level\":\"satisfied\"", with: "\"level\":\"very_satisfied\"")
        let newHash = try checked(edited).actual.text
        let resealed = edited.replacingOccurrences(of: try checked(body).stated.text, with: newHash)
        let copy = try tampered(store, "UPDATE record SET body = '\(resealed)', hash = '\(newHash)' WHERE seq = 3")
        #expect(try copy.verifyChain() == .broken(seq: 4, what: "prev_hash mismatch: the record before was removed, edited or swapped"))
        #expect(try copy.verifyChain(halvesFrom: 2) == .broken(seq: 4, what: "prev_hash mismatch: the record before was removed, edited or swapped"))
    }

    @Test("records stored before the chain are chained at migration, in their stored order")
    func migration() async throws {
        let path = temporaryFolder() + "/old.sqlite"
        do {
            let pool = try DatabasePool(path: path)
            try Store.migrator(LocalDays(zone: .current)).migrate(pool, upTo: "v5-flood")
            try await pool.write { db in
                for i in 1...3 {
                    // The record format before issue 12: no chain fields, no detail.
                    try db.execute(sql: """
                        INSERT INTO record (record_id, window_id, case_id, outcome, level, bad, recorded_at, body)
                        VALUES (?, 'W01', ?, 'rated', 'satisfied', 0, ?, ?)
                        """, arguments: ["old\(i)", "C\(i)", i, "{\"bad\":false,\"case_id\":\"C\(i)\",\"level\":\"satisfied\",\"record_id\":\"old\(i)\",\"matter_name\":\"不动产登记 \\\"甲\\\"\"}"])
                }
            }
        }
        let store = try Store(path: path)
        #expect(try store.chainHead().seq == 3)
        guard case .ok(3, 1, 3, _) = try store.verifyChain() else {
            Issue.record("migrated chain does not verify: \(try store.verifyChain())")
            return
        }
        let oldest = try #require(try store.recentRecords(limit: 3).last)
        #expect(oldest.recordID == "old1")
        #expect(oldest.body.contains("\"prev_hash\":\"\(ChainLink.zeroHash)\""))
        #expect(oldest.body.contains("\"matter_name\":\"不动产登记 \\\"甲\\\"\""))
        try await store.commit(records: makeRecords(2, prefix: "new"))
        #expect(try store.chainHead().seq == 5)
        guard case .ok(5, 1, 5, _) = try store.verifyChain() else {
            Issue.record("chain after migration does not verify")
            return
        }
    }

    @Test("a trigger is dropped before it can run, named, and the tables it did not create are named")
    func foreignObjects() async throws {
        let store = try await chainedStore()
        let path = store.path
        try DatabaseQueue(path: path).inDatabase { db in
            try db.execute(sql: """
                CREATE TRIGGER soften AFTER INSERT ON record WHEN NEW.bad = 1
                BEGIN UPDATE record SET level = 'satisfied', bad = 0 WHERE seq = NEW.seq; END;
                CREATE VIEW good AS SELECT * FROM record WHERE bad = 0;
                """)
        }
        let reopened = try Store(path: path)
        #expect(reopened.findings.count == 2)
        #expect(reopened.findings.contains { $0.contains("foreign trigger \"soften\" on record dropped") })
        #expect(reopened.findings.contains { $0.contains("foreign view \"good\"") })
        try await reopened.commit(records: makeRecords(1, prefix: "bad-", bad: [0]))
        #expect(try reopened.recentRecords(limit: 1).first?.bad == true)
        #expect(try Store(path: path).findings == ["foreign view \"good\" in the store (not created by evaluatord)"])
    }

    @Test("the tail check at start looks at the last records only")
    func tail() async throws {
        let store = try await chainedStore(20)
        #expect(try tampered(store, "UPDATE record SET body = replace(body, '\"C2\"', '\"C99\"') WHERE seq = 3").checkTail(10) == .ok(records: 10, first: 11, last: 20, head: try store.chainHead().hash))
        guard case .broken(18, _) = try tampered(store, "UPDATE record SET body = replace(body, '\"C17\"', '\"C99\"') WHERE seq = 18").checkTail(10) else {
            Issue.record("a broken tail was not found")
            return
        }
    }

    @Test("retention prunes only sent records, as a prefix, and leaves a checkpoint verify starts from")
    func retention() async throws {
        let store = try await chainedStore(6)
        // Records 1…3 sent long ago, 4 waiting, 5…6 sent.
        let batch = try #require(try await store.nextBatch(max: 3, newBatchID: "b1", now: Millis(10)))
        #expect(batch.chain == (try store.chainHead()))
        try await store.markSent(batchID: "b1", at: Millis(20))
        let sent = try store.recentRecords(limit: 10).filter { $0.sentAt != nil }.map(\.seq).sorted()
        #expect(sent.count == 3)
        let n = try await store.prune(recordedBefore: Millis(1_000_000))
        // Bad ratings go first, so the first batch held 2, 5 and one more: the prefix stops at
        // the first record not sent.
        let firstUnsent = try #require((1...6).first { !sent.contains(Int64($0)) })
        #expect(n == firstUnsent - 1)
        let checkpoint = try store.checkpoint()
        #expect(checkpoint.seq == Int64(firstUnsent - 1))
        #expect(try store.verifyChain(halvesFrom: 2) == (try store.verifyChain()))
        guard case let .ok(records, first, last, _) = try store.verifyChain() else {
            Issue.record("pruned chain does not verify")
            return
        }
        #expect((records, first, last) == (Int64(6 - n), Int64(firstUnsent), 6))
    }
}
