import EvaluatorCore
import Testing

@Suite("problems: a code, the operator's English detail, the hall staff's Chinese text (issue 21)")
struct ProblemsTests {
    static let all: [Problem] = [
        .storeForeignObject("foreign view \"v\" in the store"),
        .chainBroken(seq: 42, what: "hash does not match"),
        .chainUnreadable("disk I/O error"),
        .storeReplaced("moved aside to x.damaged"),
        .storeUnwritable("disk full"),
        .padUnpaired(pad: .screen(name: "T1"), windowID: "W02", windowName: "综合受理2号窗"),
        .padAbsent(pad: .serial(bus: "bus1", address: 3), windowID: "W01", windowName: "不动产登记1号窗", path: "/dev/ttyUSB0"),
        .uplinkStalled(detail: "records have waited since …", waitingMinutes: 75),
    ]

    @Test("every problem's text is Chinese and names no English detail; codes are distinct")
    func chinese() {
        for p in Self.all {
            #expect(p.text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }, "\(p.code)")
            #expect(!p.text.contains(p.message), "\(p.code)")
        }
        #expect(Set(Self.all.map(\.code)).count == Self.all.count)
    }

    @Test("pad problems name the window as staff know it, and what to do")
    func pads() {
        #expect(Self.all[5].text == "综合受理2号窗的平板评价器尚未配对：请管理员运行 evaluatorctl pair W02")
        #expect(Self.all[6].text == "不动产登记1号窗的评价器未连接：请检查评价器的连线和电源")
        #expect(Self.all[6].message == "pad bus1#3 of window W01 is not attached (/dev/ttyUSB0)")
        #expect(Problem.padAbsent(pad: .serial(bus: "b", address: 1), windowID: nil, windowName: nil, path: "/dev/x").text.hasPrefix("未分配窗口"))
    }
}
