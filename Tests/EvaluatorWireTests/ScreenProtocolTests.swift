import Foundation
import Testing
@testable import EvaluatorWire
import EvaluatorCore

@Suite("the screen pad protocol's messages (docs/SCREEN-PAD.md)")
struct ScreenProtocolTests {
    @Test("pad messages: rate and pong parsed; every other input named, never a crash", arguments: [
        (#"{"type":"pong"}"#, "pong"),
        (#"{"type":"rate","session_id":"s1","level":"basic"}"#, "rate s1 basic"),
        (#"{"type":"rate","session_id":"s1","level":"dissatisfied","reason":"207","reason_text":"  人少 ","dimensions":{"attitude":"satisfied"}}"#,
         "rate s1 dissatisfied 207 人少 attitude=satisfied"),
        (#"{"type":"rate","session_id":"s1","level":"good"}"#, "error s1: rate: level must be one of very_satisfied, satisfied, basic, dissatisfied, very_dissatisfied"),
        (#"{"type":"rate","level":"basic"}"#, "error -: rate: session_id must be a string of 1 to 128 bytes"),
        (#"{"type":"rate","session_id":"s1","level":"basic","reason":7}"#, "error s1: rate: reason must be a string"),
        (#"{"type":"rate","session_id":"s1","level":"basic","dimensions":{"a":"meh"}}"#, "error s1: rate: dimensions.a must be one of very_satisfied, satisfied, basic, dissatisfied, very_dissatisfied"),
        (#"{"type":"hello"}"#, "error -: unknown message type \"hello\" (rate, pong)"),
        (#"[1,2]"#, "error -: not a JSON object"),
        (String(repeating: " ", count: 9000) + "{}", "error -: message larger than 8192 bytes"),
    ])
    func parse(text: String, expected: String) {
        let got: String
        switch ScreenProtocol.parse(text) {
        case .success(.pong): got = "pong"
        case let .success(.rate(r)):
            got = (["rate", r.sessionID, r.level.rawValue] + [r.reason, r.reasonText].compactMap { $0 }
                + (r.dimensions ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }).joined(separator: " ")
        case let .failure(e): got = "error \(e.sessionID ?? "-"): \(e.message)"
        }
        #expect(got == expected)
    }

    @Test("what a screen shows: the prompt of an open evaluation (even when paused), else paused or idle; the case masked but its last 4")
    func view() throws {
        var state = WindowState(staff: StaffMember(staffID: "S1", name: "王芳", title: "综合受理岗", photo: "S1.jpg"), paused: true)
        let session = Session(sessionID: "s1", windowID: "W01", request: EvaluationRequest(caseID: "2026-SD-000123", matterName: "不动产登记"),
                              promptedAt: Millis(0), expiresAt: Millis(30_000))
        var window = WindowSnapshot(id: "W01", name: "1号窗", department: "自然资源局", pad: .screen(name: "T1"), session: session, state: state)
        var options = ScreenOptions()
        options.photoDir = "/srv/photos"
        guard case let .prompt(p) = ScreenProtocol.view(of: window, options: options, now: Millis(10_000)) else {
            Issue.record("no prompt")
            return
        }
        #expect(p.case_id_masked == "**********0123" && p.expires_in_ms == 20_000 && p.staff?.photo_url == "/pad/W01/photo")
        let text = ScreenProtocol.ServerMessage.prompt(p).text
        #expect(text.hasPrefix(#"{"case_id_masked":"**********0123","dimensions":[],"expires_at":"1970-01-01T00:00:30.000Z","expires_in_ms":20000,"levels":[{"level":"very_satisfied","text":"非常满意"}"#))
        window.session = nil
        #expect(ScreenProtocol.view(of: window, options: options, now: Millis(10_000)).text
            == #"{"staff":{"name":"王芳","photo_url":"/pad/W01/photo","staff_id":"S1","title":"综合受理岗"},"state":"paused","type":"state","window":{"department":"自然资源局","id":"W01","name":"1号窗"}}"#)
        state.paused = false
        state.staff = nil
        window.state = state
        #expect(ScreenProtocol.view(of: window, options: ScreenOptions(), now: Millis(0)).text
            == #"{"staff":null,"state":"idle","type":"state","window":{"department":"自然资源局","id":"W01","name":"1号窗"}}"#)
        #expect(ScreenText.maskCase("1234") == "1234" && ScreenText.maskCase("办件-20261202") == "*******1202")
    }
}

@Suite("screen ratings: reason_text bounds (issue 20)")
struct ReasonTextBoundsTests {
    @Test("reason_text is bounded in bytes and refuses control and format characters")
    func bounds() {
        let options = ScreenOptions()
        func problem(_ text: String) -> String? {
            options.problem(with: ScreenRating(sessionID: "s", level: .dissatisfied, reasonText: text))
        }
        #expect(problem("窗口人员态度不好") == nil)
        #expect(problem(String(repeating: "人", count: 200)) == nil, "200 CJK characters are 600 bytes")
        #expect(problem(String(repeating: "e\u{301}\u{301}\u{301}", count: 200))?.contains("bytes") == true, "200 characters of combining marks")
        #expect(problem("态度\u{7}不好")?.contains("control or format character") == true)
        #expect(problem("态度\u{202E}不好")?.contains("control or format character") == true)
        #expect(problem("态度\n不好")?.contains("control or format character") == true)
    }
}
