import Foundation

/// Participation and results statistics (R14, R15): what `evaluatorctl stats` and
/// `GET /v1/stats` answer. Computed from hourly rollups the store keeps in the same transaction
/// as each record, so the figures are right across restarts and after retention prunes
/// records. Pure: the store hands in summed rows, this folds them.
public enum StatsGrouping: String, CaseIterable, Sendable, Codable {
    case window, staff, department, day
}

/// A stats request, checked: `since` ≤ `until`, both on the hour (rollups are hourly).
public struct StatsQuery: Sendable, Hashable {
    public var since: Millis
    public var until: Millis
    public var by: StatsGrouping
    public var timeZone: TimeZone

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    public init(since: Millis, until: Millis, by: StatsGrouping, timeZone: TimeZone) {
        self.since = since
        self.until = until
        self.by = by
        self.timeZone = timeZone
    }

    /// From the command line or query string. DATE is `YYYY-MM-DD` (that day in the gateway's
    /// time zone: `since` from its start, `until` to its end) or RFC 3339 on the hour. Default:
    /// today.
    public static func parse(since: String?, until: String?, by: String?, now: Millis, timeZone: TimeZone) throws(Invalid) -> StatsQuery {
        let grouping: StatsGrouping
        if let by {
            guard let g = StatsGrouping(rawValue: by) else {
                throw Invalid(message: "by: \"\(by)\" is not one of \(StatsGrouping.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            grouping = g
        } else {
            grouping = .window
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let today = Millis(date: calendar.startOfDay(for: now.date))
        let from = try since.map { t throws(Invalid) in try instant(t, "since", endOfDay: false, calendar) } ?? today
        let to = try until.map { t throws(Invalid) in try instant(t, "until", endOfDay: true, calendar) }
            ?? Millis(date: calendar.date(byAdding: .day, value: 1, to: today.date)!)
        guard from < to else { throw Invalid(message: "since (\(from.rfc3339)) must be before until (\(to.rfc3339))") }
        guard to.value - from.value <= 3_660 * 86_400_000 else { throw Invalid(message: "at most ten years at a time") }
        return StatsQuery(since: from, until: to, by: grouping, timeZone: timeZone)
    }

    static func instant(_ text: String, _ name: String, endOfDay: Bool, _ calendar: Calendar) throws(Invalid) -> Millis {
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = calendar.timeZone
        day.dateFormat = "yyyy-MM-dd"
        if text.count == 10, let d = day.date(from: text) {
            let start = calendar.startOfDay(for: d)
            return Millis(date: endOfDay ? calendar.date(byAdding: .day, value: 1, to: start)! : start)
        }
        guard let t = Millis.parseRFC3339(text) else {
            throw Invalid(message: "\(name): \"\(text)\" is not a date (YYYY-MM-DD) or an RFC 3339 time (2026-12-02T09:00:00+08:00)")
        }
        guard t.value % 3_600_000 == 0 else {
            throw Invalid(message: "\(name): \"\(text)\" is not on the hour; statistics are kept per hour (e.g. 2026-12-02T09:00:00+08:00)")
        }
        return t
    }

    /// Hour numbers (ms / 3,600,000 since the epoch) the query covers: [first, end).
    public var hours: (first: Int64, end: Int64) { (since.value / 3_600_000, until.value / 3_600_000) }

    /// The local date (`YYYY-MM-DD`) an hour belongs to, for `by = day`.
    public func dayKey(hour: Int64) -> String {
        let days = LocalDays(zone: timeZone)
        return days.text(days.day(of: Millis(hour * 3_600_000)))
    }
}

/// Local days (in `gateway.time_zone`) as numbers: days since 1970-01-01 on the local
/// calendar. The daily rollup is keyed by them.
public struct LocalDays: Sendable, Hashable {
    public var zone: TimeZone

    public init(zone: TimeZone) { self.zone = zone }

    /// The local day an instant falls on.
    public func day(of t: Millis) -> Int64 {
        let local = t.value + Int64(zone.secondsFromGMT(for: t.date)) * 1000
        return local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
    }

    /// The instant the local day begins (DST-safe: the calendar's start of that date).
    public func start(of day: Int64) -> Millis {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let noonUTC = Date(timeIntervalSince1970: Double(day) * 86_400 + 43_200)
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: noonUTC)
        let d = calendar.date(from: DateComponents(year: c.year, month: c.month, day: c.day))!
        return Millis(date: d)
    }

    /// `YYYY-MM-DD` of a day number.
    public func text(_ day: Int64) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date(timeIntervalSince1970: Double(day) * 86_400))
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }
}

extension StatsQuery {
    /// How to read the query from the rollups: whole local days from the daily rollup, the
    /// hours before the first and after the last whole day from the hourly one. A year by
    /// window then reads about 365 × windows × staff rows, not one row per hour (measured on
    /// 10,000,000 records: hourly alone took over 30 s).
    public func plan(_ days: LocalDays) -> (days: Range<Int64>?, hours: [Range<Int64>]) {
        var first = days.day(of: since)
        if days.start(of: first) < since { first += 1 }
        let end = days.day(of: until)
        let (h0, h1) = hours
        guard first < end else { return (nil, [h0..<h1]) }
        let a = days.start(of: first).value / 3_600_000, b = days.start(of: end).value / 3_600_000
        return (first..<end, [h0..<a, b..<h1].filter { !$0.isEmpty })
    }
}

/// What one record adds to the rollups: metric name → amount. Written once, used when a record
/// is stored and when a store's existing records are rolled up at migration.
public enum StatsMetrics {
    public static func of(outcome: String, level: String?, score: Int?, bad: Bool, flags: [String], endedBy: String?, count: Int?) -> [(String, Int)] {
        var m: [(String, Int)] = []
        switch outcome {
        case Outcome.rated.rawValue:
            m += [("opened", 1), ("rated", 1)]
            if let level { m.append(("level:" + level, 1)) }
            if let score { m.append(("score_sum", score)) }
            if bad { m.append(("bad", 1)) }
        case Outcome.unrated.rawValue:
            m += [("opened", 1), ("unrated", 1)]
            if flags.contains(RecordFlag.superseded.rawValue) { m.append(("superseded", 1)) }
            // Superseded, or expired by a caller's shortened timeout (issue 20).
            if let endedBy { m.append(("ended_by:" + endedBy, 1)) }
        case Outcome.cancelled.rawValue:
            m += [("opened", 1), ("cancelled", 1)]
            if let endedBy { m.append(("ended_by:" + endedBy, 1)) }
        case Outcome.noCase.rawValue:
            m.append(("no_case", count ?? 1))
        default:
            return []
        }
        for f in flags { m.append(("flag:" + f, 1)) }
        return m
    }
}

extension StatsMetrics {
    /// The metrics of a stored record object (records read back from their JSON).
    public static func of(_ o: [String: JSONValue]) -> [(String, Int)] {
        of(outcome: o.string("outcome") ?? "", level: o.string("level"), score: o.int("score"), bad: o.bool("bad"),
           flags: o.strings("flags"), endedBy: o.string("ended_by"), count: o.int("count"))
    }
}

/// One group's figures (README "Statistics").
public struct StatsGroup: Sendable, Hashable, Encodable {
    public var key: String?
    public var counts: [String: Int] = [:]

    public init(key: String?) { self.key = key }

    func n(_ metric: String) -> Int { counts[metric] ?? 0 }

    public var opened: Int { n("opened") }
    public var rated: Int { n("rated") }
    /// rated ÷ opened (0…1); nil when nothing was opened.
    public var participation: Double? { opened == 0 ? nil : Double(rated) / Double(opened) }
    public var badShare: Double? { rated == 0 ? nil : Double(n("bad")) / Double(rated) }
    public var meanScore: Double? { rated == 0 ? nil : Double(n("score_sum")) / Double(rated) }

    /// Every flag counted in the group; the four signals always present.
    public var flags: [String: Int] {
        var out: [String: Int] = [RecordFlag.instant.rawValue: 0, RecordFlag.burst.rawValue: 0,
                                  RecordFlag.offHours.rawValue: 0, RecordFlag.largeBatch.rawValue: 0]
        for (k, v) in counts where k.hasPrefix("flag:") { out[String(k.dropFirst(5))] = v }
        return out
    }

    public var levels: [String: Int] {
        Dictionary(uniqueKeysWithValues: Level.allCases.map { ($0.rawValue, n("level:" + $0.rawValue)) })
    }

    /// Who ended the cancelled and superseded sessions (R11 evidence).
    public var endedBy: [String: Int] {
        Dictionary(uniqueKeysWithValues: counts.filter { $0.key.hasPrefix("ended_by:") }.map { (String($0.key.dropFirst(9)), $0.value) })
    }

    enum CodingKeys: String, CodingKey {
        case key, opened, rated, unrated, superseded, cancelled, noCase = "no_case", participation, levels, bad
        case badShare = "bad_share", meanScore = "mean_score", flags, endedBy = "ended_by"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(opened, forKey: .opened)
        try c.encode(rated, forKey: .rated)
        try c.encode(n("unrated"), forKey: .unrated)
        try c.encode(n("superseded"), forKey: .superseded)
        try c.encode(n("cancelled"), forKey: .cancelled)
        try c.encode(n("no_case"), forKey: .noCase)
        try c.encode(participation.map(Self.round), forKey: .participation)
        try c.encode(levels, forKey: .levels)
        try c.encode(n("bad"), forKey: .bad)
        try c.encode(badShare.map(Self.round), forKey: .badShare)
        try c.encode(meanScore.map(Self.round), forKey: .meanScore)
        try c.encode(flags, forKey: .flags)
        try c.encode(endedBy, forKey: .endedBy)
    }

    /// Four decimals: shares and means are for people, and fixed digits keep JSON stable.
    static func round(_ v: Double) -> Double { (v * 10_000).rounded() / 10_000 }
}

public struct StatsReport: Sendable, Hashable, Encodable {
    public var since: Millis
    public var until: Millis
    public var by: StatsGrouping
    public var total: StatsGroup
    public var groups: [StatsGroup]

    /// Folds summed rollup rows (group key, metric, amount) into the report. Rows with a nil
    /// key are records with no window (a pad no window owns) or staff.
    public init(query: StatsQuery, rows: [(key: String?, metric: String, n: Int)]) {
        since = query.since
        until = query.until
        by = query.by
        var total = StatsGroup(key: nil)
        var groups: [String?: StatsGroup] = [:]
        for r in rows {
            total.counts[r.metric, default: 0].addClamped(r.n)
            groups[r.key, default: StatsGroup(key: r.key)].counts[r.metric, default: 0].addClamped(r.n)
        }
        self.total = total
        self.groups = groups.values.sorted { ($0.key ?? "") < ($1.key ?? "") }
    }

    enum CodingKeys: String, CodingKey { case since, until, by, total, groups }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(since.rfc3339, forKey: .since)
        try c.encode(until.rfc3339, forKey: .until)
        try c.encode(by, forKey: .by)
        try c.encode(total, forKey: .total)
        try c.encode(groups, forKey: .groups)
    }

    /// The report as JSON (sorted keys), as the API answers it and `--json` prints it.
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

extension Int {
    /// `self += n`, saturating at the bounds instead of trapping (issue 20: statistics never
    /// stop the process, whatever a record says).
    public mutating func addClamped(_ n: Int) {
        let (sum, overflow) = addingReportingOverflow(n)
        self = overflow ? (n > 0 ? .max : .min) : sum
    }
}
