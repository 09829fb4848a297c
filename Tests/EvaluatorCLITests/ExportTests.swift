import EvaluatorCLI
import EvaluatorCore
import EvaluatorStore
import EvaluatorTestSupport
import Foundation
import Testing

@Suite("evaluatorctl export (issue 13)")
struct ExportTests {
    @Test("CSV and JSON lines of a period: header, quoting, a formula-looking id defused, sent or not; outside the period left out")
    func export() async throws {
        let dir = temporaryFolder()
        let config = try GatewayConfig.parse("[gateway]\nid = \"g\"\nregion = \"370211\"\nstate_dir = \"\(dir)\"\n", source: "t", files: .system)
        let store = try Store(path: config.databasePath)
        let day: Int64 = 1_796_000_400_000
        func record(_ id: String, _ caseID: String, at: Int64, matter: String? = nil) -> RatingRecord {
            RatingRecord(recordID: id, gatewayID: "g", region: "370211", recordedAt: Millis(at),
                         draft: RecordDraft(windowID: "W01", caseID: caseID, matterName: matter, outcome: .rated, level: .satisfied, score: 8))
        }
        try await store.commit(records: [
            record("r1", "C-1", at: day, matter: "不动产, \"登记\""),
            record("r2", "=HYPERLINK(\"x\")", at: day + 1000),
            record("r3", "C-3", at: day + 86_400_000),
        ])
        let csvFile = dir + "/out.csv"
        let outcome = try Control.export(config: config, since: Millis(day), until: Millis(day + 3_600_000), format: .csv, output: csvFile, progress: false)
        #expect(outcome.ok && outcome.json.contains(#""records":2"#))
        let lines = try String(contentsOfFile: csvFile, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == RecordExport.csvHeader && lines[0].hasPrefix("record_id,recorded_at,") && lines[0].hasSuffix(",sent"))
        #expect(lines[1].hasPrefix("r1,") && lines[1].contains(#","不动产, ""登记""","#) && lines[1].hasSuffix(",false"), "\(lines[1])")
        #expect(lines[2].contains(#","'=HYPERLINK(""x"")","#), "\(lines[2])")
        #expect(throws: (any Error).self) {
            try Control.export(config: config, since: Millis(day), until: Millis(day + 1), format: .csv, output: csvFile, progress: false)
        }

        let jsonFile = dir + "/out.jsonl"
        _ = try Control.export(config: config, since: Millis(day), until: Millis(day + 2 * 86_400_000), format: .jsonl, output: jsonFile, progress: false)
        let objects = try String(contentsOfFile: jsonFile, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.map { $0?["record_id"] as? String } == ["r1", "r2", "r3"])
        #expect(objects.allSatisfy { $0?["sent"] as? Bool == false && $0?["hash"] is String })
    }

    @Test("files (issue 20): export --output and backup are created exclusively 0600 and never through a symlink; -wal/-shm ownership is fixed through the descriptor, never through a planted symlink")
    func files() async throws {
        let dir = temporaryFolder()
        let config = try GatewayConfig.parse("[gateway]\nid = \"g\"\nregion = \"370211\"\nstate_dir = \"\(dir)\"\n", source: "t", files: .system)
        let store = try Store(path: config.databasePath)
        try await store.commit(records: [RatingRecord(recordID: "r1", gatewayID: "g", region: "370211", recordedAt: Millis(1_796_000_400_000),
                                                      draft: RecordDraft(windowID: "W01", caseID: "C-1", outcome: .rated, level: .satisfied, score: 8))])
        let victim = dir + "/victim"
        try "keep me".write(toFile: victim, atomically: false, encoding: .utf8)
        chmod(victim, 0o600)
        func mode(_ p: String) -> mode_t { var st = stat(); lstat(p, &st); return st.st_mode & 0o777 }

        // export --output and backup refuse a symlink planted at the destination, and write 0600.
        symlink(victim, dir + "/out.csv")
        #expect(throws: (any Error).self) {
            try Control.export(config: config, since: Millis(0), until: Millis(1_900_000_000_000), format: .csv, output: dir + "/out.csv", progress: false)
        }
        symlink(victim, dir + "/copy.sqlite")
        #expect(throws: (any Error).self) { try Control.backup(config: config, destination: dir + "/copy.sqlite", progress: false) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
        _ = try Control.export(config: config, since: Millis(0), until: Millis(1_900_000_000_000), format: .csv, output: dir + "/new.csv", progress: false)
        _ = try Control.backup(config: config, destination: dir + "/new.sqlite", progress: false)
        #expect(mode(dir + "/new.csv") == 0o600 && mode(dir + "/new.sqlite") == 0o600)

        // A -wal that is a symlink is left alone: the victim's mode does not become the store's.
        chmod(config.databasePath, 0o640)
        unlink(config.databasePath + "-shm")
        symlink(victim, config.databasePath + "-shm")
        store.keepOwnership()
        #expect(mode(victim) == 0o600, "keepOwnership followed a symlink")
        unlink(config.databasePath + "-shm")
    }

    @Test("purge (issue 20): refuses while records the centre lacks exist and names their count; --force with exactly that count deletes the store and the pairings")
    func purge() async throws {
        let dir = temporaryFolder()
        let config = try GatewayConfig.parse("[gateway]\nid = \"g\"\nregion = \"370211\"\nstate_dir = \"\(dir)\"\n", source: "t", files: .system)
        let store = try Store(path: config.databasePath)
        try await store.commit(records: (1...3).map { i in
            RatingRecord(recordID: "r\(i)", gatewayID: "g", region: "370211", recordedAt: Millis(1_796_000_400_000 + Int64(i)),
                         draft: RecordDraft(windowID: "W01", caseID: "C-\(i)", outcome: .rated, level: .satisfied, score: 8))
        })
        try "{}".write(toFile: dir + "/pads.paired", atomically: false, encoding: .utf8)
        let refused = try await Control.purge(config: config, force: nil)
        #expect(!refused.ok && refused.lines.joined().contains("3 rating record(s) have not reached the centre") && refused.lines.joined().contains("--force 3"))
        #expect(!(try await Control.purge(config: config, force: 2)).ok)
        #expect(!(try await Control.purge(config: config, force: nil, checkOnly: true)).ok)
        #expect(FileManager.default.fileExists(atPath: config.databasePath))
        let done = try await Control.purge(config: config, force: 3)
        #expect(done.ok && !FileManager.default.fileExists(atPath: config.databasePath) && !FileManager.default.fileExists(atPath: dir + "/pads.paired"))
        #expect(try await Control.purge(config: config, force: nil, checkOnly: true).ok)
    }
}
