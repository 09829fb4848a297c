import EvaluatorCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import EvaluatorStore
import EvaluatorTestSupport

func tempDir() -> String { temporaryFolder() }

func record(_ id: String, outcome: Outcome = .rated, caseID: String? = "C1", batch: [String] = [], level: Level? = .satisfied) -> RatingRecord {
    RatingRecord(
        recordID: id, gatewayID: "gw", region: "370211", recordedAt: Millis(1_000),
        draft: RecordDraft(windowID: "W01", department: "d", caseID: caseID, batchCaseIDs: batch, outcome: outcome, level: level, score: 8, pad: .serial(bus: "bus1", address: 3))
    )
}

@Suite("store (real SQLite file)")
struct StoreTests {
    @Test("opens in WAL with synchronous=FULL, and migrates")
    func pragmas() throws {
        let store = try Store(path: tempDir() + "/s/evaluatord.sqlite")
        let p = try store.pragmas()
        #expect(p.journalMode == "wal")
        #expect(p.synchronous == 2)
        #expect(try store.integrityCheck() == "ok")
    }

    @Test("records, rated cases and sessions survive reopening")
    func survivesReopen() async throws {
        let path = tempDir() + "/evaluatord.sqlite"
        do {
            let store = try Store(path: path)
            let s = Session(sessionID: "s1", windowID: "W01", request: EvaluationRequest(caseID: "C9", batchCaseIDs: ["C10"]),
                            promptedAt: Millis(5), expiresAt: Millis(30_005))
            try await store.commit(records: [record("r1", batch: ["C2"])], saveSessions: [s])
        }
        let store = try Store(path: path)
        #expect(try store.recordCount() == 1)
        #expect(try await store.firstRatedCase(among: ["X", "C2"]) == "C2")
        #expect(try await store.firstRatedCase(among: ["C1"]) == "C1")
        #expect(try await store.firstRatedCase(among: ["C9"]) == nil)
        let sessions = try store.openSessions()
        #expect(sessions.map(\.sessionID) == ["s1"])
        #expect(sessions.first?.request.batchCaseIDs == ["C10"])
        try await store.commit(records: [], removeSessions: ["s1"])
        #expect(try store.openSessions().isEmpty)
    }

    @Test("only rated records mark cases rated")
    func unratedDoesNotMark() async throws {
        let store = try Store.inMemory()
        try await store.commit(records: [record("r1", outcome: .unrated, level: nil), record("r2", outcome: .cancelled, caseID: "C2", level: nil)])
        #expect(try await store.firstRatedCase(among: ["C1", "C2"]) == nil)
    }

    @Test("group commit: several events' changes apply in their order, in one transaction")
    func groupCommitOrder() async throws {
        let store = try Store.inMemory()
        let open = Session(sessionID: "s1", windowID: "W01", request: EvaluationRequest(caseID: "C1"), promptedAt: Millis(5), expiresAt: Millis(30_005))
        let other = Session(sessionID: "s2", windowID: "W02", request: EvaluationRequest(caseID: "C2"), promptedAt: Millis(5), expiresAt: Millis(30_005))
        // Event 1 opens s1, event 2 rates and ends it, event 3 opens s2: s1 must stay removed.
        try await store.commit([
            StoreChange(saveSessions: [open]),
            StoreChange(records: [record("r1", caseID: "C1")], removeSessions: ["s1"]),
            StoreChange(saveSessions: [other]),
        ])
        #expect(try store.openSessions().map(\.sessionID) == ["s2"])
        #expect(try await store.firstRatedCase(among: ["C1"]) == "C1")
        // A group with one bad change stores nothing of any of its events.
        await #expect(throws: StoreError.self) {
            try await store.commit([StoreChange(records: [record("r2", caseID: "C3")]), StoreChange(records: [record("r1", caseID: "C4")])])
        }
        #expect(try store.recordCount() == 1)
        #expect(try await store.firstRatedCase(among: ["C3", "C4"]) == nil)
    }

    @Test("status counters are counted once and then kept by every write: always what COUNT(*) says (issue 11)")
    func counters() async throws {
        let path = tempDir() + "/c.sqlite"
        let store = try Store(path: path)
        func fresh() async throws -> Store.Counts { try await Store(path: path).counts() }
        #expect(try await store.counts() == Store.Counts(records: 0, backlog: 0, quarantined: 0, lastSentAt: nil))
        try await store.commit(records: (1...6).map { record("r\($0)", caseID: "C\($0)") })
        #expect(try await store.counts() == (try await fresh()))
        let b = try #require(try await store.nextBatch(max: 2, newBatchID: "b1", now: Millis(1)))
        try await store.markSent(batchID: b.batchID, at: Millis(50))
        #expect(try await store.counts() == (try await fresh()))
        let q = try #require(try await store.nextBatch(max: 1, newBatchID: "b2", now: Millis(2)))
        try await store.quarantine(batchID: q.batchID, reason: "HTTP 400", at: Millis(60))
        #expect(try await store.counts() == (try await fresh()))
        let c = try await store.counts()
        #expect(c.quarantined == 1 && c.backlog == 3 && c.lastSentAt == Millis(50))
        try await store.resend()
        #expect(try await store.counts() == (try await fresh()))
        #expect(try await store.counts().backlog == 4)
    }

    @Test("opened read-only as root (evaluatorctl records, pending), the -wal and -shm files keep the database's owner and mode",
          .enabled(if: getuid() == 0, "needs root to own files as another user"))
    func readOnlyKeepsOwners() async throws {
        let path = tempDir() + "/o.sqlite"
        do {
            let s = try Store(path: path)
            try await s.commit(records: [record("r1")])
        }
        for suffix in ["-wal", "-shm"] { unlink(path + suffix) }
        #expect(chown(path, 65534, 65534) == 0 && chmod(path, 0o600) == 0)
        let ro = try Store(readOnlyPath: path)
        #expect(try ro.recentRecords(limit: 1).count == 1)
        var seen = 0
        for suffix in ["-wal", "-shm"] {
            var st = stat()
            guard stat(path + suffix, &st) == 0 else { continue }
            seen += 1
            #expect(st.st_uid == 65534 && st.st_gid == 65534 && st.st_mode & 0o777 == 0o600, "\(suffix) owned by \(st.st_uid)")
        }
        #expect(seen > 0, "SQLite made its side files (else this test proves nothing)")
    }

    @Test("a record id is stored once; a failing commit stores nothing of its transaction")
    func atomic() async throws {
        let store = try Store.inMemory()
        try await store.commit(records: [record("r1")])
        await #expect(throws: StoreError.self) { try await store.commit(records: [record("r2", caseID: "C5"), record("r1")]) }
        #expect(try store.recordCount() == 1)
        #expect(try await store.firstRatedCase(among: ["C5"]) == nil)
    }

    @Test("an assigned batch keeps its id and records until sent, across reopening")
    func batchesAreStable() async throws {
        let path = tempDir() + "/e.sqlite"
        var first: OutboxBatch?
        do {
            let store = try Store(path: path)
            try await store.commit(records: (1...5).map { record("r\($0)", caseID: "C\($0)") })
            first = try await store.nextBatch(max: 3, newBatchID: "b1", now: Millis(1))
            #expect(first?.recordIDs == ["r1", "r2", "r3"])
            // Asked again before it is sent: the same batch, not a new one.
            #expect(try await store.nextBatch(max: 3, newBatchID: "b2", now: Millis(2)) == first)
        }
        let store = try Store(path: path)
        let again = try await store.nextBatch(max: 3, newBatchID: "b3", now: Millis(3))
        #expect(again?.batchID == "b1")
        #expect(again?.bodies == first?.bodies)
        try await store.markSent(batchID: "b1", at: Millis(10))
        #expect(try store.backlogCount() == 2)
        let next = try await store.nextBatch(max: 3, newBatchID: "b4", now: Millis(11))
        #expect(next?.batchID == "b4")
        #expect(next?.recordIDs == ["r4", "r5"])
        try await store.markSent(batchID: "b4", at: Millis(12))
        #expect(try await store.nextBatch(max: 3, newBatchID: "b5", now: Millis(13)) == nil)
        #expect(try store.backlogCount() == 0)
        #expect(try store.lastSentAt() == Millis(12))
    }

    @Test("stored bodies are the canonical record JSON with every field")
    func body() async throws {
        let store = try Store.inMemory()
        try await store.commit(records: [record("r1")])
        let body = try #require(try store.recentRecords(limit: 1).first?.body)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let fields = ["record_id", "gateway_id", "region", "window_id", "department", "staff_id", "case_id", "batch_case_ids",
                      "matter_code", "matter_name", "session_id", "outcome", "level", "score", "bad", "reason", "reason_text", "dimensions",
                      "channel", "pad", "key",
                      "prompted_at", "pressed_at", "recorded_at", "flags", "opened_by", "ended_by", "edits", "count",
                      "detail", "prompt_to_press_ms", "chain_id", "seq", "prev_hash", "hash", "stage", "service_no"]
        #expect(Set(obj.keys) == Set(fields))
        #expect(Set(obj.keys) == RatingRecord.fieldNames)
        #expect(obj["recorded_at"] as? String == "1970-01-01T00:00:01.000Z")
        #expect(obj["staff_id"] is NSNull)
    }

    @Test("the read-only view refuses a missing database with a clear message")
    func readOnlyMissing() {
        #expect(throws: StoreError.self) { try Store(readOnlyPath: "/nonexistent/evaluatord.sqlite") }
    }
}
