import EvaluatorCore
import Foundation
import GRDB
import Synchronization

/// The tamper-evident chain in the store (R8, R17; docs/CHAIN.md): its head, chaining records
/// stored before it existed, the walk `evaluatorctl verify` makes, the bounded check of the
/// tail at start and foreign objects (retention is Store+Retention.swift).
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
    /// to the head and reports the first break. Works while the daemon writes (read
    /// snapshots). A long chain is walked in two halves at once, one per core, each half in
    /// its own snapshot: the second half starts from the stored hash of the record before it,
    /// which the first half checks (10,000,000 records: 55 s in one walk; see BENCHMARKS).
    /// `progress(done, total)` is called every 65,536 records.
    /// `halvesFrom`: the length from which the walk is split in two (tests split short chains).
    public func verifyChain(fromSeq: Int64? = nil, halvesFrom: Int64 = 200_000,
                            progress: @escaping @Sendable (Int64, Int64) -> Void = { _, _ in }) throws(StoreError) -> ChainVerdict {
        let (start, head) = try read { db in try Self.walkStart(db, fromSeq: fromSeq) }
        guard let start else { return .broken(seq: 0, what: "the chain table has no head") }
        let total = max(0, head - start.first + 1)
        guard total >= max(2, halvesFrom) else {
            return try read { db in try Self.walk(db, fromSeq: fromSeq, progress: progress) }
        }
        let mid = start.first + total / 2
        let done = Mutex<Int64>(0)
        let report: @Sendable (Int64) -> Void = { n in progress(done.withLock { $0 += n; return $0 }, total) }
        let parts = Mutex<[Int: Result<Stretch, StoreError>]>([:])
        let db = self.db
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            let result: Result<Stretch, StoreError>
            do {
                result = .success(try db.read { db in
                    if part == 0 { return try Self.walkRange(db, first: start.first, last: mid - 1, prev: start.prev, report) }
                    guard let before = try String.fetchOne(db, sql: "SELECT hash FROM record WHERE seq = ?", arguments: [mid - 1]) else {
                        return Stretch(broken: (mid - 1, "record missing"), last: mid - 1, lastHash: "", walked: 0)
                    }
                    // This half's own snapshot: to its own head (the daemon may have written more).
                    let (_, head) = try Self.walkStart(db, fromSeq: nil)
                    var s = try Self.walkRange(db, first: mid, last: head, prev: before, report)
                    if s.broken == nil { s.broken = try Self.afterHead(db, last: s.last, lastHash: s.lastHash) }
                    return s
                })
            } catch {
                result = .failure(StoreError(code: Self.isCorruption(error) ? .corrupt : .read, path: path, message: "read failed: \(error)"))
            }
            parts.withLock { $0[part] = result }
        }
        let results = parts.withLock { $0 }
        var stretches: [Stretch] = []
        for part in 0..<2 {
            switch results[part]! {
            case let .success(s): stretches.append(s)
            case let .failure(e): throw e
            }
        }
        if let broken = stretches.compactMap(\.broken).min(by: { $0.0 < $1.0 }) { return .broken(seq: broken.0, what: broken.1) }
        progress(total, total)
        return .ok(records: stretches[0].walked + stretches[1].walked, first: start.first, last: stretches[1].last, head: stretches[1].lastHash)
    }

    /// Where a walk starts (after the retention checkpoint, or at `fromSeq`) and the head's seq.
    static func walkStart(_ db: Database, fromSeq: Int64?) throws -> (start: (first: Int64, prev: String)?, head: Int64) {
        guard let chain = try Row.fetchOne(db, sql: "SELECT head_seq, pruned_seq, pruned_hash FROM chain WHERE id = 1") else { return (nil, 0) }
        let pruned: Int64 = chain["pruned_seq"]
        var start = (first: pruned + 1, prev: chain["pruned_hash"] as String)
        if let fromSeq, fromSeq > start.first {
            start = (fromSeq, try String.fetchOne(db, sql: "SELECT hash FROM record WHERE seq = ?", arguments: [fromSeq - 1]) ?? "")
        }
        return (start, chain["head_seq"])
    }

    /// One stretch of the chain, walked: the first break in it, if any.
    struct Stretch: Sendable {
        var broken: (Int64, String)?
        var last: Int64
        var lastHash: String
        var walked: Int64
    }

    static func walk(_ db: Database, fromSeq: Int64?, progress: (Int64, Int64) -> Void) throws -> ChainVerdict {
        let (start, head) = try walkStart(db, fromSeq: fromSeq)
        guard let start else { return .broken(seq: 0, what: "the chain table has no head") }
        if start.prev.isEmpty { return .broken(seq: start.first - 1, what: "record missing") }
        let total = max(0, head - start.first + 1)
        var s = try walkRange(db, first: start.first, last: head, prev: start.prev) { n in progress(n, total) }
        if s.broken == nil { s.broken = try afterHead(db, last: s.last, lastHash: s.lastHash) }
        if let (seq, what) = s.broken { return .broken(seq: seq, what: what) }
        progress(s.walked, total)
        return .ok(records: s.walked, first: start.first, last: s.last, head: s.lastHash)
    }

    /// Nothing may follow the head, and the last record must be the head.
    static func afterHead(_ db: Database, last: Int64, lastHash: String) throws -> (Int64, String)? {
        guard let chain = try Row.fetchOne(db, sql: "SELECT head_seq, head_hash FROM chain WHERE id = 1") else { return (0, "the chain table has no head") }
        let headSeq: Int64 = chain["head_seq"], headHash: String = chain["head_hash"]
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM record WHERE seq > ? LIMIT 1", arguments: [headSeq]) == true {
            return (headSeq + 1, "records after the head (\(headSeq)) were added outside the gateway")
        }
        if last > 0 && last == headSeq && lastHash != headHash { return (last, "the last record's hash differs from the head") }
        return nil
    }

    /// Walks records `first…last` in seq order; the record before `first` hashed to `prev`.
    /// Hashes the stored bytes in place (no copy of the body, no String per field).
    static func walkRange(_ db: Database, first: Int64, last: Int64, prev start: String, _ progress: (Int64) -> Void) throws -> Stretch {
        var prev = Chain.Hex(start)
        var expected = first
        var walked: Int64 = 0
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, body, hash FROM record WHERE seq >= ? AND seq <= ? ORDER BY seq", arguments: [first, last])
        func stop(_ seq: Int64, _ what: String) -> Stretch { Stretch(broken: (seq, what), last: expected - 1, lastHash: prev.text, walked: walked) }
        while let row = try rows.next() {
            let seq: Int64 = row["seq"]
            if seq != expected {
                return stop(expected, seq > expected ? "seq gap: records \(expected)…\(seq - 1) are missing" : "seq \(seq) out of order")
            }
            let checked: Result<Chain.Checked, Chain.ReadError> = try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { return .failure(.missing("body")) }
                return data.withUnsafeBytes { raw in Result { () throws(Chain.ReadError) in try Chain.check(raw) } }
            }
            let c: Chain.Checked
            switch checked {
            case let .success(v): c = v
            case let .failure(.missing(name)): return stop(seq, "no \(name) in the stored record")
            }
            if c.seq != seq { return stop(seq, "the record says seq \(c.seq) (moved or swapped)") }
            if c.prev != prev { return stop(seq, "prev_hash mismatch: the record before was removed, edited or swapped") }
            if c.actual != c.stated {
                return stop(seq, "hash mismatch: the record was edited (its content hashes to \(c.actual.text.prefix(12))…, it says \(c.stated.text.prefix(12))…)")
            }
            let column = try row.withUnsafeData(atIndex: 2) { data in
                data.flatMap { d in d.count >= 64 ? d.withUnsafeBytes { Chain.Hex($0, at: 0) } : nil }
            }
            if let column, column != c.stated { return stop(seq, "hash column differs from the record's hash") }
            prev = c.stated
            expected += 1
            walked += 1
            if walked & 0xFFFF == 0 { progress(0x10000) }
        }
        if expected - 1 < last { return stop(expected, "records \(expected)…\(last) are missing (the head says \(last))") }
        progress(walked & 0xFFFF)
        return Stretch(broken: nil, last: expected - 1, lastHash: prev.text, walked: walked)
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
        "table window_state", "table replaced_chain", "table case_service", "table grdb_migrations", "table sqlite_sequence",
        "index record_unsent", "index record_batch", "index record_pending", "index record_batch_pending", "index record_screen_refusal",
    ]

    /// Drops every trigger (the store makes none: any trigger is foreign and must not run) and
    /// says what was dropped.
    static func dropForeignTriggers(_ pool: any DatabaseWriter) throws -> [String] {
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
    static func foreignObjects(_ pool: any DatabaseReader) throws -> [String] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%' ORDER BY type, name").compactMap { row in
                let type: String = row["type"], name: String = row["name"]
                return ownObjects.contains("\(type) \(name)") ? nil : "foreign \(type) \"\(name)\" in the store (not created by evaluatord)"
            }
        }
    }
}
