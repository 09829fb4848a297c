import EvaluatorCLI
import EvaluatorCore
import EvaluatorStore
import EvaluatorTestSupport
import Foundation
import GRDB
import Testing

@Suite("evaluatorctl verify")
struct VerifyTests {
    func config(_ dir: String) throws -> GatewayConfig {
        try GatewayConfig.parse("[gateway]\nid = \"g\"\nregion = \"370211\"\nstate_dir = \"\(dir)\"\n", source: "t", files: .system)
    }

    @Test("ok: exit 0 and the head; an edit: exit 1 naming the seq; no store: exit 2")
    func verify() async throws {
        let dir = temporaryFolder()
        let config = try config(dir)
        let missing = Control.verify(config: config, progress: false)
        #expect(missing.status == .storeUnreadable)
        #expect(missing.line.hasPrefix("cannot read the store: "))
        #expect(missing.line.contains("evaluatord.sqlite"))

        let store = try Store(path: config.databasePath)
        try await store.commit(records: makeRecords(3))
        let head = try store.chainHead().hash
        let ok = Control.verify(config: config, progress: false)
        #expect(ok.status == .success)
        #expect(ok.line == "chain ok: 3 records, seq 1…3, head \(head)")
        #expect(ok.json == "{\"first_seq\":1,\"head\":\"\(head)\",\"last_seq\":3,\"ok\":true,\"records\":3}")

        try DatabaseQueue(path: config.databasePath).inDatabase { db in
            try db.execute(sql: "UPDATE record SET body = replace(body, '\"C1\"', '\"C7\"') WHERE seq = 2")
        }
        let broken = Control.verify(config: config, progress: false)
        #expect(broken.status == .failure)
        #expect(broken.line.hasPrefix("chain broken at seq 2: hash mismatch: the record was edited"))
        #expect(broken.json.hasPrefix("{\"ok\":false,\"seq\":2,\"what\":\"hash mismatch"))
    }
}

@Suite("evaluatorctl stats")
struct StatsTableTests {
    @Test("an aligned table, CJK names two columns wide, the total last")
    func table() throws {
        var a = StatsGroup(key: "自然资源局")
        a.counts = ["opened": 3, "rated": 2, "bad": 1, "score_sum": 13, "flag:instant": 1]
        var b = StatsGroup(key: "W2")
        b.counts = ["opened": 1, "unrated": 1]
        let q = StatsQuery(since: Millis(0), until: Millis(3_600_000), by: .department, timeZone: TimeZone(identifier: "UTC")!)
        let report = StatsReport(query: q, rows: [("自然资源局", "opened", 3), ("自然资源局", "rated", 2), ("自然资源局", "bad", 1),
                                                   ("自然资源局", "score_sum", 13), ("自然资源局", "flag:instant", 1), ("W2", "opened", 1), ("W2", "unrated", 1)])
        #expect(report.groups == [b, a])
        let lines = Control.statsTable(report).split(separator: "\n").map(String.init)
        #expect(lines[0] == "statistics 1970-01-01T00:00:00.000Z … 1970-01-01T01:00:00.000Z by department")
        #expect(lines[1].hasPrefix("department  opened  rated"))
        #expect(lines[2].hasPrefix("W2               1      0"))
        #expect(lines[3].hasPrefix("自然资源局       3      2"))
        #expect(lines[3].contains("66.7%") && lines[3].contains("50.0%") && lines[3].contains("6.50"))
        #expect(lines[5].hasPrefix("total            4      2"))
        #expect(Set(lines.dropFirst().map { displayColumns($0) }).count == 1, "every line as wide as the header")
    }
}

func displayColumns(_ s: String) -> Int {
    s.unicodeScalars.reduce(0) { $0 + ((0x4E00...0x9FFF).contains($1.value) ? 2 : 1) }
}

@Suite("every verb of evaluatorctl (issue 13)")
struct VerbTests {
    @Test("every verb takes --json, and --help lists the exit statuses")
    func json() {
        // A group (admin-token) is checked by its verbs.
        let verbs = EvaluatorCtl.configuration.subcommands.flatMap { v in v.configuration.subcommands.isEmpty ? [v] : v.configuration.subcommands }
        for verb in verbs {
            #expect(verb.helpMessage().contains("--json"), "\(verb._commandName) has no --json")
        }
        #expect(EvaluatorCtl.helpMessage().contains("3 status: the daemon is not running"))
    }
}
