import EvaluatorCore
import Foundation
import Testing
@testable import EvaluatorStore
import EvaluatorTestSupport


/// The records of docs/chain-vectors.json: CJK text, nulls, empty arrays, escapes, every outcome.
func vectorRecords() -> [(String, RatingRecord)] {
    func r(_ n: Int, _ draft: RecordDraft) -> RatingRecord {
        RatingRecord(recordID: "7d0c0a4e-0000-4000-8000-00000000000\(n)", gatewayID: "370211-hall-01", region: "370211",
                     recordedAt: Millis(1_795_000_000_000 + Int64(n) * 1_000), draft: draft)
    }
    var bad = RecordDraft(windowID: "W01", department: "自然资源局", staffID: "S1024", caseID: "2026-SD-000123",
                          batchCaseIDs: ["2026-SD-000124", "2026-SD-000125"], matterCode: "370211-BDC-001",
                          matterName: "不动产登记 \"首次\" \\ 抵押/转移\n\t\u{01} 🏠", sessionID: "s-1", outcome: .rated,
                          level: .veryDissatisfied, score: 0, pad: .serial(bus: "bus1", address: 3), key: 0,
                          promptedAt: Millis(1_795_000_000_000), pressedAt: Millis(1_795_000_000_350), reason: "207",
                          flags: [.instant])
    bad.openedBy = "queue-system"
    let unrated = RecordDraft(windowID: "W02", department: "市场监督管理局", caseID: "2026-SD-000200", sessionID: "s-2",
                              outcome: .unrated, promptedAt: Millis(1_795_000_001_000))
    let stray = RecordDraft(windowID: nil, outcome: .noCase, pad: .serial(bus: "bus1", address: 9), key: 2,
                            pressedAt: Millis(1_795_000_002_000), flags: [.unknownPad])
    var flood = RecordDraft(windowID: "W03", outcome: .noCase, pad: .evdev(window: "W03"), flags: [.flood])
    flood.count = 412
    var cancelled = RecordDraft(windowID: "W01", staffID: "S1024", caseID: "2026-SD-000300", sessionID: "s-3", outcome: .cancelled,
                                promptedAt: Millis(1_795_000_004_000))
    cancelled.openedBy = "queue-system"
    cancelled.endedBy = "clerk-desk-1"
    cancelled.edits = [SessionEdit(by: "queue-system", at: Millis(1_795_000_004_500), field: "matter_name", from: nil, to: "企业开办 \"一网通办\"")]
    cancelled.flags = [.edited]
    let audit = RecordDraft(windowID: nil, outcome: .audit, detail: "store_foreign_object: foreign trigger \"soften\" on record dropped")
    let good = RecordDraft(windowID: "W02", caseID: "2026-SD-000201", outcome: .rated, level: .verySatisfied, score: 10,
                           pad: .hidraw(window: "W02"), key: 76, promptedAt: Millis(1_795_000_006_000), pressedAt: Millis(1_795_000_009_000))
    // 一事多评 (issue 22): a service record at stage 受理, then the rating of that service.
    var service = RecordDraft(windowID: "W01", department: "自然资源局", staffID: "S1024", caseID: "2026-SD-000400", matterCode: "370211-BDC-001",
                              matterName: "不动产登记", sessionID: "s-8", outcome: .service, pad: .serial(bus: "bus1", address: 3),
                              promptedAt: Millis(1_795_000_008_000))
    service.openedBy = "queue-system"
    service.stage = "受理"
    service.serviceNo = 2
    var ofService = service
    ofService.outcome = .rated
    ofService.level = .satisfied
    ofService.score = 8
    ofService.key = 2
    ofService.pressedAt = Millis(1_795_000_011_000)
    return [("bad rating, CJK and escapes, batch, reason", r(1, bad)), ("unrated, nulls and empty arrays", r(2, unrated)),
            ("press from an unknown pad", r(3, stray)), ("flood with count", r(4, flood)), ("cancelled, opened_by, ended_by and an edit", r(5, cancelled)),
            ("audit", r(6, audit)), ("good rating from a hidraw pad", r(7, good)),
            ("service record: stage 受理, service 2 of its case (issue 22)", r(8, service)), ("the rating of that service", r(9, ofService))]
}

/// The vectors file's text: one vector per line, the records chained from seq 1.
func vectorsText() -> String {
    let chainID = "0b7f3c52-6d1e-4a8b-9c3d-2e5f60718293"
    var prev = ChainLink.zeroHash
    var lines: [String] = []
    for (i, (name, record)) in vectorRecords().enumerated() {
        let link = ChainLink(chainID: chainID, seq: Int64(i + 1), prevHash: prev)
        let (body, hash) = Chain.seal(record, link: link)
        let hashed = String(decoding: record.canonical(chain: link).bytes, as: UTF8.self)
        lines.append("  {\"name\": \(JSONText.quote(name)), \"hash\": \"\(hash)\",\n   \"hashed_text\": \(JSONText.quote(hashed)),\n   \"record\": \(body)}")
        prev = hash
    }
    return """
    {"description": "evaluatord record-chain test vectors (docs/CHAIN.md): each record's hash is SHA-256 of hashed_text, its canonical JSON without the hash member; the records form one chain from seq 1.",
     "vectors": [
    \(lines.joined(separator: ",\n"))
    ]}

    """
}

@Suite("chain vectors and the stand-alone verifier (docs/CHAIN.md)")
struct ChainVectorTests {
    @Test("docs/chain-vectors.json is what the gateway writes (EVALUATORD_WRITE_VECTORS=1 rewrites it)")
    func vectorsFile() throws {
        let path = repoRoot.appendingPathComponent("docs/chain-vectors.json").path
        if ProcessInfo.processInfo.environment["EVALUATORD_WRITE_VECTORS"] == "1" {
            try vectorsText().write(toFile: path, atomically: true, encoding: .utf8)
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == vectorsText())
    }

    @Test("a record sealed from its template (encoded off the writer) is byte for byte the record sealed whole")
    func templates() {
        for (_, r) in vectorRecords() {
            for seq: Int64 in [1, 9, 10, 99, 123_456_789_012] {
                let link = ChainLink(chainID: "0b7f3c52-6d1e-4a8b-9c3d-2e5f60718293", seq: seq, prevHash: String(repeating: "a1", count: 32))
                #expect(Chain.seal(r.template(chainID: link.chainID), link: link) == Chain.seal(r, link: link))
            }
        }
    }

    @Test("the Python verifier passes on the vectors", .enabled(if: hasPython, "python3 is not installed"))
    func pythonVectors() throws {
        let (status, output) = try runChainVerifier(["--vectors", repoRoot.appendingPathComponent("docs/chain-vectors.json").path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("vectors ok: 9 records"))
    }

    @Test("the Python verifier names an edit, a gap and a rewritten history", .enabled(if: hasPython, "python3 is not installed"))
    func pythonFindsTampering() throws {
        let chainID = "0b7f3c52-6d1e-4a8b-9c3d-2e5f60718293"
        var prev = ChainLink.zeroHash
        var bodies: [String] = []
        var hashes: [String] = []
        for (i, (_, r)) in vectorRecords().enumerated() {
            let (body, hash) = Chain.seal(r, link: ChainLink(chainID: chainID, seq: Int64(i + 1), prevHash: prev))
            bodies.append(body)
            hashes.append(hash)
            prev = hash
        }
        func check(_ lines: [String]) throws -> (Int32, String) {
            let file = temporaryFolder() + "/received.jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            return try runChainVerifier([file])
        }
        let ok = try check(bodies.reversed())
        #expect(ok.0 == 0 && ok.1.contains("ok: 9 records, seq 1…9"), "\(ok.1)")
        let edited = try check(bodies.enumerated().map { $0.offset == 1 ? $0.element.replacingOccurrences(of: "\"W02\"", with: "\"W09\"") : $0.element })
        #expect(edited.0 == 1 && edited.1.contains("seq 2): hash mismatch"), "\(edited.1)")
        let gap = try check(bodies.enumerated().filter { $0.offset != 3 }.map(\.element))
        #expect(gap.0 == 1 && gap.1.contains("seq gap: records 4…4"), "\(gap.1)")
        // A batch announced head seq 3; later the history up to it was rewritten and resent.
        let anchor = "{\"chain\":{\"chain_id\":\"\(chainID)\",\"hash\":\"\(hashes[2])\",\"seq\":3},\"records\":[]}"
        var rewritten = vectorRecords().map(\.1)
        rewritten[2].draft.key = 4
        prev = ChainLink.zeroHash
        var forged: [String] = []
        for (i, r) in rewritten.enumerated() {
            let (body, hash) = Chain.seal(r, link: ChainLink(chainID: chainID, seq: Int64(i + 1), prevHash: prev))
            forged.append(body)
            prev = hash
        }
        let rewrite = try check([anchor] + forged)
        #expect(rewrite.0 == 1 && rewrite.1.contains("seq 3: the head announced with an earlier batch"), "\(rewrite.1)")
    }
}
