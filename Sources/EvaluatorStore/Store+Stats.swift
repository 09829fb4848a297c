import EvaluatorCore
import Foundation
import GRDB

/// Hourly rollups (R14, R15): kept in the same transaction as each record, so statistics are
/// right across restarts and survive retention. One row per hour, window, staff, department
/// and metric (`StatsMetrics`); '' stands for none (NULLs would not be equal in the key).
extension Store {
    static func createRollup(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE rollup (
                hour INTEGER NOT NULL,
                window_id TEXT NOT NULL,
                staff_id TEXT NOT NULL,
                department TEXT NOT NULL,
                metric TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (hour, window_id, staff_id, department, metric)
            ) WITHOUT ROWID
            """)
    }

    /// Adds one record's metrics to its hour.
    static func rollUp(_ db: Database, recordedAt: Millis, windowID: String?, staffID: String?, department: String?,
                       metrics: [(String, Int)]) throws {
        guard !metrics.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO rollup (hour, window_id, staff_id, department, metric, n) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET n = n + excluded.n
            """)
        let hour = recordedAt.value >= 0 ? recordedAt.value / 3_600_000 : (recordedAt.value - 3_599_999) / 3_600_000
        for (metric, n) in metrics {
            try upsert.execute(arguments: [hour, windowID ?? "", staffID ?? "", department ?? "", metric, n])
        }
    }

    static func rollUp(_ db: Database, _ r: RatingRecord) throws {
        let d = r.draft
        try rollUp(db, recordedAt: r.recordedAt, windowID: d.windowID, staffID: d.staffID, department: d.department,
                   metrics: StatsMetrics.of(outcome: d.outcome.rawValue, level: d.level?.rawValue, score: d.score, bad: d.isBad,
                                            flags: d.flags.map(\.rawValue), endedBy: d.endedBy, count: d.count))
    }

    /// Rolls up the records already stored (migration v7-rollup), from their bodies.
    static func rollUpExisting(_ db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT recorded_at, body FROM record ORDER BY seq")
        while let row = try rows.next() {
            guard case let .object(o) = try JSONDecoder().decode(JSONValue.self, from: Data((row["body"] as String).utf8)) else { continue }
            func string(_ k: String) -> String? { if case let .string(s) = o[k] { s } else { nil } }
            func int(_ k: String) -> Int? { if case let .int(i) = o[k] { i } else { nil } }
            var flags: [String] = []
            if case let .array(a) = o["flags"] { flags = a.compactMap { if case let .string(s) = $0 { s } else { nil } } }
            let bad: Bool = if case .bool(true) = o["bad"] { true } else { false }
            try rollUp(db, recordedAt: Millis(row["recorded_at"] as Int64), windowID: string("window_id"), staffID: string("staff_id"),
                       department: string("department"),
                       metrics: StatsMetrics.of(outcome: string("outcome") ?? "", level: string("level"), score: int("score"), bad: bad,
                                                flags: flags, endedBy: string("ended_by"), count: int("count")))
        }
    }

    /// The statistics for a query, from the rollups (a read: works while the daemon writes).
    public func stats(_ query: StatsQuery) throws(StoreError) -> StatsReport {
        try read { db in try Self.stats(db, query) }
    }

    public func statsAsync(_ query: StatsQuery) async throws(StoreError) -> StatsReport {
        try await readAsync { db in try Self.stats(db, query) }
    }

    static func stats(_ db: Database, _ query: StatsQuery) throws -> StatsReport {
        let (first, end) = query.hours
        let column: String
        switch query.by {
        case .window: column = "window_id"
        case .staff: column = "staff_id"
        case .department: column = "department"
        case .day: column = "hour"
        }
        let rows = try Row.fetchAll(db, sql: """
            SELECT \(column) AS k, metric, SUM(n) AS n FROM rollup WHERE hour >= ? AND hour < ? GROUP BY k, metric
            """, arguments: [first, end])
        var dayOfHour: [Int64: String] = [:]
        let folded = rows.map { row -> (key: String?, metric: String, n: Int) in
            let key: String?
            if query.by == .day {
                let hour: Int64 = row["k"]
                if dayOfHour[hour] == nil { dayOfHour[hour] = query.dayKey(hour: hour) }
                key = dayOfHour[hour]
            } else {
                let k: String = row["k"]
                key = k.isEmpty ? nil : k
            }
            return (key, row["metric"], row["n"])
        }
        return StatsReport(query: query, rows: folded)
    }
}

extension Store {
    /// `make bench` only (bench-storegen): marks every record sent but the newest `keepUnsent`,
    /// in one statement, as a long-running gateway's store would be.
    public func markAllSentForBench(keepUnsent: Int) async throws(StoreError) {
        try await write("cannot mark records sent") { db in
            try db.execute(sql: "UPDATE record SET sent_at = recorded_at + 1000 WHERE seq <= (SELECT MAX(seq) FROM record) - ?", arguments: [keepUnsent])
        }
        forgetCounts()
    }
}
