import EvaluatorCore
import Foundation
import GRDB
import Synchronization

/// The one write path of events (group commit): records sealed into the chain, sessions,
/// floods, rated cases and rollups in one durable transaction (R7).
extension Store {
    /// Commits several events' changes, in order, in one durable transaction (group commit:
    /// one fsync for every press that arrived while the previous commit was being fsynced).
    /// Waits without holding a thread: the write runs on the store's writer queue while the
    /// caller (the gateway actor) takes the next events.
    public func commit(_ changes: [StoreChange]) async throws(StoreError) {
        // The records are sealed into the chain on the writer, where their seq is known.
        let n = changes.reduce(0) { $0 + $1.records.count }
        try await counted({ () async throws(StoreError) in
            try await write("commit failed") { [days] db in try Self.apply(changes, db, days) }
        }, adjust: { _, c in c.records += n; c.backlog += n })
    }

    private static func apply(_ changes: [StoreChange], _ db: Database, _ days: LocalDays) throws {
        let encoder = JSONEncoder()
        let insertRecord = try db.cachedStatement(sql: """
            INSERT INTO record (seq, record_id, window_id, case_id, outcome, level, bad, recorded_at, body, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var head = try chainHead(db)
        var rollups = Rollups(days, foldedHour: try foldedHour(db))
        for change in changes {
            for (i, r) in change.records.enumerated() {
                let link = ChainLink(chainID: head.chainID, seq: head.seq + 1, prevHash: head.hash)
                let (body, hash) = change.templates.map { $0[i] }.flatMap { $0.chainID == head.chainID ? Chain.seal($0, link: link) : nil }
                    ?? Chain.seal(r, link: link)
                try insertRecord.execute(arguments: [link.seq, r.recordID, r.draft.windowID, r.draft.caseID, r.draft.outcome.rawValue,
                                                     r.draft.level?.rawValue, r.draft.isBad, r.recordedAt.value, body, hash])
                head = ChainHead(chainID: head.chainID, seq: link.seq, hash: hash)
                rollups.add(r)
                if r.draft.outcome == .rated, let caseID = r.draft.caseID {
                    for id in [caseID] + r.draft.batchCaseIDs {
                        try db.cachedStatement(sql: "INSERT OR IGNORE INTO rated_case (case_id, stage, record_id) VALUES (?, ?, ?)")
                            .execute(arguments: [id, r.draft.stage ?? Stages.legacy, r.recordID])
                    }
                }
                if r.draft.outcome == .service, let caseID = r.draft.caseID, let n = r.draft.serviceNo {
                    try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_service (case_id, service_no, stage, record_id) VALUES (?, ?, ?, ?)")
                        .execute(arguments: [caseID, n, r.draft.stage ?? Stages.legacy, r.recordID])
                }
            }
            for id in change.removeSessions {
                try db.cachedStatement(sql: "DELETE FROM open_session WHERE session_id = ?").execute(arguments: [id])
            }
            for pad in change.removeFloods {
                try db.cachedStatement(sql: "DELETE FROM flood WHERE pad = ?").execute(arguments: [pad.description])
            }
            for f in change.saveFloods {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO flood (pad, body) VALUES (?, ?)")
                    .execute(arguments: [f.pad.description, String(decoding: try encoder.encode(f), as: UTF8.self)])
            }
            for (windowID, state) in change.saveWindowStates.sorted(by: { $0.key < $1.key }) {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO window_state (window_id, body) VALUES (?, ?)")
                    .execute(arguments: [windowID, String(decoding: try encoder.encode(state), as: UTF8.self)])
            }
            for s in change.saveSessions {
                let body = String(decoding: try encoder.encode(s), as: UTF8.self)
                try db.cachedStatement(sql: "DELETE FROM open_session WHERE window_id = ? AND session_id != ?")
                    .execute(arguments: [s.windowID, s.sessionID])
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO open_session (session_id, window_id, body) VALUES (?, ?, ?)")
                    .execute(arguments: [s.sessionID, s.windowID, body])
            }
        }
        try db.cachedStatement(sql: "UPDATE chain SET head_seq = ?, head_hash = ? WHERE id = 1").execute(arguments: [head.seq, head.hash])
        try rollups.write(db)
    }
}
