import EvaluatorCore
import EvaluatorStore
import EvaluatorUplink
import Foundation
import EvaluatorTestSupport
import Testing


/// Two stored records: a bad rating with a reason, and an unrated case.
let sampleBatch: OutboxBatch = {
    let rated = RatingRecord(recordID: "7d0c0a4e-0000-4000-8000-000000000001", gatewayID: "370211-hall-01", region: "370211",
                             recordedAt: Millis(1_795_372_595_123),
                             draft: RecordDraft(windowID: "W01", department: "自然资源局", staffID: "S1024", caseID: "2026-SD-000123",
                                                batchCaseIDs: ["2026-SD-000124"], matterCode: "370211-BDC-001", matterName: "不动产登记",
                                                sessionID: "s-1", outcome: .rated, level: .dissatisfied, score: 3, pad: .evdev(window: "W01"), key: 80,
                                                promptedAt: Millis(1_795_372_590_000), pressedAt: Millis(1_795_372_595_000), reason: "207"))
    let unrated = RatingRecord(recordID: "7d0c0a4e-0000-4000-8000-000000000002", gatewayID: "370211-hall-01", region: "370211",
                               recordedAt: Millis(1_795_372_630_000),
                               draft: RecordDraft(windowID: "W02", department: "市场监督管理局", caseID: "2026-SD-000200", sessionID: "s-2",
                                                  outcome: .unrated, pad: .serial(bus: "bus1", address: 4), promptedAt: Millis(1_795_372_600_000)))
    return OutboxBatch(batchID: "b-0001", recordIDs: [rated.recordID, unrated.recordID], bodies: [rated.jsonString(), unrated.jsonString()], attempts: 0,
                       chain: ChainHead(chainID: "0b7f3c52-6d1e-4a8b-9c3d-2e5f60718293", seq: 42, hash: String(repeating: "ab", count: 32)))
}()
let sendTime = Millis(1_795_372_640_000) // 2026-11-22T18:37:20Z = 2026-11-23 02:37:20 in Beijing

func shippedProfile(_ name: String) throws -> UpstreamProfile {
    try UpstreamProfile.load(path: repoRoot.appendingPathComponent("Config/profiles/\(name).toml").path, files: .system)
}

@Suite("upstream profiles: the exact bodies they produce")
struct ProfileTests {
    @Test("generic-json sends the stored records as they are")
    func genericJSON() throws {
        let r = ProfileRenderer(profile: .genericJSON, gatewayID: "370211-hall-01")
        let body = try r.body(batch: sampleBatch, now: sendTime)
        // The chain head anchors the batch (docs/CHAIN.md).
        let chain = "{\"chain_id\":\"0b7f3c52-6d1e-4a8b-9c3d-2e5f60718293\",\"hash\":\"\(String(repeating: "ab", count: 32))\",\"seq\":42}"
        #expect(body == "{\"batch_id\":\"b-0001\",\"chain\":\(chain),\"gateway_id\":\"370211-hall-01\",\"records\":[\(sampleBatch.bodies[0]),\(sampleBatch.bodies[1])]}")
        // The shipped file describes the same format.
        let file = ProfileRenderer(profile: try shippedProfile("generic-json"), gatewayID: "370211-hall-01")
        #expect(try file.body(batch: sampleBatch, now: sendTime) == body)
        #expect(r.signature(of: body) == nil)
    }

    @Test("gbt39046: 1 = 非常满意 … 5 = 非常不满意, pf 5 for a key pad ([channels]), Beijing time, nulls omitted")
    func gbt39046() throws {
        let r = ProfileRenderer(profile: try shippedProfile("gbt39046"), gatewayID: "370211-hall-01")
        let body = try r.body(batch: sampleBatch, now: sendTime)
        #expect(body == """
        {"batchId":"b-0001","data":[{"areaCode":"370211","batchProjectNos":["2026-SD-000124"],"deptName":"自然资源局","evaluateId":"7d0c0a4e-0000-4000-8000-000000000001","evaluateTime":"2026-11-23 02:36:35","outcome":"rated","pf":"5","projectNo":"2026-SD-000123","reasonCode":"207","satisfaction":4,"taskCode":"370211-BDC-001","taskName":"不动产登记","userId":"S1024","windowId":"W01"},{"areaCode":"370211","batchProjectNos":[],"deptName":"市场监督管理局","evaluateId":"7d0c0a4e-0000-4000-8000-000000000002","outcome":"unrated","pf":"5","projectNo":"2026-SD-000200","windowId":"W02"}],"deviceId":"370211-hall-01","sendTime":"2026-11-23 02:37:20","total":2}
        """)
    }

    @Test("reversed-signed: 5 = 非常满意 … 1 = 非常不满意, pf 5, a bare array, HMAC-SHA256 in X-Signature")
    func reversedSigned() throws {
        let r = ProfileRenderer(profile: try shippedProfile("reversed-signed"), gatewayID: "370211-hall-01", signingKey: Array("s3cret".utf8))
        let body = try r.body(batch: sampleBatch, now: sendTime)
        #expect(body == """
        [{"bjbh":"2026-SD-000123","bmmc":"自然资源局","ckbh":"W01","cpyy":"207","gh":"S1024","id":"7d0c0a4e-0000-4000-8000-000000000001","jg":"rated","pf":"5","pjdj":"2","pjsj":"20261123023635","sxbm":"370211-BDC-001","xzqh":"370211"},{"bjbh":"2026-SD-000200","bmmc":"市场监督管理局","ckbh":"W02","cpyy":null,"gh":null,"id":"7d0c0a4e-0000-4000-8000-000000000002","jg":"unrated","pf":"5","pjdj":null,"pjsj":null,"sxbm":null,"xzqh":"370211"}]
        """)
        let sig = try #require(r.signature(of: body))
        #expect(sig.header == "X-Signature")
        #expect(sig.value.count == 44, "base64 of 32 bytes")
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2")
    func hmacVector() throws {
        var p = UpstreamProfile.genericJSON
        p.signingHeader = "X-Sig"
        let r = ProfileRenderer(profile: p, gatewayID: "g", signingKey: Array("Jefe".utf8))
        #expect(r.signature(of: "what do ya want for nothing?")?.value == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("profile errors name the file, the line and the key")
    func errors() {
        #expect(throws: ConfigError.self) { try UpstreamProfile.parse("name = \"x\"\n[record.fields]\na = \"level_code\"\n", source: "p.toml") }
        do {
            _ = try UpstreamProfile.parse("name = \"x\"\n[record.fields]\na = \"no_such_field\"\n", source: "p.toml")
            Issue.record("no error")
        } catch {
            #expect(error.description.hasPrefix("p.toml:3: record.fields.a: unknown source \"no_such_field\""), "\(error)")
        }
    }

    @Test("a config naming a signing profile needs the key file")
    func signingNeedsKey() {
        let text = exampleConfigWithUplink(profile: "\(repoRoot.path)/Config/profiles/reversed-signed.toml")
        do {
            _ = try GatewayConfig.parse(text, source: "t.toml", files: .system)
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("uplink.signing_key_file: profile \"reversed-signed\" signs its requests"), "\(error)")
        }
    }
}

extension ProfileTests {
    @Test("a missing profile file is named with the config line that points at it (found by make fuzz)")
    func missingProfile() {
        do {
            _ = try GatewayConfig.parse(exampleConfigWithUplink(profile: "/nonexistent/gbt39046.toml"), source: "t.toml", files: .system)
            Issue.record("no error")
        } catch {
            #expect(error.description.hasPrefix("t.toml:6: uplink.profile: cannot read the profile file /nonexistent/gbt39046.toml"), "\(error)")
        }
    }
}

func exampleConfigWithUplink(profile: String) -> String {
    """
    [gateway]
    id = "g"
    region = "370211"
    [uplink]
    url = "http://127.0.0.1:9/r"
    profile = "\(profile)"
    """
}
