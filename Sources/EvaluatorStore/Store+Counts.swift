import EvaluatorCore
import Foundation
import GRDB
import Synchronization

/// The figures status shows (records, backlog, quarantined, last sent), counted once and then
/// kept up to date by every write.
extension Store {
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

    func countAll() async throws(StoreError) -> Counts {
        try await readAsync { db in
            Counts(records: try Self.storedRecords(db), backlog: try Self.count(db, where: Condition.waiting),
                   quarantined: try Self.count(db, where: Condition.quarantined), lastSentAt: try Self.lastSentAt(db))
        }
    }

    /// The status figures' queries, written once (the CLI's readers and the kept counts).
    /// Records stored: the chain has no gaps and retention prunes a prefix, so it is the head's
    /// seq less the checkpoint's — no scan (COUNT(*) read all of a 12 GB store, and the first
    /// /v1/status after a start on 10,000,000 records took seconds and delayed acks).
    static func storedRecords(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT head_seq - pruned_seq FROM chain WHERE id = 1") ?? 0
    }

    static func count(_ db: Database, where condition: String? = nil) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM record" + (condition.map { " WHERE \($0)" } ?? "")) ?? 0
    }

    static func lastSentAt(_ db: Database) throws -> Millis? {
        try Int64.fetchOne(db, sql: "SELECT last_sent_at FROM chain WHERE id = 1").map(Millis.init)
    }

    /// Runs a write that changes the figures and applies its change to the kept counts.
    func counted<T>(_ op: () async throws(StoreError) -> T, adjust: (T, inout Counts) -> Void) async throws(StoreError) -> T {
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
}
