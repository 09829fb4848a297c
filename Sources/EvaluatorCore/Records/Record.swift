import Foundation

/// What became of one evaluation or press. Every outcome is one record (R7).
public enum Outcome: String, Codable, Sendable, CaseIterable {
    /// The first press of an open session rated its case (and its batch, R4).
    case rated
    /// The session timed out or was superseded with no press; the centre applies its regional
    /// default (R5).
    case unrated
    /// The business system cancelled the evaluation (evidence for R11).
    case cancelled
    /// A press with no case to rate: no session open, an extra press after the rating (R3),
    /// or a pad no window owns. Kept, never dropped (R7, R9).
    case noCase = "no_case"
    /// A service of a case (issue 22: 服务信息): stored when an evaluation opens, before its
    /// rating; the rating or `unrated` record of that service names it by `case_id` and
    /// `service_no`.
    case service
    /// Evidence about the gateway itself, not a rating: a broken chain tail or a foreign object
    /// found in the store at start, a replaced store (R8, R17). What was found is in `detail`.
    case audit
}

/// Flags that travel with a record. Names are stable strings in the record format.
public enum RecordFlag: String, Codable, Sendable, CaseIterable {
    /// A bad rating without a reason: follow-up must collect one (R2).
    case needsReason = "needs_reason"
    /// A press after the session's case was already rated (R3).
    case extraPress = "extra_press"
    /// The session was closed because a new evaluation started at its window.
    case superseded
    /// The session was reloaded from disk after a restart.
    case restored
    /// The press came from a pad that no configured window owns.
    case unknownPad = "unknown_pad"
    /// A key the pad's key map does not know (the raw key is in `key`).
    case unknownKey = "unknown_key"
    /// Presses beyond `session.max_presses_per_minute` in one minute, counted in `count`.
    case flood
    /// Pressed sooner than `session.instant_ms` after the prompt: faster than a person reads it (R9).
    case instant
    /// More than `session.burst_presses` presses at the pad within `session.burst_window_s` (R9).
    case burst
    /// Pressed outside the hall's `[hours]` (R9, R11).
    case offHours = "off_hours"
    /// An evaluation covering more than `session.large_batch_cases` cases (R4, R9).
    case largeBatch = "large_batch"
    /// Re-imported by `evaluatorctl salvage` from a damaged store (same record id).
    case salvaged
    /// The evaluation was opened while the window's pad was absent or detached (the answer
    /// said `"prompted": false`): the citizen may never have seen the prompt.
    case padOffline = "pad_offline"
    /// The business system changed the open evaluation (matter, batch, timeout) before it ended:
    /// what changed, by whom and when is in `edits` (issue 20, R11).
    case edited
    /// A screen pad's rating the gateway refused (expired, not open, already rated), kept as
    /// evidence with its level; the refusal is in `detail` (issue 20, R9 R17).
    case refused
}

/// Everything the policy knows about a record; the gateway adds `record_id` and `recorded_at`
/// when it commits it.
public struct RecordDraft: Sendable, Hashable {
    public var windowID: String?
    public var department: String?
    public var staffID: String?
    public var caseID: String?
    public var batchCaseIDs: [String]
    public var matterCode: String?
    public var matterName: String?
    public var sessionID: String?
    public var outcome: Outcome
    public var level: Level?
    public var score: Int?
    public var pad: PadID?
    public var key: Int?
    public var promptedAt: Millis?
    public var pressedAt: Millis?
    /// The reason code of a bad rating, from a reason key or a screen pad's reason button (R2).
    public var reason: String?
    /// Free text a citizen wrote with a bad rating on a screen pad (R2), at most 200 characters.
    public var reasonText: String?
    /// Per-dimension levels from a screen pad (R12), by the configured dimension id.
    public var dimensions: [String: Level]?
    public var flags: [RecordFlag]
    /// The API caller (token name) that opened the session (R11).
    public var openedBy: String?
    /// The API caller that ended the session by cancelling or superseding it (R11).
    public var endedBy: String?
    /// Changes made to the open evaluation before it ended (issue 20, R11); nil: none.
    public var edits: [SessionEdit]?
    /// How many presses a `flood` record stands for.
    public var count: Int?
    /// What an `audit` record is about, in a sentence.
    public var detail: String?
    /// The stage the case was rated at (issue 22, 一事多评); nil on records no case is part of.
    public var stage: String?
    /// The service of the case this record belongs to (issue 22): 1, 2, … per case.
    public var serviceNo: Int?

    public init(
        windowID: String?, department: String? = nil, staffID: String? = nil, caseID: String? = nil,
        batchCaseIDs: [String] = [], matterCode: String? = nil, matterName: String? = nil,
        sessionID: String? = nil, outcome: Outcome, level: Level? = nil, score: Int? = nil,
        pad: PadID? = nil, key: Int? = nil, promptedAt: Millis? = nil, pressedAt: Millis? = nil,
        reason: String? = nil, flags: [RecordFlag] = [], detail: String? = nil
    ) {
        self.detail = detail
        self.reason = reason
        self.windowID = windowID
        self.department = department
        self.staffID = staffID
        self.caseID = caseID
        self.batchCaseIDs = batchCaseIDs
        self.matterCode = matterCode
        self.matterName = matterName
        self.sessionID = sessionID
        self.outcome = outcome
        self.level = level
        self.score = score
        self.pad = pad
        self.key = key
        self.promptedAt = promptedAt
        self.pressedAt = pressedAt
        self.flags = flags
    }

    public var isBad: Bool { level?.isBad ?? false }

    /// `keys` or `screen`: the kind of pad (null for a record no pad is part of).
    public var channel: RatingChannel? { pad.map(RatingChannel.init) }

    var dimensionNames: [String: String]? { dimensions?.mapValues(\.rawValue) }

    /// Milliseconds from the prompt to the press of a rated record (R9: evidence of a press
    /// made before anyone could read the prompt).
    public var promptToPressMs: Int? {
        guard outcome == .rated, let p = promptedAt, let k = pressedAt else { return nil }
        return Int(k.value - p.value)
    }
}

/// A record's canonical bytes with its chain place left open (`RatingRecord.template`).
public struct ChainTemplate: Sendable, Hashable {
    public var chainID: String
    public var bytes: [UInt8]
    public var hashAt: Int
    public var prevAt: Int
    public var seqAt: Int
}

/// Where a record sits in its store's hash chain (R8, R17; docs/CHAIN.md).
public struct ChainLink: Sendable, Hashable {
    /// A UUID made when the store was created.
    public var chainID: String
    /// 1, 2, 3 … within the chain: no gaps, never reused.
    public var seq: Int64
    /// The previous record's `hash`; 64 zeros for seq 1.
    public var prevHash: String

    public init(chainID: String, seq: Int64, prevHash: String) {
        self.chainID = chainID
        self.seq = seq
        self.prevHash = prevHash
    }

    public static let zeroHash = String(repeating: "0", count: 64)
}

/// The head of a store's hash chain: what every batch sent upstream carries, so the centre can
/// tell a rewritten history from the one it was shown (R8, R17; docs/CHAIN.md).
public struct ChainHead: Sendable, Hashable {
    public var chainID: String
    public var seq: Int64
    public var hash: String

    public init(chainID: String, seq: Int64, hash: String) {
        self.chainID = chainID
        self.seq = seq
        self.hash = hash
    }
}

/// One stored and forwarded record: the product's record format (see README "Record format").
public struct RatingRecord: Sendable, Hashable, Encodable {
    public var recordID: String
    public var gatewayID: String
    public var region: String
    public var recordedAt: Millis
    public var draft: RecordDraft

    public init(recordID: String, gatewayID: String, region: String, recordedAt: Millis, draft: RecordDraft) {
        self.recordID = recordID
        self.gatewayID = gatewayID
        self.region = region
        self.recordedAt = recordedAt
        self.draft = draft
    }

    /// Every field of the record format, as named in JSON (`RecordField`, the one table:
    /// profiles map these names; StoreTests checks a stored body has exactly these keys).
    public static let fieldNames = Set(RecordField.allCases.map(\.rawValue))

    /// The value of one field of the record in `chain` (nil: outside any chain, chain fields
    /// null). The one place a field's value is read: the canonical bytes and `encode(to:)`
    /// both walk `RecordField.allCases` through it.
    public func value(_ field: RecordField, chain: ChainLink? = nil) -> RecordValue {
        let d = draft
        switch field {
        case .bad: return .bool(d.isBad)
        case .batchCaseIDs: return .strings(d.batchCaseIDs)
        case .caseID: return .string(d.caseID)
        case .chainID: return .string(chain?.chainID)
        case .channel: return .string(d.channel?.rawValue)
        case .count: return .int(d.count)
        case .department: return .string(d.department)
        case .detail: return .string(d.detail)
        case .dimensions: return .stringMap(d.dimensionNames)
        case .edits: return .edits(d.edits)
        case .endedBy: return .string(d.endedBy)
        case .flags: return .strings(d.flags.map(\.rawValue))
        case .gatewayID: return .string(gatewayID)
        case .hash: return .string(nil) // taken over every other field (docs/CHAIN.md)
        case .key: return .int(d.key)
        case .level: return .string(d.level?.rawValue)
        case .matterCode: return .string(d.matterCode)
        case .matterName: return .string(d.matterName)
        case .openedBy: return .string(d.openedBy)
        case .outcome: return .string(d.outcome.rawValue)
        case .pad: return .string(d.pad?.description)
        case .pressedAt: return .string(d.pressedAt?.rfc3339)
        case .prevHash: return .string(chain?.prevHash)
        case .promptToPressMs: return .int(d.promptToPressMs)
        case .promptedAt: return .string(d.promptedAt?.rfc3339)
        case .reason: return .string(d.reason)
        case .reasonText: return .string(d.reasonText)
        case .recordID: return .string(recordID)
        case .recordedAt: return .string(recordedAt.rfc3339)
        case .region: return .string(region)
        case .score: return .int(d.score)
        case .seq: return .int(chain.map { Int($0.seq) })
        case .serviceNo: return .int(d.serviceNo)
        case .sessionID: return .string(d.sessionID)
        case .staffID: return .string(d.staffID)
        case .stage: return .string(d.stage)
        case .windowID: return .string(d.windowID)
        }
    }

    /// Every field is always present (null when unknown), so the centre sees a fixed shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: RecordField.self)
        for field in RecordField.allCases {
            switch value(field) {
            case let .string(v): try c.encode(v, forKey: field)
            case let .int(v): try c.encode(v, forKey: field)
            case let .bool(v): try c.encode(v, forKey: field)
            case let .strings(v): try c.encode(v, forKey: field)
            case let .stringMap(v): try c.encode(v, forKey: field)
            case let .edits(v): try c.encode(v.map { $0.map(EditView.init) }, forKey: field)
            }
        }
    }

    /// Canonical JSON (sorted keys, no escaped slashes) of a record outside any chain (chain
    /// fields null). Written by hand in key order; byte for byte what JSONEncoder with
    /// `[.sortedKeys, .withoutEscapingSlashes]` writes (JSONTextTests).
    public func jsonString() -> String {
        var (bytes, at) = canonical(chain: nil)
        bytes.insert(contentsOf: Array(",\"hash\":null".utf8), at: at)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The canonical JSON of the record in its chain *without* the `hash` member — the exact
    /// bytes its hash is taken over (docs/CHAIN.md) — and the offset where `,"hash":"…"` goes
    /// (after `gateway_id`: keys are in byte order).
    public func canonical(chain: ChainLink?) -> (bytes: [UInt8], hashAt: Int) {
        let (bytes, hashAt, _, _) = canonicalWithOffsets(chain: chain)
        return (bytes, hashAt)
    }

    /// The canonical bytes for a record of chain `chainID` whose seq and prev_hash are not known
    /// yet: `seq` written as `0` at `seqAt`, `prev_hash` as 64 zeros at `prevAt`. Made where the
    /// record is made (the gateway actor), filled in on the store's writer (`Chain.seal`), so
    /// the writer does not encode (perf: encoding was a sixth of the writer's time).
    public func template(chainID: String) -> ChainTemplate {
        let (bytes, hashAt, prevAt, seqAt) = canonicalWithOffsets(chain: ChainLink(chainID: chainID, seq: 0, prevHash: ChainLink.zeroHash))
        return ChainTemplate(chainID: chainID, bytes: bytes, hashAt: hashAt, prevAt: prevAt, seqAt: seqAt)
    }

    func canonicalWithOffsets(chain: ChainLink?) -> (bytes: [UInt8], hashAt: Int, prevAt: Int, seqAt: Int) {
        var o = JSONText.Object()
        var hashAt = 0, prevAt = 0, seqAt = 0
        for field in RecordField.allCases { // declared in byte order, the canonical order
            let k = field.rawValue
            switch value(field, chain: chain) {
            case _ where field == .hash: hashAt = o.skip(k)
            case let .string(v): o.string(k, v)
            case let .int(v): o.int(k, v)
            case let .bool(v): o.bool(k, v)
            case let .strings(v): o.strings(k, v)
            case let .stringMap(v): o.stringMap(k, v)
            case let .edits(v):
                o.objects(k, v) { e, edit in
                    e.string("at", edit.at.rfc3339)
                    e.string("by", edit.by)
                    e.string("field", edit.field)
                    e.string("from", edit.from)
                    e.string("to", edit.to)
                }
            }
            if field == .prevHash { prevAt = o.count - 65 }
            if field == .seq { seqAt = o.count - 1 }
        }
        return (o.finishBytes(), hashAt, prevAt, seqAt)
    }
}

/// The record format's fields: one table (issue 21) for the canonical bytes, `encode(to:)`,
/// the names profiles map (`RatingRecord.value(_:chain:)` reads each). Declared in byte order
/// of their names, which is the canonical order (docs/CHAIN.md; JSONTextTests checks it).
public enum RecordField: String, CodingKey, CaseIterable, Sendable {
    case bad, batchCaseIDs = "batch_case_ids", caseID = "case_id", chainID = "chain_id", channel, count
    case department, detail, dimensions, edits, endedBy = "ended_by", flags, gatewayID = "gateway_id", hash
    case key, level, matterCode = "matter_code", matterName = "matter_name", openedBy = "opened_by", outcome
    case pad, pressedAt = "pressed_at", prevHash = "prev_hash", promptToPressMs = "prompt_to_press_ms", promptedAt = "prompted_at"
    case reason, reasonText = "reason_text", recordID = "record_id", recordedAt = "recorded_at", region
    case score, seq, serviceNo = "service_no", sessionID = "session_id", staffID = "staff_id", stage, windowID = "window_id"

    /// Fields holding an instant in RFC 3339 (a profile's `time:` source may reformat them).
    public var isTime: Bool { self == .promptedAt || self == .pressedAt || self == .recordedAt }
}

/// One field's value, as `RatingRecord.value(_:chain:)` reads it.
public enum RecordValue: Sendable, Hashable {
    case string(String?), int(Int?), bool(Bool), strings([String]), stringMap([String: String]?), edits([SessionEdit]?)
}

/// A `SessionEdit` as the record writes it (`at` in RFC 3339, every member present).
struct EditView: Encodable {
    var edit: SessionEdit
    init(_ edit: SessionEdit) { self.edit = edit }
    enum CodingKeys: String, CodingKey { case at, by, field, from, to }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(edit.at.rfc3339, forKey: .at)
        try c.encode(edit.by, forKey: .by)
        try c.encode(edit.field, forKey: .field)
        try c.encode(edit.from, forKey: .from)
        try c.encode(edit.to, forKey: .to)
    }
}
