import Foundation
import TOMLKit

/// An upstream format, as data: how records and the batch envelope look to one provincial
/// interface (R16). Profiles live in TOML files (`Config/profiles/*.toml`); `generic-json`, the
/// product's own record format, is built in.
public struct UpstreamProfile: Sendable, Hashable {
    /// A value in the output: where it comes from.
    public enum Source: Sendable, Hashable {
        /// A field of the stored record (`case_id`, `window_id`, `score`, …).
        case field(String)
        /// The record's level through the profile's `[levels]` table.
        case levelCode
        /// The record's channel (`keys`, `screen`) through the profile's `[channels]` table.
        case channelCode
        /// A record time (`pressed_at`, `prompted_at`, `recorded_at`) in the profile's format.
        case time(String)
        /// The time the batch is sent (envelope only).
        case now
        /// The batch id / gateway id / number of records (envelope only).
        case batchID, gatewayID, count
        /// The store's chain head when the batch was sent (envelope only): `chain` is the object
        /// `{"chain_id", "seq", "hash"}`, the others its parts (docs/CHAIN.md).
        case chain, chainID, chainSeq, chainHash
        /// A fixed value.
        case literal(LiteralValue)
    }

    public enum LiteralValue: Sendable, Hashable {
        case string(String), int(Int), bool(Bool)
    }

    public var name: String
    /// nil: records are sent as stored (the generic-json record format).
    public var recordFields: [(String, Source)]?
    public var levels: [Level: LiteralValue]
    /// `[channels]`: the province's code for each kind of pad (e.g. keys = 5, screen = 4).
    public var channels: [RatingChannel: LiteralValue] = [:]
    /// Key of the records array in the envelope; nil: the body is the bare array.
    public var recordsKey: String?
    public var envelope: [(String, Source)]
    /// `rfc3339`, or a date pattern such as `yyyy-MM-dd HH:mm:ss` in `timeZone`.
    public var timestampFormat: String
    public var timeZone: String
    /// Omit null values from records instead of sending `null`.
    public var omitNulls: Bool
    /// HMAC-SHA256 of the body, in this header, hex or base64.
    public var signingHeader: String?
    public var signingEncoding: String

    /// What a 2xx answer's body must say for the batch to count as accepted; nil: any 2xx.
    public var response: ResponseRule?

    public static func == (a: UpstreamProfile, b: UpstreamProfile) -> Bool { a.name == b.name }
    public func hash(into h: inout Hasher) { h.combine(name) }

    public static let genericJSON = UpstreamProfile(
        name: "generic-json", recordFields: nil, levels: [:], recordsKey: "records",
        envelope: [("gateway_id", .gatewayID), ("batch_id", .batchID), ("chain", .chain)], timestampFormat: "rfc3339", timeZone: "UTC",
        omitNulls: false, signingHeader: nil, signingEncoding: "hex", response: nil
    )

    static func source(_ text: String, envelope: Bool) -> Source? {
        if text.hasPrefix("=") { return .literal(.string(String(text.dropFirst()))) }
        if text == "level_code" { return envelope ? nil : .levelCode }
        if text == "channel_code" { return envelope ? nil : .channelCode }
        if text.hasPrefix("time:") {
            let f = String(text.dropFirst(5))
            if f == "now" { return .now }
            return envelope ? nil : (RecordField(rawValue: f)?.isTime == true ? .time(f) : nil)
        }
        if envelope {
            switch text {
            case "batch_id": return .batchID
            case "gateway_id": return .gatewayID
            case "count": return .count
            case "chain": return .chain
            case "chain_id": return .chainID
            case "chain_seq": return .chainSeq
            case "chain_hash": return .chainHash
            default: return nil
            }
        }
        return RatingRecord.fieldNames.contains(text) ? .field(text) : nil
    }

    /// Parses a profile file's text. Errors name the file, the line and the key.
    public static func parse(_ text: String, source file: String) throws(ConfigError) -> UpstreamProfile {
        let root = try TOMLGuard.table(text, source: file)
        let r = ConfigReader(source: file, lines: text.components(separatedBy: "\n"), files: .none)
        try r.onlyKeys(root, ["name", "timestamp_format", "time_zone", "omit_nulls", "envelope", "record", "levels", "channels", "signing", "response"], [])
        var p = genericJSON
        p.name = try r.string(root, "name", [], required: true)!
        p.timestampFormat = try r.string(root, "timestamp_format", []) ?? "rfc3339"
        p.timeZone = try r.string(root, "time_zone", []) ?? "Asia/Shanghai"
        guard TimeZone(identifier: p.timeZone) != nil else { throw r.fail(.invalid, ["time_zone"], "unknown time zone \"\(p.timeZone)\"") }
        p.omitNulls = root["omit_nulls"]?.bool ?? false

        func literal(_ v: any TOMLValueConvertible, _ path: [String]) throws(ConfigError) -> LiteralValue {
            if let i = v.int { return .int(i) }
            if let b = v.bool { return .bool(b) }
            if let s = v.string { return .string(s) }
            throw r.fail(.invalid, path, "must be a string, an integer or a boolean")
        }
        func mapping(_ t: TOMLTable, _ path: [String], envelope: Bool) throws(ConfigError) -> [(String, Source)] {
            var out: [(String, Source)] = []
            for key in t.keys.sorted() {
                let v = t[key]!
                if let s = v.string {
                    guard let src = source(s, envelope: envelope) else {
                        throw r.fail(.invalid, path + [key], "unknown source \"\(s)\" (a record field such as case_id, level_code, channel_code, time:pressed_at, time:now, \(envelope ? "batch_id, gateway_id, count, chain, chain_id, chain_seq, chain_hash, " : "")or =literal)")
                    }
                    out.append((key, src))
                } else {
                    out.append((key, .literal(try literal(v, path + [key]))))
                }
            }
            return out
        }

        if let env = try r.table(root, "envelope", []) {
            try r.onlyKeys(env, ["records_key", "fields"], ["envelope"])
            let key = try r.string(env, "records_key", ["envelope"]) ?? "records"
            p.recordsKey = key.isEmpty ? nil : key
            p.envelope = try r.table(env, "fields", ["envelope"]).map { t throws(ConfigError) in try mapping(t, ["envelope", "fields"], envelope: true) } ?? []
        }
        if let rec = try r.table(root, "record", []) {
            try r.onlyKeys(rec, ["fields"], ["record"])
            if let t = try r.table(rec, "fields", ["record"]) {
                p.recordFields = try mapping(t, ["record", "fields"], envelope: false)
            }
        }
        if let lv = try r.table(root, "levels", []) {
            try r.onlyKeys(lv, Set(Level.allCases.map(\.rawValue)), ["levels"])
            for level in Level.allCases {
                guard let v = lv[level.rawValue] else { throw r.fail(.missing, ["levels", level.rawValue], "every level needs a code") }
                p.levels[level] = try literal(v, ["levels", level.rawValue])
            }
        }
        if p.recordFields?.contains(where: { if case .levelCode = $0.1 { true } else { false } }) == true && p.levels.isEmpty {
            throw r.fail(.missing, ["levels"], "record.fields uses level_code: a [levels] table is required")
        }
        if let ch = try r.table(root, "channels", []) {
            try r.onlyKeys(ch, Set(RatingChannel.allCases.map(\.rawValue)), ["channels"])
            for channel in RatingChannel.allCases {
                guard let v = ch[channel.rawValue] else { throw r.fail(.missing, ["channels", channel.rawValue], "every channel needs a code (keys, screen)") }
                p.channels[channel] = try literal(v, ["channels", channel.rawValue])
            }
        }
        if p.recordFields?.contains(where: { if case .channelCode = $0.1 { true } else { false } }) == true && p.channels.isEmpty {
            throw r.fail(.missing, ["channels"], "record.fields uses channel_code: a [channels] table is required (e.g. keys = 5, screen = 4)")
        }
        if let rs = try r.table(root, "response", []) {
            try r.onlyKeys(rs, ["field", "accepted", "refused"], ["response"])
            func values(_ key: String) throws(ConfigError) -> Set<String> {
                guard let v = rs[key] else { return [] }
                guard let a = v.array else { throw r.fail(.invalid, ["response", key], "must be an array of values such as [\"0\", 200]") }
                var out: Set<String> = []
                for item in a {
                    if let i = item.int { out.insert(String(i)) } else if let t = item.string { out.insert(t) } else {
                        throw r.fail(.invalid, ["response", key], "values are strings or integers")
                    }
                }
                return out
            }
            let rule = ResponseRule(field: try r.string(rs, "field", ["response"], required: true)!,
                                    accepted: try values("accepted"), refused: try values("refused"))
            guard !rule.accepted.isEmpty else { throw r.fail(.missing, ["response", "accepted"], "name the values that mean accepted") }
            if let both = rule.accepted.intersection(rule.refused).first {
                throw r.fail(.invalid, ["response", "refused"], "\"\(both)\" is both accepted and refused")
            }
            p.response = rule
        }
        if let sg = try r.table(root, "signing", []) {
            try r.onlyKeys(sg, ["algorithm", "header", "encoding"], ["signing"])
            let alg = try r.string(sg, "algorithm", ["signing"]) ?? "hmac-sha256"
            guard alg == "hmac-sha256" else { throw r.fail(.invalid, ["signing", "algorithm"], "only hmac-sha256 is supported") }
            p.signingHeader = try r.string(sg, "header", ["signing"], required: true)
            p.signingEncoding = try r.string(sg, "encoding", ["signing"]) ?? "hex"
            guard ["hex", "base64"].contains(p.signingEncoding) else { throw r.fail(.invalid, ["signing", "encoding"], "must be \"hex\" or \"base64\"") }
        }
        return p
    }

    public static func load(path: String, files: ConfigFiles) throws(ConfigError) -> UpstreamProfile {
        try parse(try files.text(path, what: "the profile"), source: path)
    }
}

/// A profile's rule for 2xx answers: the top-level JSON field `field` of the body must hold one
/// of `accepted` (as text: `0` and `"0"` are the same); a value in `refused` means the content
/// was refused (bisect and quarantine, as for a 400); anything else (another value, no field,
/// no JSON) is retried.
public struct ResponseRule: Sendable, Hashable {
    public var field: String
    public var accepted: Set<String>
    public var refused: Set<String>

    public init(field: String, accepted: Set<String>, refused: Set<String>) {
        self.field = field
        self.accepted = accepted
        self.refused = refused
    }

    public enum Judgement: Sendable, Equatable {
        case accepted
        case refused(String)
        case unknown(String?)
    }

    public func judge(_ body: String) -> Judgement {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any], let raw = object[field] else {
            return .unknown(nil)
        }
        let value: String
        switch raw {
        case let s as String: value = s
        case let n as NSNumber: value = n.stringValue
        default: value = "\(raw)"
        }
        if accepted.contains(value) { return .accepted }
        if refused.contains(value) { return .refused(value) }
        return .unknown(value)
    }
}
