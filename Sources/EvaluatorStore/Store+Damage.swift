import EvaluatorCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// A damaged store file moved aside and replaced (issue 13, "the store never blocks the hall").
public struct StoreDamage: Sendable, Hashable {
    /// Where the damaged file went (its -wal and -shm beside it, same suffix).
    public var movedTo: String
    /// What SQLite said.
    public var reason: String
    /// The damaged store's chain id and last readable head, when they could be read.
    public var previousChain: ChainHead?

    /// What happened, in a sentence (status, the log).
    public var message: String {
        "the damaged store was moved to \(movedTo) (\(reason)); "
            + (previousChain.map { "previous chain \($0.chainID), last readable head seq \($0.seq) hash \($0.hash)" }
                ?? "its chain head could not be read")
            + "; evaluatorctl salvage re-imports its readable unsent records"
    }

    /// The `detail` of the `audit` record that opens the new chain (docs/CHAIN.md).
    public var detail: String { "store_replaced: " + message }
}

extension Store {
    /// Opens the daemon's store. When SQLite reports the file damaged — at opening, or in the
    /// bounded check of the chain's tail (not the whole file: start-up must not grow with the
    /// store) — the file is moved aside (never deleted) and a new store started.
    public static func openForDaemon(path: String, timeZone: TimeZone = .current, now: Millis) throws(StoreError) -> (Store, StoreDamage?) {
        let store: Store
        do {
            store = try Store(path: path, timeZone: timeZone)
        } catch where error.code == .corrupt {
            let previous = readableHead(path)
            let moved = moveAside(path, now: now)
            return (try Store(path: path, timeZone: timeZone), StoreDamage(movedTo: moved, reason: error.message, previousChain: previous))
        }
        do {
            _ = try store.checkTail()
        } catch where error.code == .corrupt {
            return (store, try store.replaceDamaged(reason: error.message, now: now))
        }
        return (store, nil)
    }

    /// Moves the damaged file aside and swaps in a new, empty store at the same path (a new
    /// chain). The caller stores the `audit` record (`StoreDamage.detail`) first thing.
    public func replaceDamaged(reason: String, now: Millis) throws(StoreError) -> StoreDamage {
        let previous = (try? chainHead()) ?? Self.readableHead(path)
        let old = db
        try? old.close()
        let moved = Self.moveAside(path, now: now)
        let (fresh, _) = try Self.openPool(path, days)
        pool.withLock { $0 = fresh }
        forgetCounts()
        forgetChainID()
        return StoreDamage(movedTo: moved, reason: reason, previousChain: previous)
    }

    /// The chain head of a store that may be damaged, if it can be read at all.
    static func readableHead(_ path: String) -> ChainHead? {
        guard let s = try? Store(readOnlyPath: path) else { return nil }
        defer { try? s.db.close() }
        return try? s.chainHead()
    }

    /// Renames the database and its -wal and -shm to `<path>.damaged-<UTC time>` (+ suffix).
    static func moveAside(_ path: String, now: Millis) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var target = path + ".damaged-" + f.string(from: now.date)
        var n = 1
        while FileManager.default.fileExists(atPath: target) {
            n += 1
            target = path + ".damaged-" + f.string(from: now.date) + "-\(n)"
        }
        for suffix in ["-wal", "-shm", ""] where FileManager.default.fileExists(atPath: path + suffix) {
            _ = rename(path + suffix, target + suffix)
        }
        return target
    }

    /// `PRAGMA quick_check` over the whole file: "ok", or what SQLite found (the first ten
    /// problems). It runs on a thread of its own, with its own read-only connection, at the
    /// lowest CPU priority: reading a 12 GB store must not delay a
    /// press's commit (measured with 10,000,000 records: press→ack p99 5.5 ms while it ran at
    /// normal priority, against 2.3 ms on an empty store). A GRDB reader thread is not reniced:
    /// it is shared, and an unprivileged process cannot lower its niceness back.
    public func quickCheck() async throws(StoreError) -> String {
        let path = self.path
        let result: Result<String, StoreError> = await withCheckedContinuation { c in
            let thread = Thread {
                Self.lowerOwnPriority()
                do {
                    var config = Configuration()
                    config.readonly = true
                    let q = try DatabaseQueue(path: path, configuration: config)
                    let found = try q.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(10)").joined(separator: "; ") }
                    try? q.close()
                    c.resume(returning: .success(found))
                } catch {
                    c.resume(returning: .failure(StoreError(code: Self.isCorruption(error) ? .corrupt : .read, path: path, message: "quick_check failed: \(error)")))
                }
            }
            thread.name = "evaluatord-store-check"
            thread.start()
        }
        return try result.get()
    }

    /// This thread only: nice 19 (on Linux the nice value is per thread, and `who = 0` is the
    /// calling thread). Best effort. The I/O class is left alone: virtio disks run mq-deadline
    /// or none, which ignore it. The packaged unit denies @resources system calls: there this
    /// fails with EPERM and the check runs at the service's own priority.
    static func lowerOwnPriority() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
    }

    /// An online, consistent copy of the store at `destination` (SQLite's backup API on a read
    /// snapshot: works while the daemon writes). `progress(done, total)` in pages.
    public func backup(to destination: String, progress: @escaping (Int, Int) -> Void = { _, _ in }) throws(StoreError) {
        do {
            let target = try DatabaseQueue(path: destination)
            try db.backup(to: target, pagesPerStep: 1024) { p in progress(p.completedPageCount, p.totalPageCount) }
            try target.close()
        } catch {
            throw StoreError(code: .write, path: destination, message: "backup failed: \(error)")
        }
    }
}

/// What `evaluatorctl salvage` found in a damaged store and did with it.
public struct SalvageResult: Sendable, Hashable {
    /// Records read from the damaged file (sent or not).
    public var readable = 0
    /// Records that could not be read (their pages are damaged), by seq range.
    public var unreadable: [ClosedRange<Int64>] = []
    /// Unsent records imported into the current store (same record ids).
    public var imported = 0
    /// Unsent records already in the current store (an earlier salvage): skipped.
    public var alreadyPresent = 0
    /// Rated cases restored to the one-rating-per-case table (R3), from every readable rating.
    public var ratedCases = 0

    public init() {}
}

/// Reads every readable record of a damaged store file, a window of seqs at a time, skipping
/// damaged pages: a window that fails is read again record by record, and what cannot be read
/// is reported by seq range.
public final class SalvageReader {
    let source: Store
    public let path: String
    /// The last seq the damaged store knew (its chain head, else its highest seq).
    public let last: Int64
    public private(set) var next: Int64 = 1
    public private(set) var result = SalvageResult()

    public init(path: String) throws(StoreError) {
        self.path = path
        source = try Store(readOnlyPath: path)
        last = (try? source.db.read { db in
            try Int64.fetchOne(db, sql: "SELECT head_seq FROM chain") ?? Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM record")
        }) ?? (try? source.db.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM record") }) ?? 0
        // Records before the retention checkpoint were pruned (sent long ago).
        next = ((try? source.db.read { db in try Int64.fetchOne(db, sql: "SELECT pruned_seq FROM chain") }) ?? 0) + 1
    }

    deinit { try? source.db.close() }

    /// The next window of readable records (`body`, `sent`); nil when all were read.
    public func nextWindow(_ size: Int64 = 1000) -> [(body: String, sent: Bool)]? {
        guard next <= last else { return nil }
        let upTo = min(last, next + size - 1)
        defer { next = upTo + 1 }
        var out: [(body: String, sent: Bool)] = []
        let sql = "SELECT body, sent_at FROM record WHERE seq BETWEEN ? AND ? ORDER BY seq"
        if let rows = try? source.db.read({ db in try Row.fetchAll(db, sql: sql, arguments: [next, upTo]) }) {
            out = rows.map { ($0["body"], ($0["sent_at"] as Int64?) != nil) }
        } else {
            var badStart: Int64?
            for seq in next...upTo {
                do {
                    let row = try source.db.read { db in try Row.fetchOne(db, sql: "SELECT body, sent_at FROM record WHERE seq = ?", arguments: [seq]) }
                    if let b = badStart { result.unreadable.append(b...(seq - 1)); badStart = nil }
                    if let row { out.append((row["body"], (row["sent_at"] as Int64?) != nil)) }
                } catch {
                    if badStart == nil { badStart = seq }
                }
            }
            if let b = badStart { result.unreadable.append(b...upTo) }
        }
        result.readable += out.count
        return out
    }
}

extension Store {
    /// The case ids a stored rated record covers (its case and batch), for R3.
    public static func ratedCases(of body: String) -> [(caseID: String, recordID: String)] {
        guard case let .object(o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)),
              o["outcome"] == .string(Outcome.rated.rawValue), case let .string(recordID) = o["record_id"] else { return [] }
        return ([o.string("case_id")].compactMap { $0 } + o.strings("batch_case_ids")).map { ($0, recordID) }
    }

    /// Imports salvaged records into this store: the unsent ones (their stored JSON) as records
    /// — same `record_id`, the flag `salvaged` added, sealed into this store's chain, counted in
    /// the statistics — and the cases of every readable rating into the one-rating-per-case
    /// table (R3). A record id already here is skipped, so salvaging twice imports once.
    public func importSalvaged(records bodies: [String], ratedCases: [(caseID: String, recordID: String)]) async throws(StoreError) -> (imported: Int, present: Int, ratedCases: Int) {
        let result = try await write("cannot import salvaged records") { [days] db -> (Int, Int, Int) in
            var cases = 0
            for (caseID, recordID) in ratedCases {
                try db.execute(sql: "INSERT OR IGNORE INTO rated_case (case_id, record_id) VALUES (?, ?)", arguments: [caseID, recordID])
                cases += db.changesCount
            }
            var head = try Self.chainHead(db)
            var rollups = Rollups(days, foldedHour: try Self.foldedHour(db))
            var imported = 0, present = 0
            for text in bodies {
                guard case var .object(o) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
                      case let .string(recordID) = o["record_id"] else {
                    throw StoreError(code: .write, path: "salvage", message: "a salvaged record is not a record object: \(text.prefix(80))")
                }
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM record WHERE record_id = ?", arguments: [recordID]) == true {
                    present += 1
                    continue
                }
                o["flags"] = .array((o.strings("flags") + [RecordFlag.salvaged.rawValue]).map(JSONValue.string))
                let link = ChainLink(chainID: head.chainID, seq: head.seq + 1, prevHash: head.hash)
                let (body, hash) = Chain.seal(object: o, link: link)
                let recordedAt = o.string("recorded_at").flatMap(Millis.parseRFC3339) ?? Millis(0)
                try db.execute(sql: """
                    INSERT INTO record (seq, record_id, window_id, case_id, outcome, level, bad, recorded_at, body, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [link.seq, recordID, o.string("window_id"), o.string("case_id"), o.string("outcome") ?? "", o.string("level"),
                                     o.bool("bad"), recordedAt.value, body, hash])
                rollups.add(recordedAt: recordedAt, windowID: o.string("window_id"), staffID: o.string("staff_id"), department: o.string("department"),
                            metrics: StatsMetrics.of(o))
                head = ChainHead(chainID: head.chainID, seq: link.seq, hash: hash)
                imported += 1
            }
            try db.execute(sql: "UPDATE chain SET head_seq = ?, head_hash = ? WHERE id = 1", arguments: [head.seq, head.hash])
            try rollups.write(db)
            return (imported, present, cases)
        }
        forgetCounts()
        return result
    }
}
