import EvaluatorCore
import Foundation
import GRDB
import Synchronization

/// The schema: named, forward-only migrations, each with the measured reason it exists.
extension Store {
    static func migrator(_ days: LocalDays) -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-records-sessions-outbox") { db in
            try db.execute(sql: """
                CREATE TABLE record (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    record_id TEXT NOT NULL UNIQUE,
                    window_id TEXT,
                    case_id TEXT,
                    outcome TEXT NOT NULL,
                    level TEXT,
                    bad INTEGER NOT NULL,
                    recorded_at INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    batch_id TEXT,
                    sent_at INTEGER
                );
                CREATE INDEX record_unsent ON record(seq) WHERE sent_at IS NULL;
                CREATE INDEX record_batch ON record(batch_id);
                CREATE TABLE rated_case (
                    case_id TEXT PRIMARY KEY,
                    record_id TEXT NOT NULL
                );
                CREATE TABLE open_session (
                    session_id TEXT PRIMARY KEY,
                    window_id TEXT NOT NULL UNIQUE,
                    body TEXT NOT NULL
                );
                CREATE TABLE batch (
                    batch_id TEXT PRIMARY KEY,
                    created_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT
                );
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
        }
        m.registerMigration("v2-quarantine") { db in
            // A record the central store refuses on its own (a poison record) is quarantined:
            // kept, listed, re-sendable, never silently dropped.
            try db.execute(sql: """
                ALTER TABLE record ADD COLUMN quarantined_at INTEGER;
                ALTER TABLE record ADD COLUMN quarantine_reason TEXT;
                ALTER TABLE batch ADD COLUMN parent TEXT;
                CREATE INDEX record_pending ON record(bad DESC, seq) WHERE sent_at IS NULL AND quarantined_at IS NULL;
                """)
        }
        m.registerMigration("v3-pending-batch-index") { db in
            // Finding the batch still in flight must not scan the records of every batch ever
            // sent: index only batched records not yet accepted (a 1,000,000-record drain was
            // quadratic without it). New batches are taken in `record_pending` order (INDEXED BY:
            // the planner otherwise picks `record_batch` for `batch_id IS NULL` and sorts the
            // whole backlog for every batch).
            try db.execute(sql: """
                CREATE INDEX record_batch_pending ON record(batch_id)
                    WHERE batch_id IS NOT NULL AND sent_at IS NULL AND quarantined_at IS NULL;
                """)
        }
        m.registerMigration("v4-drop-unused-meta") { db in
            // Created by v1 for settings that never came: nothing ever read or wrote it.
            try db.execute(sql: "DROP TABLE IF EXISTS meta")
        }
        m.registerMigration("v5-flood") { db in
            // A flooding pad's presses beyond the per-minute limit are counted here (one row per
            // pad) until their minute ends and they become one record: each is acked only once
            // its count is durable, and a chattering pad cannot fill the disk (issue 11).
            try db.execute(sql: "CREATE TABLE flood (pad TEXT PRIMARY KEY, body TEXT NOT NULL)")
        }
        m.registerMigration("v6-chain") { db in
            // Tamper evidence (issue 12, R8, R17): every record is chained — `seq` (the
            // record's own seq, 1, 2, 3 … with no gaps), `prev_hash`, `hash` — under one chain
            // id made now. Records stored before are chained here, in their stored order. The
            // head is kept in `chain` so a commit appends without reading the last record, and
            // `pruned_*` is the checkpoint that keeps `verify` meaningful after retention.
            try db.execute(sql: """
                CREATE TABLE chain (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    chain_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    head_seq INTEGER NOT NULL,
                    head_hash TEXT NOT NULL,
                    pruned_seq INTEGER NOT NULL DEFAULT 0,
                    pruned_hash TEXT NOT NULL
                );
                ALTER TABLE record ADD COLUMN hash TEXT;
                """)
            try Self.chainExisting(db, chainID: UUID().uuidString.lowercased(), now: Millis(date: Date()))
        }
        m.registerMigration("v7-rollup") { db in
            // Statistics (issue 12, R14, R15) from hourly rollups kept with each record:
            // a year's figures without reading a year's records, and right after retention.
            try Self.createRollup(db)
            try Self.rollUpExisting(db)
        }
        m.registerMigration("v8-rollup-day") { db in
            // A daily rollup beside the hourly one, a set of rows per grouping (window, staff,
            // department): a year by window reads ~365 × windows × metrics rows. Measured on
            // 10,000,000 records over a year: the hourly table held 13.7M rows and a year by
            // window took over 30 s; one daily row per window *and* staff still held 988k
            // rows (0.8 s to group in SQLite alone). Days are local (gateway.time_zone at
            // write time); the edges of a query not on local midnight come from the hours.
            try Self.createRollupDay(db)
            try Self.rollUpDaysFromHours(db, days)
        }
        m.registerMigration("v9-last-sent") { db in
            // When the last batch was accepted, kept beside the chain head: MAX(sent_at) read
            // every record (no index on sent_at), and status asked it after each start.
            try db.execute(sql: """
                ALTER TABLE chain ADD COLUMN last_sent_at INTEGER;
                UPDATE chain SET last_sent_at = (SELECT MAX(sent_at) FROM record);
                """)
        }
        m.registerMigration("v10-fold-days") { db in
            // The commit path writes hourly rollups only; finished hours are folded into the
            // daily rows by the next commit (a watermark): the four daily upserts per metric
            // on every commit halved the 64-pad ingest (perf: the rollups were half the
            // writer's time). v8 folded every hour there was.
            try db.execute(sql: """
                ALTER TABLE chain ADD COLUMN folded_hour INTEGER NOT NULL DEFAULT 0;
                UPDATE chain SET folded_hour = (SELECT COALESCE(MAX(hour) + 1, 0) FROM rollup);
                """)
        }
        m.registerMigration("v11-window-state") { db in
            // The staff signed in at each window and whether it is paused (issue 14): a restart
            // must not sign the hall out. One JSON body per window.
            try db.execute(sql: "CREATE TABLE window_state (window_id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        }
        m.registerMigration("v12-replaced-chain") { db in
            // The chains of this gateway's damaged stores (issue 20): salvage may import only
            // records of these, so an API caller cannot seal made-up records into the chain.
            // Written when a store is moved aside, carried into every later store, never pruned.
            try db.execute(sql: """
                CREATE TABLE replaced_chain (chain_id TEXT, head_seq INTEGER, head_hash TEXT, file TEXT NOT NULL, replaced_at INTEGER NOT NULL)
                """)
        }
        m.registerMigration("v13-screen-refusal-index") { db in
            // A screen pad's refused rating is kept as evidence once (issue 20): a resend after a
            // restart is looked up by its session id. Partial, so only refused screen ratings
            // are indexed: other records fail `outcome = 'no_case'` before any JSON is read.
            try db.execute(sql: """
                CREATE INDEX record_screen_refusal ON record(json_extract(body, '$.session_id'))
                    WHERE outcome = 'no_case' AND json_extract(body, '$.channel') = 'screen'
                """)
        }
        m.registerMigration("v14-services") { db in
            // 一事多评 (issue 22): R3 is one rating per case and stage, so `rated_case` is keyed
            // by both. A row stored before has the stage '' (`Stages.legacy`): it reads as the
            // first configured stage, which the store cannot know. No stored record is touched
            // (the chain hashes them). `case_service` numbers each case's services: one row per
            // service record, so the next number is one indexed read, not a scan of `record`
            // (which has no case index: it would cost every insert on the hot path).
            try db.execute(sql: """
                CREATE TABLE rated_case_stage (
                    case_id TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    PRIMARY KEY (case_id, stage)
                );
                INSERT INTO rated_case_stage (case_id, stage, record_id) SELECT case_id, '', record_id FROM rated_case;
                DROP TABLE rated_case;
                ALTER TABLE rated_case_stage RENAME TO rated_case;
                CREATE TABLE case_service (
                    case_id TEXT NOT NULL,
                    service_no INTEGER NOT NULL,
                    stage TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    PRIMARY KEY (case_id, service_no)
                );
                """)
        }
        return m
    }
}
