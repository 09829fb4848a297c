import EvaluatorCore
import Foundation
import Testing
@testable import EvaluatorStore
import EvaluatorTestSupport

/// Drives the real policy with timestamped events and commits its records to a real store, as
/// the gateway does (recorded at the event's time).
struct Hall {
    var policy: WindowSessions
    let store: Store
    var n = 0

    init(store: Store) {
        let windows = [
            "W01": WindowInfo(id: "W01", name: "1号窗", department: "自然资源局", pad: .serial(bus: "bus1", address: 3)),
            "W02": WindowInfo(id: "W02", name: "2号窗", department: "市场监管局", pad: .serial(bus: "bus1", address: 4)),
        ]
        let pads = PadDirectory(entries: [
            .init(pad: .serial(bus: "bus1", address: 3), windowID: "W01", keymap: .framed68FourKey),
            .init(pad: .serial(bus: "bus1", address: 4), windowID: "W02", keymap: .framed68FourKey),
        ])
        var config = SessionPolicyConfig(windows: windows, pads: pads, scores: .standard, defaultTimeoutMs: 30_000, retransmitWindowMs: 1500)
        config.signals.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        policy = WindowSessions(config: config)
        self.store = store
    }

    mutating func handle(_ e: SessionEvent, at: Millis) async throws {
        var records: [RatingRecord] = []
        for d in policy.handle(e) {
            if case let .record(draft) = d {
                n += 1
                records.append(RatingRecord(recordID: "r\(n)", gatewayID: "gw", region: "370211", recordedAt: at, draft: draft))
            }
        }
        try await store.commit(records: records)
    }

    mutating func open(_ w: String, _ c: String, batch: [String] = [], staff: String, matter: String? = nil, session: String, by: String = "queue", at t: Int64) async throws {
        try await handle(.open(windowID: w, sessionID: session, request: EvaluationRequest(caseID: c, batchCaseIDs: batch, matterName: matter, staffID: staff),
                               by: by, at: Millis(t)), at: Millis(t))
    }

    mutating func press(_ address: UInt8, _ key: Int, at t: Int64) async throws {
        try await handle(.press(pad: .serial(bus: "bus1", address: address), key: key, at: Millis(t)), at: Millis(t))
    }
}

@Suite("statistics (R14, R15): hand-computed figures")
struct StatsTests {
    /// Monday 2026-11-30 09:00 in Shanghai.
    static let t0: Int64 = 1_796_000_400_000
    static let zone = TimeZone(identifier: "Asia/Shanghai")!

    func scenario() async throws -> Store {
        let t0 = Self.t0
        var hall = Hall(store: try Store(path: temporaryFolder() + "/evaluatord.sqlite", timeZone: Self.zone))
        // W01: C1 asked three times (a repeat, then edited details: one session), rated 非常满意.
        try await hall.open("W01", "C1", staff: "S1", session: "s1", at: t0)
        try await hall.open("W01", "C1", staff: "S1", session: "s1b", at: t0 + 1_000)
        try await hall.open("W01", "C1", staff: "S1", matter: "不动产登记", session: "s1c", at: t0 + 2_000)
        try await hall.press(3, 3, at: t0 + 5_000)
        // W01: C2 cancelled by the clerk's PC, opened again and rated 不满意 in 200 ms (instant).
        try await hall.open("W01", "C2", staff: "S1", session: "s2", at: t0 + 60_000)
        try await hall.handle(.cancel(windowID: "W01", by: "clerk-pc", at: Millis(t0 + 70_000)), at: Millis(t0 + 70_000))
        try await hall.open("W01", "C2", staff: "S1", session: "s3", at: t0 + 80_000)
        try await hall.press(3, 0, at: t0 + 80_200)
        // W02: a batch of three cases is one session, rated 满意.
        try await hall.open("W02", "C3", batch: ["C4", "C5"], staff: "S2", session: "s4", at: t0 + 100_000)
        try await hall.press(4, 2, at: t0 + 110_000)
        // W02: C6 superseded by C7 (by the queue system), C7 times out.
        try await hall.open("W02", "C6", staff: "S2", session: "s5", at: t0 + 200_000)
        try await hall.open("W02", "C7", staff: "S2", session: "s6", at: t0 + 210_000)
        try await hall.handle(.tick(at: Millis(t0 + 240_000)), at: Millis(t0 + 240_000))
        // W01: a press with nothing to rate.
        try await hall.press(3, 1, at: t0 + 300_000)
        // The next day at W01: C8 rated 基本满意.
        try await hall.open("W01", "C8", staff: "S1", session: "s7", at: t0 + 86_400_000)
        try await hall.press(3, 1, at: t0 + 86_405_000)
        return hall.store
    }

    func query(_ since: String?, _ until: String?, _ by: String) throws -> StatsQuery {
        try StatsQuery.parse(since: since, until: until, by: by, now: Millis(Self.t0 + 3_600_000), timeZone: Self.zone)
    }

    @Test("by window, by day, by staff: opened counts sessions; participation, bad share, mean score, flags, who ended sessions")
    func figures() async throws {
        let store = try await scenario()
        let day1 = try store.stats(try query(nil, nil, "window"))
        #expect(day1.since.rfc3339 == "2026-11-29T16:00:00.000Z" && day1.until.rfc3339 == "2026-11-30T16:00:00.000Z")
        #expect(day1.groups.map(\.key) == ["W01", "W02"])
        let w01 = day1.groups[0], w02 = day1.groups[1], total = day1.total
        #expect([w01.opened, w01.rated, w01.counts["cancelled"], w01.counts["unrated"] ?? 0, w01.counts["no_case"]] == [3, 2, 1, 0, 1])
        #expect(w01.participation == 2.0 / 3.0 && w01.badShare == 0.5 && w01.meanScore == 6.5)
        #expect(w01.levels == ["very_satisfied": 1, "satisfied": 0, "basic": 0, "dissatisfied": 1, "very_dissatisfied": 0])
        // The matter_name edit of C1 (issue 20) is counted too.
        #expect(w01.flags == ["instant": 1, "burst": 0, "off_hours": 0, "large_batch": 0, "needs_reason": 1, "edited": 1])
        #expect(w01.endedBy == ["clerk-pc": 1])
        #expect([w02.opened, w02.rated, w02.counts["unrated"], w02.counts["superseded"], w02.counts["cancelled"] ?? 0] == [3, 1, 2, 1, 0])
        #expect(w02.participation == 1.0 / 3.0 && w02.badShare == 0 && w02.meanScore == 8)
        #expect(w02.endedBy == ["queue": 1])
        #expect([total.opened, total.rated, total.counts["unrated"], total.counts["superseded"], total.counts["cancelled"], total.counts["no_case"]] == [6, 3, 2, 1, 1, 1])
        #expect(total.participation == 0.5 && total.badShare == 1.0 / 3.0 && total.meanScore == 7)
        #expect(day1.json.contains("\"participation\":0.6667"))
        #expect(day1.json.hasPrefix("{\"by\":\"window\",\"groups\":[{\"bad\":1,\"bad_share\":0.5,\"cancelled\":1,\"ended_by\":{\"clerk-pc\":1},"))

        // The commit path wrote hours only; day 1 was folded into its daily rows by the first
        // commit of day 2, whose own hour is not folded yet: this query reads both.
        #expect(try store.read { try Store.foldedHour($0) } == (Self.t0 + 86_400_000) / 3_600_000)
        let days = try store.stats(try query("2026-11-30", "2026-12-01", "day"))
        #expect(days.groups.map(\.key) == ["2026-11-30", "2026-12-01"])
        #expect(days.groups.map(\.opened) == [6, 1])
        #expect(days.groups[1].levels["basic"] == 1)
        let staff = try store.stats(try query("2026-11-30", "2026-12-01", "staff"))
        #expect(staff.groups.map(\.key) == [nil, "S1", "S2"], "the press with nothing to rate has no staff")
        #expect(staff.groups.map(\.opened) == [0, 4, 3])
        let departments = try store.stats(try query("2026-11-30", "2026-12-01", "department"))
        #expect(departments.groups.map(\.key) == ["市场监管局", "自然资源局"])

        // Whole days from the daily rollup, the hours at the edges from the hourly one: the
        // same figures as from the hours alone.
        let mixed = try query("2026-11-30T09:00:00+08:00", "2026-12-02T00:00:00+08:00", "day")
        #expect(mixed.plan(store.days).days == store.days.day(of: Millis(Self.t0 + 86_400_000))..<store.days.day(of: Millis(Self.t0 + 2 * 86_400_000)))
        #expect(mixed.plan(store.days).hours.count == 1)
        let both = try store.stats(mixed)
        #expect(both.groups.map(\.key) == ["2026-11-30", "2026-12-01"] && both.total == days.total)
        let hoursOnly = try Store(readOnlyPath: store.path, timeZone: TimeZone(identifier: "UTC")!).stats(mixed)
        #expect(hoursOnly.groups == both.groups, "asked in another zone than the store's: hours only, same figures")
    }

    @Test("the figures survive reopening and retention (rollups are kept)")
    func durable() async throws {
        let store = try await scenario()
        let before = try store.stats(try query("2026-11-30", "2026-12-01", "window"))
        while let batch = try await store.nextBatch(max: 100, newBatchID: UUID().uuidString, now: Millis(1)) {
            try await store.markSent(batchID: batch.batchID, at: Millis(2))
        }
        let stored = try store.recordCount()
        #expect(try await store.prune(recordedBefore: Millis(Self.t0 + 10 * 86_400_000)) == stored)
        #expect(try store.recordCount() == 0)
        #expect(try Store(path: store.path).stats(try query("2026-11-30", "2026-12-01", "window")) == before)
    }

    @Test("queries: dates, RFC 3339 on the hour, the grouping; mistakes are named")
    func queries() throws {
        let q = try query("2026-11-30T09:00:00+08:00", "2026-11-30T12:00:00+08:00", "day")
        #expect(q.since.rfc3339 == "2026-11-30T01:00:00.000Z" && q.until.rfc3339 == "2026-11-30T04:00:00.000Z")
        #expect(q.hours.end - q.hours.first == 3)
        for (since, until, by, message) in [
            ("2026-11-30T09:30:00+08:00", nil, "window", "since: \"2026-11-30T09:30:00+08:00\" is not on the hour; statistics are kept per hour (e.g. 2026-12-02T09:00:00+08:00)"),
            ("yesterday", nil, "window", "since: \"yesterday\" is not a date (YYYY-MM-DD) or an RFC 3339 time (2026-12-02T09:00:00+08:00)"),
            ("2026-12-01", "2026-11-30", "window", "since (2026-11-30T16:00:00.000Z) must be before until (2026-11-30T16:00:00.000Z)"),
            (nil, nil, "matter", "by: \"matter\" is not one of window, staff, department, day"),
        ] as [(String?, String?, String, String)] {
            #expect(throws: StatsQuery.Invalid.self) { try query(since, until, by) }
            do { _ = try query(since, until, by) } catch { #expect((error as? StatsQuery.Invalid)?.message == message) }
        }
    }

    @Test("issue 20: scores that would overflow never trap the rollups or the report (clamped, whatever SQLite stored)")
    func overflowNeverTraps() async throws {
        let store = try newStore()
        var records = makeRecords(3, prefix: "max")
        for i in records.indices { records[i].draft.score = Int.max }
        try await store.commit(records: Array(records[0...1]))
        try await store.commit(records: [records[2]])
        let q = try StatsQuery.parse(since: "1970-01-01", until: "1970-01-02", by: "window", now: Millis(0), timeZone: TimeZone(identifier: "UTC")!)
        let report = try store.stats(q)
        #expect((report.total.counts["score_sum"] ?? 0) >= Int(9.2e18) && report.total.counts["rated"] == 3)
        // A REAL planted in the rollup (what an overflowing SQLite `+` leaves) is read, not trapped on.
        try await store.db.write { db in try db.execute(sql: "UPDATE rollup SET n = 1.0e30 WHERE metric = 'score_sum'") }
        #expect(try store.stats(q).total.counts["score_sum"] == Int(9.2e18))
        var n = Int.max - 1
        n.addClamped(5)
        #expect(n == Int.max)
    }
}
