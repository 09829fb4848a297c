import Testing
@testable import EvaluatorCore

@Suite("grab policy: grab only when released")
struct GrabPolicyTests {
    @Test("the grab waits while a key is held, then happens once")
    func waitsForRelease() {
        var g = GrabPolicy(mode: .attempt)
        #expect(!g.shouldGrab(keysHeld: true))
        #expect(g.shouldGrab(keysHeld: false))
        #expect(g.grabResult(succeeded: true) == .grabbed)
        #expect(!g.shouldGrab(keysHeld: false), "grabbed once, not again")
    }

    @Test("a failed grab: warn and read with try, unhealthy with require; never retried in a loop", arguments: [
        (GrabMode.attempt, GrabPolicy.Outcome.warnAndRead), (.require, .unhealthy),
    ])
    func failure(mode: GrabMode, outcome: GrabPolicy.Outcome) {
        var g = GrabPolicy(mode: mode)
        #expect(g.grabResult(succeeded: false) == outcome)
        #expect(g.state == .failed)
        #expect(!g.shouldGrab(keysHeld: false))
    }

    @Test("grab = off never grabs")
    func off() {
        #expect(!GrabPolicy(mode: .off).shouldGrab(keysHeld: false))
    }
}
