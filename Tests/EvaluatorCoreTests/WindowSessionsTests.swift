import Foundation
import Testing
@testable import EvaluatorCore

@Suite("window sessions (R3 R4 R5 R7 R9)")
struct WindowSessionsTests {
    @Test("a screen pad rates the open evaluation once, with a configured reason, text and dimensions; anything else is refused and stores nothing (issue 14)")
    func screenRating() {
        #expect(run([
            .open(0, "W04", "C9", session: "s9"),
            .rate(100, "s9", .dissatisfied, reason: "999"),
            .rate(150, "s9", .satisfied, reason: "207"),
            .rate(160, "s9", .satisfied, dims: ["speed": .basic]),
            .rate(200, "nope", .satisfied),
            .rate(3000, "s9", .dissatisfied, reason: "207", text: "人少", dims: ["attitude": .basic]),
            .rate(3100, "s9", .dissatisfied, reason: "207"),
            .open(40_000, "W04", "C10", timeoutS: 1, session: "s10"),
            .rate(42_000, "s10", .satisfied),
            .open(50_000, "W04", "C11", session: "s11"),
            .rate(51_000, "s11", .veryDissatisfied),
            .rate(52_000, "s11", .satisfied),
        ]) == [
            ["save s9", "prompt screen:T1", "opened s9 until 30000"],
            ["screen-refused screen:T1 s9 invalid"],
            ["screen-refused screen:T1 s9 invalid"],
            ["screen-refused screen:T1 s9 invalid"],
            // Well-formed but refused: kept as evidence (issue 20), never a rating.
            ["record no_case W04 - satisfied [refused]", "screen-refused screen:T1 nope not_open"],
            ["record rated W04 C9 dissatisfied reason=207 text=人少 dims=attitude:basic", "save s9 rated", "screen-ack screen:T1 s9"],
            ["record no_case W04 - dissatisfied reason=207 [refused,extra_press]", "screen-refused screen:T1 s9 already_rated"],
            ["remove s9", "save s10", "prompt screen:T1", "opened s10 until 41000"],
            ["record unrated W04 C10", "remove s10", "record no_case W04 - satisfied [refused]", "screen-refused screen:T1 s10 expired"],
            ["save s11", "prompt screen:T1", "opened s11 until 80000"],
            // A bad level without a reason is taken, flagged for follow-up (R2), as from keys.
            ["record rated W04 C11 very_dissatisfied [needs_reason]", "save s11 rated", "screen-ack screen:T1 s11"],
            ["record no_case W04 - satisfied [refused,extra_press]", "screen-refused screen:T1 s11 already_rated"],
        ])
    }

    @Test("screen acks are the policy's (issue 21): a resend of an acked rating is acked again with its record id and stores nothing; another pad's is not")
    func screenAcks() {
        #expect(run([
            .open(0, "W04", "C9", session: "s9"),
            .rate(1_000, "s9", .satisfied),
            .acked("s9", recordID: "r-9"),
            .rate(1_500, "s9", .satisfied),
            .rate(1_600, "s9", .veryDissatisfied),
            .rateFromOther(1_700, "s9", .satisfied),
        ]) == [
            ["save s9", "prompt screen:T1", "opened s9 until 30000"],
            ["record rated W04 C9 satisfied", "save s9 rated", "screen-ack screen:T1 s9"],
            [],
            ["screen-ack-again screen:T1 s9 r-9"],
            // Whatever the resend says, the rating was taken once: the same ack.
            ["screen-ack-again screen:T1 s9 r-9"],
            ["screen-refused screen:T9 s9 not_open"],
        ])
        var acks = ScreenAcks()
        for i in 0...ScreenAcks.limit { acks.remember("s\(i)", pad: .screen(name: "T1"), recordID: "r\(i)") }
        #expect(acks.count == ScreenAcks.limit && acks.recordID(of: "s0", pad: .screen(name: "T1")) == nil)
        #expect(acks.recordID(of: "s\(ScreenAcks.limit)", pad: .screen(name: "T1")) == "r\(ScreenAcks.limit)")
    }

    @Test("refused screen ratings are evidence bounded by the flood rule; one already stored (a resend after a restart) is not stored again (issue 20)")
    func screenRefusalEvidence() {
        var config = SessionPolicyConfig(windows: windows, pads: pads, scores: .standard, defaultTimeoutMs: 30_000, retransmitWindowMs: 1500)
        config.maxPressesPerMinute = 3
        config.signals = quietSignals
        var policy = WindowSessions(config: config)
        let pad = PadID.screen(name: "T1")
        func rate(_ t: Int64, _ sid: String, stored: Bool = false) -> [String] {
            policy.handle(.rate(pad: pad, rating: ScreenRating(sessionID: sid, level: .satisfied), at: Millis(t), evidenceStored: stored)).map(compact)
        }
        #expect(rate(60_000, "gone", stored: true) == ["screen-refused screen:T1 gone not_open"])
        let kept = (1...5).map { rate(60_000 + Int64($0) * 100, "x\($0)") }
        #expect(kept[0...2].allSatisfy { $0 == ["record no_case W04 - satisfied [refused]", "screen-refused screen:T1 \($0.last!.split(separator: " ")[2]) not_open"] })
        #expect(kept[3] == ["flooding screen:T1 >3/min", "flood screen:T1 1", "screen-refused screen:T1 x4 not_open"])
        #expect(kept[4] == ["flood screen:T1 2", "screen-refused screen:T1 x5 not_open"])
        #expect(policy.handle(.tick(at: Millis(120_000))).map(compact) == ["record no_case W04 - [flood] count=2", "flood-end screen:T1"])
    }

    @Test("the policy owns each window's serving state (issue 21): staff and pause are saved with the commit, an unchanged state saves nothing, an open without staff_id is the signed-in staff's, an unknown window is refused")
    func windowState() {
        var config = SessionPolicyConfig(windows: windows, pads: pads, scores: .standard, defaultTimeoutMs: 30_000, retransmitWindowMs: 1500)
        config.signals = quietSignals
        var policy = WindowSessions(config: config, windowStates: ["W02": WindowState(paused: true)])
        let li = StaffMember(staffID: "S2048", name: "李娜")
        func set(_ w: String, staff: StaffMember?? = nil, paused: Bool? = nil, at t: Int64) -> [String] {
            policy.handle(.setWindowState(windowID: w, staff: staff, paused: paused, by: "queue", at: Millis(t))).map(compact)
        }
        #expect(set("W01", staff: .some(li), at: 1_000) == ["save-window W01 staff=S2048 paused=false", "window W01"])
        #expect(set("W01", staff: .some(li), at: 2_000) == ["window W01 unchanged"])
        #expect(set("W02", paused: true, at: 2_000) == ["window W02 unchanged"], "restored from the store")
        #expect(set("W02", paused: false, at: 3_000) == ["save-window W02 staff=- paused=false", "window W02"])
        #expect(set("W99", paused: true, at: 3_000) == [#"rejected unknown_window: no window "W99" is configured"#])
        let opened = policy.handle(.open(windowID: "W01", sessionID: "s1", request: EvaluationRequest(caseID: "C1"), by: "queue", at: Millis(4_000)))
        #expect(opened.contains { if case let .opened(s, _, _) = $0 { s.request.staffID == "S2048" } else { false } })
        let named = policy.handle(.open(windowID: "W03", sessionID: "s2", request: EvaluationRequest(caseID: "C2", staffID: "S1"), by: "queue", at: Millis(4_000)))
        #expect(named.contains { if case let .opened(s, _, _) = $0 { s.request.staffID == "S1" } else { false } })
        // Signed out: the state says so, and a later open carries no staff.
        #expect(set("W01", staff: .some(nil), at: 5_000) == ["save-window W01 staff=- paused=false", "window W01"])
        #expect(policy.windowStates["W01"] == WindowState())
    }

    @Test("decisions are complete (issue 21): a prompt carries its deadline, a flood the end of its minute; a restored evaluation is prompted again once, on its own bus, while open and unrated")
    func completeDecisions() {
        var config = SessionPolicyConfig(windows: windows, pads: pads, scores: .standard, defaultTimeoutMs: 30_000, retransmitWindowMs: 1500)
        config.signals = quietSignals
        config.maxPressesPerMinute = 1
        let restored = [
            Session(sessionID: "r1", windowID: "W01", request: EvaluationRequest(caseID: "C1"), promptedAt: Millis(0), expiresAt: Millis(50_000)),
            Session(sessionID: "r2", windowID: "W02", request: EvaluationRequest(caseID: "C2"), promptedAt: Millis(0), expiresAt: Millis(9_000)),
            Session(sessionID: "r4", windowID: "W04", request: EvaluationRequest(caseID: "C4"), promptedAt: Millis(0), expiresAt: Millis(50_000)),
        ]
        var policy = WindowSessions(config: config, restoring: restored)
        let first = policy.restoredPrompts(bus: "bus1", at: Millis(10_000))
        #expect(first.map { "\($0.pad) \($0.until.value)" } == ["bus1#3 50000"], "W02's has expired; W04's pad is a screen, not on the bus")
        #expect(policy.restoredPrompts(bus: "bus1", at: Millis(11_000)).isEmpty, "once")
        let opened = policy.handle(.open(windowID: "W03", sessionID: "s3", request: EvaluationRequest(caseID: "C3", timeoutMs: 20_000), by: "q", at: Millis(12_000)))
        #expect(opened.contains(.prompt(pad: .serial(bus: "bus1", address: 5), until: Millis(32_000))))
        _ = policy.handle(.press(pad: .serial(bus: "bus9", address: 1), key: 2, at: Millis(61_000)))
        let flood = policy.handle(.press(pad: .serial(bus: "bus9", address: 1), key: 3, at: Millis(61_500)))
        #expect(flood.contains(.flooding(pad: .serial(bus: "bus9", address: 1), max: 1, until: Millis(120_000))))
    }

    @Test("the first press rates the case; later presses are extra presses, not ratings (R3)")
    func firstPressRates() {
        #expect(run([
            .open(0, "W01", "C1", session: "s1"),
            .press(4000, "bus1#3", 2),
            .press(9000, "bus1#3", 0),
        ]) == [
            ["save s1", "prompt bus1#3", "opened s1 until 30000"],
            ["record rated W01 C1 satisfied", "save s1 rated", "ack bus1#3 2"],
            ["record no_case W01 - dissatisfied [extra_press]", "ack bus1#3 0"],
        ])
    }

    @Test("a repeat of the same press within the retransmit window is acked again and counted once")
    func retransmit() {
        #expect(run([
            .open(0, "W01", "C1", session: "s1"),
            .press(1000, "bus1#3", 3),
            .press(1400, "bus1#3", 3),
            .press(2800, "bus1#3", 3),  // 1400 ms after the last repeat: still the same press
            .press(5000, "bus1#3", 3),  // 2200 ms later: a new press
        ]) == [
            ["save s1", "prompt bus1#3", "opened s1 until 30000"],
            ["record rated W01 C1 very_satisfied", "save s1 rated", "ack bus1#3 3"],
            ["ack bus1#3 3 repeat"],
            ["ack bus1#3 3 repeat"],
            ["record no_case W01 - very_satisfied [extra_press]", "ack bus1#3 3"],
        ])
    }

    @Test("a different key within the window is a new press, not a repeat")
    func differentKeyIsNotRepeat() {
        let out = run([.press(0, "bus1#3", 1), .press(300, "bus1#3", 2)])
        #expect(out[1] == ["record no_case W01 - satisfied", "ack bus1#3 2"])
    }

    @Test("a press with no open session is kept as no_case (R7, R9)")
    func noCase() {
        #expect(run([.press(0, "bus1#3", 1)]) == [["record no_case W01 - basic", "ack bus1#3 1"]])
    }

    @Test("a press from a pad no window owns is kept and flagged")
    func unknownPad() {
        #expect(run([.press(0, "bus1#9", 2)]) == [["record no_case - - satisfied [unknown_pad]", "ack bus1#9 2"]])
    }

    @Test("a key the key map does not know is acked and ignored")
    func unknownKey() {
        #expect(run([.press(0, "bus1#3", 7)]) == [["unknown-key bus1#3 7", "record no_case W01 - [unknown_key]", "ack bus1#3 7"]])
    }

    @Test("a session that times out yields an unrated record (R5)")
    func timeout() {
        #expect(run([
            .open(0, "W01", "C1", timeoutS: 10, session: "s1"),
            .tick(9999),
            .tick(10000),
            .press(10500, "bus1#3", 2),
        ]) == [
            ["save s1", "prompt bus1#3", "opened s1 until 10000"],
            [],
            ["record unrated W01 C1", "remove s1"],
            ["record no_case W01 - satisfied", "ack bus1#3 2"],
        ])
    }

    @Test("a press after the deadline but before the tick does not rate")
    func pressAfterDeadlineBeforeTick() {
        #expect(run([.open(0, "W01", "C1", timeoutS: 5, session: "s1"), .press(5001, "bus1#3", 3)])[1] == [
            "record unrated W01 C1", "remove s1", "record no_case W01 - very_satisfied", "ack bus1#3 3",
        ])
    }

    @Test("a rated session ends silently at its deadline")
    func ratedSessionEnds() {
        #expect(run([.open(0, "W01", "C1", timeoutS: 5, session: "s1"), .press(100, "bus1#3", 2), .tick(6000)])[2] == ["remove s1"])
    }

    @Test("a new evaluation at a busy window closes the old one as unrated")
    func supersede() {
        #expect(run([.open(0, "W01", "C1", session: "s1"), .open(2000, "W01", "C2", session: "s2")])[1] == [
            "record unrated W01 C1 [superseded]", "remove s1", "save s2", "prompt bus1#3", "opened s2 until 32000",
        ])
    }

    @Test("the same request again returns the same session and prompts again")
    func repeatedRequest() {
        #expect(run([.open(0, "W01", "C1", session: "s1"), .open(500, "W01", "C1", session: "s2")])[1] == [
            "prompt bus1#3", "opened s1 reused until 30000",
        ])
    }

    @Test("the same case again with another staff_id is refused 409 once the prompt is shown: the rating cannot move to someone else (issue 20)")
    func staffChangeRefused() {
        let out = run([
            .open(0, "W01", "C1", staff: "S1", session: "s1"),
            .open(500, "W01", "C1", staff: "S2", session: "s2"),
            .open(600, "W01", "C1", session: "s3"),
            .press(900, "bus1#3", 3),
        ])
        #expect(out[1] == [#"rejected staff_changed: case "C1" is open at window "W01" for staff "S1"; another staff_id ("S2") is refused once the prompt is shown: cancel the evaluation and open it again"#])
        #expect(out[2] == [#"rejected staff_changed: case "C1" is open at window "W01" for staff "S1"; another staff_id (none) is refused once the prompt is shown: cancel the evaluation and open it again"#])
        #expect(out[3] == ["record rated W01 C1 very_satisfied", "save s1 rated", "ack bus1#3 3"])
    }

    @Test("edits of an open evaluation are on its records (who, when, field, old → new, flagged edited); an expiry by a shortened timeout names the caller (issue 20)")
    func editsRecorded() {
        let out = run([
            .open(0, "W01", "C1", staff: "S1", matter: "不动产登记", session: "s1"),
            .open(500, "W01", "C1", staff: "S1", matter: "抵押登记", session: "s2"),
            .open(800, "W01", "C1", batch: ["C2"], timeoutS: 1, staff: "S1", matter: "抵押登记", session: "s3"),
            .tick(1800),
            .open(2000, "W02", "C5", timeoutS: 60, session: "s5"),
            .open(2100, "W02", "C5", timeoutS: 90, session: "s6"),
            .press(2200, "bus1#4", 3),
            .open(3000, "W03", "C7", timeoutS: 60, session: "s7"),
            .open(3100, "W03", "C7", timeoutS: 90, session: "s8"),
            .tick(93_100),
        ])
        #expect(out[1] == ["save s1", "prompt bus1#3", "opened s1 reused updated until 30000"])
        #expect(out[2] == ["save s1", "prompt bus1#3", "opened s1 reused updated until 1800"])
        #expect(out[3] == ["record unrated W01 C1 batch=C2 [edited] ended_by=queue edit@500:queue:matter_name:不动产登记→抵押登记"
                           + " edit@800:queue:batch_case_ids:→C2 edit@800:queue:timeout_s:null→1", "remove s1"])
        #expect(out[6] == ["record rated W02 C5 very_satisfied [edited] edit@2100:queue:timeout_s:60→90", "save s5 rated", "ack bus1#4 3"])
        // A longer timeout is an edit but its expiry is nobody's doing.
        #expect(out[9] == ["remove s5", "record unrated W03 C7 [edited] edit@3100:queue:timeout_s:60→90", "remove s7"])
    }

    @Test("who opened and who ended a session travel on its records (R11: opened_by, ended_by)")
    func callers() {
        var policy = WindowSessions(config: SessionPolicyConfig(windows: windows, pads: pads, scores: .standard, defaultTimeoutMs: 30_000, retransmitWindowMs: 1500))
        func records(_ e: SessionEvent) -> [RecordDraft] {
            // Service records (issue 22) carry opened_by too; this test is about the rest.
            policy.handle(e).compactMap { if case let .record(r) = $0, r.outcome != .service { r } else { nil } }
        }
        _ = records(.open(windowID: "W01", sessionID: "s1", request: EvaluationRequest(caseID: "C1"), by: "queue", at: Millis(0)))
        let superseded = records(.open(windowID: "W01", sessionID: "s2", request: EvaluationRequest(caseID: "C2"), by: "clerk-pc", at: Millis(10)))
        #expect(superseded.map { [$0.openedBy, $0.endedBy] } == [["queue", "clerk-pc"]])
        let cancelled = records(.cancel(windowID: "W01", by: "clerk-pc", at: Millis(20)))
        #expect(cancelled.map { [$0.outcome.rawValue, $0.openedBy, $0.endedBy] } == [["cancelled", "clerk-pc", "clerk-pc"]])
        _ = records(.open(windowID: "W01", sessionID: "s3", request: EvaluationRequest(caseID: "C3"), by: "queue", at: Millis(30)))
        let rated = records(.press(pad: .serial(bus: "bus1", address: 3), key: 2, at: Millis(40)))
        #expect(rated.map { [$0.openedBy, $0.endedBy] } == [["queue", nil]])
    }

    @Test("an evaluation opened while its pad is offline opens all the same; every record of it is flagged pad_offline, and it survives a restore")
    func padOffline() {
        let config = SessionPolicyConfig(windows: windows, pads: pads, scores: .standard, defaultTimeoutMs: 30_000, retransmitWindowMs: 1500)
        var policy = WindowSessions(config: config)
        func records(_ e: SessionEvent) -> [RecordDraft] {
            policy.handle(e).compactMap { if case let .record(r) = $0 { r } else { nil } }
        }
        let opened = policy.handle(.open(windowID: "W01", sessionID: "s1", request: EvaluationRequest(caseID: "C1"), by: "queue", at: Millis(0), padOnline: false))
        #expect(opened.contains { if case let .opened(s, _, _) = $0 { s.padOffline == true } else { false } })
        let rated = records(.press(pad: .serial(bus: "bus1", address: 3), key: 2, at: Millis(5_000)))
        #expect(rated.map(\.flags) == [[.padOffline]])
        // Restored from the store after a restart, the session still knows; its timeout record says so too.
        _ = records(.open(windowID: "W01", sessionID: "s2", request: EvaluationRequest(caseID: "C2"), by: "queue", at: Millis(10_000), padOnline: false))
        var restored = WindowSessions(config: config, restoring: Array(policy.sessions.values))
        let unrated = restored.handle(.tick(at: Millis(60_000))).compactMap { if case let .record(r) = $0 { r } else { nil } }
        #expect(unrated.map(\.flags) == [[.restored, .padOffline]])
        // Online by default.
        _ = records(.open(windowID: "W01", sessionID: "s3", request: EvaluationRequest(caseID: "C3"), by: "queue", at: Millis(70_000)))
        #expect(records(.press(pad: .serial(bus: "bus1", address: 3), key: 2, at: Millis(75_000))).map(\.flags) == [[]])
    }

    /// Monday 2026-11-30 09:00 in Shanghai (01:00 UTC), on the virtual clock.
    static let monday0900: Int64 = 1_796_000_400_000

    static var hallRules: SignalRules {
        var r = SignalRules() // defaults: instant < 500 ms, burst > 5 presses in 60 s, large batch > 10, max 50
        r.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        // mon = "08:30-12:00,13:30-17:30"; every other day closed.
        r.hours = HallHours(intervals: [1: [510...720, 810...1050]])
        return r
    }

    @Test("signals flag, never suppress (R9, R11): instant, burst, off_hours, large_batch; max_batch_cases refuses", arguments: [
        // instant: pressed 499 ms after the prompt; 500 ms is a person reading it.
        ([Step.open(0, "W01", "C1", session: "s1"), .press(499, "bus1#3", 3)], 1, ["record rated W01 C1 very_satisfied [instant]", "save s1 rated", "ack bus1#3 3"]),
        ([Step.open(0, "W01", "C1", session: "s1"), .press(500, "bus1#3", 3)], 1, ["record rated W01 C1 very_satisfied", "save s1 rated", "ack bus1#3 3"]),
        // burst: the sixth press within 60 s at one pad, whatever it rates …
        ([Step.press(0, "bus1#4", 3), .press(10_000, "bus1#4", 3), .press(20_000, "bus1#4", 3), .press(30_000, "bus1#4", 3),
          .open(35_000, "W02", "C1", session: "s1"), .press(40_000, "bus1#4", 3), .press(50_000, "bus1#4", 3)],
         6, ["record no_case W02 - very_satisfied [extra_press,burst]", "ack bus1#4 3"]),
        ([Step.press(0, "bus1#4", 3), .press(10_000, "bus1#4", 3), .press(20_000, "bus1#4", 3), .press(30_000, "bus1#4", 3),
          .press(40_000, "bus1#4", 2), .open(45_000, "W02", "C1", session: "s1"), .press(50_000, "bus1#4", 3)],
         6, ["record rated W02 C1 very_satisfied [burst]", "save s1 rated", "ack bus1#4 3"]),
        // … and not when the sixth comes more than 60 s after the first of the six.
        ([Step.press(0, "bus1#4", 3), .press(10_000, "bus1#4", 3), .press(20_000, "bus1#4", 3), .press(30_000, "bus1#4", 3),
          .press(40_000, "bus1#4", 2), .press(50_000, "bus1#4", 1), .press(75_000, "bus1#4", 0)],
         6, ["record no_case W02 - dissatisfied", "ack bus1#4 0"]),
        // large_batch: eleven cases rated together (rated and unrated alike).
        ([Step.open(0, "W01", "C1", batch: (2...11).map { "C\($0)" }, session: "s1"), .press(900, "bus1#3", 3)], 1,
         ["record rated W01 C1 very_satisfied batch=\((2...11).map { "C\($0)" }.joined(separator: ",")) [large_batch]", "save s1 rated", "ack bus1#3 3"]),
        ([Step.open(0, "W01", "C1", batch: (2...11).map { "C\($0)" }, session: "s1"), .tick(30_000)], 1,
         ["record unrated W01 C1 batch=\((2...11).map { "C\($0)" }.joined(separator: ",")) [large_batch]", "remove s1"]),
        ([Step.open(0, "W01", "C1", batch: (2...10).map { "C\($0)" }, session: "s1"), .press(900, "bus1#3", 3)], 1,
         ["record rated W01 C1 very_satisfied batch=\((2...10).map { "C\($0)" }.joined(separator: ",")) [large_batch]", "save s1 rated", "ack bus1#3 3"].map { $0.replacingOccurrences(of: " [large_batch]", with: "") }),
        // max_batch_cases: 51 cases are refused (400 batch_too_large), 50 are not.
        ([Step.open(0, "W01", "C1", batch: (2...51).map { "C\($0)" }, session: "s1")], 0, ["rejected batch_too_large: the evaluation names 51 cases; at most 50 may be rated together (session.max_batch_cases)"]),
        ([Step.open(0, "W01", "C1", batch: (2...50).map { "C\($0)" }, session: "s1")], 0, ["save s1", "prompt bus1#3", "opened s1 until 30000"]),
    ] as [([Step], Int, [String])])
    func signals(steps: [Step], at: Int, expected: [String]) {
        var rules = Self.hallRules
        rules.hours = nil
        #expect(run(steps, signals: rules)[at] == expected)
    }

    @Test("off_hours: outside [hours] in gateway.time_zone; a closed day is off hours all day")
    func offHours() {
        let t = Self.monday0900
        let out = run([
            .press(t, "bus1#3", 3),                                  // Monday 09:00: open
            .press(t + 3 * 3_600_000 + 1_800_000, "bus1#3", 3),      // 12:30: lunch
            .press(t + 8 * 3_600_000 + 1_800_000, "bus1#3", 3),      // 17:30: just closed
            .press(t + 8 * 3_600_000 + 1_740_000, "bus1#3", 3),      // 17:29: open (clock went back)
            .press(t + 6 * 86_400_000, "bus1#3", 3),                 // Sunday 09:00: closed all day
        ], signals: { var r = Self.hallRules; r.burstPresses = 1000; return r }())
        #expect(out.map { $0.first ?? "" } == [
            "record no_case W01 - very_satisfied",
            "record no_case W01 - very_satisfied [off_hours]",
            "record no_case W01 - very_satisfied [off_hours]",
            "record no_case W01 - very_satisfied",
            "record no_case W01 - very_satisfied [off_hours]",
        ])
    }

    @Test("[hours] text: intervals per day; mistakes are named")
    func hoursText() throws {
        #expect(try HallHours.parseDay("08:30-12:00,13:30-17:30") == [510...720, 810...1050])
        #expect(try HallHours.parseDay("") == [])
        #expect(try HallHours.parseDay("00:00-24:00") == [0...1440])
        for bad in ["8:30-12:00", "12:00-08:30", "08:30-12:00,11:00-13:00", "08:30", "25:00-26:00"] {
            #expect(throws: HallHours.ParseError.self, "\(bad)") { try HallHours.parseDay(bad) }
        }
    }

    @Test("a key a custom map does not know is unknown (stored, acked after the commit), never the built-in map's level")
    func customMapUnknownKey() {
        #expect(run([.press(0, "bus1#5", 0)]) == [["unknown-key bus1#5 0", "record no_case W03 - [unknown_key]", "ack bus1#5 0"]])
        #expect(run([.press(0, "bus1#5", 3)]) == [["record no_case W03 - very_satisfied", "ack bus1#5 3"]])
    }

    @Test("a flooding pad: beyond the per-minute limit presses are counted into one record per minute; a press that rates an open evaluation is never folded (issue 11)")
    func flood() {
        let out = run([
            .press(1000, "bus1#3", 0), .press(2000, "bus1#3", 1), .press(3000, "bus1#3", 2),   // 3 stored one by one
            .press(4000, "bus1#3", 3), .press(5000, "bus1#3", 0),                             // counted
            .open(6000, "W01", "C1", session: "s1"),
            .press(7000, "bus1#3", 1),                                                         // rates C1
            .press(8000, "bus1#3", 2),                                                         // extra press: counted
            .tick(60_000),                                                                     // the minute is over
            .press(61_000, "bus1#3", 3),                                                       // a new minute: stored
        ], maxPressesPerMinute: 3)
        #expect(out[0] == ["record no_case W01 - dissatisfied", "ack bus1#3 0"])
        #expect(out[2] == ["record no_case W01 - satisfied", "ack bus1#3 2"])
        #expect(out[3] == ["flooding bus1#3 >3/min", "flood bus1#3 1", "ack bus1#3 3"])
        #expect(out[4] == ["flood bus1#3 2", "ack bus1#3 0"])
        #expect(out[6] == ["record rated W01 C1 basic", "save s1 rated", "ack bus1#3 1"], "the rating is never folded")
        #expect(out[7] == ["flood bus1#3 3", "ack bus1#3 2"])
        #expect(out[8] == ["remove s1", "record no_case W01 - [flood] count=3", "flood-end bus1#3"])
        #expect(out[9] == ["record no_case W01 - very_satisfied", "ack bus1#3 3"])
    }

    @Test("a press after the prompt is never a repeat of one before it: the same key within the retransmit window still rates")
    func pressAfterPromptRates() {
        let out = run([.press(0, "bus1#3", 2), .open(500, "W01", "C1", session: "s1"), .press(1000, "bus1#3", 2)])
        #expect(out[2] == ["record rated W01 C1 satisfied", "save s1 rated", "ack bus1#3 2"])
    }

    @Test("a retried request after the deadline (no tick yet) is not told the old session is open: it ends unrated, a new one opens")
    func openExpiresFirst() {
        let out = run([.open(0, "W01", "C1", timeoutS: 5, session: "s1"), .open(6000, "W01", "C1", timeoutS: 5, session: "s2")])
        #expect(out[1] == ["record unrated W01 C1", "remove s1", "save s2", "prompt bus1#3", "opened s2 until 11000"])
    }

    @Test("a case open at one window cannot be opened at another")
    func caseOpenElsewhere() {
        #expect(run([.open(0, "W01", "C1", session: "s1"), .open(10, "W02", "C1", session: "s2")])[1] == [
            #"rejected case_open_elsewhere: case "C1" is being evaluated at window "W01" now"#,
        ])
    }

    @Test("batch business: one press rates the case and every batch case (R4)")
    func batch() {
        #expect(run([.open(0, "W01", "C1", batch: ["C2", "C3"], session: "s1"), .press(100, "bus1#3", 0)])[1] == [
            "record rated W01 C1 dissatisfied batch=C2,C3 [needs_reason]", "save s1 rated", "ack bus1#3 0",
        ])
    }

    @Test("cancel yields a cancelled record; nothing to cancel is rejected")
    func cancel() {
        #expect(run([.open(0, "W01", "C1", session: "s1"), .cancel(100, "W01"), .cancel(200, "W01")]) == [
            ["save s1", "prompt bus1#3", "opened s1 until 30000"],
            ["record cancelled W01 C1", "remove s1", "cancelled s1"],
            [#"rejected nothing_to_cancel: window "W01" has no open, unrated evaluation to cancel"#],
        ])
    }

    @Test("unknown windows are rejected")
    func unknownWindow() {
        #expect(run([.open(0, "W99", "C1", session: "s1"), .cancel(0, "W99")]) == [
            [#"rejected unknown_window: no window "W99" is configured"#], [#"rejected unknown_window: no window "W99" is configured"#],
        ])
    }

    @Test("sessions restored after a restart still rate, and expire into unrated, flagged restored")
    func restored() {
        let s = Session(sessionID: "s1", windowID: "W01", request: EvaluationRequest(caseID: "C1"), promptedAt: Millis(0), expiresAt: Millis(30_000))
        #expect(run([.press(5000, "bus1#3", 3)], restoring: [s]) == [["record rated W01 C1 very_satisfied [restored]", "save s1 rated", "ack bus1#3 3"]])
        #expect(run([.tick(40_000)], restoring: [s]) == [["record unrated W01 C1 [restored]", "remove s1"]])
    }

    @Test("R2: a reason key right after a bad rating attaches its code to the same record")
    func reasonAttached() {
        #expect(run([.open(0, "W02", "C1", session: "s1"), .key(1000, 80), .key(2000, 59), .key(2500, 60)]) == [
            ["save s1", "prompt bus1#4", "opened s1 until 30000"],
            ["save s1 rated", "ack evdev:W02 80"],
            ["record rated W02 C1 dissatisfied reason=207", "save s1 rated", "ack evdev:W02 59"],
            ["stray-reason evdev:W02 60 208", "ack evdev:W02 60"],
        ])
    }

    @Test("R2: no reason within the window: the bad rating is recorded with needs_reason")
    func reasonTimesOut() {
        let out = run([.open(0, "W02", "C1", session: "s1"), .key(1000, 79), .tick(5999), .tick(6000), .key(6100, 59)])
        #expect(out[2] == [])
        #expect(out[3] == ["record rated W02 C1 very_dissatisfied [needs_reason]", "save s1 rated"])
        #expect(out[4] == ["stray-reason evdev:W02 59 207", "ack evdev:W02 59"])
    }

    @Test("R2: a good rating from a reason pad is recorded at once; the case cannot be reopened while pending")
    func reasonPadGoodRating() {
        let out = run([.open(0, "W02", "C1", session: "s1"), .key(100, 76), .open(200, "W01", "C1", session: "s2")])
        #expect(out[1] == ["record rated W02 C1 very_satisfied", "save s1 rated", "ack evdev:W02 76"])
        #expect(out[2] == [#"rejected already_rated: case "C1" has already been rated at stage 办结 (service 1) (one rating per case and stage, R3)"#])
        let pending = run([.open(0, "W02", "C1", session: "s1"), .key(100, 80), .open(200, "W01", "C1", session: "s2")])
        #expect(pending[2] == [#"rejected already_rated: case "C1" has already been rated at stage 办结 (service 1) (one rating per case and stage, R3)"#])
    }

    @Test("R2: a pending bad rating is recorded before its session is superseded or expires")
    func pendingFlushed() {
        #expect(run([.open(0, "W02", "C1", session: "s1"), .key(100, 80), .open(200, "W02", "C2", session: "s2")])[2] == [
            "record rated W02 C1 dissatisfied [needs_reason]", "remove s1", "save s2", "prompt bus1#4", "opened s2 until 30200",
        ])
        #expect(run([.open(0, "W02", "C1", timeoutS: 2, session: "s1"), .key(1900, 80), .tick(2000)])[2] == [
            "record rated W02 C1 dissatisfied [needs_reason]", "remove s1",
        ])
    }

    @Test("two windows keep separate sessions")
    func twoWindows() {
        let out = run([
            .open(0, "W01", "C1", session: "s1"), .open(0, "W02", "C2", session: "s2"),
            .press(100, "bus1#4", 3), .press(200, "bus1#3", 1),
        ])
        #expect(out[2].first == "record rated W02 C2 very_satisfied")
        #expect(out[3].first == "record rated W01 C1 basic")
    }
}

@Suite("levels and time")
struct LevelTests {
    @Test("bad ratings are the last two levels (R1)")
    func bad() {
        #expect(Level.allCases.filter(\.isBad) == [.dissatisfied, .veryDissatisfied])
        #expect(ScoreTable.standard.score(.verySatisfied) == 10)
        #expect(ScoreTable.standard.score(.veryDissatisfied) == 0)
    }

    @Test("RFC 3339 with milliseconds, UTC", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(1_795_000_000_123), "2026-11-18T11:06:40.123Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
    ])
    func rfc3339(ms: Int64, text: String) {
        #expect(Millis(ms).rfc3339 == text)
    }
}
