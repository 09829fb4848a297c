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

/// A damaged store this store replaced (`replaced_chain`, issue 20): its chain, the last head
/// that could be read (nil when none could), the file it was moved to. Salvage imports only
/// records of these chains.
public struct ReplacedChain: Sendable, Hashable {
    public var chainID: String?
    public var headSeq: Int64?
    public var headHash: String?
    public var file: String
    public var replacedAt: Millis

    public init(chainID: String?, headSeq: Int64?, headHash: String?, file: String, replacedAt: Millis) {
        self.chainID = chainID
        self.headSeq = headSeq
        self.headHash = headHash
        self.file = file
        self.replacedAt = replacedAt
    }

    init(head: ChainHead?, file: String, at: Millis) {
        self.init(chainID: head?.chainID, headSeq: head?.seq, headHash: head?.hash, file: file, replacedAt: at)
    }
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
            let carried = readableReplaced(path)
            let moved = moveAside(path, now: now)
            let fresh = try Store(path: path, timeZone: timeZone)
            fresh.noteReplaced(carried + [ReplacedChain(head: previous, file: moved, at: now)])
            return (fresh, StoreDamage(movedTo: moved, reason: error.message, previousChain: previous))
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
        let carried = (try? old.read { db in try Self.replacedChains(db) }) ?? Self.readableReplaced(path)
        try? old.close()
        let moved = Self.moveAside(path, now: now)
        let (fresh, _) = try Self.openPool(path, days)
        pool.withLock { $0 = fresh }
        forgetCounts()
        forgetChainID()
        noteReplaced(carried + [ReplacedChain(head: previous, file: moved, at: now)])
        return StoreDamage(movedTo: moved, reason: reason, previousChain: previous)
    }

    /// Writes the chains of the stores this one replaced (best effort: a store that cannot
    /// note them still takes ratings; salvage then refuses their records, naming why).
    func noteReplaced(_ chains: [ReplacedChain]) {
        _ = try? db.write { db in
            for c in chains {
                try db.execute(sql: "INSERT INTO replaced_chain (chain_id, head_seq, head_hash, file, replaced_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [c.chainID, c.headSeq, c.headHash, c.file, c.replacedAt.value])
            }
        }
    }

    /// The chains of this gateway's damaged stores that this store replaced, oldest first.
    public func replacedChains() throws(StoreError) -> [ReplacedChain] {
        try read { db in try Self.replacedChains(db) }
    }

    static func replacedChains(_ db: Database) throws -> [ReplacedChain] {
        try Row.fetchAll(db, sql: "SELECT chain_id, head_seq, head_hash, file, replaced_at FROM replaced_chain ORDER BY rowid").map {
            ReplacedChain(chainID: $0["chain_id"], headSeq: $0["head_seq"], headHash: $0["head_hash"], file: $0["file"], replacedAt: Millis($0["replaced_at"]))
        }
    }

    /// The replaced chains a damaged store noted, if they can be read.
    static func readableReplaced(_ path: String) -> [ReplacedChain] {
        guard let s = try? Store(readOnlyPath: path) else { return [] }
        defer { try? s.db.close() }
        return (try? s.replacedChains()) ?? []
    }

    /// The chain head of a store that may be damaged, if it can be read at all: its `chain`
    /// row, else the last readable record's chain fields.
    static func readableHead(_ path: String) -> ChainHead? {
        guard let s = try? Store(readOnlyPath: path) else { return nil }
        defer { try? s.db.close() }
        if let head = try? s.chainHead() { return head }
        guard let body = try? s.db.read({ db in try String.fetchOne(db, sql: "SELECT body FROM record ORDER BY seq DESC LIMIT 1") }),
              case let .object(o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)),
              let chainID = o.string("chain_id"), let seq = o.int("seq"), let hash = o.string("hash") else { return nil }
        return ChainHead(chainID: chainID, seq: Int64(seq), hash: hash)
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
        // Made here first, exclusively, 0600, never through a symlink (issue 20): the copy
        // holds every rating, and a planted link must not aim root's write elsewhere.
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(code: .write, path: destination, message: errno == EEXIST ? "already exists (or is a symlink); give a new file name (a backup never overwrites)"
                                                                                   : "cannot create it: \(String(cString: strerror(errno)))")
        }
        close(fd)
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
        guard case let .object(o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) else { return [] }
        return ratedCases(of: o)
    }

    /// The case ids a rated record object covers (its case and batch), for R3.
    static func ratedCases(of o: [String: JSONValue]) -> [(caseID: String, recordID: String)] {
        guard o["outcome"] == .string(Outcome.rated.rawValue), case let .string(recordID) = o["record_id"] else { return [] }
        return ([o.string("case_id")].compactMap { $0 } + o.strings("batch_case_ids")).map { ($0, recordID) }
    }

    /// The request of `importSalvaged` checked (issue 20): the objects of `records` to import,
    /// or `.refused` naming the first record that is not this gateway's, and why; and the stage
    /// of every record of the request (issue 22: R3 is per case and stage; `Stages.legacy` for
    /// records stored before stages).
    static func checkSalvaged(records bodies: [String], known: [String], ratedCases: [(caseID: String, recordID: String)], chains replaced: [ReplacedChain],
                              path: String, check: ([String: JSONValue]) -> String?) throws(StoreError) -> (objects: [[String: JSONValue]], stages: [String: String]) {
        func refuse(_ m: String) -> StoreError { StoreError(code: .refused, path: path, message: m) }
        var chains: [String: Int64?] = [:]
        for c in replaced { if let id = c.chainID { chains[id] = c.headSeq } }
        var objects: [[String: JSONValue]] = [], covers: [String: Set<String>] = [:], stages: [String: String] = [:]
        for (list, texts) in [("records", bodies), ("known", known)] {
            for (i, text) in texts.enumerated() {
                let at = "\(list)[\(i)]"
                guard text.utf8.count <= 64 << 10 else { throw refuse("\(at) is larger than 64 KiB") }
                guard case let .object(o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), let id = o.string("record_id") else {
                    throw refuse("\(at) is not a record object with a record_id")
                }
                let named = "\(at) (record \(id))"
                guard let chainID = o.string("chain_id"), let head = chains[chainID] else {
                    throw refuse("\(named): chain \(o.string("chain_id") ?? "none") is not one of this gateway's replaced stores (salvage takes only files evaluatord moved aside)")
                }
                let checked: Chain.Checked
                do {
                    checked = try Array(text.utf8).withUnsafeBytes { raw throws(Chain.ReadError) in try Chain.check(raw) }
                } catch {
                    throw refuse("\(named): its chain fields cannot be read (\(error))")
                }
                guard checked.stated == checked.actual else { throw refuse("\(named): its hash does not fit its bytes") }
                if let head, checked.seq > head { throw refuse("\(named): seq \(checked.seq) is past chain \(chainID)'s last readable head \(head)") }
                if let problem = check(o) { throw refuse("\(named): \(problem)") }
                covers[id, default: []].formUnion(Self.ratedCases(of: o).map(\.caseID))
                stages[id] = o.string("stage") ?? Stages.legacy
                if list == "records" { objects.append(o) }
            }
        }
        for (i, c) in ratedCases.enumerated() {
            guard let cases = covers[c.recordID] else { throw refuse("rated_cases[\(i)] names record \(c.recordID), which is not in the request") }
            guard cases.contains(c.caseID) else { throw refuse("rated_cases[\(i)]: record \(c.recordID) does not rate case \(c.caseID)") }
        }
        return (objects, stages)
    }

    /// Imports salvaged records into this store: the unsent ones (their stored JSON) as records
    /// — same `record_id`, the flag `salvaged` added, sealed into this store's chain, counted in
    /// the statistics — and the cases of every readable rating into the one-rating-per-case
    /// table (R3). A record id already here is skipped, so salvaging twice imports once.
    ///
    /// Only records of this gateway's damaged stores are taken (issue 20): each one's chain must
    /// be a `replaced_chain` of this store, its seq within that chain's last readable head, its
    /// hash must fit its bytes, and `check` (the rating fields against the configured scores)
    /// must find nothing; `known` are the damaged store's sent records — verified the same way,
    /// never imported — and a rated case may name only a record of the request that rates it.
    /// Anything else refuses the whole request (`.refused`, naming the record and why):
    /// nothing is changed.
    public func importSalvaged(records bodies: [String], known: [String] = [], ratedCases: [(caseID: String, recordID: String)],
                               check: @escaping @Sendable ([String: JSONValue]) -> String? = { _ in nil }) async throws(StoreError) -> (imported: Int, present: Int, ratedCases: Int) {
        // Checked before the write transaction, off the writer: parsing and hashing up to
        // 10,000 records there would hold every press's commit behind the salvage.
        let chains = try read { db in try Self.replacedChains(db) }
        let (objects, stageOf) = try Self.checkSalvaged(records: bodies, known: known, ratedCases: ratedCases, chains: chains, path: path, check: check)
        let result = try await write("cannot import salvaged records") { [days, stageOf] db -> (Int, Int, Int) in
            var cases = 0
            for (caseID, recordID) in ratedCases {
                try db.execute(sql: "INSERT OR IGNORE INTO rated_case (case_id, stage, record_id) VALUES (?, ?, ?)",
                               arguments: [caseID, stageOf[recordID] ?? Stages.legacy, recordID])
                cases += db.changesCount
            }
            var head = try Self.chainHead(db)
            var rollups = Rollups(days, foldedHour: try Self.foldedHour(db))
            var imported = 0, present = 0
            for var o in objects {
                guard let recordID = o.string("record_id") else { continue }
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
