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
    public typealias Code = ErrorCode<StoreError>
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

/// What one event changes in the store: records written, sessions saved and removed.
public struct StoreChange: Sendable {
    public let records: [RatingRecord]
    public let saveSessions: [Session]
    public let removeSessions: [String]
    public let saveFloods: [Flood]
    public let removeFloods: [PadID]
    /// Windows' serving state (staff, paused) to insert or replace (issue 21: one commit path).
    public let saveWindowStates: [String: WindowState]
    /// The records' canonical bytes, made by the caller for chain `chainID` (nil: the writer
    /// encodes them; it also does when the store's chain changed meanwhile).
    public let templates: [ChainTemplate]?

    public init(records: [RatingRecord] = [], saveSessions: [Session] = [], removeSessions: [String] = [],
                saveFloods: [Flood] = [], removeFloods: [PadID] = [], saveWindowStates: [String: WindowState] = [:], chainID: String? = nil) {
        self.records = records
        self.templates = chainID.map { id in records.map { $0.template(chainID: id) } }
        self.saveSessions = saveSessions
        self.removeSessions = removeSessions
        self.saveFloods = saveFloods
        self.removeFloods = removeFloods
        self.saveWindowStates = saveWindowStates
    }

    public var isEmpty: Bool {
        records.isEmpty && saveSessions.isEmpty && removeSessions.isEmpty && saveFloods.isEmpty && removeFloods.isEmpty && saveWindowStates.isEmpty
    }
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
    let pool: Mutex<any DatabaseWriter>
    var db: any DatabaseWriter { pool.withLock { $0 } }
    let counters = Mutex(Counters())

    struct Counters {
        var counts: Counts?
        /// Changes when a counted write begins or ends.
        var generation = 0
        /// Counted writes under way.
        var writing = 0
    }

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

    /// A store on a writer the caller made and configured, migrated here (as GRDB's
    /// `AppDatabase`): store tests run on an in-memory `DatabaseQueue`. No durability is
    /// asserted (an in-memory database has no WAL); the daemon always opens by path.
    public init(_ writer: any DatabaseWriter, path: String = ":memory:", timeZone: TimeZone = .current) throws(StoreError) {
        self.path = path
        days = LocalDays(zone: timeZone)
        do {
            var found = try Self.dropForeignTriggers(writer)
            try Self.migrator(days).migrate(writer)
            found += try Self.foreignObjects(writer)
            findings = found
        } catch {
            throw StoreError(code: .open, path: path, message: "cannot migrate the database: \(error)")
        }
        pool = Mutex(writer)
    }

    /// A new, empty store in memory (tests of store logic that never reopen a file).
    public static func inMemory(timeZone: TimeZone = .current) throws(StoreError) -> Store {
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue() } catch {
            throw StoreError(code: .open, path: ":memory:", message: "cannot open an in-memory database: \(error)")
        }
        return try Store(queue, timeZone: timeZone)
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

    // MARK: Reads

    /// The stages a rated case's row may carry for `stage`: the stage, and for the first
    /// configured stage also rows stored before stages (`Stages.legacy`, issue 22).
    static func stageKeys(_ stage: String, firstStage: String) -> [String] {
        stage == firstStage ? [stage, Stages.legacy] : [stage]
    }

    /// What an open of `caseIDs` (the case first, then its batch) at `stage` must know, in one
    /// read: the first of them already rated at that stage (R3: one rating per case and stage),
    /// and the case's highest service number (issue 22; 0: none; a case rated before services
    /// existed had service 1).
    public func caseHistory(among caseIDs: [String], stage: String, firstStage: String) async throws(StoreError) -> (rated: String?, lastService: Int) {
        let keys = Self.stageKeys(stage, firstStage: firstStage)
        return try await readAsync { db in
            func rated(_ id: String, _ key: String) throws -> Bool {
                try Bool.fetchOne(db, sql: "SELECT 1 FROM rated_case WHERE case_id = ? AND stage = ?", arguments: [id, key]) == true
            }
            let hit = try caseIDs.first { id in try keys.contains { try rated(id, $0) } }
            guard let caseID = caseIDs.first else { return (hit, 0) }
            let last = try Int.fetchOne(db, sql: "SELECT MAX(service_no) FROM case_service WHERE case_id = ?", arguments: [caseID])
                ?? (try rated(caseID, Stages.legacy) ? 1 : 0)
            return (hit, last)
        }
    }

    /// The first of these cases that is already rated at `stage`, if any (R3).
    public func firstRatedCase(among caseIDs: [String], stage: String = Stages.defaultList[0], firstStage: String = Stages.defaultList[0]) async throws(StoreError) -> String? {
        try await caseHistory(among: caseIDs, stage: stage, firstStage: firstStage).rated
    }

    /// The rated record of a case at a stage, if any: its id and its session id, pad and channel
    /// (a screen pad's resend of an acked rating is answered with the same record, issue 14).
    public func ratedRecord(caseID: String, stage: String, firstStage: String) async throws(StoreError) -> (recordID: String, sessionID: String?, pad: String?)? {
        let keys = Self.stageKeys(stage, firstStage: firstStage)
        return try await readAsync { db in
            for key in keys {
                if let row = try Row.fetchOne(db, sql: """
                    SELECT r.record_id, json_extract(r.body, '$.session_id') AS sid, json_extract(r.body, '$.pad') AS pad
                    FROM rated_case c JOIN record r ON r.record_id = c.record_id WHERE c.case_id = ? AND c.stage = ?
                    """, arguments: [caseID, key]) { return (row["record_id"], row["sid"], row["pad"]) }
            }
            return nil
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

    /// Runs `PRAGMA integrity_check`; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try db.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }
}

extension ErrorCode where Domain == StoreError {
    public static var open: Self { Self("open") }
    public static var pragma: Self { Self("pragma") }
    public static var write: Self { Self("write") }
    public static var read: Self { Self("read") }
    public static var locked: Self { Self("locked") }
    public static var corrupt: Self { Self("corrupt") }
    public static var refused: Self { Self("refused") }
}
