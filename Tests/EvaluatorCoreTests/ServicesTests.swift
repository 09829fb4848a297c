import Testing
@testable import EvaluatorCore

/// 一事多评 (issue 22, R3 R4 R15): services and stages, as scenario tables on a virtual clock.
/// W01's pad is bus1#3 (key 2 = 满意, key 0 = 不满意).
@Suite("services and stages (issue 22)")
struct ServicesTests {
    let stages = ["接件", "受理", "办结"]

    @Test("an open is a service: its record comes first, numbered after the case's services; the rating names the service")
    func serviceRecordFirst() {
        let out = run([.openStage(0, "W01", "C1", stage: "受理", session: "s1", servicesBefore: 2), .press(1000, "bus1#3", 2)],
                      stages: stages, services: true)
        #expect(out[0] == ["record service W01 C1 受理#3", "save s1", "prompt bus1#3", "opened s1 until 30000"])
        #expect(out[1] == ["record rated W01 C1 受理#3 satisfied", "save s1 rated", "ack bus1#3 2"])
    }

    @Test("no stage named: the first configured; the default list keeps one rating per case (R3)")
    func defaultStage() {
        let out = run([.openStage(0, "W01", "C1", stage: nil, session: "s1"), .press(1000, "bus1#3", 2),
                       .openStage(2000, "W01", "C1", stage: nil, session: "s2")], services: true)
        #expect(out[0].first == "record service W01 C1 办结#1")
        #expect(out[2] == [#"rejected already_rated: case "C1" has already been rated at stage 办结 (service 1) (one rating per case and stage, R3)"#])
        let staged = run([.openStage(0, "W01", "C1", stage: nil, session: "s1")], stages: stages, services: true)
        #expect(staged[0].first == "record service W01 C1 接件#1")
    }

    @Test("R3 per case and stage: the same case at a new stage is a new service; a rated stage is refused naming it; the store's ratings count")
    func perStage() {
        // W01 rates 接件; W02 the same case at 受理 (bus1#4, key 0 = 不满意); then each stage again.
        let out = run([.openStage(0, "W01", "C1", stage: "接件", session: "s1"), .press(1000, "bus1#3", 2),
                       .openStage(2000, "W02", "C1", stage: "受理", session: "s2"), .press(3000, "bus1#4", 0),
                       .openStage(4000, "W03", "C1", stage: "受理", session: "s3"),
                       .openStage(5000, "W03", "C1", stage: "接件", session: "s4")], stages: stages, services: true)
        #expect(out[2] == ["record service W02 C1 受理#2", "save s2", "prompt bus1#4", "opened s2 until 32000"])
        #expect(out[3].first == "record rated W02 C1 受理#2 dissatisfied [needs_reason]")
        #expect(out[4] == [#"rejected already_rated: case "C1" has already been rated at stage 受理 (service 2) (one rating per case and stage, R3)"#])
        #expect(out[5] == [#"rejected already_rated: case "C1" has already been rated at stage 接件 (service 1) (one rating per case and stage, R3)"#])
        // A new window's open supersedes W01's rated session; the next service still counts it.
        #expect(run([.openStage(0, "W01", "C1", stage: "接件", session: "s1"), .press(1000, "bus1#3", 2),
                     .openStage(2000, "W01", "C1", stage: "受理", session: "s2")], stages: stages, services: true)[2]
            == ["remove s1", "record service W01 C1 受理#2", "save s2", "prompt bus1#3", "opened s2 until 32000"])
        // Rated in the store (the gateway found it): refused without a service.
        #expect(run([.openStage(0, "W01", "C1", stage: "办结", session: "s1", servicesBefore: 2, ratedBefore: "C1")], stages: stages, services: true)[0]
            == [#"rejected already_rated: case "C1" has already been rated at stage 办结 (one rating per case and stage, R3)"#])
    }

    @Test("the same case and stage while open is the re-open rule (no new service); another stage supersedes it, unrated")
    func reopen() {
        let out = run([.openStage(0, "W01", "C1", stage: "接件", session: "s1"), .openStage(500, "W01", "C1", stage: "接件", session: "s2"),
                       .openStage(1000, "W01", "C1", stage: "受理", session: "s3")], stages: stages, services: true)
        #expect(out[1] == ["prompt bus1#3", "opened s1 reused until 30000"])
        #expect(out[2] == ["record unrated W01 C1 接件#1 [superseded]", "remove s1", "record service W01 C1 受理#2", "save s3", "prompt bus1#3",
                           "opened s3 until 31000"])
    }

    @Test("a stage not in the list is refused naming the list; a case has at most max_services_per_case services")
    func bounds() {
        #expect(run([.openStage(0, "W01", "C1", stage: "领证", session: "s1")], stages: stages)[0]
            == [#"rejected unknown_stage: stage "领证" is not one of [session] stages (接件, 受理, 办结)"#])
        #expect(run([.openStage(0, "W01", "C1", stage: "受理", session: "s1", servicesBefore: 3)], stages: stages, maxServices: 3)[0]
            == [#"rejected too_many_services: case "C1" has 3 services already, the most [session] max_services_per_case allows"#])
    }

    @Test("a session stored before stages reads as the first stage, service 1")
    func legacySession() {
        let old = Session(sessionID: "s0", windowID: "W01", request: EvaluationRequest(caseID: "C9"), promptedAt: Millis(0), expiresAt: Millis(30_000))
        let out = run([.press(1000, "bus1#3", 2)], restoring: [old], stages: stages, services: true)
        #expect(out[0].first == "record rated W01 C9 接件#1 satisfied [restored]")
    }
}
