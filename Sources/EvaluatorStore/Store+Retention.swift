import EvaluatorCore
import Foundation
import GRDB
import Synchronization

/// Retention (R16): records accepted upstream are pruned as a prefix of the chain, leaving a
/// checkpoint (the last pruned seq and hash) that keeps `verify` meaningful.
extension Store {
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
