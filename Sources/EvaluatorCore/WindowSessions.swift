/// The window-session policy (R3 R4 R5 R7 R9): pure. Timestamped events in, decisions out.
/// No clocks, no I/O, no random numbers: session ids come in with the event; the gateway stamps
/// record ids when it commits.

/// What a window needs the policy to know about it.
public struct WindowInfo: Sendable, Hashable {
    public var id: String
    public var name: String
    public var department: String
    /// Pad reference as it appears in records, e.g. `bus1#3`.
    public var pad: String?

    public init(id: String, name: String, department: String, pad: String?) {
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

    public init(
        sessionID: String, windowID: String, request: EvaluationRequest, promptedAt: Millis,
        expiresAt: Millis, ratedAt: Millis? = nil, restored: Bool = false
    ) {
        self.sessionID = sessionID
        self.windowID = windowID
        self.request = request
        self.promptedAt = promptedAt
        self.expiresAt = expiresAt
        self.ratedAt = ratedAt
        self.restored = restored
    }
}

public enum SessionEvent: Sendable, Hashable {
    /// The business system asks for an evaluation of a case at a window.
    case open(windowID: String, sessionID: String, request: EvaluationRequest, at: Millis)
    /// A pad reported a key. `windowID` nil: no configured window owns this pad.
    /// `level` nil: the pad's key map has no level for this key.
    case press(windowID: String?, pad: String, key: Int, level: Level?, at: Millis)
    /// The business system withdraws the open evaluation at a window.
    case cancel(windowID: String, at: Millis)
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
}

public enum Decision: Sendable, Hashable {
    /// Commit this record.
    case record(RecordDraft)
    /// Store (insert or replace) this open session.
    case saveSession(Session)
    /// Remove this session from the store.
    case removeSession(sessionID: String)
    /// Tell the window's pad to show its rating prompt.
    case prompt(windowID: String)
    /// Acknowledge the press to the pad — only after the records before it are durable.
    case ack(pad: String, key: Int, repeated: Bool)
    /// The answer to `.open`: the session now open (or the same one, for a repeated request).
    case opened(Session, reused: Bool)
    /// The answer to `.cancel`.
    case cancelled(Session)
    case rejected(Rejection)
    /// A key the pad's key map does not know; acked, logged, not a rating.
    case unknownKey(pad: String, key: Int)
}

public struct SessionPolicyConfig: Sendable, Hashable {
    public var windows: [String: WindowInfo]
    public var scores: ScoreTable
    public var defaultTimeoutMs: Int64
    public var retransmitWindowMs: Int64

    public init(windows: [String: WindowInfo], scores: ScoreTable, defaultTimeoutMs: Int64, retransmitWindowMs: Int64) {
        self.windows = windows
        self.scores = scores
        self.defaultTimeoutMs = defaultTimeoutMs
        self.retransmitWindowMs = retransmitWindowMs
    }
}

public struct WindowSessions: Sendable {
    public let config: SessionPolicyConfig
    /// At most one session per window.
    public private(set) var sessions: [String: Session] = [:]
    /// The last press seen from each pad, for retransmit detection.
    private var lastPress: [String: (key: Int, at: Millis)] = [:]

    public init(config: SessionPolicyConfig, restoring: [Session] = []) {
        self.config = config
        for var s in restoring where config.windows[s.windowID] != nil {
            s.restored = true
            sessions[s.windowID] = s
        }
    }

    /// The earliest deadline of any open session: when the next `.tick` has work to do.
    public var nextDeadline: Millis? { sessions.values.map(\.expiresAt).min() }

    public mutating func handle(_ event: SessionEvent) -> [Decision] {
        switch event {
        case let .open(windowID, sessionID, request, at):
            return open(windowID: windowID, sessionID: sessionID, request: request, at: at)
        case let .press(windowID, pad, key, level, at):
            return press(windowID: windowID, pad: pad, key: key, level: level, at: at)
        case let .cancel(windowID, at):
            return cancel(windowID: windowID, at: at)
        case let .tick(at):
            return expire(at: at)
        }
    }

    private func draft(_ s: Session, outcome: Outcome, extraFlags: [RecordFlag] = []) -> RecordDraft {
        let window = config.windows[s.windowID]
        return RecordDraft(
            windowID: s.windowID, department: window?.department, staffID: s.request.staffID,
            caseID: s.request.caseID, batchCaseIDs: s.request.batchCaseIDs,
            matterCode: s.request.matterCode, matterName: s.request.matterName,
            sessionID: s.sessionID, outcome: outcome, pad: window?.pad, promptedAt: s.promptedAt,
            flags: (s.restored ? [.restored] : []) + extraFlags
        )
    }

    private mutating func open(windowID: String, sessionID: String, request: EvaluationRequest, at: Millis) -> [Decision] {
        guard config.windows[windowID] != nil else { return [.rejected(.unknownWindow(windowID))] }
        let wanted = Set(request.allCaseIDs)
        for other in sessions.values where other.windowID != windowID && other.ratedAt == nil {
            if let clash = other.request.allCaseIDs.first(where: wanted.contains) {
                return [.rejected(.caseOpenElsewhere(caseID: clash, windowID: other.windowID))]
            }
        }
        var out: [Decision] = []
        if let current = sessions[windowID] {
            if current.ratedAt == nil && current.request == request {
                // The business system repeated its request (a retry after a lost answer):
                // the same session answers; nothing is closed, the pad is prompted again.
                return [.prompt(windowID: windowID), .opened(current, reused: true)]
            }
            if current.ratedAt == nil {
                out.append(.record(draft(current, outcome: .unrated, extraFlags: [.superseded])))
            }
            out.append(.removeSession(sessionID: current.sessionID))
            sessions[windowID] = nil
        }
        let timeout = request.timeoutMs ?? config.defaultTimeoutMs
        let session = Session(
            sessionID: sessionID, windowID: windowID, request: request, promptedAt: at, expiresAt: at + timeout
        )
        sessions[windowID] = session
        out.append(.saveSession(session))
        out.append(.prompt(windowID: windowID))
        out.append(.opened(session, reused: false))
        return out
    }

    private mutating func press(windowID: String?, pad: String, key: Int, level: Level?, at: Millis) -> [Decision] {
        // A pad that got no acknowledgement sends the same press again: the repeat is acked
        // again but counted once. Repeats extend the window, so a pad retrying every 500 ms
        // for several seconds is still one press.
        if let last = lastPress[pad], last.key == key, at - last.at <= config.retransmitWindowMs, at >= last.at {
            lastPress[pad] = (key, at)
            return [.ack(pad: pad, key: key, repeated: true)]
        }
        lastPress[pad] = (key, at)

        guard let level else {
            return [.unknownKey(pad: pad, key: key), .ack(pad: pad, key: key, repeated: false)]
        }
        let score = config.scores.score(level)
        var out: [Decision] = []
        // A session past its deadline no longer takes presses, even if no tick ran yet.
        out += expire(at: at)

        guard let windowID, let window = config.windows[windowID] else {
            let d = RecordDraft(
                windowID: nil, outcome: .noCase, level: level, score: score, pad: pad, key: key,
                pressedAt: at, flags: [.unknownPad]
            )
            return out + [.record(d), .ack(pad: pad, key: key, repeated: false)]
        }
        if var session = sessions[windowID] {
            if session.ratedAt == nil {
                var d = draft(session, outcome: .rated)
                d.level = level
                d.score = score
                d.pad = pad
                d.key = key
                d.pressedAt = at
                // "68" pads have no reason keys: a bad rating must be followed up for one (R2).
                if level.isBad { d.flags.append(.needsReason) }
                session.ratedAt = at
                sessions[windowID] = session
                out.append(.record(d))
                out.append(.saveSession(session))
            } else {
                // R3: one rating per case. The press is kept as evidence (R9, R17), not a rating.
                let d = RecordDraft(
                    windowID: windowID, department: window.department, staffID: session.request.staffID,
                    sessionID: session.sessionID, outcome: .noCase, level: level, score: score, pad: pad,
                    key: key, promptedAt: session.promptedAt, pressedAt: at, flags: [.extraPress]
                )
                out.append(.record(d))
            }
        } else {
            let d = RecordDraft(
                windowID: windowID, department: window.department, outcome: .noCase, level: level, score: score,
                pad: pad, key: key, pressedAt: at
            )
            out.append(.record(d))
        }
        out.append(.ack(pad: pad, key: key, repeated: false))
        return out
    }

    private mutating func cancel(windowID: String, at: Millis) -> [Decision] {
        guard config.windows[windowID] != nil else { return [.rejected(.unknownWindow(windowID))] }
        guard let session = sessions[windowID], session.ratedAt == nil, session.expiresAt > at else {
            return expire(at: at) + [.rejected(.nothingToCancel(windowID: windowID))]
        }
        sessions[windowID] = nil
        return [
            .record(draft(session, outcome: .cancelled)),
            .removeSession(sessionID: session.sessionID),
            .cancelled(session),
        ]
    }

    private mutating func expire(at: Millis) -> [Decision] {
        var out: [Decision] = []
        for (windowID, session) in sessions.sorted(by: { $0.key < $1.key }) where session.expiresAt <= at {
            if session.ratedAt == nil {
                out.append(.record(draft(session, outcome: .unrated)))
            }
            out.append(.removeSession(sessionID: session.sessionID))
            sessions[windowID] = nil
        }
        return out
    }
}
