import Crypto
import EvaluatorCore
import EvaluatorStore
import Foundation

/// Renders a batch in an upstream profile, and signs it. Pure but for the clock value passed in.
public struct ProfileRenderer: Sendable {
    public let profile: UpstreamProfile
    public let gatewayID: String
    /// HMAC key, when the profile signs.
    public let signingKey: [UInt8]?

    public init(profile: UpstreamProfile, gatewayID: String, signingKey: [UInt8]? = nil) {
        self.profile = profile
        self.gatewayID = gatewayID
        self.signingKey = signingKey
    }

    func literal(_ v: UpstreamProfile.LiteralValue) -> JSONValue {
        switch v {
        case let .string(s): .string(s)
        case let .int(i): .int(i)
        case let .bool(b): .bool(b)
        }
    }

    /// Date formatters for one body: made once per batch, not once per record.
    struct Clock {
        let out: DateFormatter?
        let rfc3339In: DateFormatter

        init(_ profile: UpstreamProfile) {
            if profile.timestampFormat == "rfc3339" {
                out = nil
            } else {
                let f = DateFormatter()
                f.locale = Locale(identifier: "en_US_POSIX")
                f.timeZone = TimeZone(identifier: profile.timeZone)
                f.dateFormat = profile.timestampFormat
                out = f
            }
            let p = DateFormatter()
            p.locale = Locale(identifier: "en_US_POSIX")
            p.timeZone = TimeZone(identifier: "UTC")
            p.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
            rfc3339In = p
        }

        func format(_ ms: Millis) -> String { out.map { $0.string(from: ms.date) } ?? ms.rfc3339 }
        func parse(_ s: String) -> Millis? { rfc3339In.date(from: s).map { Millis(date: $0) } }
    }

    /// One stored record (canonical JSON) in the profile's shape.
    public func record(_ stored: String) throws -> String {
        try record(stored, clock: Clock(profile))
    }

    func record(_ stored: String, clock: Clock) throws -> String {
        guard let fields = profile.recordFields else { return stored }
        guard case let .object(r) = try JSONDecoder().decode(JSONValue.self, from: Data(stored.utf8)) else { return stored }
        var out: [String: JSONValue] = [:]
        for (name, source) in fields {
            let value: JSONValue
            switch source {
            case let .field(f): value = r[f] ?? .null
            case .levelCode:
                if case let .string(l) = r["level"], let level = Level(rawValue: l), let code = profile.levels[level] { value = literal(code) } else { value = .null }
            case .channelCode:
                // Records stored before the channel field (issue 14) say it through their pad.
                var channel: RatingChannel?
                if case let .string(c) = r["channel"] { channel = RatingChannel(rawValue: c) }
                if channel == nil, case let .string(p) = r["pad"], let pad = PadID(p) { channel = RatingChannel(pad) }
                value = channel.flatMap { profile.channels[$0] }.map(literal) ?? .null
            case let .time(f):
                if case let .string(t) = r[f], let ms = clock.parse(t) { value = .string(clock.format(ms)) } else { value = .null }
            case let .literal(l): value = literal(l)
            case .now, .batchID, .gatewayID, .count, .chain, .chainID, .chainSeq, .chainHash: value = .null
            }
            if profile.omitNulls && value == .null { continue }
            out[name] = value
        }
        return JSONValue.object(out).text
    }

    /// The request body for a batch.
    public func body(batch: OutboxBatch, now: Millis) throws -> String {
        let clock = Clock(profile)
        let records = "[" + (try batch.bodies.map { try record($0, clock: clock) }).joined(separator: ",") + "]"
        guard let recordsKey = profile.recordsKey else { return records }
        var parts: [(String, String)] = [(recordsKey, records)]
        for (name, source) in profile.envelope {
            let v: JSONValue
            switch source {
            case .batchID: v = .string(batch.batchID)
            case .gatewayID: v = .string(gatewayID)
            case .count: v = .int(batch.bodies.count)
            case .now: v = .string(clock.format(now))
            case let .literal(l): v = literal(l)
            case .chain:
                v = batch.chain.map { .object(["chain_id": .string($0.chainID), "seq": .int(Int($0.seq)), "hash": .string($0.hash)]) } ?? .null
            case .chainID: v = batch.chain.map { .string($0.chainID) } ?? .null
            case .chainSeq: v = batch.chain.map { .int(Int($0.seq)) } ?? .null
            case .chainHash: v = batch.chain.map { .string($0.hash) } ?? .null
            case .field, .levelCode, .channelCode, .time: v = .null
            }
            parts.append((name, v.text))
        }
        return "{" + parts.sorted { $0.0 < $1.0 }.map { JSONValue.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// The signature header for a body, when the profile signs: HMAC-SHA256 with the key.
    public func signature(of body: String) -> (header: String, value: String)? {
        guard let header = profile.signingHeader, let key = signingKey else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: key))
        let bytes = Array(mac)
        let value = profile.signingEncoding == "base64" ? Data(bytes).base64EncodedString() : bytes.map { String(format: "%02x", $0) }.joined()
        return (header, value)
    }
}
