/// What the window-session policy works on: the windows, the evaluations (sessions), their
/// edits, pending ratings and floods; saved in the store with each commit.

/// What a window needs the policy to know about it.
public struct WindowInfo: Sendable, Hashable {
    public var id: String
    public var name: String
    public var department: String
    /// The window's pad (records show its text form, e.g. `bus1#3`).
    public var pad: PadID?

    public init(id: String, name: String, department: String, pad: PadID?) {
        self.id = id
        self.name = name
        self.department = department
        self.pad = pad
    }
}

/// The case the business / queue system asks to be rated.
public struct EvaluationRequest: Sendable, Hashable, Codable {
    public var caseID: String
    public var batchCaseIDs: [String]
    public var matterCode: String?
    public var matterName: String?
    public var staffID: String?
    /// nil: the configured `session.timeout_s`.
    public var timeoutMs: Int64?
    /// The stage this evaluation rates (issue 22); nil in a request: the first configured
    /// stage. An open session always holds the stage it was opened at.
    public var stage: String?

    public init(
        caseID: String, batchCaseIDs: [String] = [], matterCode: String? = nil, matterName: String? = nil,
        staffID: String? = nil, timeoutMs: Int64? = nil, stage: String? = nil
    ) {
        self.stage = stage
        self.caseID = caseID
        self.batchCaseIDs = batchCaseIDs
        self.matterCode = matterCode
        self.matterName = matterName
        self.staffID = staffID
        self.timeoutMs = timeoutMs
    }

    /// The case and every case of its batch (R4), without repeats, case first.
    public var allCaseIDs: [String] {
        var seen: Set<String> = [caseID]
        var all = [caseID]
        for id in batchCaseIDs where seen.insert(id).inserted { all.append(id) }
        return all
    }
}

/// An evaluation in progress at a window. Stored, so that it survives a restart.
public struct Session: Sendable, Hashable, Codable {
    public var sessionID: String
    public var windowID: String
    public var request: EvaluationRequest
    public var promptedAt: Millis
    public var expiresAt: Millis
    /// Set once the first press rated the case; later presses are extra presses (R3).
    public var ratedAt: Millis?
    /// True when this session was loaded from disk after a restart.
    public var restored: Bool
    /// A bad rating from a pad with reason keys, waiting (durably) for its reason key (R2).
    public var pending: PendingRating?
    /// The API caller (token name) that opened it (R11: `opened_by` on its records).
    public var openedBy: String?
    /// Opened while the window's pad was absent or detached: its records are flagged
    /// `pad_offline` (nil: it was there; Optional so sessions stored before decode).
    public var padOffline: Bool?
    /// Every change the business system made to the open evaluation (issue 20, R11): on each of
    /// its records, so an edit that steers a rating is never unseen. nil: none.
    public var edits: [SessionEdit]?
    /// The caller whose edit brought the deadline forward: an expiry it causes names it in
    /// `ended_by` (a shortened timeout ends an evaluation as surely as a cancel).
    public var shortenedBy: String?
    /// The service this evaluation is (issue 22): 1, 2, … per case. nil: opened before
    /// services existed (it reads as service 1).
    public var serviceNo: Int?

    public init(
        sessionID: String, windowID: String, request: EvaluationRequest, promptedAt: Millis,
        expiresAt: Millis, ratedAt: Millis? = nil, restored: Bool = false, pending: PendingRating? = nil, openedBy: String? = nil
    ) {
        self.openedBy = openedBy
        self.sessionID = sessionID
        self.windowID = windowID
        self.request = request
        self.promptedAt = promptedAt
        self.expiresAt = expiresAt
        self.ratedAt = ratedAt
        self.restored = restored
        self.pending = pending
    }
}

/// One field of an open evaluation changed by a repeated open (issue 20): who, when, old → new.
public struct SessionEdit: Sendable, Hashable, Codable {
    public var by: String
    public var at: Millis
    /// The API field: `matter_code`, `matter_name`, `batch_case_ids`, `timeout_s`.
    public var field: String
    public var from: String?
    public var to: String?

    public init(by: String, at: Millis, field: String, from: String?, to: String?) {
        self.by = by
        self.at = at
        self.field = field
        self.from = from
        self.to = to
    }

    /// The changes from `old` to `new`, field by field in the API's order (staff is not an edit:
    /// a staff change is refused). Batches are written as their case ids joined by ",".
    static func changes(from old: EvaluationRequest, to new: EvaluationRequest, by: String, at: Millis) -> [SessionEdit] {
        func seconds(_ ms: Int64?) -> String? { ms.map { $0 % 1000 == 0 ? String($0 / 1000) : String(Double($0) / 1000) } }
        let pairs: [(String, String?, String?)] = [
            ("batch_case_ids", old.batchCaseIDs.joined(separator: ","), new.batchCaseIDs.joined(separator: ",")),
            ("matter_code", old.matterCode, new.matterCode),
            ("matter_name", old.matterName, new.matterName),
            ("timeout_s", seconds(old.timeoutMs), seconds(new.timeoutMs)),
        ]
        return pairs.filter { $0.1 != $0.2 }.map { SessionEdit(by: by, at: at, field: $0.0, from: $0.1, to: $0.2) }
    }
}

/// A bad rating held for `reason_window_ms` so that a reason key pressed right after it is
/// attached to the same record (R2). Stored with the session: a crash loses nothing.
public struct PendingRating: Sendable, Hashable, Codable {
    public var level: Level
    public var pad: PadID
    public var key: Int
    public var pressedAt: Millis
    public var reasonDeadline: Millis
    /// Signals seen at the press (`burst`, `off_hours`), kept for the record the reason completes.
    public var flags: [RecordFlag]?
}

/// A pad's presses beyond `maxPressesPerMinute` in one minute (with no open evaluation to
/// rate), counted instead of stored one by one: stored (durably, so each folded press is acked
/// only once its count is safe) until the minute ends, then written as one `no_case` record
/// flagged `flood` with the count (issue 11: a chattering pad must not fill the disk).
public struct Flood: Sendable, Hashable, Codable {
    public var pad: PadID
    public var windowID: String?
    /// Minutes since the epoch (UTC).
    public var minute: Int64
    public var count: Int
    public var firstAt: Millis
    public var lastAt: Millis

    public var endsAt: Millis { Millis((minute + 1) * 60_000) }
}
