import Foundation

/// A point in time as milliseconds since the Unix epoch (UTC). Policy code takes these as
/// values carried by events; it never reads a clock.
public struct Millis: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public init(date: Date) { self.value = Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    public var date: Date { Date(timeIntervalSince1970: Double(value) / 1000) }

    public static func < (a: Millis, b: Millis) -> Bool { a.value < b.value }
    public static func + (a: Millis, ms: Int64) -> Millis { Millis(a.value + ms) }
    public static func - (a: Millis, b: Millis) -> Int64 { a.value - b.value }

    public init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    /// RFC 3339 with milliseconds, UTC: `2026-11-22T08:30:00.123Z`.
    public var rfc3339: String {
        var t = time_t(value >= 0 ? value / 1000 : (value - 999) / 1000)
        let ms = Int(((value % 1000) + 1000) % 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), ms
        )
    }

    public var description: String { rfc3339 }
}
