import EvaluatorCore
import GRDB

extension Store {
    /// One slice of `evaluatorctl export`: records after `afterSeq` in seq order (a read
    /// transaction per slice, so the daemon's writer is never held), those recorded in
    /// [since, until) kept. `lastSeq` is where the next slice starts; nil when done.
    public func exportSlice(afterSeq: Int64, limit: Int, since: Millis, until: Millis) throws(StoreError)
        -> (records: [(body: String, sentAt: Millis?)], lastSeq: Int64?) {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT seq, body, recorded_at, sent_at FROM record WHERE seq > ? ORDER BY seq LIMIT ?",
                                        arguments: [afterSeq, limit])
            let kept = rows.filter { r in
                let at: Int64 = r["recorded_at"]
                return at >= since.value && at < until.value
            }.map { r in (body: r["body"] as String, sentAt: (r["sent_at"] as Int64?).map(Millis.init)) }
            return (kept, rows.count < limit ? nil : rows.last?["seq"])
        }
    }
}
