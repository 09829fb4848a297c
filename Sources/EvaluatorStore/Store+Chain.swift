import EvaluatorCore
import Foundation
import GRDB

/// The tamper-evident chain in the store (R8, R17; docs/CHAIN.md): its head, chaining records
/// stored before it existed, the walk `evaluatorctl verify` makes, the bounded check of the
/// tail at start, foreign objects, and retention with a checkpoint.
extension Store {
    static func chainHead(_ db: Database) throws -> ChainHead {
        guard let row = try Row.fetchOne(db, sql: "SELECT chain_id, head_seq, head_hash FROM chain WHERE id = 1") else {
            throw StoreError(code: .read, path: db.description, message: "the chain table has no head (was the store created by evaluatord?)")
        }
        return ChainHead(chainID: row["chain_id"], seq: row["head_seq"], hash: row["head_hash"])
    }

    /// The chain head now.
    public func chainHead() throws(StoreError) -> ChainHead {
        try read { db in try Self.chainHead(db) }
    }

    /// The checkpoint left by retention: the last pruned record's seq and hash (0 and zeros
    /// when nothing was pruned).
    public func checkpoint() throws(StoreError) -> (seq: Int64, hash: String) {
        try read { db in
            let row = try Row.fetchOne(db, sql: "SELECT pruned_seq, pruned_hash FROM chain WHERE id = 1")
            return (row?["pruned_seq"] ?? 0, row?["pruned_hash"] ?? ChainLink.zeroHash)
        }
    }

    /// Chains the records stored before the chain existed, in their stored order (v6-chain).
    /// Their seqs are made 1, 2, 3 … if they were not already.
    static func chainExisting(_ db: Database, chainID: String, now: Millis) throws {
        var prev = ChainLink.zeroHash
        var next: Int64 = 1
        let rows = try Row.fetchAll(db, sql: "SELECT seq, body FROM record ORDER BY seq")
        for row in rows {
            let oldSeq: Int64 = row["seq"]
            let text: String = row["body"]
            guard case let .object(o) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                throw StoreError(code: .write, path: db.description, message: "record seq \(oldSeq) is not a JSON object")
            }
            let (body, hash) = Chain.seal(object: o, link: ChainLink(chainID: chainID, seq: next, prevHash: prev))
            try db.execute(sql: "UPDATE record SET seq = ?, body = ?, hash = ? WHERE seq = ?", arguments: [next, body, hash, oldSeq])
            prev = hash
            next += 1
        }
        try db.execute(sql: "INSERT INTO chain (id, chain_id, created_at, head_seq, head_hash, pruned_hash) VALUES (1, ?, ?, ?, ?, ?)",
                       arguments: [chainID, now.value, next - 1, prev, ChainLink.zeroHash])
    }

    // MARK: Walking the chain

    /// Walks the chain from the checkpoint (or from `fromSeq`, trusting the record before it)
    /// to the head and reports the first break. Reads one snapshot (works while the daemon
    /// writes). `progress(done, total)` is called every 65,536 records.
    public func verifyChain(fromSeq: Int64? = nil, progress: (Int64, Int64) -> Void = { _, _ in }) throws(StoreError) -> ChainVerdict {
        try read { db in try Self.walk(db, fromSeq: fromSeq, progress: progress) }
    }

    static func walk(_ db: Database, fromSeq: Int64?, progress: (Int64, Int64) -> Void) throws -> ChainVerdict {
        guard let chain = try Row.fetchOne(db, sql: "SELECT chain_id, head_seq, head_hash, pruned_seq, pruned_hash FROM chain WHERE id = 1") else {
            return .broken(seq: 0, what: "the chain table has no head")
        }
        let headSeq: Int64 = chain["head_seq"], headHash: String = chain["head_hash"]
        var expected: Int64 = chain["pruned_seq"]
        var prev: String = chain["pruned_hash"]
        expected += 1
        if let fromSeq, fromSeq > expected {
            guard let before = try String.fetchOne(db, sql: "SELECT hash FROM record WHERE seq = ?", arguments: [fromSeq - 1]) else {
                return .broken(seq: fromSeq - 1, what: "record missing")
            }
            expected = fromSeq
            prev = before
        }
        let first = expected
        let total = max(0, headSeq - first + 1)
        var walked: Int64 = 0
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, body, hash FROM record WHERE seq >= ? ORDER BY seq", arguments: [first])
        while let row = try rows.next() {
            let seq: Int64 = row["seq"]
            if seq != expected {
                return .broken(seq: expected, what: seq > expected ? "seq gap: records \(expected)…\(seq - 1) are missing" : "seq \(seq) out of order")
            }
            let body: String = row["body"]
            let fields: Chain.Fields
            do {
                fields = try Chain.fields(of: Array(body.utf8))
            } catch let Chain.ReadError.missing(name) {
                return .broken(seq: seq, what: "no \(name) in the stored record")
            }
            if fields.seq != seq { return .broken(seq: seq, what: "the record says seq \(fields.seq) (moved or swapped)") }
            if fields.prevHash != prev { return .broken(seq: seq, what: "prev_hash mismatch: the record before was removed, edited or swapped") }
            let actual = Chain.sha256Hex(fields.unhashed)
            if actual != fields.hash { return .broken(seq: seq, what: "hash mismatch: the record was edited (its content hashes to \(actual.prefix(12))…, it says \(fields.hash.prefix(12))…)") }
            if let column: String = row["hash"], column != fields.hash { return .broken(seq: seq, what: "hash column differs from the record's hash") }
            prev = fields.hash
            expected += 1
            walked += 1
            if walked & 0xFFFF == 0 { progress(walked, total) }
        }
        let last = expected - 1
        if last < headSeq { return .broken(seq: expected, what: "records \(expected)…\(headSeq) are missing (the head says \(headSeq))") }
        if last > headSeq { return .broken(seq: headSeq + 1, what: "records after the head (\(headSeq)) were added outside the gateway") }
        if last > 0 && prev != headHash { return .broken(seq: last, what: "the last record's hash differs from the head") }
        progress(walked, total)
        return .ok(records: walked, first: first, last: last, head: prev)
    }

    /// The bounded check the daemon makes at start: the last `tail` records only, so start-up
    /// does not grow with the store (the full walk is `evaluatorctl verify`).
    public func checkTail(_ tail: Int64 = 1000) throws(StoreError) -> ChainVerdict {
        try read { db in
            let head = try Self.chainHead(db)
            return try Self.walk(db, fromSeq: max(1, head.seq - tail + 1), progress: { _, _ in })
        }
    }

    // MARK: Foreign objects

    /// Everything the migrations create, by type and name. Anything else in the schema was put
    /// there by someone else.
    static let ownObjects: Set<String> = [
        "table record", "table rated_case", "table open_session", "table batch", "table flood", "table chain", "table rollup", "table rollup_day",
        "table grdb_migrations", "table sqlite_sequence",
        "index record_unsent", "index record_batch", "index record_pending", "index record_batch_pending",
    ]

    /// Drops every trigger (the store makes none: any trigger is foreign and must not run) and
    /// says what was dropped.
    static func dropForeignTriggers(_ pool: DatabasePool) throws -> [String] {
        try pool.writeWithoutTransaction { db in
            var found: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'") {
                let name: String = row["name"], table: String = row["tbl_name"]
                try db.execute(sql: "DROP TRIGGER IF EXISTS \(name.quotedDatabaseIdentifier)")
                found.append("foreign trigger \"\(name)\" on \(table) dropped (it could rewrite records): \((row["sql"] as String?).map { String($0.prefix(200)) } ?? "")")
            }
            return found
        }
    }

    /// Tables, views and indexes the store did not create (left in place, reported).
    static func foreignObjects(_ pool: DatabasePool) throws -> [String] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%' ORDER BY type, name").compactMap { row in
                let type: String = row["type"], name: String = row["name"]
                return ownObjects.contains("\(type) \(name)") ? nil : "foreign \(type) \"\(name)\" in the store (not created by evaluatord)"
            }
        }
    }

    // MARK: Retention

    /// Prunes records accepted upstream and recorded before `before`, oldest first, and only
    /// as a prefix of the chain (a record waiting or quarantined stops it), so the checkpoint
    /// (last pruned seq and hash) keeps `verify` meaningful. At most `limit` records per call.
    /// Returns how many were pruned.
    @discardableResult
    public func prune(recordedBefore before: Millis, limit: Int = 10_000) async throws(StoreError) -> Int {
        let n = try await write("cannot prune sent records") { db -> Int in
            let chain = try Self.chainHead(db)
            let pruned = try Int64.fetchOne(db, sql: "SELECT pruned_seq FROM chain WHERE id = 1") ?? 0
            let stop = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM record WHERE sent_at IS NULL OR recorded_at >= ?", arguments: [before.value])
                ?? chain.seq + 1
            let upTo = min(stop - 1, pruned + Int64(limit))
            guard upTo > pruned, let hash = try String.fetchOne(db, sql: "SELECT hash FROM record WHERE seq = ?", arguments: [upTo]) else { return 0 }
            try db.execute(sql: "DELETE FROM record WHERE seq <= ?", arguments: [upTo])
            let n = db.changesCount
            try db.execute(sql: "UPDATE chain SET pruned_seq = ?, pruned_hash = ? WHERE id = 1", arguments: [upTo, hash])
            return n
        }
        if n > 0 { forgetCounts() }
        return n
    }
}
