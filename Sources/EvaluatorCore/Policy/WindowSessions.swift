/// The window-session policy (R3 R4 R5 R7 R9): pure. Timestamped events in, decisions out.
/// No clocks, no I/O, no random numbers: session ids come in with the event; the gateway stamps
/// record ids when it commits.
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
    /// Restored evaluations whose pad was prompted again in this run (once each).
    private var reprompted: Set<String> = []
    /// Each window's serving state (staff signed in, paused), kept in the store.
    public private(set) var windowStates: [String: WindowState] = [:]
    /// Screen ratings acked in this run (a resend is acked again, nothing stored).
    public private(set) var screenAcks = ScreenAcks()

    public init(config: SessionPolicyConfig, restoring: [Session] = [], floods restoredFloods: [Flood] = [],
                windowStates: [String: WindowState] = [:]) {
        self.config = config
        self.windowStates = windowStates
        for var s in restoring where config.windows[s.windowID] != nil {
            s.restored = true
            // Opened before stages (issue 22): the first configured stage, service 1.
            if s.request.stage == nil { s.request.stage = config.stage(nil) }
            if s.serviceNo == nil { s.serviceNo = 1 }
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
        case let .open(windowID, sessionID, request, by, at, padOnline, ratedBefore, servicesBefore):
            return open(windowID: windowID, sessionID: sessionID, request: request, by: by, at: at, padOnline: padOnline, ratedBefore: ratedBefore,
                        servicesBefore: servicesBefore)
        case let .press(pad, key, at):
            return press(config.pads.resolve(pad: pad, key: key), at: at)
        case let .rate(pad, rating, at, evidenceStored):
            if let recordID = screenAcks.recordID(of: rating.sessionID, pad: pad) {
                return [.screenAckedBefore(pad: pad, sessionID: rating.sessionID, recordID: recordID)]
            }
            return rate(pad: pad, rating, at: at, evidenceStored: evidenceStored)
        case let .screenAcked(pad, sessionID, recordID):
            screenAcks.remember(sessionID, pad: pad, recordID: recordID)
            return []
        case let .cancel(windowID, by, at):
            return cancel(windowID: windowID, by: by, at: at)
        case let .tick(at):
            return expire(at: at) + endFloods(at: at)
        case let .setWindowState(windowID, staff, paused, _, at):
            guard config.windows[windowID] != nil else { return [.rejected(.unknownWindow(windowID))] }
            let before = windowStates[windowID] ?? WindowState()
            var after = before
            if let staff { after.staff = staff }
            if let paused { after.paused = paused }
            guard after != before else { return expire(at: at) + [.windowState(windowID: windowID, before: before, after: after)] }
            windowStates[windowID] = after
            return expire(at: at) + [.saveWindowState(windowID: windowID, after), .windowState(windowID: windowID, before: before, after: after)]
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
        d.stage = s.request.stage
        d.serviceNo = s.serviceNo
        return d
    }

    private mutating func open(windowID: String, sessionID: String, request: EvaluationRequest, by: String, at: Millis, padOnline: Bool,
                               ratedBefore: String?, servicesBefore: Int) -> [Decision] {
        guard config.windows[windowID] != nil else { return [.rejected(.unknownWindow(windowID))] }
        // Each open rates one stage (issue 22); none named: the first configured one.
        guard let stage = config.stage(request.stage) else { return [.rejected(.unknownStage(request.stage ?? "", stages: config.stages))] }
        if let ratedBefore { return [.rejected(.alreadyRated(caseID: ratedBefore, stage: stage))] } // R3: rated in the store
        var request = request
        request.stage = stage
        // Without a staff_id, the evaluation is the signed-in staff's (issue 14).
        if request.staffID == nil { request.staffID = windowStates[windowID]?.staff?.staffID }
        let cases = request.allCaseIDs.count
        guard cases <= config.signals.maxBatchCases else { return [.rejected(.batchTooLarge(cases: cases, max: config.signals.maxBatchCases))] }
        // A session past its deadline is over, even if no tick ran yet: a retried request must
        // not be told it is open.
        var out = expire(at: at)
        // The case's services the policy still holds (one may be superseded below).
        let servicesHeld = sessions.values.filter { $0.request.caseID == request.caseID }.compactMap(\.serviceNo).max() ?? 0
        let wanted = Set(request.allCaseIDs)
        for other in sessions.values where other.ratedAt != nil && other.request.stage == stage {
            if let rated = other.request.allCaseIDs.first(where: wanted.contains) {
                return out + [.rejected(.alreadyRated(caseID: rated, stage: stage, service: other.serviceNo))]
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
            if current.ratedAt == nil && current.request.caseID == request.caseID && current.request.stage == stage {
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
        // A new service of the case (issue 22): numbered after every service it had, the one
        // just superseded included; its service record is stored before anything rates it.
        let serviceNo = max(servicesBefore, servicesHeld) + 1
        guard serviceNo <= config.maxServicesPerCase else {
            return out + [.rejected(.tooManyServices(caseID: request.caseID, max: config.maxServicesPerCase))]
        }
        let timeout = request.timeoutMs ?? config.defaultTimeoutMs
        var session = Session(
            sessionID: sessionID, windowID: windowID, request: request, promptedAt: at, expiresAt: at + timeout, openedBy: by
        )
        session.serviceNo = serviceNo
        if !padOnline { session.padOffline = true }
        sessions[windowID] = session
        out.append(.record(draft(session, outcome: .service)))
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
        config.pads.pad(ofWindow: windowID).map { [.prompt(pad: $0, until: sessions[windowID]?.expiresAt)] } ?? []
    }

    /// A bus opened: the prompts its pads owe for evaluations restored after a restart (once
    /// per evaluation, never again on a later re-attach). Evaluations opened while the bus was
    /// down need nothing here: the bus held their prompts.
    public mutating func restoredPrompts(bus: String, at: Millis) -> [(pad: PadID, until: Millis)] {
        var out: [(pad: PadID, until: Millis)] = []
        for s in sessions.values.sorted(by: { $0.windowID < $1.windowID })
        where s.restored && s.ratedAt == nil && s.pending == nil && at < s.expiresAt && !reprompted.contains(s.sessionID) {
            guard let pad = config.windows[s.windowID]?.pad, pad.bus == bus else { continue }
            reprompted.insert(s.sessionID)
            out.append((pad, s.expiresAt))
        }
        return out
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
        if flood.count == 0 { out.append(.flooding(pad: pad, max: config.maxPressesPerMinute, until: flood.endsAt)) }
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
