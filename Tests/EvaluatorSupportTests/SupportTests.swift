@testable import EvaluatorSupport
import Foundation
import Testing

@Suite("support: the wake-up signal and the backoff")
struct SupportTests {
    @Test("WakeSignal: one fire wakes every waiter; a fire with no waiter is remembered once")
    func signal() async {
        let signal = WakeSignal()
        var start = Date()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await signal.wait(milliseconds: 5000) } }
            while signal.waiterCount < 3 { try? await Task.sleep(for: .milliseconds(10)) }
            start = Date()
            signal.fire()
        }
        #expect(Date().timeIntervalSince(start) < 2)
        signal.fire()
        let t = Date()
        await signal.wait(milliseconds: 5000)
        #expect(Date().timeIntervalSince(t) < 1, "the remembered fire")
        let t2 = Date()
        await signal.wait(milliseconds: 200)
        #expect(Date().timeIntervalSince(t2) >= 0.19, "remembered once only")
    }


    @Test("backoff: doubling to the cap; without jitter the delay is the ceiling; reset starts over; a failure is logged once")
    func backoff() {
        var b = Backoff(initialMs: 250, maxMs: 1000, jitter: false)
        let delays = (0..<4).map { _ in b.nextDelay() }
        #expect(delays == [250, 500, 1000, 1000])
        b.reset()
        let first = b.nextDelay()
        #expect(first == 250)
        struct E: Error, CustomStringConvertible { var description: String }
        let logged = ["ENOENT", "ENOENT", "EACCES"].map { b.failed(E(description: $0)) }
        #expect(logged == [true, false, true], "the same failure again is not logged again")
        var j = Backoff(initialMs: 100, maxMs: 400)
        for _ in 0..<20 {
            let ceiling = j.ceilingMs
            let d = j.nextDelay()
            #expect((0...ceiling).contains(d))
        }
        #expect(j.ceilingMs == 400)
    }
}

@Suite("random ids")
struct RandomIDTests {
    @Test("version-4 UUID text, lowercase, and 100,000 of them all differ")
    func uuids() {
        var seen = Set<String>()
        for _ in 0..<100_000 {
            let id = RandomID.uuid()
            let u = Array(id.utf8)
            #expect(u.count == 36 && u[8] == 0x2D && u[13] == 0x2D && u[18] == 0x2D && u[23] == 0x2D)
            #expect(u[14] == UInt8(ascii: "4"), "version 4: \(id)")
            #expect("89ab".utf8.contains(u[19]), "variant: \(id)")
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) })
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
            seen.insert(id)
        }
        #expect(seen.count == 100_000)
    }

    @Test("version-7 UUID text (issue 21): the time in its first 48 bits, ordered across milliseconds, 100,000 in one millisecond all differ")
    func timeOrdered() throws {
        // 2026-12-07T13:00:00.123Z = 0x01a2_5096_f4fb ms (Python: hex(1796648400123)).
        let ms: Int64 = 1_796_648_400_123
        let id = RandomID.uuidV7(unixMillis: ms)
        let u = Array(id.utf8)
        #expect(u.count == 36 && u[14] == UInt8(ascii: "7"), "version 7: \(id)")
        #expect("89ab".utf8.contains(u[19]), "variant: \(id)")
        #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
        let hex = id.replacingOccurrences(of: "-", with: "")
        #expect(Int64(hex.prefix(12), radix: 16) == ms)
        #expect(hex.hasPrefix("01a25096f4fb"))
        var seen = Set<String>()
        for _ in 0..<100_000 { seen.insert(RandomID.uuidV7(unixMillis: ms)) }
        #expect(seen.count == 100_000)
        // Later milliseconds sort after (text order is time order: the index is appended to).
        var last = ""
        for t in stride(from: ms, to: ms + 5_000, by: 7) {
            let next = RandomID.uuidV7(unixMillis: t)
            #expect(next > last)
            last = next
        }
    }
}

@Suite("support: the demo's tokens file")
struct DemoTokensTests {
    @Test("evaluatord --demo writes .demo/tokens once: private, one token per scope, the screen's named after it")
    func demoTokens() throws {
        let work = NSTemporaryDirectory() + "demo-\(UUID().uuidString)"
        try DemoTokens.prepare(workingDirectory: work)
        let path = work + "/.demo/tokens"
        let tokens = try String(contentsOfFile: path, encoding: .utf8)
        #expect(tokens.contains("\nT1 pad:W02 ") && tokens.contains("\ndemo-api api ") && tokens.contains("\ndemo-read read "))
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        let secrets = tokens.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ")[2] }
        #expect(secrets.count == 3 && Set(secrets).count == 3 && secrets.allSatisfy { $0.count == 48 && $0.allSatisfy(\.isHexDigit) })
        try DemoTokens.prepare(workingDirectory: work)   // a second run keeps them
        #expect(try String(contentsOfFile: path, encoding: .utf8) == tokens)
    }
}
