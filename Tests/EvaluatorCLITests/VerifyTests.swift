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
        try GatewayConfig.parse("[gateway]\nid = \"g\"\nregion = \"370211\"\nstate_dir = \"\(dir)\"\n", source: "t")
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
