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

    /// Every field of the record format, as named in JSON: the coding keys are the one list
    /// (profiles map these names; StoreTests checks a stored body has exactly these keys, and
    /// JSONTextTests that the canonical bytes are what this Encodable writes).
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))

    enum CodingKeys: String, CodingKey, CaseIterable {
        case recordID = "record_id", gatewayID = "gateway_id", region
        case windowID = "window_id", department, staffID = "staff_id", caseID = "case_id"
        case batchCaseIDs = "batch_case_ids", matterCode = "matter_code", matterName = "matter_name"
        case sessionID = "session_id", outcome, level, score, bad, reason, reasonText = "reason_text", dimensions, channel, pad, key
        case promptedAt = "prompted_at", pressedAt = "pressed_at", recordedAt = "recorded_at", flags
        case openedBy = "opened_by", endedBy = "ended_by", edits, count
        case chainID = "chain_id", seq, prevHash = "prev_hash", hash, promptToPressMs = "prompt_to_press_ms", detail
    }

    /// Every field is always present (null when unknown), so the centre sees a fixed shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let d = draft
        try c.encode(recordID, forKey: .recordID)
        try c.encode(gatewayID, forKey: .gatewayID)
        try c.encode(region, forKey: .region)
        try c.encode(d.windowID, forKey: .windowID)
        try c.encode(d.department, forKey: .department)
        try c.encode(d.staffID, forKey: .staffID)
        try c.encode(d.caseID, forKey: .caseID)
        try c.encode(d.batchCaseIDs, forKey: .batchCaseIDs)
        try c.encode(d.matterCode, forKey: .matterCode)
        try c.encode(d.matterName, forKey: .matterName)
        try c.encode(d.sessionID, forKey: .sessionID)
        try c.encode(d.outcome, forKey: .outcome)
        try c.encode(d.level, forKey: .level)
        try c.encode(d.score, forKey: .score)
        try c.encode(d.isBad, forKey: .bad)
        try c.encode(d.reason, forKey: .reason)
        try c.encode(d.reasonText, forKey: .reasonText)
        try c.encode(d.dimensionNames, forKey: .dimensions)
        try c.encode(d.edits.map { $0.map(EditView.init) }, forKey: .edits)
        try c.encode(d.channel, forKey: .channel)
        try c.encode(d.pad, forKey: .pad)
        try c.encode(d.key, forKey: .key)
        try c.encode(d.promptedAt?.rfc3339, forKey: .promptedAt)
        try c.encode(d.pressedAt?.rfc3339, forKey: .pressedAt)
        try c.encode(recordedAt.rfc3339, forKey: .recordedAt)
        try c.encode(d.flags, forKey: .flags)
        try c.encode(d.openedBy, forKey: .openedBy)
        try c.encode(d.endedBy, forKey: .endedBy)
        try c.encode(d.count, forKey: .count)
        try c.encode(d.promptToPressMs, forKey: .promptToPressMs)
        try c.encode(d.detail, forKey: .detail)
        try c.encodeNil(forKey: .chainID)
        try c.encodeNil(forKey: .seq)
        try c.encodeNil(forKey: .prevHash)
        try c.encodeNil(forKey: .hash)
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
        let d = draft
        var o = JSONText.Object()
        o.bool("bad", d.isBad)
        o.strings("batch_case_ids", d.batchCaseIDs)
        o.string("case_id", d.caseID)
        o.string("chain_id", chain?.chainID)
        o.string("channel", d.channel?.rawValue)
        o.int("count", d.count)
        o.string("department", d.department)
        o.string("detail", d.detail)
        o.stringMap("dimensions", d.dimensionNames)
        o.objects("edits", d.edits) { e, edit in
            e.string("at", edit.at.rfc3339)
            e.string("by", edit.by)
            e.string("field", edit.field)
            e.string("from", edit.from)
            e.string("to", edit.to)
        }
        o.string("ended_by", d.endedBy)
        o.strings("flags", d.flags.map(\.rawValue))
        o.string("gateway_id", gatewayID)
        let hashAt = o.skip("hash")
        o.int("key", d.key)
        o.string("level", d.level?.rawValue)
        o.string("matter_code", d.matterCode)
        o.string("matter_name", d.matterName)
        o.string("opened_by", d.openedBy)
        o.string("outcome", d.outcome.rawValue)
        o.string("pad", d.pad?.description)
        o.string("pressed_at", d.pressedAt?.rfc3339)
        o.string("prev_hash", chain?.prevHash)
        let prevAt = o.count - 65
        o.int("prompt_to_press_ms", d.promptToPressMs)
        o.string("prompted_at", d.promptedAt?.rfc3339)
        o.string("reason", d.reason)
        o.string("reason_text", d.reasonText)
        o.string("record_id", recordID)
        o.string("recorded_at", recordedAt.rfc3339)
        o.string("region", region)
        o.int("score", d.score)
        o.int("seq", chain.map { Int($0.seq) })
        let seqAt = o.count - 1
        o.string("session_id", d.sessionID)
        o.string("staff_id", d.staffID)
        o.string("window_id", d.windowID)
        return (o.finishBytes(), hashAt, prevAt, seqAt)
    }
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
