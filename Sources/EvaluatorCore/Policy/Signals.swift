import Foundation

/// The fraud and interference signals (R9, R11): rules that *flag* records, never suppress
/// them. Thresholds are `[session]` keys; hours are the `[hours]` table; days and hours are in
/// `gateway.time_zone`. Pure: the policy passes each press's time in.
public struct SignalRules: Sendable, Hashable {
    public enum Defaults {
        public static let instantMs = 500
        public static let burstPresses = 5
        public static let burstWindowS = 60
        public static let largeBatchCases = 10
        public static let maxBatchCases = 50
    }

    /// A rating pressed sooner than this after the prompt is flagged `instant`.
    public var instantMs: Int64 = Int64(Defaults.instantMs)
    /// More than `burstPresses` presses at one pad within `burstWindowMs`: flagged `burst`.
    public var burstPresses = Defaults.burstPresses
    public var burstWindowMs: Int64 = Int64(Defaults.burstWindowS) * 1000
    /// An evaluation of more than this many cases is flagged `large_batch`.
    public var largeBatchCases = Defaults.largeBatchCases
    /// An evaluation of more than this many cases is refused (`batch_too_large`).
    public var maxBatchCases = Defaults.maxBatchCases
    /// The hall's opening hours; nil: no `off_hours` flag.
    public var hours: HallHours?
    public var timeZone: TimeZone = .current

    public init() {}

    /// True when `at` falls outside the hall's hours (false when no hours are configured).
    public func isOffHours(_ at: Millis) -> Bool {
        guard let hours else { return false }
        return !hours.isOpen(at: at, in: timeZone)
    }
}

/// Opening hours per weekday (`[hours]`: `mon = "08:30-12:00,13:30-17:30"` … `sun = ""`). A day
/// left out or empty is closed all day.
public struct HallHours: Sendable, Hashable {
    /// Minutes after midnight, [start, end), per weekday: 1 = Monday … 7 = Sunday.
    public var intervals: [Int: [ClosedRange<Int>]]

    public static let dayKeys = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    public init(intervals: [Int: [ClosedRange<Int>]]) { self.intervals = intervals }

    public struct ParseError: Error {
        public var message: String
    }

    /// Parses one day's text, e.g. `08:30-12:00,13:30-17:30`; the error says what is wrong.
    public static func parseDay(_ text: String) throws(ParseError) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let ends = part.split(separator: "-").map(String.init)
            guard ends.count == 2, let a = minutes(ends[0]), let b = minutes(ends[1]) else {
                throw ParseError(message: "\"\(part)\" is not HH:MM-HH:MM")
            }
            guard a < b else { throw ParseError(message: "\"\(part)\" ends before it starts") }
            if let last = out.last, a < last.upperBound { throw ParseError(message: "\"\(part)\" overlaps or comes before the interval before it") }
            out.append(a...b)
        }
        return out
    }

    static func minutes(_ s: String) -> Int? {
        let hm = s.split(separator: ":")
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]),
              (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 24 * 60 else { return nil }
        return h * 60 + m
    }

    public func isOpen(at: Millis, in zone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.weekday, .hour, .minute], from: at.date)
        // Calendar: 1 = Sunday … 7 = Saturday; ours: 1 = Monday … 7 = Sunday.
        let day = ((c.weekday ?? 1) + 5) % 7 + 1
        let minute = (c.hour ?? 0) * 60 + (c.minute ?? 0)
        return (intervals[day] ?? []).contains { minute >= $0.lowerBound && minute < $0.upperBound }
    }
}
