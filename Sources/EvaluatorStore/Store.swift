import EvaluatorCore
import Foundation
import GRDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A store error names the database file and what failed.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// `corrupt`: SQLite said the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB): the store is
    /// replaced (`Store.replaceDamaged`), never left refusing every press.
    /// `refused`: the request asked for what the store will not do (an import of records that
    /// are not this gateway's damaged stores', issue 20); nothing was changed.
    public enum Code: String, Sendable { case open, pragma, write, read, locked, corrupt, refused }
    public var code: Code
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }

    public init(code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }
}

/// A batch of records on its way to the central store. Its id is the `Idempotency-Key`; once
/// assigned, a batch keeps its id and its records until it is sent (even across restarts).
public struct OutboxBatch: Sendable, Hashable {
    public var batchID: String
    public var recordIDs: [String]
    /// Canonical JSON of each record, in order.
    public var bodies: [String]
    public var attempts: Int
    /// The store's chain head when the batch was taken for sending: sent with it as an anchor
    /// (docs/CHAIN.md).
    public var chain: ChainHead?

    public init(batchID: String, recordIDs: [String], bodies: [String], attempts: Int, chain: ChainHead? = nil) {
        self.batchID = batchID
        self.recordIDs = recordIDs
        self.bodies = bodies
        self.attempts = attempts
        self.chain = chain
    }
}

/// What one event changes in the store: records written, sessions saved and removed.
public struct StoreChange: Sendable {
    public let records: [RatingRecord]
    public let saveSessions: [Session]
    public let removeSessions: [String]
    public let saveFloods: [Flood]
    public let removeFloods: [PadID]
    /// The records' canonical bytes, made by the caller for chain `chainID` (nil: the writer
    /// encodes them; it also does when the store's chain changed meanwhile).
    public let templates: [ChainTemplate]?

    public init(records: [RatingRecord] = [], saveSessions: [Session] = [], removeSessions: [String] = [],
                saveFloods: [Flood] = [], removeFloods: [PadID] = [], chainID: String? = nil) {
        self.records = records
        self.templates = chainID.map { id in records.map { $0.template(chainID: id) } }
        self.saveSessions = saveSessions
        self.removeSessions = removeSessions
        self.saveFloods = saveFloods
        self.removeFloods = removeFloods
    }

    public var isEmpty: Bool { records.isEmpty && saveSessions.isEmpty && removeSessions.isEmpty && saveFloods.isEmpty && removeFloods.isEmpty }
}

public struct StoredRecordSummary: Sendable, Hashable {
    public var seq: Int64
    public var recordID: String
    public var windowID: String?
    public var caseID: String?
    public var outcome: String
    public var level: String?
    public var bad: Bool
    public var recordedAt: Millis
    public var sentAt: Millis?
    public var body: String
}

/// The durable outbox and open-session table (R7, R16). One Sendable type owns the GRDB writer
/// and migrates in its init. WAL with `synchronous=FULL`: when `commit` returns, the
/// transaction is fsynced, and only then is a press acknowledged.
public final class Store: Sendable {
    public let path: String
    /// The open database. Swapped whole when a damaged file is replaced (`replaceDamaged`), so
    /// everything holding this store goes on with the new one.
    let pool: Mutex<DatabasePool>
    var db: DatabasePool { pool.withLock { $0 } }
    private let counters = Mutex(Counters())
    /// What the checks at opening found and dealt with (foreign triggers dropped): the daemon
    /// logs each, shows it in status and stores an `audit` record of it (R8).
    public let findings: [String]
    /// Local days for the daily rollup (`gateway.time_zone`).
    public let days: LocalDays
    private let chainIDCache = Mutex<String?>(nil)

    /// The current chain's id (cached; a replaced store has a new one).
    public var chainID: String? {
        if let id = chainIDCache.withLock({ $0 }) { return id }
        let id = try? chainHead().chainID
        chainIDCache.withLock { $0 = id }
        return id
    }

    func forgetChainID() { chainIDCache.withLock { $0 = nil } }

    public init(path: String, timeZone: TimeZone = .current) throws(StoreError) {
        self.path = path
        days = LocalDays(zone: timeZone)
        let (pool, found) = try Self.openPool(path, days)
        self.pool = Mutex(pool)
        findings = found
        try assertDurability()
    }

    /// Opens (creating if needed) and migrates the database at `path`.
    static func openPool(_ path: String, _ days: LocalDays) throws(StoreError) -> (DatabasePool, [String]) {
        do {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            var config = Configuration()
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            config.busyMode = .timeout(5)
            let db = try DatabasePool(path: path, configuration: config)
            // The pool switches its writer to WAL with synchronous=NORMAL after
            // prepareDatabase; commits must be fsynced before a press is acked, so set FULL on
            // the one writer connection (pragmas are per connection) and assert it below.
            try db.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            // Triggers first, before the migrations write: the store creates none, so any
            // trigger is foreign, and one could rewrite every later bad rating (R8).
            var found = try Self.dropForeignTriggers(db)
            try Self.migrator(days).migrate(db)
            found += try Self.foreignObjects(db)
            return (db, found)
        } catch {
            throw StoreError(code: isCorruption(error) ? .corrupt : .open, path: path, message: "cannot open or migrate the database: \(error)")
        }
    }

    /// SQLite's word that the file itself is damaged.
    static func isCorruption(_ error: any Error) -> Bool {
        guard let e = error as? DatabaseError else { return false }
        return e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB
    }

    /// Opens an existing database for reading only (evaluatorctl). Does not migrate.
    public init(readOnlyPath path: String, timeZone: TimeZone = .current) throws(StoreError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(code: .open, path: path, message: "no database here (has evaluatord run with this state_dir?)")
        }
        do {
            var config = Configuration()
            config.readonly = true
            let db = try DatabasePool(path: path, configuration: config)
            try db.read { _ in } // SQLite makes its -shm now, with our owner: given back below
            pool = Mutex(db)
            findings = []
            days = LocalDays(zone: timeZone)
        } catch {
            throw StoreError(code: .open, path: path, message: "cannot open the database: \(error)")
        }
        keepOwnership()
    }

    /// Gives the -wal and -shm files the database file's owner, group and mode. SQLite makes
    /// them with the opener's: `evaluatorctl` run as root would leave root-owned files the
    /// daemon (user evaluatord) cannot open.
    public func keepOwnership() {
        var db = stat()
        guard stat(path, &db) == 0 else { return }
        for suffix in ["-wal", "-shm"] {
            // Through the descriptor, never the name (issue 20): the service user owns the
            // folder and could make `-wal` a symlink to /etc/shadow for root to chown.
            let fd = open(path + suffix, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            if st.st_uid != db.st_uid || st.st_gid != db.st_gid { _ = fchown(fd, db.st_uid, db.st_gid) }
            if st.st_mode & 0o777 != db.st_mode & 0o777 { _ = fchmod(fd, db.st_mode & 0o777) }
        }
    }

    static func migrator(_ days: LocalDays) -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-records-sessions-outbox") { db in
            try db.execute(sql: """
                CREATE TABLE record (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    record_id TEXT NOT NULL UNIQUE,
                    window_id TEXT,
                    case_id TEXT,
                    outcome TEXT NOT NULL,
                    level TEXT,
                    bad INTEGER NOT NULL,
                    recorded_at INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    batch_id TEXT,
                    sent_at INTEGER
                );
                CREATE INDEX record_unsent ON record(seq) WHERE sent_at IS NULL;
                CREATE INDEX record_batch ON record(batch_id);
                CREATE TABLE rated_case (
                    case_id TEXT PRIMARY KEY,
                    record_id TEXT NOT NULL
                );
                CREATE TABLE open_session (
                    session_id TEXT PRIMARY KEY,
                    window_id TEXT NOT NULL UNIQUE,
                    body TEXT NOT NULL
                );
                CREATE TABLE batch (
                    batch_id TEXT PRIMARY KEY,
                    created_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT
                );
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
        }
        m.registerMigration("v2-quarantine") { db in
            // A record the central store refuses on its own (a poison record) is quarantined:
            // kept, listed, re-sendable, never silently dropped.
            try db.execute(sql: """
                ALTER TABLE record ADD COLUMN quarantined_at INTEGER;
                ALTER TABLE record ADD COLUMN quarantine_reason TEXT;
                ALTER TABLE batch ADD COLUMN parent TEXT;
                CREATE INDEX record_pending ON record(bad DESC, seq) WHERE sent_at IS NULL AND quarantined_at IS NULL;
                """)
        }
        m.registerMigration("v3-pending-batch-index") { db in
            // Finding the batch still in flight must not scan the records of every batch ever
            // sent: index only batched records not yet accepted (a 1,000,000-record drain was
            // quadratic without it). New batches are taken in `record_pending` order (INDEXED BY:
            // the planner otherwise picks `record_batch` for `batch_id IS NULL` and sorts the
            // whole backlog for every batch).
            try db.execute(sql: """
                CREATE INDEX record_batch_pending ON record(batch_id)
                    WHERE batch_id IS NOT NULL AND sent_at IS NULL AND quarantined_at IS NULL;
                """)
        }
        m.registerMigration("v4-drop-unused-meta") { db in
            // Created by v1 for settings that never came: nothing ever read or wrote it.
            try db.execute(sql: "DROP TABLE IF EXISTS meta")
        }
        m.registerMigration("v5-flood") { db in
            // A flooding pad's presses beyond the per-minute limit are counted here (one row per
            // pad) until their minute ends and they become one record: each is acked only once
            // its count is durable, and a chattering pad cannot fill the disk (issue 11).
            try db.execute(sql: "CREATE TABLE flood (pad TEXT PRIMARY KEY, body TEXT NOT NULL)")
        }
        m.registerMigration("v6-chain") { db in
            // Tamper evidence (issue 12, R8, R17): every record is chained — `seq` (the
            // record's own seq, 1, 2, 3 … with no gaps), `prev_hash`, `hash` — under one chain
            // id made now. Records stored before are chained here, in their stored order. The
            // head is kept in `chain` so a commit appends without reading the last record, and
            // `pruned_*` is the checkpoint that keeps `verify` meaningful after retention.
            try db.execute(sql: """
                CREATE TABLE chain (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    chain_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    head_seq INTEGER NOT NULL,
                    head_hash TEXT NOT NULL,
                    pruned_seq INTEGER NOT NULL DEFAULT 0,
                    pruned_hash TEXT NOT NULL
                );
                ALTER TABLE record ADD COLUMN hash TEXT;
                """)
            try Self.chainExisting(db, chainID: UUID().uuidString.lowercased(), now: Millis(date: Date()))
        }
        m.registerMigration("v7-rollup") { db in
            // Statistics (issue 12, R14, R15) from hourly rollups kept with each record:
            // a year's figures without reading a year's records, and right after retention.
            try Self.createRollup(db)
            try Self.rollUpExisting(db)
        }
        m.registerMigration("v8-rollup-day") { db in
            // A daily rollup beside the hourly one, a set of rows per grouping (window, staff,
            // department): a year by window reads ~365 × windows × metrics rows. Measured on
            // 10,000,000 records over a year: the hourly table held 13.7M rows and a year by
            // window took over 30 s; one daily row per window *and* staff still held 988k
            // rows (0.8 s to group in SQLite alone). Days are local (gateway.time_zone at
            // write time); the edges of a query not on local midnight come from the hours.
            try Self.createRollupDay(db)
            try Self.rollUpDaysFromHours(db, days)
        }
        m.registerMigration("v9-last-sent") { db in
            // When the last batch was accepted, kept beside the chain head: MAX(sent_at) read
            // every record (no index on sent_at), and status asked it after each start.
            try db.execute(sql: """
                ALTER TABLE chain ADD COLUMN last_sent_at INTEGER;
                UPDATE chain SET last_sent_at = (SELECT MAX(sent_at) FROM record);
                """)
        }
        m.registerMigration("v10-fold-days") { db in
            // The commit path writes hourly rollups only; finished hours are folded into the
            // daily rows by the next commit (a watermark): the four daily upserts per metric
            // on every commit halved the 64-pad ingest (perf: the rollups were half the
            // writer's time). v8 folded every hour there was.
            try db.execute(sql: """
                ALTER TABLE chain ADD COLUMN folded_hour INTEGER NOT NULL DEFAULT 0;
                UPDATE chain SET folded_hour = (SELECT COALESCE(MAX(hour) + 1, 0) FROM rollup);
                """)
        }
        m.registerMigration("v11-window-state") { db in
            // The staff signed in at each window and whether it is paused (issue 14): a restart
            // must not sign the hall out. One JSON body per window.
            try db.execute(sql: "CREATE TABLE window_state (window_id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        }
        m.registerMigration("v12-replaced-chain") { db in
            // The chains of this gateway's damaged stores (issue 20): salvage may import only
            // records of these, so an API caller cannot seal made-up records into the chain.
            // Written when a store is moved aside, carried into every later store, never pruned.
            try db.execute(sql: """
                CREATE TABLE replaced_chain (chain_id TEXT, head_seq INTEGER, head_hash TEXT, file TEXT NOT NULL, replaced_at INTEGER NOT NULL)
                """)
        }
        m.registerMigration("v13-screen-refusal-index") { db in
            // A screen pad's refused rating is kept as evidence once (issue 20): a resend after a
            // restart is looked up by its session id. Partial, so only refused screen ratings
            // are indexed: other records fail `outcome = 'no_case'` before any JSON is read.
            try db.execute(sql: """
                CREATE INDEX record_screen_refusal ON record(json_extract(body, '$.session_id'))
                    WHERE outcome = 'no_case' AND json_extract(body, '$.channel') = 'screen'
                """)
        }
        return m
    }

    /// Refuses to run unless the database really is in WAL mode with synchronous=FULL.
    private func assertDurability() throws(StoreError) {
        do {
            let (mode, sync) = try db.writeWithoutTransaction { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                 try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
            }
            guard mode.lowercased() == "wal", sync == 2 else {
                throw StoreError(code: .pragma, path: path, message: "expected journal_mode=wal and synchronous=FULL(2), got \(mode) and \(sync)")
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(code: .pragma, path: path, message: "cannot read pragmas: \(error)")
        }
    }

    /// The pragmas in force, for status and tests.
    public func pragmas() throws -> (journalMode: String, synchronous: Int) {
        try db.writeWithoutTransaction { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
        }
    }

    // MARK: Writes

    /// Commits several events' changes, in order, in one durable transaction (group commit:
    /// one fsync for every press that arrived while the previous commit was being fsynced).
    /// Waits without holding a thread: the write runs on the store's writer queue while the
    /// caller (the gateway actor) takes the next events.
    public func commit(_ changes: [StoreChange]) async throws(StoreError) {
        // The records are sealed into the chain on the writer, where their seq is known.
        let n = changes.reduce(0) { $0 + $1.records.count }
        try await counted({ () async throws(StoreError) in
            try await write("commit failed") { [days] db in try Self.apply(changes, db, days) }
        }, adjust: { _, c in c.records += n; c.backlog += n })
    }

    /// Runs `body` in one write transaction; an error names the store and `what` failed.
    func write<T: Sendable>(_ what: @autoclosure () -> String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await db.write(body)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(code: Self.isCorruption(error) ? .corrupt : .write, path: path, message: "\(what()): \(error)")
        }
    }

    /// The conditions the outbox is made of, named once.
    enum Condition {
        /// Not accepted upstream and not set aside: waiting to be sent.
        static let waiting = "sent_at IS NULL AND quarantined_at IS NULL"
        /// Refused by the central store and set aside.
        static let quarantined = "sent_at IS NULL AND quarantined_at IS NOT NULL"
    }

    private static func apply(_ changes: [StoreChange], _ db: Database, _ days: LocalDays) throws {
        let encoder = JSONEncoder()
        let insertRecord = try db.cachedStatement(sql: """
            INSERT INTO record (seq, record_id, window_id, case_id, outcome, level, bad, recorded_at, body, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var head = try chainHead(db)
        var rollups = Rollups(days, foldedHour: try foldedHour(db))
        for change in changes {
            for (i, r) in change.records.enumerated() {
                let link = ChainLink(chainID: head.chainID, seq: head.seq + 1, prevHash: head.hash)
                let (body, hash) = change.templates.map { $0[i] }.flatMap { $0.chainID == head.chainID ? Chain.seal($0, link: link) : nil }
                    ?? Chain.seal(r, link: link)
                try insertRecord.execute(arguments: [link.seq, r.recordID, r.draft.windowID, r.draft.caseID, r.draft.outcome.rawValue,
                                                     r.draft.level?.rawValue, r.draft.isBad, r.recordedAt.value, body, hash])
                head = ChainHead(chainID: head.chainID, seq: link.seq, hash: hash)
                rollups.add(r)
                if r.draft.outcome == .rated, let caseID = r.draft.caseID {
                    for id in [caseID] + r.draft.batchCaseIDs {
                        try db.cachedStatement(sql: "INSERT OR IGNORE INTO rated_case (case_id, record_id) VALUES (?, ?)")
                            .execute(arguments: [id, r.recordID])
                    }
                }
            }
            for id in change.removeSessions {
                try db.cachedStatement(sql: "DELETE FROM open_session WHERE session_id = ?").execute(arguments: [id])
            }
            for pad in change.removeFloods {
                try db.cachedStatement(sql: "DELETE FROM flood WHERE pad = ?").execute(arguments: [pad.description])
            }
            for f in change.saveFloods {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO flood (pad, body) VALUES (?, ?)")
                    .execute(arguments: [f.pad.description, String(decoding: try encoder.encode(f), as: UTF8.self)])
            }
            for s in change.saveSessions {
                let body = String(decoding: try encoder.encode(s), as: UTF8.self)
                try db.cachedStatement(sql: "DELETE FROM open_session WHERE window_id = ? AND session_id != ?")
                    .execute(arguments: [s.windowID, s.sessionID])
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO open_session (session_id, window_id, body) VALUES (?, ?, ?)")
                    .execute(arguments: [s.sessionID, s.windowID, body])
            }
        }
        try db.cachedStatement(sql: "UPDATE chain SET head_seq = ?, head_hash = ? WHERE id = 1").execute(arguments: [head.seq, head.hash])
        try rollups.write(db)
    }

    // MARK: Reads

    /// The first of these cases that is already rated, if any (R3).
    public func firstRatedCase(among caseIDs: [String]) async throws(StoreError) -> String? {
        try await readAsync { db in
            for id in caseIDs where try Bool.fetchOne(db, sql: "SELECT 1 FROM rated_case WHERE case_id = ?", arguments: [id]) == true {
                return id
            }
            return nil
        }
    }

    /// The rated record of a case, if any: its id and its session id, pad and channel (a screen
    /// pad's resend of an acked rating is answered with the same record, issue 14).
    public func ratedRecord(caseID: String) async throws(StoreError) -> (recordID: String, sessionID: String?, pad: String?)? {
        try await readAsync { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT r.record_id, json_extract(r.body, '$.session_id') AS sid, json_extract(r.body, '$.pad') AS pad
                FROM rated_case c JOIN record r ON r.record_id = c.record_id WHERE c.case_id = ?
                """, arguments: [caseID]) else { return nil }
            return (row["record_id"], row["sid"], row["pad"])
        }
    }

    /// Whether a screen pad's refused rating (this pad, session id and level) is stored already:
    /// its resend after a restart is never a second record (issue 20).
    public func screenRefusalStored(pad: PadID, sessionID: String, level: Level) async throws(StoreError) -> Bool {
        try await readAsync { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM record INDEXED BY record_screen_refusal
                    WHERE outcome = 'no_case' AND json_extract(body, '$.channel') = 'screen'
                      AND json_extract(body, '$.session_id') = ? AND level = ? AND json_extract(body, '$.pad') = ?)
                """, arguments: [sessionID, level.rawValue, pad.description]) ?? false
        }
    }

    public func openSessions() throws(StoreError) -> [Session] {
        try read { db in
            let decoder = JSONDecoder()
            return try String.fetchAll(db, sql: "SELECT body FROM open_session ORDER BY window_id").map {
                try decoder.decode(Session.self, from: Data($0.utf8))
            }
        }
    }

    /// Flood counts not yet written as records (restored at start).
    public func openFloods() throws(StoreError) -> [Flood] {
        try read { db in
            let decoder = JSONDecoder()
            return try String.fetchAll(db, sql: "SELECT body FROM flood ORDER BY pad").map {
                try decoder.decode(Flood.self, from: Data($0.utf8))
            }
        }
    }

    /// When the oldest record still waiting to be sent was recorded (nil: none waits).
    public func oldestWaiting() async throws(StoreError) -> Millis? {
        try await readAsync { db in
            try Int64.fetchOne(db, sql: "SELECT recorded_at FROM record WHERE \(Condition.waiting) ORDER BY seq LIMIT 1").map(Millis.init)
        }
    }

    public func backlogCount() throws(StoreError) -> Int {
        try read { db in try Self.count(db, where: Condition.waiting) }
    }

    public func quarantinedCount() throws(StoreError) -> Int {
        try read { db in try Self.count(db, where: Condition.quarantined) }
    }

    public struct Counts: Sendable, Hashable {
        public var records: Int
        public var backlog: Int
        public var quarantined: Int
        public var lastSentAt: Millis?
    }

    /// The figures status shows: counted once from the store, then kept up to date by every
    /// write, so polling status costs nothing however large the store (issue 11: COUNT(*) on
    /// the gateway actor delayed every press's ack).
    public func counts() async throws(StoreError) -> Counts {
        for _ in 0..<3 {
            let (cached, generation, writing) = counters.withLock { ($0.counts, $0.generation, $0.writing) }
            if let cached { return cached }
            let fresh = try await countAll()
            // Kept only if no write was under way when counting began and none began or ended
            // meanwhile: a write's change is applied to kept counts once it has committed, so a
            // count that already saw it would count it twice.
            let kept = counters.withLock { c -> Bool in
                guard writing == 0, c.generation == generation else { return false }
                c.counts = fresh
                return true
            }
            if kept { return fresh }
        }
        return try await countAll()
    }

    private func countAll() async throws(StoreError) -> Counts {
        try await readAsync { db in
            Counts(records: try Self.storedRecords(db), backlog: try Self.count(db, where: Condition.waiting),
                   quarantined: try Self.count(db, where: Condition.quarantined), lastSentAt: try Self.lastSentAt(db))
        }
    }

    /// The status figures' queries, written once (the CLI's readers and the kept counts).
    /// Records stored: the chain has no gaps and retention prunes a prefix, so it is the head's
    /// seq less the checkpoint's — no scan (COUNT(*) read all of a 12 GB store, and the first
    /// /v1/status after a start on 10,000,000 records took seconds and delayed acks).
    private static func storedRecords(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT head_seq - pruned_seq FROM chain WHERE id = 1") ?? 0
    }

    private static func count(_ db: Database, where condition: String? = nil) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM record" + (condition.map { " WHERE \($0)" } ?? "")) ?? 0
    }

    private static func lastSentAt(_ db: Database) throws -> Millis? {
        try Int64.fetchOne(db, sql: "SELECT last_sent_at FROM chain WHERE id = 1").map(Millis.init)
    }

    private struct Counters {
        var counts: Counts?
        /// Changes when a counted write begins or ends.
        var generation = 0
        /// Counted writes under way.
        var writing = 0
    }

    /// Runs a write that changes the figures and applies its change to the kept counts.
    private func counted<T>(_ op: () async throws(StoreError) -> T, adjust: (T, inout Counts) -> Void) async throws(StoreError) -> T {
        counters.withLock { $0.writing += 1; $0.generation += 1 }
        do {
            let result = try await op()
            counters.withLock { c in
                c.writing -= 1
                c.generation += 1
                if c.counts != nil { adjust(result, &c.counts!) }
            }
            return result
        } catch {
            counters.withLock { $0.writing -= 1; $0.generation += 1 }
            throw error
        }
    }

    /// Drops the kept counts (after retention removed records): counted again when next asked.
    func forgetCounts() {
        counters.withLock { $0.counts = nil; $0.generation += 1 }
    }

    public func recordCount() throws(StoreError) -> Int {
        try read { db in try Self.storedRecords(db) }
    }

    public func lastSentAt() throws(StoreError) -> Millis? {
        try read { db in try Self.lastSentAt(db) }
    }

    public func recentRecords(limit: Int) throws(StoreError) -> [StoredRecordSummary] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, record_id, window_id, case_id, outcome, level, bad, recorded_at, sent_at, body
                FROM record ORDER BY seq DESC LIMIT ?
                """, arguments: [limit]).map { row in
                StoredRecordSummary(
                    seq: row["seq"], recordID: row["record_id"], windowID: row["window_id"], caseID: row["case_id"],
                    outcome: row["outcome"], level: row["level"], bad: row["bad"],
                    recordedAt: Millis(row["recorded_at"]), sentAt: (row["sent_at"] as Int64?).map(Millis.init),
                    body: row["body"]
                )
            }
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try db.read(body)
        } catch {
            throw StoreError(code: Self.isCorruption(error) ? .corrupt : .read, path: path, message: "read failed: \(error)")
        }
    }

    /// The windows' serving state (staff signed in, paused), by window id.
    public func windowStates() throws(StoreError) -> [String: WindowState] {
        try read { db in
            var out: [String: WindowState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT window_id, body FROM window_state") {
                let body: String = row["body"]
                if let s = try? JSONDecoder().decode(WindowState.self, from: Data(body.utf8)) { out[row["window_id"]] = s }
            }
            return out
        }
    }

    /// Saves one window's serving state (durably, before the API answers).
    public func saveWindowState(_ windowID: String, _ state: WindowState) async throws(StoreError) {
        let body = String(decoding: (try? JSONEncoder().encode(state)) ?? Data("{}".utf8), as: UTF8.self)
        do {
            try await db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO window_state (window_id, body) VALUES (?, ?)", arguments: [windowID, body])
            }
        } catch {
            throw StoreError(code: Self.isCorruption(error) ? .corrupt : .write, path: path, message: "cannot save the window's state: \(error)")
        }
    }

    /// An empty write transaction through the writer (BEGIN IMMEDIATE; COMMIT): returns once the
    /// writer is free and the write lock can be taken — the watchdog's proof that the writer makes
    /// progress. It writes nothing, so a full disk does not fail it.
    public func writerProbe() async throws(StoreError) {
        do {
            try await db.write { _ in }
        } catch {
            throw StoreError(code: Self.isCorruption(error) ? .corrupt : .write, path: path, message: "the writer cannot take the write lock: \(error)")
        }
    }

    func readAsync<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await db.read(body)
        } catch {
            throw StoreError(code: Self.isCorruption(error) ? .corrupt : .read, path: path, message: "read failed: \(error)")
        }
    }

    // MARK: Outbox

    /// The batch to send next: the batch already assigned and unsent (so a re-send after a
    /// crash carries the same key and records), else a new batch of up to `max` unsent
    /// records — bad ratings first (R13), then oldest first. Quarantined records are skipped.
    /// `excluding`: batches other senders are working on right now (several in flight).
    public func nextBatch(max: Int, newBatchID: String, now: Millis, excluding: Set<String> = []) async throws(StoreError) -> OutboxBatch? {
        try await write("cannot take the next batch") { db -> OutboxBatch? in
            var batchID = try String.fetchAll(db, sql: """
                SELECT b.batch_id FROM batch b
                WHERE EXISTS (SELECT 1 FROM record r WHERE r.batch_id = b.batch_id AND r.sent_at IS NULL AND r.quarantined_at IS NULL)
                ORDER BY b.rowid LIMIT ?
                """, arguments: [excluding.count + 1]).first { !excluding.contains($0) }
            if batchID == nil {
                // One statement assigns the whole batch (500 single-row UPDATEs held the
                // writer, and so delayed acks, during a backlog drain).
                try db.execute(sql: """
                    UPDATE record SET batch_id = ? WHERE seq IN (
                        SELECT seq FROM record INDEXED BY record_pending
                        WHERE \(Condition.waiting) AND batch_id IS NULL
                        ORDER BY bad DESC, seq LIMIT ?)
                    """, arguments: [newBatchID, max])
                guard db.changesCount > 0 else { return nil }
                try db.execute(sql: "INSERT INTO batch (batch_id, created_at) VALUES (?, ?)", arguments: [newBatchID, now.value])
                batchID = newBatchID
            }
            guard let batchID else { return nil }
            return try Self.batch(db, batchID)
        }
    }

    private static func batch(_ db: Database, _ batchID: String) throws -> OutboxBatch {
        let rows = try Row.fetchAll(db, sql: """
            SELECT record_id, body FROM record WHERE batch_id = ? AND \(Condition.waiting) ORDER BY bad DESC, seq
            """, arguments: [batchID])
        let attempts = try Int.fetchOne(db, sql: "SELECT attempts FROM batch WHERE batch_id = ?", arguments: [batchID]) ?? 0
        return OutboxBatch(batchID: batchID, recordIDs: rows.map { $0["record_id"] }, bodies: rows.map { $0["body"] }, attempts: attempts,
                           chain: try chainHead(db))
    }

    /// The central store refused a whole batch as malformed: split it in two new batches (new
    /// keys: nothing of the old one was accepted), persisted so that a crash in the middle of
    /// a bisection re-sends the same halves. Returns the halves, first half first.
    public func split(batchID: String, into ids: (String, String), now: Millis) async throws(StoreError) -> [OutboxBatch] {
        try await write("cannot split batch \(batchID)") { db in
            let seqs = try Int64.fetchAll(db, sql: """
                SELECT seq FROM record WHERE batch_id = ? AND \(Condition.waiting) ORDER BY bad DESC, seq
                """, arguments: [batchID])
            let half = (seqs.count + 1) / 2
            for (id, part) in [(ids.0, seqs.prefix(half)), (ids.1, seqs.dropFirst(half))] where !part.isEmpty {
                try db.execute(sql: "INSERT INTO batch (batch_id, created_at, parent) VALUES (?, ?, ?)", arguments: [id, now.value, batchID])
                for seq in part {
                    try db.execute(sql: "UPDATE record SET batch_id = ? WHERE seq = ?", arguments: [id, seq])
                }
            }
            return try [ids.0, ids.1].map { try Self.batch(db, $0) }.filter { !$0.recordIDs.isEmpty }
        }
    }

    /// Sets a poison record aside: kept, listed by `evaluatorctl pending --quarantined`,
    /// re-sendable with `evaluatorctl resend`.
    public func quarantine(batchID: String, reason: String, at: Millis) async throws(StoreError) {
        _ = try await counted({ () async throws(StoreError) in
            try await write("cannot quarantine batch \(batchID)") { db -> Int in
                try db.execute(sql: """
                    UPDATE record SET quarantined_at = ?, quarantine_reason = ? WHERE batch_id = ? AND \(Condition.waiting)
                    """, arguments: [at.value, reason, batchID])
                return db.changesCount
            }
        }, adjust: { n, c in c.backlog -= n; c.quarantined += n })
    }

    /// Puts quarantined records (all, or those named) back in the queue, in new batches.
    /// Returns the ids re-queued and, of those named, the ones that could not be (unknown,
    /// already sent, or not quarantined).
    @discardableResult
    public func resend(recordIDs: [String]? = nil) async throws(StoreError) -> ResendResult {
        try await counted({ () async throws(StoreError) in try await requeue(recordIDs) },
                          adjust: { r, c in c.quarantined -= r.requeued.count; c.backlog += r.requeued.count })
    }

    private func requeue(_ recordIDs: [String]?) async throws(StoreError) -> ResendResult {
        try await write("cannot re-queue records") { db in
            let requeue = "UPDATE record SET quarantined_at = NULL, quarantine_reason = NULL, batch_id = NULL WHERE record_id = ?"
            let wanted = try recordIDs ?? String.fetchAll(db, sql: "SELECT record_id FROM record WHERE \(Condition.quarantined) ORDER BY seq")
            var result = ResendResult(requeued: [], notResendable: [])
            for id in wanted {
                let quarantined = try Bool.fetchOne(db, sql: "SELECT 1 FROM record WHERE record_id = ? AND \(Condition.quarantined)", arguments: [id]) == true
                if quarantined {
                    try db.execute(sql: requeue, arguments: [id])
                    result.requeued.append(id)
                } else {
                    result.notResendable.append(id)
                }
            }
            return result
        }
    }

    public struct PendingRecord: Sendable, Hashable {
        public var recordID: String
        public var windowID: String?
        public var caseID: String?
        public var outcome: String
        public var bad: Bool
        public var recordedAt: Millis
        public var batchID: String?
        public var quarantinedAt: Millis?
        public var quarantineReason: String?
    }

    /// Unsent records (or only the quarantined ones), oldest first.
    public func pending(quarantined: Bool, limit: Int) throws(StoreError) -> [PendingRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT record_id, window_id, case_id, outcome, bad, recorded_at, batch_id, quarantined_at, quarantine_reason
                FROM record WHERE sent_at IS NULL AND (quarantined_at IS NOT NULL OR ? = 0) ORDER BY seq LIMIT ?
                """, arguments: [quarantined, limit]).map { r in
                PendingRecord(
                    recordID: r["record_id"], windowID: r["window_id"], caseID: r["case_id"], outcome: r["outcome"], bad: r["bad"],
                    recordedAt: Millis(r["recorded_at"]), batchID: r["batch_id"],
                    quarantinedAt: (r["quarantined_at"] as Int64?).map(Millis.init), quarantineReason: r["quarantine_reason"]
                )
            }
        }
    }

    /// Marks every record of the batch sent — only ever after the central store answered 2xx.
    public func markSent(batchID: String, at: Millis) async throws(StoreError) {
        _ = try await counted({ () async throws(StoreError) in
            try await write("cannot mark batch \(batchID) sent") { db -> Int in
                try db.execute(sql: "UPDATE record SET sent_at = ? WHERE batch_id = ? AND \(Condition.waiting)", arguments: [at.value, batchID])
                let n = db.changesCount
                if n > 0 {
                    try db.execute(sql: "UPDATE chain SET last_sent_at = MAX(COALESCE(last_sent_at, 0), ?) WHERE id = 1", arguments: [at.value])
                }
                try db.execute(sql: "UPDATE batch SET last_error = NULL WHERE batch_id = ?", arguments: [batchID])
                return n
            }
        }, adjust: { n, c in
            c.backlog -= n
            if n > 0 { c.lastSentAt = max(c.lastSentAt ?? at, at) }
        })
    }

    public func noteFailure(batchID: String, error message: String) async throws(StoreError) {
        try await write("cannot note failure of batch \(batchID)") { db in
            try db.execute(sql: "UPDATE batch SET attempts = attempts + 1, last_error = ? WHERE batch_id = ?", arguments: [message, batchID])
        }
    }

    /// Runs `PRAGMA integrity_check`; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try db.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }
}
