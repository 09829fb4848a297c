/// What goes into the policy (events) and what comes out (decisions, rejections), and its
/// configuration.
public enum SessionEvent: Sendable, Hashable {
    /// The business system (API caller `by`) asks for an evaluation of a case at a window.
    /// `padOnline`: whether the window's pad could be prompted (the gateway knows; the policy
    /// only records it): an evaluation opened while it is absent still opens — the case must
    /// not be lost — and its records are flagged `pad_offline`. `ratedBefore`: a case of the
    /// request the store holds a rating of (R3; the gateway reads the store, the policy refuses).
    /// `servicesBefore`: the case's highest service number in the store or waiting for a commit
    /// (issue 22: services are numbered 1, 2, … per case in opening order).
    case open(windowID: String, sessionID: String, request: EvaluationRequest, by: String, at: Millis, padOnline: Bool = true, ratedBefore: String? = nil,
              servicesBefore: Int = 0)
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
    /// The screen pad's rating of `sessionID` is durable as `recordID` and acked (after the
    /// commit, or found in the store after a restart): a resend gets the same ack.
    case screenAcked(pad: PadID, sessionID: String, recordID: String)
    /// The business system (API caller `by`) signs staff in at a window (nil: out) or pauses
    /// or resumes it (暂停服务): the window's serving state, kept in the store with the commit
    /// like a session (issue 21: the policy owns it; an open without a staff_id is the signed-in
    /// staff's).
    case setWindowState(windowID: String, staff: StaffMember??, paused: Bool?, by: String, at: Millis)
}

/// Why the policy or the hall refused a request: a code (an `ErrorCode`, as
/// swift-service-lifecycle's `ServiceRunnerError` keeps its own, so codes can grow without
/// breaking a caller's `switch`) and a message for the caller. The API maps the code to an
/// HTTP status in one place (`APIFailure`).
public struct Rejection: Sendable, Hashable, Error, CustomStringConvertible {
    public let code: ErrorCode<Rejection>
    /// What is wrong, in words for the caller.
    public let message: String

    public init(_ code: ErrorCode<Rejection>, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.name): \(message)" }

    /// The case is being evaluated at another window right now.
    public static func caseOpenElsewhere(caseID: String, windowID: String) -> Rejection {
        Rejection(.caseOpenElsewhere, "case \"\(caseID)\" is being evaluated at window \"\(windowID)\" now")
    }

    /// There is no open, unrated evaluation to cancel.
    public static func nothingToCancel(windowID: String) -> Rejection {
        Rejection(.nothingToCancel, "window \"\(windowID)\" has no open, unrated evaluation to cancel")
    }

    /// Unknown window id.
    public static func unknownWindow(_ id: String) -> Rejection { Rejection(.unknownWindow, "no window \"\(id)\" is configured") }

    /// The case (or one of its batch) was already rated at this stage (R3: one rating per case
    /// and stage). `service`: the rated service's number, when known.
    public static func alreadyRated(caseID: String, stage: String? = nil, service: Int? = nil) -> Rejection {
        let at = stage.map { " at stage \($0)" } ?? ""
        let which = service.map { " (service \($0))" } ?? ""
        return Rejection(.alreadyRated, "case \"\(caseID)\" has already been rated\(at)\(which) (one rating per case and stage, R3)")
    }

    /// An open names a stage that is not in `[session] stages` (issue 22).
    public static func unknownStage(_ stage: String, stages: [String]) -> Rejection {
        Rejection(.unknownStage, "stage \"\(stage)\" is not one of [session] stages (\(stages.joined(separator: ", ")))")
    }

    /// The case has `max` services already (`[session] max_services_per_case`, issue 22).
    public static func tooManyServices(caseID: String, max: Int) -> Rejection {
        Rejection(.tooManyServices, "case \"\(caseID)\" has \(max) services already, the most [session] max_services_per_case allows")
    }

    /// The store cannot be read or written: nothing was changed.
    public static func storeUnavailable(_ error: String) -> Rejection { Rejection(.storeUnavailable, error) }

    /// More cases in one evaluation than `session.max_batch_cases`.
    public static func batchTooLarge(cases: Int, max: Int) -> Rejection {
        Rejection(.batchTooLarge, "the evaluation names \(cases) cases; at most \(max) may be rated together (session.max_batch_cases)")
    }

    /// A query (e.g. statistics' since/until/by) that cannot be answered as asked.
    public static func invalidQuery(_ message: String) -> Rejection { Rejection(.invalidQuery, message) }

    /// An import of records that are not this gateway's damaged stores' (issue 20).
    public static func invalidImport(_ message: String) -> Rejection { Rejection(.invalidImport, "import refused, nothing was changed: " + message) }

    /// The window has no screen pad to pair (issue 20).
    public static func noScreenPad(_ id: String) -> Rejection {
        Rejection(.noScreenPad, "window \"\(id)\" has no screen pad (pad = { screen = \"NAME\" }): there is nothing to pair")
    }

    /// A pairing code that is wrong, used, expired or not issued (issue 20).
    public static func pairingRefused(_ message: String) -> Rejection { Rejection(.pairingRefused, message) }

    /// A repeated open of the window's open case names another staff member (issue 20): the
    /// pad shows the one signed in, so the rating may not move to someone else.
    public static func staffChanged(windowID: String, caseID: String, from: String?, to: String?) -> Rejection {
        Rejection(.staffChanged, "case \"\(caseID)\" is open at window \"\(windowID)\" for staff \(from.map { "\"\($0)\"" } ?? "(none)"); "
            + "another staff_id (\(to.map { "\"\($0)\"" } ?? "none")) is refused once the prompt is shown: cancel the evaluation and open it again")
    }
}

extension ErrorCode where Domain == Rejection {
    public static let caseOpenElsewhere = ErrorCode("case_open_elsewhere")
    public static let nothingToCancel = ErrorCode("nothing_to_cancel")
    public static let unknownWindow = ErrorCode("unknown_window")
    public static let alreadyRated = ErrorCode("already_rated")
    public static let unknownStage = ErrorCode("unknown_stage")
    public static let tooManyServices = ErrorCode("too_many_services")
    public static let storeUnavailable = ErrorCode("store_unavailable")
    public static let batchTooLarge = ErrorCode("batch_too_large")
    public static let invalidQuery = ErrorCode("invalid_query")
    public static let invalidImport = ErrorCode("invalid_import")
    public static let noScreenPad = ErrorCode("no_screen_pad")
    public static let pairingRefused = ErrorCode("pairing_refused")
    public static let staffChanged = ErrorCode("staff_changed")
}

public enum Decision: Sendable, Hashable {
    /// Commit this record.
    case record(RecordDraft)
    /// Store (insert or replace) this open session.
    case saveSession(Session)
    /// Remove this session from the store.
    case removeSession(sessionID: String)
    /// Tell the window's pad to show its rating prompt, until the evaluation's deadline (a bus
    /// holds a prompt it could not send until then).
    case prompt(pad: PadID, until: Millis?)
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
    /// A resend of a rating this pad was acked for: the same ack again, nothing stored.
    case screenAckedBefore(pad: PadID, sessionID: String, recordID: String)
    /// Store (insert or replace) this pad's flood count.
    case saveFlood(Flood)
    /// Remove this pad's flood count (its record is written).
    case removeFlood(pad: PadID)
    /// The pad began to flood this minute: its presses are counted, not stored one by one.
    case flooding(pad: PadID, max: Int, until: Millis)
    /// Store (insert or replace) this window's serving state.
    case saveWindowState(windowID: String, WindowState)
    /// The answer to `.setWindowState`: the state before and after (the same when nothing changed).
    case windowState(windowID: String, before: WindowState, after: WindowState)
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
    /// The stages a case is rated at (一事多评, issue 22): `[session] stages`, in order; the
    /// first is the stage of an open that names none (and of records stored before stages).
    public var stages = Stages.defaultList
    /// `[session] max_services_per_case`: services (stages and follow-ups) one case may have.
    public var maxServicesPerCase = Stages.defaultMaxServicesPerCase

    /// The stage an open asks for, checked against `stages`: nil when it is not one of them.
    public func stage(_ requested: String?) -> String? {
        guard let requested else { return stages.first }
        return stages.contains(requested) ? requested : nil
    }

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
