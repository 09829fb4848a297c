import Foundation
import Testing
@testable import EvaluatorProtocol

/// The shared fixtures: bytes a real Linux 6.1 kernel produced for a USB keypad.
func fixture(_ name: String) throws -> [UInt8] {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let url = repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures/evdev/\(name)")
    return [UInt8](try Data(contentsOf: url))
}

/// KP1 KP2 KP3 KP4 KP5 KP4 1 1 F1 as Linux key codes.
let fixturePresses: [UInt16] = [79, 80, 81, 75, 76, 75, 2, 2, 59]

@Suite("evdev and hidraw decoders, against real kernel bytes")
struct EvdevHidrawTests {
    func presses(_ events: [InputEvent]) -> [UInt16] {
        var tracker = EvdevKeyTracker()
        return events.flatMap { tracker.handle($0) }.compactMap { if case let .press(c) = $0 { c } else { nil } }
    }

    @Test("the evdev fixture decodes to exactly KP1 KP2 KP3 KP4 KP5 KP4 1 1 F1 (no repeats)")
    func evdevFixture() throws {
        let bytes = try fixture("usb-keypad-kp1-5-hold-double.bin")
        var d = EvdevDecoder()
        let events = d.decode(bytes)
        #expect(events.count == 118)
        #expect(d.pendingByteCount == 0)
        #expect(events.contains { $0.type == InputEvent.evKey && $0.value == 2 }, "the fixture holds autorepeat events")
        #expect(presses(events) == fixturePresses)
    }

    @Test("the evdev fixture fed one byte at a time and in odd chunks gives the same presses")
    func evdevChunked() throws {
        let bytes = try fixture("usb-keypad-kp1-5-hold-double.bin")
        for chunk in [1, 5, 23, 25, 1000] {
            var d = EvdevDecoder()
            var events: [InputEvent] = []
            var i = 0
            while i < bytes.count {
                events += d.decode(bytes[i..<min(bytes.count, i + chunk)])
                i += chunk
            }
            #expect(presses(events) == fixturePresses, "chunk \(chunk)")
        }
    }

    @Test("encode(decode(x)) == x for every fixture event")
    func evdevRoundTrip() throws {
        let bytes = try fixture("usb-keypad-kp1-5-hold-double.bin")
        var d = EvdevDecoder()
        #expect(d.decode(bytes).flatMap { $0.encoded() } == bytes)
    }

    @Test("the hidraw fixture decodes to the same presses")
    func hidrawFixture() throws {
        let bytes = try fixture("usb-keypad-kp1-5-hold-double.hidraw.bin")
        var d = HidrawDecoder()
        var usages: [UInt8] = []
        for b in bytes { usages += d.decode([b]) }
        #expect(usages == [0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5C, 0x1E, 0x1E, 0x3A])
        #expect(usages.compactMap(HidrawDecoder.keyCode(forUsage:)) == fixturePresses)
        #expect(d.held.isEmpty)
        var whole = HidrawDecoder()
        #expect(whole.decode(bytes) == usages, "all reports in one read")
    }

    @Test("hidraw reports one per read: 8-byte boot reports, 9-byte with a report id, other lengths ignored (issue 11)")
    func hidrawReportShapes() {
        var d = HidrawDecoder()
        let kp1: [UInt8] = [0, 0, 0x59, 0, 0, 0, 0, 0]
        let release: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]
        #expect(d.decodeReport(kp1) == [0x59])
        // A 3-byte report of another kind between press and release: no phantom key, KP1 still held.
        #expect(d.decodeReport([0x02, 0xE9, 0x00]) == [])
        #expect(d.decodeReport(kp1) == [], "still held: not a second press")
        #expect(d.decodeReport(release) == [])
        // A device that numbers its reports: id 1, then the boot report.
        #expect(d.decodeReport([0x01] + [0, 0, 0x5D, 0, 0, 0, 0, 0]) == [0x5D])
        #expect(d.decodeReport([0x01] + release) == [])
        // KP1 … KP5 tapped on a device with report ids: read one report at a time, five presses;
        // the same bytes cut into 8-byte pieces (the old reading) lose KP2, KP3 and KP4.
        var each = HidrawDecoder()
        var cut = HidrawDecoder()
        var stream: [UInt8] = []
        var presses: [UInt8] = []
        for u: UInt8 in [0x59, 0x5A, 0x5B, 0x5C, 0x5D] {
            for report in [[0x01, 0, 0, u, 0, 0, 0, 0, 0], [0x01, 0, 0, 0, 0, 0, 0, 0, 0]] as [[UInt8]] {
                presses += each.decodeReport(report)
                stream += report
            }
        }
        #expect(presses == [0x59, 0x5A, 0x5B, 0x5C, 0x5D])
        #expect(cut.decode(stream) == [0x59, 0x5D], "why a hidraw node is read one report at a time")
        // A 16-byte vendor report is ignored too.
        #expect(d.decodeReport([UInt8](repeating: 0x5A, count: 16)) == [])
    }

    @Test("hidraw: a second key joining a held one is a press; roll-over error reports are ignored")
    func hidrawRollover() {
        var d = HidrawDecoder()
        #expect(d.decode([0, 0, 0x59, 0, 0, 0, 0, 0]) == [0x59])
        #expect(d.decode([0, 0, 0x59, 0x5A, 0, 0, 0, 0]) == [0x5A])
        #expect(d.decode([0, 0, 1, 1, 1, 1, 1, 1]) == [])
        #expect(d.decode([0, 0, 0x5A, 0, 0, 0, 0, 0]) == [])
        #expect(d.decode([0, 0, 0, 0, 0, 0, 0, 0]) == [])
        #expect(d.decode([0, 0, 0x5A, 0, 0, 0, 0, 0]) == [0x5A])
    }

    @Test("SYN_DROPPED: events until the next SYN_REPORT are discarded, then a resync is asked for")
    func synDropped() {
        var t = EvdevKeyTracker()
        let key = { (code: UInt16, v: Int32) in InputEvent(type: InputEvent.evKey, code: code, value: v) }
        let syn = InputEvent(type: InputEvent.evSyn, code: InputEvent.synReport, value: 0)
        let dropped = InputEvent(type: InputEvent.evSyn, code: InputEvent.synDropped, value: 0)
        #expect(t.handle(key(79, 1)) == [.press(code: 79)])
        #expect(t.handle(syn) == [])
        #expect(t.handle(dropped) == [])
        #expect(t.handle(key(79, 0)) == [], "discarded while dropping")
        #expect(t.handle(key(80, 1)) == [], "discarded while dropping")
        #expect(t.handle(syn) == [.resyncNeeded])
        // The device says KP2 is down now and KP1 is up: KP2 was pressed during the drop.
        #expect(t.resync(held: [80]) == [.press(code: 80)])
        #expect(t.held == [80])
        #expect(t.handle(key(80, 2)) == [], "autorepeat is not a press")
        #expect(t.handle(key(80, 0)) == [])
        #expect(t.isIdle)
        #expect(t.drops == 1)
    }

    @Test("a press of a key the tracker already holds is not counted again")
    func heldKey() {
        var t = EvdevKeyTracker()
        #expect(t.handle(InputEvent(type: 1, code: 76, value: 1)) == [.press(code: 76)])
        #expect(!t.isIdle)
        #expect(t.handle(InputEvent(type: 1, code: 76, value: 1)) == [])
    }
}
