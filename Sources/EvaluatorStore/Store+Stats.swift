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

    /// The daily rollup, one set of rows per grouping (`dim`: window, staff, department):
    /// a year by window reads 365 × windows × metrics rows, not × staff too (measured on
    /// 10,000,000 records: one row per day, window, staff and department held 988k rows for a
    /// year and grouping them took 0.8 s in SQLite alone).
    static func createRollupDay(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE rollup_day (
                dim TEXT NOT NULL,
                day INTEGER NOT NULL,
                key TEXT NOT NULL,
                metric TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (dim, day, key, metric)
            ) WITHOUT ROWID
            """)
    }

    /// An upsert's new amount, clamped to 64 bits: SQLite turns an integer `+` that overflows
    /// into a REAL, which read back as an Int stops the process (issue 20: two imported scores
    /// of Int.max made every `/v1/stats` crash). Counts never come near; the clamp is the bound.
    static let clampedSum = "CAST(MAX(-9.2e18, MIN(9.2e18, n + excluded.n)) AS INTEGER)"

    /// A summed amount read back whatever SQLite stored (integer, real, null, text): never
    /// traps. Sums are `TOTAL` (a REAL, never SQLite's "integer overflow" error) clamped here.
    static func amount(_ v: DatabaseValue) -> Int {
        switch v.storage {
        case let .int64(i): return Int(i)
        case let .double(d): return d.isNaN ? 0 : Int(max(-9.2e18, min(9.2e18, d)))
        default: return 0
        }
    }

    /// The daily dimensions and the hourly column each comes from.
    static let dayDims: [(dim: String, column: String)] = [("window", "window_id"), ("staff", "staff_id"), ("department", "department")]

    /// Fills the daily rollup from the hourly one, hour by hour (v8).
    static func rollUpDaysFromHours(_ db: Database, _ days: LocalDays) throws {
        try foldHours(db, days, try Int64.fetchAll(db, sql: "SELECT DISTINCT hour FROM rollup ORDER BY hour"))
    }

    /// Folds the hours `from..<to` into the daily rows and moves the watermark to `to`. The
    /// commit path writes hourly rows only (four daily upserts per metric halved the 64-pad
    /// ingest, perf); a finished hour is folded once, by the first commit after it.
    static func fold(_ db: Database, _ days: LocalDays, from: Int64, to: Int64) throws {
        try foldHours(db, days, try Int64.fetchAll(db, sql: "SELECT DISTINCT hour FROM rollup WHERE hour >= ? AND hour < ? ORDER BY hour", arguments: [from, to]))
        try db.execute(sql: "UPDATE chain SET folded_hour = ? WHERE id = 1", arguments: [to])
    }

    static func foldHours(_ db: Database, _ days: LocalDays, _ hours: [Int64]) throws {
        for hour in hours {
            for (dim, column) in dayDims {
                try db.execute(sql: """
                    INSERT INTO rollup_day (dim, day, key, metric, n)
                    SELECT ?, ?, \(column), metric, CAST(MAX(-9.2e18, MIN(9.2e18, TOTAL(n))) AS INTEGER) FROM rollup WHERE hour = ? GROUP BY \(column), metric
                    ON CONFLICT DO UPDATE SET n = \(Store.clampedSum)
                    """, arguments: [dim, days.day(of: Millis(hour * 3_600_000)), hour])
            }
        }
    }

    /// Metrics gathered over one transaction and written once per bucket at its end: a group
    /// commit or a salvage chunk touches each (hour, window, staff, department, metric) row once,
    /// however many of its records fall in it.
    struct Rollups {
        struct Key: Hashable {
            var bucket: Int64
            var window: String
            var staff: String
            var department: String
            var metric: String
        }

        struct DayKey: Hashable {
            var dim: String
            var day: Int64
            var key: String
            var metric: String
        }

        let days: LocalDays
        /// Hours before this are folded into the daily rows: a record in one of them (a late
        /// one: salvaged, a clock set back) goes to its day at once; later hours are folded
        /// when they are over (`fold`).
        let foldedHour: Int64
        var hourly: [Key: Int] = [:]
        var daily: [DayKey: Int] = [:]
        /// The latest hour a record of this transaction fell in.
        var latestHour: Int64 = .min

        init(_ days: LocalDays, foldedHour: Int64) {
            self.days = days
            self.foldedHour = foldedHour
        }

        mutating func add(recordedAt: Millis, windowID: String?, staffID: String?, department: String?, metrics: [(String, Int)]) {
            let hour = recordedAt.value >= 0 ? recordedAt.value / 3_600_000 : (recordedAt.value - 3_599_999) / 3_600_000
            latestHour = max(latestHour, hour)
            let late = hour < foldedHour
            let day = days.day(of: recordedAt)
            for (metric, n) in metrics {
                hourly[Key(bucket: hour, window: windowID ?? "", staff: staffID ?? "", department: department ?? "", metric: metric), default: 0].addClamped(n)
                guard late else { continue }
                daily[DayKey(dim: "window", day: day, key: windowID ?? "", metric: metric), default: 0].addClamped(n)
                daily[DayKey(dim: "staff", day: day, key: staffID ?? "", metric: metric), default: 0].addClamped(n)
                daily[DayKey(dim: "department", day: day, key: department ?? "", metric: metric), default: 0].addClamped(n)
            }
        }

        mutating func add(_ r: RatingRecord) {
            let d = r.draft
            add(recordedAt: r.recordedAt, windowID: d.windowID, staffID: d.staffID, department: d.department,
                metrics: StatsMetrics.of(outcome: d.outcome.rawValue, level: d.level?.rawValue, score: d.score, bad: d.isBad,
                                         flags: d.flags.map(\.rawValue), endedBy: d.endedBy, count: d.count))
        }

        func write(_ db: Database) throws {
            if !hourly.isEmpty {
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO rollup (hour, window_id, staff_id, department, metric, n) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET n = \(Store.clampedSum)
                    """)
                for (k, n) in hourly { try upsert.execute(arguments: [k.bucket, k.window, k.staff, k.department, k.metric, n]) }
            }
            if !daily.isEmpty {
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO rollup_day (dim, day, key, metric, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = \(Store.clampedSum)
                    """)
                for (k, n) in daily { try upsert.execute(arguments: [k.dim, k.day, k.key, k.metric, n]) }
            }
            // The hours before this transaction's latest are over: fold them into their days.
            if latestHour > foldedHour { try Store.fold(db, days, from: foldedHour, to: latestHour) }
        }
    }

    /// The hourly rollup alone: migration v7 ran before the daily table existed (v8 fills it
    /// from the hours).
    static func rollUpHourOnly(_ db: Database, recordedAt: Millis, windowID: String?, staffID: String?, department: String?,
                               metrics: [(String, Int)]) throws {
        let hour = recordedAt.value >= 0 ? recordedAt.value / 3_600_000 : (recordedAt.value - 3_599_999) / 3_600_000
        for (metric, n) in metrics {
            try db.execute(sql: """
                INSERT INTO rollup (hour, window_id, staff_id, department, metric, n) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET n = \(Store.clampedSum)
                """, arguments: [hour, windowID ?? "", staffID ?? "", department ?? "", metric, n])
        }
    }

    /// Rolls up the records already stored (migration v7-rollup), from their bodies.
    static func rollUpExisting(_ db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT recorded_at, body FROM record ORDER BY seq")
        while let row = try rows.next() {
            guard case let .object(o) = try JSONDecoder().decode(JSONValue.self, from: Data((row["body"] as String).utf8)) else { continue }
            try rollUpHourOnly(db, recordedAt: Millis(row["recorded_at"] as Int64), windowID: o.string("window_id"), staffID: o.string("staff_id"),
                               department: o.string("department"), metrics: StatsMetrics.of(o))
        }
    }

    /// The statistics for a query, from the rollups (a read: works while the daemon writes).
    public func stats(_ query: StatsQuery) throws(StoreError) -> StatsReport {
        try read { [days] db in try Self.stats(db, query, days) }
    }

    public func statsAsync(_ query: StatsQuery) async throws(StoreError) -> StatsReport {
        try await readAsync { [days] db in try Self.stats(db, query, days) }
    }

    /// The watermark: hours before it are in the daily rows.
    static func foldedHour(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT folded_hour FROM chain WHERE id = 1") ?? 0
    }

    /// Whole local days from `rollup_day` — those folded already — and the rest (the hours at
    /// the edges, the days not yet folded) from `rollup` (`StatsQuery.plan`).
    static func stats(_ db: Database, _ query: StatsQuery, _ days: LocalDays) throws -> StatsReport {
        let column: String
        switch query.by {
        case .window: column = "window_id"
        case .staff: column = "staff_id"
        case .department: column = "department"
        case .day: column = ""
        }
        // The daily rollup is keyed by the store's zone; asked in another zone, hours only.
        var plan = days.zone.identifier == query.timeZone.identifier ? query.plan(days) : (days: nil, hours: [query.hours.first..<query.hours.end])
        if let d = plan.days {
            // Days after the watermark are read from their hours.
            let folded = try foldedHour(db)
            var usable = d.upperBound
            while usable > d.lowerBound && days.start(of: usable).value / 3_600_000 > folded { usable -= 1 }
            if usable < d.upperBound {
                plan.hours.append(days.start(of: usable).value / 3_600_000..<days.start(of: d.upperBound).value / 3_600_000)
                plan.days = usable > d.lowerBound ? d.lowerBound..<usable : nil
            }
        }
        var folded: [(key: String?, metric: String, n: Int)] = []
        func add(_ rows: [Row], day: (Int64) -> String) {
            for row in rows {
                let key: String?
                if query.by == .day {
                    key = day(row["k"])
                } else {
                    let k: String = row["k"]
                    key = k.isEmpty ? nil : k
                }
                folded.append((key, row["metric"], Self.amount(row["n"])))
            }
        }
        if let d = plan.days {
            // By day: the department rows of each day hold every record once.
            add(try Row.fetchAll(db, sql: """
                SELECT \(column.isEmpty ? "day" : "key") AS k, metric, TOTAL(n) AS n FROM rollup_day
                WHERE dim = ? AND day >= ? AND day < ? GROUP BY k, metric
                """, arguments: [column.isEmpty ? "department" : query.by.rawValue, d.lowerBound, d.upperBound]), day: days.text)
        }
        var dayOfHour: [Int64: String] = [:]
        for h in plan.hours {
            add(try Row.fetchAll(db, sql: """
                SELECT \(column.isEmpty ? "hour" : column) AS k, metric, TOTAL(n) AS n FROM rollup WHERE hour >= ? AND hour < ? GROUP BY k, metric
                """, arguments: [h.lowerBound, h.upperBound])) { hour in
                if dayOfHour[hour] == nil { dayOfHour[hour] = query.dayKey(hour: hour) }
                return dayOfHour[hour]!
            }
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
            try db.execute(sql: "UPDATE chain SET last_sent_at = (SELECT MAX(sent_at) FROM record)")
        }
        forgetCounts()
    }
}
