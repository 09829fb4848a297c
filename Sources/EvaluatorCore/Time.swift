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

    /// RFC 3339 with milliseconds, UTC: `2026-11-22T08:30:00.123Z`. Civil date from the day
    /// number (H. Hinnant's days_from_civil inverse), no libc or Foundation formatting: it is
    /// on every stored record (tested against gmtime_r in JSONTextTests).
    public var rfc3339: String {
        let secs = value >= 0 ? value / 1000 : (value - 999) / 1000
        let ms = Int(value - secs * 1000)
        var days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let sod = Int(secs - days * 86_400)
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400 + (month <= 2 ? 1 : 0))
        return String(unsafeUninitializedCapacity: 24) { out in
            var i = 0
            func put(_ v: Int, _ width: Int) {
                var v = v
                for k in stride(from: width - 1, through: 0, by: -1) {
                    out[i + k] = UInt8(0x30 + v % 10)
                    v /= 10
                }
                i += width
            }
            func sep(_ c: UInt8) { out[i] = c; i += 1 }
            put(year, 4); sep(0x2D); put(month, 2); sep(0x2D); put(day, 2); sep(0x54)
            put(sod / 3600, 2); sep(0x3A); put(sod / 60 % 60, 2); sep(0x3A); put(sod % 60, 2)
            sep(0x2E); put(ms, 3); sep(0x5A)
            return i
        }
    }

    public var description: String { rfc3339 }

    /// Reads an RFC 3339 time (with or without fractional seconds, any offset).
    public static func parseRFC3339(_ text: String) -> Millis? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let fraction = ISO8601DateFormatter()
        fraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return (fraction.date(from: text) ?? plain.date(from: text)).map { Millis(date: $0) }
    }
}
