/// The window-session policy (R3 R4 R5 R7 R9): pure. Timestamped events in, decisions out.
/// No clocks, no I/O, no random numbers: session ids come in with the event; the gateway stamps
/// record ids when it commits.

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

    public init(
        caseID: String, batchCaseIDs: [String] = [], matterCode: String? = nil, matterName: String? = nil,
        staffID: String? = nil, timeoutMs: Int64? = nil
    ) {
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

public enum SessionEvent: Sendable, Hashable {
    /// The business system (API caller `by`) asks for an evaluation of a case at a window.
    /// `padOnline`: whether the window's pad could be prompted (the gateway knows; the policy
    /// only records it): an evaluation opened while it is absent still opens — the case must
    /// not be lost — and its records are flagged `pad_offline`.
    case open(windowID: String, sessionID: String, request: EvaluationRequest, by: String, at: Millis, padOnline: Bool = true)
    /// A pad reported a key. The pad directory says which window it serves (if any) and what
    /// the key means: a level, a reason (R2), or neither. A serial pad repeats a press until it
    /// is acked, so its repeats are folded; a USB pad reports real key-downs.
    case press(pad: PadID, key: Int, at: Millis)
    /// A screen pad sent a rating for one evaluation (issue 14): all of it at once — level,
    /// reason, free text, dimensions — checked against `screen`; never a retransmit (the pad
    /// names the evaluation, and a resend of an acked rating is answered by the gateway).
    /// A refused rating (expired, not open, already rated) is kept as a `no_case` record unless
    /// `evidenceStored`: the gateway found that very refusal (pad, session id, level) in the
    /// store — a resend after a restart — and it is never a second record (issue 20).
    case rate(pad: PadID, rating: ScreenRating, at: Millis, evidenceStored: Bool = false)
    /// The business system (API caller `by`) withdraws the open evaluation at a window.
    case cancel(windowID: String, by: String, at: Millis)
    /// Time passed; sessions whose deadline is at or before `at` end.
    case tick(at: Millis)
}

public enum Rejection: Sendable, Hashable, Error {
    /// The case is being evaluated at another window right now.
    case caseOpenElsewhere(caseID: String, windowID: String)
    /// There is no open, unrated evaluation to cancel.
    case nothingToCancel(windowID: String)
    /// Unknown window id.
    case unknownWindow(String)
    /// The case (or one of its batch) was already rated (R3).
    case alreadyRated(caseID: String)
    /// The store cannot be read or written: nothing was changed.
    case storeUnavailable(String)
    /// More cases in one evaluation than `session.max_batch_cases`.
    case batchTooLarge(cases: Int, max: Int)
    /// A query (e.g. statistics' since/until/by) that cannot be answered as asked.
    case invalidQuery(String)
    /// An import of records that are not this gateway's damaged stores' (issue 20).
    case invalidImport(String)
    /// The window has no screen pad to pair (issue 20).
    case noScreenPad(String)
    /// A pairing code that is wrong, used, expired or not issued (issue 20).
    case pairingRefused(String)
    /// A repeated open of the window's open case names another staff member (issue 20): the
    /// pad shows the one signed in, so the rating may not move to someone else.
    case staffChanged(windowID: String, caseID: String, from: String?, to: String?)

    /// What is wrong, in words for the caller.
    public var message: String {
        switch self {
        case let .caseOpenElsewhere(caseID, windowID): "case \"\(caseID)\" is being evaluated at window \"\(windowID)\" now"
        case let .nothingToCancel(windowID): "window \"\(windowID)\" has no open, unrated evaluation to cancel"
        case let .unknownWindow(id): "no window \"\(id)\" is configured"
        case let .alreadyRated(caseID): "case \"\(caseID)\" has already been rated (one rating per case, R3)"
        case let .storeUnavailable(error): error
        case let .invalidQuery(message): message
        case let .invalidImport(message): "import refused, nothing was changed: " + message
        case let .noScreenPad(id): "window \"\(id)\" has no screen pad (pad = { screen = \"NAME\" }): there is nothing to pair"
        case let .pairingRefused(message): message
        case let .staffChanged(windowID, caseID, from, to):
            "case \"\(caseID)\" is open at window \"\(windowID)\" for staff \(from.map { "\"\($0)\"" } ?? "(none)"); "
                + "another staff_id (\(to.map { "\"\($0)\"" } ?? "none")) is refused once the prompt is shown: cancel the evaluation and open it again"
        case let .batchTooLarge(cases, max): "the evaluation names \(cases) cases; at most \(max) may be rated together (session.max_batch_cases)"
        }
    }
}

public enum Decision: Sendable, Hashable {
    /// Commit this record.
    case record(RecordDraft)
    /// Store (insert or replace) this open session.
    case saveSession(Session)
    /// Remove this session from the store.
    case removeSession(sessionID: String)
    /// Tell the window's pad to show its rating prompt.
    case prompt(pad: PadID)
    /// Acknowledge the press to the pad — only after the records before it are durable.
    case ack(pad: PadID, key: Int, repeated: Bool)
    /// The answer to `.open`: the session now open (or the same one, for a repeated request;
    /// `updated` when the repeat changed the request's details, e.g. another staff_id).
    case opened(Session, reused: Bool, updated: Bool)
    /// The answer to `.cancel`.
    case cancelled(Session)
    case rejected(Rejection)
    /// A key the pad's key map does not know; acked, logged, not a rating.
    case unknownKey(pad: PadID, key: Int)
    /// A reason key with no bad rating waiting for it; logged, not a rating.
    case strayReason(pad: PadID, key: Int, reason: String)
    /// The screen pad's rating of this evaluation is in this event's records: ack it after the commit.
    case screenRated(pad: PadID, sessionID: String)
    /// The screen pad's rating was not taken (nothing stored for it).
    case screenRefused(pad: PadID, sessionID: String, code: ScreenRefusal, message: String)
    /// Store (insert or replace) this pad's flood count.
    case saveFlood(Flood)
    /// Remove this pad's flood count (its record is written).
    case removeFlood(pad: PadID)
    /// The pad began to flood this minute: its presses are counted, not stored one by one.
    case flooding(pad: PadID, max: Int)
}

public struct SessionPolicyConfig: Sendable, Hashable {
    public var windows: [String: WindowInfo]
    /// Which window each pad serves and what its keys mean.
    public var pads: PadDirectory
    public var scores: ScoreTable
    public var defaultTimeoutMs: Int64
    public var retransmitWindowMs: Int64
    /// How long a bad rating waits for a reason key (pads with reason keys only).
    public var reasonWindowMs: Int64
    /// Presses per pad and minute stored one by one when they rate nothing; beyond, counted.
    public var maxPressesPerMinute = 30
    /// Fraud and interference signals (R9, R11): what flags a record.
    public var signals = SignalRules()
    /// What a screen pad may send with a rating: the reasons and dimensions offered.
    public var screen = ScreenOptions()

    public init(windows: [String: WindowInfo], pads: PadDirectory, scores: ScoreTable, defaultTimeoutMs: Int64, retransmitWindowMs: Int64,
                reasonWindowMs: Int64 = 10_000) {
        self.windows = windows
        self.pads = pads
        self.scores = scores
        self.defaultTimeoutMs = defaultTimeoutMs
        self.retransmitWindowMs = retransmitWindowMs
        self.reasonWindowMs = reasonWindowMs
    }
}

public struct WindowSessions: Sendable {
    public private(set) var config: SessionPolicyConfig
    /// At most one session per window.
    public private(set) var sessions: [String: Session] = [:]
    /// The last press seen from each pad, for retransmit detection.
    private var lastPress: [PadID: (key: Int, at: Millis)] = [:]
    /// Presses that rated nothing, per pad, in the current minute.
    private var perMinute: [PadID: (minute: Int64, count: Int)] = [:]
    /// Counts of presses beyond the limit, per pad (stored with the sessions).
    public private(set) var floods: [PadID: Flood] = [:]
    /// The last `burstPresses + 1` press times per pad: enough to tell a burst.
    private var recentPresses: [PadID: [Millis]] = [:]

    public init(config: SessionPolicyConfig, restoring: [Session] = [], floods restoredFloods: [Flood] = []) {
        self.config = config
        for var s in restoring where config.windows[s.windowID] != nil {
            s.restored = true
            sessions[s.windowID] = s
        }
        for f in restoredFloods { floods[f.pad] = f }
    }

    /// Swaps the configuration whole (a reload): open sessions stay open; a session whose
    /// window is gone stays until it ends, and its records still name its window.
    public mutating func reconfigure(_ config: SessionPolicyConfig) {
        self.config = config
    }

    /// The earliest deadline of any open session: when the next `.tick` has work to do.
    public var nextDeadline: Millis? {
        (sessions.values.flatMap { [$0.expiresAt] + ($0.pending.map { [$0.reasonDeadline] } ?? []) } + floods.values.map(\.endsAt)).min()
    }

    public mutating func handle(_ event: SessionEvent) -> [Decision] {
        switch event {
        case let .open(windowID, sessionID, request, by, at, padOnline):
            return open(windowID: windowID, sessionID: sessionID, request: request, by: by, at: at, padOnline: padOnline)
        case let .press(pad, key, at):
            return press(config.pads.resolve(pad: pad, key: key), at: at)
        case let .rate(pad, rating, at, evidenceStored):
            return rate(pad: pad, rating, at: at, evidenceStored: evidenceStored)
        case let .cancel(windowID, by, at):
            return cancel(windowID: windowID, by: by, at: at)
        case let .tick(at):
            return expire(at: at) + endFloods(at: at)
        }
    }

    private func draft(_ s: Session, outcome: Outcome, extraFlags: [RecordFlag] = [], endedBy: String? = nil) -> RecordDraft {
        let window = config.windows[s.windowID]
        var d = RecordDraft(
            windowID: s.windowID, department: window?.department, staffID: s.request.staffID,
            caseID: s.request.caseID, batchCaseIDs: s.request.batchCaseIDs,
            matterCode: s.request.matterCode, matterName: s.request.matterName,
            sessionID: s.sessionID, outcome: outcome, pad: window?.pad, promptedAt: s.promptedAt,
            flags: (s.restored ? [.restored] : []) + extraFlags
                + (s.request.allCaseIDs.count > config.signals.largeBatchCases ? [.largeBatch] : [])
                + (s.padOffline == true ? [.padOffline] : [])
                + (s.edits?.isEmpty == false ? [.edited] : [])
        )
        d.openedBy = s.openedBy
        d.endedBy = endedBy
        d.edits = s.edits
        return d
    }

    private mutating func open(windowID: String, sessionID: String, request: EvaluationRequest, by: String, at: Millis, padOnline: Bool) -> [Decision] {
        guard config.windows[windowID] != nil else { return [.rejected(.unknownWindow(windowID))] }
        let cases = request.allCaseIDs.count
        guard cases <= config.signals.maxBatchCases else { return [.rejected(.batchTooLarge(cases: cases, max: config.signals.maxBatchCases))] }
        // A session past its deadline is over, even if no tick ran yet: a retried request must
        // not be told it is open.
        var out = expire(at: at)
        let wanted = Set(request.allCaseIDs)
        for other in sessions.values where other.ratedAt != nil {
            if let rated = other.request.allCaseIDs.first(where: wanted.contains) {
                return out + [.rejected(.alreadyRated(caseID: rated))]
            }
        }
        for other in sessions.values where other.windowID != windowID && other.ratedAt == nil {
            if let clash = other.request.allCaseIDs.first(where: wanted.contains) {
                return out + [.rejected(.caseOpenElsewhere(caseID: clash, windowID: other.windowID))]
            }
        }
        if let current = sessions[windowID] {
            if current.ratedAt == nil && current.request == request {
                // The business system repeated its request (a retry after a lost answer):
                // the same session answers; nothing is closed, the pad is prompted again.
                return out + prompt(windowID) + [.opened(current, reused: true, updated: false)]
            }
            if current.ratedAt == nil && current.request.caseID == request.caseID {
                // The same case at the same window with edited details (another staff_id, a
                // matter name): the case is still at the window, so the open session is
                // updated, never ended with an `unrated` record (issue 11).
                // Each change is on the records (R11); the staff a rating judges cannot change
                // once the pad shows the prompt (cancel and open again: both recorded).
                guard current.request.staffID == request.staffID else {
                    return out + [.rejected(.staffChanged(windowID: windowID, caseID: request.caseID,
                                                          from: current.request.staffID, to: request.staffID))]
                }
                var updated = current
                updated.request = request
                updated.edits = (current.edits ?? []) + SessionEdit.changes(from: current.request, to: request, by: by, at: at)
                // A new timeout counts from now: the pad is prompted again.
                if let t = request.timeoutMs {
                    if at + t < current.expiresAt { updated.shortenedBy = by }
                    updated.expiresAt = at + t
                }
                sessions[windowID] = updated
                return out + [.saveSession(updated)] + prompt(windowID) + [.opened(updated, reused: true, updated: true)]
            }
            if current.ratedAt == nil {
                out.append(.record(draft(current, outcome: .unrated, extraFlags: [.superseded], endedBy: by)))
            }
            if let pending = current.pending {
                out.append(.record(pendingRecord(current, pending, reason: nil)))
            }
            out.append(.removeSession(sessionID: current.sessionID))
            sessions[windowID] = nil
        }
        let timeout = request.timeoutMs ?? config.defaultTimeoutMs
        var session = Session(
            sessionID: sessionID, windowID: windowID, request: request, promptedAt: at, expiresAt: at + timeout, openedBy: by
        )
        if !padOnline { session.padOffline = true }
        sessions[windowID] = session
        out.append(.saveSession(session))
        out += prompt(windowID)
        out.append(.opened(session, reused: false, updated: false))
        return out
    }

    /// The rated record of a session: `level` etc. from the press, `reason` when a reason key
    /// gave one; without a reason, a bad rating is flagged `needs_reason` (R2).
    /// `pressFlags`: the signals seen at the press (`burst`, `off_hours`); `instant` is judged here.
    private func ratedRecord(_ session: Session, level: Level, pad: PadID, key: Int?, pressedAt: Millis, reason: String?,
                             pressFlags: [RecordFlag]) -> RecordDraft {
        var d = draft(session, outcome: .rated)
        d.level = level
        d.score = config.scores.score(level)
        d.pad = pad
        d.key = key
        d.pressedAt = pressedAt
        d.reason = reason
        if level.isBad && reason == nil { d.flags.append(.needsReason) }
        if pressedAt - session.promptedAt < config.signals.instantMs { d.flags.append(.instant) }
        d.flags += pressFlags
        return d
    }

    private func pendingRecord(_ session: Session, _ p: PendingRating, reason: String?) -> RecordDraft {
        ratedRecord(session, level: p.level, pad: p.pad, key: p.key, pressedAt: p.pressedAt, reason: reason, pressFlags: p.flags ?? [])
    }

    /// Notes a press at `pad` and returns the signals it shows: `burst` (more than
    /// `burstPresses` presses within `burstWindowMs`, this one included) and `off_hours`.
    private mutating func signals(pad: PadID, at: Millis) -> [RecordFlag] {
        let rules = config.signals
        var times = recentPresses[pad] ?? []
        times.append(at)
        if times.count > rules.burstPresses + 1 { times.removeFirst(times.count - rules.burstPresses - 1) }
        recentPresses[pad] = times
        let burst = times.count > rules.burstPresses && at - times[0] <= rules.burstWindowMs
        return (burst ? [.burst] : []) + (rules.isOffHours(at) ? [.offHours] : [])
    }

    /// The window's pad, told to show its prompt (a window without a pad has nothing to tell).
    private func prompt(_ windowID: String) -> [Decision] {
        config.pads.pad(ofWindow: windowID).map { [.prompt(pad: $0)] } ?? []
    }

    private mutating func press(_ p: PadDirectory.Press, at: Millis) -> [Decision] {
        let (windowID, pad, key, level, reason, holdsReasons) = (p.windowID, p.pad, p.key, p.level, p.reason, p.holdsReasons)
        // A pad that got no acknowledgement sends the same press again: the repeat is acked
        // again but counted once. Repeats extend the window, so a pad retrying every 500 ms
        // for several seconds is still one press.
        // A press after the window's prompt is never a repeat of one before it.
        let promptedSince = windowID.flatMap { sessions[$0] }.map { $0.promptedAt > (lastPress[pad]?.at ?? at) } ?? false
        if pad.retransmits, !promptedSince, let last = lastPress[pad], last.key == key, at - last.at <= config.retransmitWindowMs, at >= last.at {
            lastPress[pad] = (key, at)
            return [.ack(pad: pad, key: key, repeated: true)]
        }
        lastPress[pad] = (key, at)
        let pressFlags = signals(pad: pad, at: at)

        var out: [Decision] = []
        // A session past its deadline no longer takes presses, even if no tick ran yet.
        out += expire(at: at) + endFloods(at: at)
        let window = windowID.flatMap { config.windows[$0] }

        guard !p.isUnknownKey else {
            // Stored like any press that rates nothing (ack means durable), flagged with the raw key.
            var d = RecordDraft(windowID: window?.id, department: window?.department, outcome: .noCase, pad: pad, key: key,
                                pressedAt: at, flags: [.unknownKey] + (window == nil ? [.unknownPad] : []) + pressFlags)
            if let windowID, let session = sessions[windowID] {
                d.sessionID = session.sessionID
                d.staffID = session.request.staffID
            }
            return out + [.unknownKey(pad: pad, key: key)] + keep(d, pad: pad, window: windowID, at: at)
        }

        if let reason {
            guard let windowID, var session = sessions[windowID], let pending = session.pending else {
                return out + [.strayReason(pad: pad, key: key, reason: reason), .ack(pad: pad, key: key, repeated: false)]
            }
            session.pending = nil
            sessions[windowID] = session
            return out + [.record(pendingRecord(session, pending, reason: reason)), .saveSession(session), .ack(pad: pad, key: key, repeated: false)]
        }
        guard let level else { return out }
        let score = config.scores.score(level)

        guard let windowID, let window else {
            let d = RecordDraft(
                windowID: nil, outcome: .noCase, level: level, score: score, pad: pad, key: key,
                pressedAt: at, flags: [.unknownPad] + pressFlags
            )
            return out + keep(d, pad: pad, window: nil, at: at)
        }
        if var session = sessions[windowID] {
            if session.ratedAt == nil {
                session.ratedAt = at
                if level.isBad && holdsReasons {
                    // Wait for a reason key; the pending rating is durable with the session.
                    session.pending = PendingRating(level: level, pad: pad, key: key, pressedAt: at, reasonDeadline: at + config.reasonWindowMs,
                                                    flags: pressFlags.isEmpty ? nil : pressFlags)
                } else {
                    out.append(.record(ratedRecord(session, level: level, pad: pad, key: key, pressedAt: at, reason: nil, pressFlags: pressFlags)))
                }
                sessions[windowID] = session
                out.append(.saveSession(session))
            } else {
                // R3: one rating per case. The press is kept as evidence (R9, R17), not a rating.
                let d = RecordDraft(
                    windowID: windowID, department: window.department, staffID: session.request.staffID,
                    sessionID: session.sessionID, outcome: .noCase, level: level, score: score, pad: pad,
                    key: key, promptedAt: session.promptedAt, pressedAt: at, flags: [.extraPress] + pressFlags
                )
                return out + keep(d, pad: pad, window: windowID, at: at)
            }
        } else {
            let d = RecordDraft(
                windowID: windowID, department: window.department, outcome: .noCase, level: level, score: score,
                pad: pad, key: key, pressedAt: at, flags: pressFlags
            )
            return out + keep(d, pad: pad, window: windowID, at: at)
        }
        out.append(.ack(pad: pad, key: key, repeated: false))
        return out
    }

    /// A screen pad's rating: one per evaluation, only for the evaluation open at its window now
    /// (R3), with a reason only from the configured list (R2). Everything it says goes into one
    /// rated record; a bad level without a reason is flagged `needs_reason`, as for keys.
    private mutating func rate(pad: PadID, _ r: ScreenRating, at: Millis, evidenceStored: Bool) -> [Decision] {
        func refuse(_ code: ScreenRefusal, _ message: String) -> Decision {
            .screenRefused(pad: pad, sessionID: r.sessionID, code: code, message: message)
        }
        guard let windowID = config.pads.entry(for: pad)?.windowID else { return [refuse(.notOpen, "pad \(pad) serves no window")] }
        if let problem = config.screen.problem(with: r) { return [refuse(.invalid, problem)] }
        let timedOut = sessions[windowID].map { $0.sessionID == r.sessionID && $0.ratedAt == nil && $0.expiresAt <= at } ?? false
        var out = expire(at: at) + endFloods(at: at)
        /// A well-formed rating that came too late or for the wrong evaluation is evidence (R9,
        /// R17), like a key press with no case: a `no_case` record flagged `refused`, bounded by
        /// the flood rule; no key ack (the screen gets the refusal).
        func refuseKeeping(_ code: ScreenRefusal, _ message: String, session: Session? = nil) -> [Decision] {
            guard !evidenceStored else { return out + [refuse(code, message)] }
            let window = config.windows[windowID]
            var d = RecordDraft(windowID: windowID, department: window?.department, staffID: session?.request.staffID,
                                sessionID: r.sessionID, outcome: .noCase, level: r.level, score: config.scores.score(r.level), pad: pad,
                                promptedAt: session?.promptedAt, pressedAt: at, reason: r.reason,
                                flags: [.refused] + (code == .alreadyRated ? [.extraPress] : []) + signals(pad: pad, at: at),
                                detail: "screen rating refused: \(code.rawValue)")
            d.reasonText = r.reasonText
            d.dimensions = r.dimensions
            return out + keep(d, pad: pad, window: windowID, at: at).filter { if case .ack = $0 { false } else { true } } + [refuse(code, message)]
        }
        if timedOut { return refuseKeeping(.expired, "evaluation \(r.sessionID) timed out before the rating came") }
        guard var session = sessions[windowID], session.sessionID == r.sessionID else {
            return refuseKeeping(.notOpen, "evaluation \(r.sessionID) is not open at window \(windowID)")
        }
        guard session.ratedAt == nil else {
            return refuseKeeping(.alreadyRated, "evaluation \(r.sessionID) is already rated (one rating per case, R3)", session: session)
        }
        let pressFlags = signals(pad: pad, at: at)
        session.ratedAt = at
        sessions[windowID] = session
        var d = ratedRecord(session, level: r.level, pad: pad, key: nil, pressedAt: at, reason: r.reason, pressFlags: pressFlags)
        d.reasonText = r.reasonText
        d.dimensions = r.dimensions
        // A written reason is a reason (R2: "chosen from preset items or written").
        if r.reasonText != nil { d.flags.removeAll { $0 == .needsReason } }
        out += [.record(d), .saveSession(session), .screenRated(pad: pad, sessionID: r.sessionID)]
        return out
    }

    /// A press that rates nothing: stored as its own record while the pad stays within
    /// `maxPressesPerMinute` this minute; beyond, counted into the pad's flood (durable too).
    /// Either way the ack follows the commit.
    private mutating func keep(_ d: RecordDraft, pad: PadID, window: String?, at: Millis) -> [Decision] {
        let minute = at.value >= 0 ? at.value / 60_000 : (at.value - 59_999) / 60_000
        var seen: (minute: Int64, count: Int) = perMinute[pad].flatMap { $0.minute == minute ? $0 : nil } ?? (minute, 0)
        seen.count += 1
        perMinute[pad] = seen
        let ack = Decision.ack(pad: pad, key: d.key ?? 0, repeated: false)
        guard seen.count > config.maxPressesPerMinute else { return [.record(d), ack] }
        var out: [Decision] = []
        var flood = floods[pad] ?? Flood(pad: pad, windowID: window, minute: minute, count: 0, firstAt: at, lastAt: at)
        if flood.count == 0 { out.append(.flooding(pad: pad, max: config.maxPressesPerMinute)) }
        flood.count += 1
        flood.lastAt = at
        floods[pad] = flood
        return out + [.saveFlood(flood), ack]
    }

    /// Floods whose minute is over become their record.
    private mutating func endFloods(at: Millis) -> [Decision] {
        guard floods.values.contains(where: { $0.endsAt <= at }) else { return [] }
        var out: [Decision] = []
        for (pad, f) in floods.sorted(by: { $0.key < $1.key }) where f.endsAt <= at {
            let window = f.windowID.flatMap { config.windows[$0] }
            var d = RecordDraft(windowID: f.windowID, department: window?.department, outcome: .noCase, pad: pad,
                                pressedAt: f.firstAt, flags: [.flood] + (f.windowID == nil ? [.unknownPad] : []))
            d.count = f.count
            out += [.record(d), .removeFlood(pad: pad)]
            floods[pad] = nil
        }
        return out
    }

    private mutating func cancel(windowID: String, by: String, at: Millis) -> [Decision] {
        guard config.windows[windowID] != nil else { return [.rejected(.unknownWindow(windowID))] }
        guard let session = sessions[windowID], session.ratedAt == nil, session.expiresAt > at else {
            return expire(at: at) + [.rejected(.nothingToCancel(windowID: windowID))]
        }
        sessions[windowID] = nil
        return [
            .record(draft(session, outcome: .cancelled, endedBy: by)),
            .removeSession(sessionID: session.sessionID),
            .cancelled(session),
        ]
    }

    private mutating func expire(at: Millis) -> [Decision] {
        var out: [Decision] = []
        for (windowID, var session) in sessions.sorted(by: { $0.key < $1.key }) {
            if let pending = session.pending, pending.reasonDeadline <= at || session.expiresAt <= at {
                // No reason key came: the bad rating stands, flagged needs_reason (R2).
                out.append(.record(pendingRecord(session, pending, reason: nil)))
                session.pending = nil
                sessions[windowID] = session
                if session.expiresAt > at { out.append(.saveSession(session)) }
            }
            guard session.expiresAt <= at else { continue }
            if session.ratedAt == nil {
                out.append(.record(draft(session, outcome: .unrated, endedBy: session.shortenedBy)))
            }
            out.append(.removeSession(sessionID: session.sessionID))
            sessions[windowID] = nil
        }
        return out
    }
}
