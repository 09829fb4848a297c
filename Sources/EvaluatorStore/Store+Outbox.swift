import EvaluatorCore
import Foundation
import GRDB
import Synchronization

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

/// The outbox (R7, R16): batches to the central store, their answers, quarantine and resend.
extension Store {
    /// The conditions the outbox is made of, named once.
    enum Condition {
        /// Not accepted upstream and not set aside: waiting to be sent.
        static let waiting = "sent_at IS NULL AND quarantined_at IS NULL"
        /// Refused by the central store and set aside.
        static let quarantined = "sent_at IS NULL AND quarantined_at IS NOT NULL"
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

    static func batch(_ db: Database, _ batchID: String) throws -> OutboxBatch {
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

    func requeue(_ recordIDs: [String]?) async throws(StoreError) -> ResendResult {
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
}
