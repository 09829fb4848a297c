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
