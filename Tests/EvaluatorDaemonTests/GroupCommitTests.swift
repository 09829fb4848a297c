import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorProtocol
import EvaluatorTestSupport
import Foundation
import Testing

/// 64 pads on one bus, all pressing at once (issue 6: ingest; R7: ack only after the commit).
@Suite("group commit: presses that arrive together are committed together")
struct GroupCommitTests {
    @Test("64 presses in one write: each rates its own window's case once, each is acked, fewer commits than presses")
    func burst() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil, windows: (0..<64).map { ("W\($0)", $0) }), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        for a in 0..<64 {
            #expect(try await daemon.request(.POST, "/v1/windows/W\(a)/evaluations", json: #"{"case_id": "G-\#(a)"}"#).0 == 201)
            #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: UInt8(a)))
        }
        let before = await daemon.daemon.gateway.commitStats
        pad.write((0..<64).flatMap { Framed68Frame.press(address: UInt8($0), key: UInt8($0 % 4)).encoded() })
        var acks: [Framed68Frame] = []
        while acks.count < 64, let f = await pad.nextFrame(timeoutMs: 10_000) { acks.append(f) }
        #expect(acks == (0..<64).map { Framed68Frame.ack(address: UInt8($0), key: UInt8($0 % 4)) }, "every press acked, in order")
        let stats = await daemon.daemon.gateway.commitStats
        print("group commit: 64 presses in \(stats.groups - before.groups) commit(s)")
        #expect(stats.events - before.events == 64)
        #expect(stats.groups - before.groups < 64, "presses that arrive together share commits")
        let records = try daemon.daemon.store.recentRecords(limit: 200).filter { $0.outcome == "rated" }
        #expect(records.count == 64)
        #expect(Set(records.compactMap(\.caseID)) == Set((0..<64).map { "G-\($0)" }), "each case rated once, at its own window")
        #expect(records.allSatisfy { $0.windowID == "W" + ($0.caseID?.dropFirst(2) ?? "") })
        // A second evaluation for a case rated in that group is refused (R3).
        let (status, body) = try await daemon.request(.POST, "/v1/windows/W1/evaluations", json: #"{"case_id": "G-5"}"#)
        #expect(status == 409)
        #expect((body["error"] as? [String: Any])?["code"] as? String == "already_rated")
        await daemon.stop()
        pad.close()
    }
}

@Suite("API Date header without a once-a-second timer")
struct HTTPDateTests {
    @Test("IMF-fixdate as RFC 9110's example, and leap day")
    func imfFixdate() {
        #expect(HTTPDate.string(Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.string(Date(timeIntervalSince1970: 1_709_251_199.9)) == "Thu, 29 Feb 2024 23:59:59 GMT")
    }
}
