import Testing
@testable import EvaluatorProtocol

/// Frames from shared/protocols/framed-68.md (address 0x03).
let pressKey2: [UInt8] = [0xFF, 0x68, 0x03, 0x03, 0x68, 0x03, 0x11, 0x02, 0x16, 0x16]
let hostAck2: [UInt8] = [0xFF, 0x68, 0x03, 0x03, 0x68, 0x03, 0x01, 0x02, 0x06, 0x16]
let startRating: [UInt8] = [0xFF, 0x68, 0x03, 0x03, 0x68, 0x03, 0x01, 0x0B, 0x0F, 0x16]
let beep: [UInt8] = [0xFF, 0x68, 0x02, 0x02, 0x68, 0x03, 0x03, 0x06, 0x16]

@Suite("framed-68 codec")
struct Framed68Tests {
    @Test("encoders produce the protocol document's example bytes")
    func encodeExamples() {
        #expect(Framed68Frame.press(address: 3, key: 2).encoded() == pressKey2)
        #expect(Framed68Frame.ack(address: 3, key: 2).encoded() == hostAck2)
        #expect(Framed68Frame.startRating(address: 3).encoded() == startRating)
        #expect(Framed68Frame.beep(address: 3).encoded() == beep)
    }

    @Test("decode table: input bytes → frames", arguments: [
        (pressKey2, [Framed68Frame.press(address: 3, key: 2)]),
        (hostAck2, [.ack(address: 3, key: 2)]),
        (pressKey2 + pressKey2, [.press(address: 3, key: 2), .press(address: 3, key: 2)]),
        // No wake-up byte: still a frame.
        (Array(pressKey2.dropFirst()), [.press(address: 3, key: 2)]),
        // Garbage before, between and after.
        ([0x00, 0x13, 0x68, 0x99] + pressKey2 + [0x42, 0x16] + startRating + [0x68], [.press(address: 3, key: 2), .startRating(address: 3)]),
        // Bad checksum: dropped; the next frame is found.
        ([0xFF, 0x68, 0x03, 0x03, 0x68, 0x03, 0x11, 0x02, 0x17, 0x16] + hostAck2, [.ack(address: 3, key: 2)]),
        // Lengths differ.
        ([0xFF, 0x68, 0x03, 0x04, 0x68, 0x03, 0x11, 0x02, 0x16, 0x16] + hostAck2, [.ack(address: 3, key: 2)]),
        // L ≤ 2 is rejected as a device frame (the beep is host → device only).
        (beep + hostAck2, [.ack(address: 3, key: 2)]),
        // L beyond the sane maximum does not stall the decoder.
        ([0x68, 0xF0, 0xF0, 0x68, 0x01, 0x02] + pressKey2, [.press(address: 3, key: 2)]),
        // Missing end byte.
        ([0xFF, 0x68, 0x03, 0x03, 0x68, 0x03, 0x11, 0x02, 0x16, 0x17] + pressKey2, [.press(address: 3, key: 2)]),
        // Second start byte missing.
        ([0xFF, 0x68, 0x03, 0x03, 0x69, 0x03, 0x11, 0x02, 0x16, 0x16] + pressKey2, [.press(address: 3, key: 2)]),
        // A frame whose start hides inside a corrupt frame's body is still found.
        ([0x68, 0x05, 0x05, 0x68] + pressKey2, [.press(address: 3, key: 2)]),
        // Longer data (caller keypad frame) is decoded whole.
        ([0xFF, 0x68, 0x04, 0x04, 0x68, 0x07, 0x05, 0x01, 0x0C, 0x19, 0x16], [Framed68Frame(address: 7, function: 5, data: [1, 0x0C])]),
    ])
    func decodeTable(input: [UInt8], expected: [Framed68Frame]) {
        var whole = Framed68Decoder()
        #expect(whole.decode(input) == expected)
        var oneByOne = Framed68Decoder()
        var frames: [Framed68Frame] = []
        for b in input { frames += oneByOne.decode([b]) }
        #expect(frames == expected)
    }

    @Test("nil means need more bytes; the frame comes out with its last byte")
    func needMoreBytes() {
        var d = Framed68Decoder()
        for (i, b) in pressKey2.enumerated() {
            d.append([b])
            let f = d.nextFrame()
            if i < pressKey2.count - 1 { #expect(f == nil) } else { #expect(f == .press(address: 3, key: 2)) }
        }
        #expect(d.pendingByteCount == 0)
    }

    @Test("a partial frame at end of input stays pending")
    func leftoverAtEOF() {
        var d = Framed68Decoder()
        #expect(d.decode(pressKey2 + pressKey2.prefix(6)) == [.press(address: 3, key: 2)])
        #expect(d.pendingByteCount == 5) // the FF wake-up was consumed, 68 03 03 68 03 remain
    }

    @Test("random chunking of a long stream with garbage yields every frame, in order")
    func randomChunks() {
        var rng = SplitMix(seed: 68)
        var stream: [UInt8] = []
        var expected: [Framed68Frame] = []
        for i in 0..<500 {
            let f = Framed68Frame.press(address: UInt8(i % 32), key: UInt8(i % 4))
            expected.append(f)
            stream += f.encoded()
            if i % 7 == 0 { stream += (0..<Int(rng.next() % 5)).map { _ in UInt8(truncatingIfNeeded: rng.next()) & 0x7F | 0x01 } }
        }
        for _ in 0..<20 {
            var d = Framed68Decoder()
            var frames: [Framed68Frame] = []
            var i = 0
            while i < stream.count {
                let n = Int(rng.next() % 17) + 1
                frames += d.decode(stream[i..<min(stream.count, i + n)])
                i += n
            }
            #expect(frames == expected)
        }
    }

    @Test("decode(encode(frame)) == frame for every address and key")
    func roundTrip() {
        for a in 0...255 {
            for k in 0..<8 {
                let f = Framed68Frame.press(address: UInt8(a), key: UInt8(k))
                var d = Framed68Decoder()
                #expect(d.decode(f.encoded()) == [f])
            }
        }
    }

    @Test("skipped bytes are counted by reason for health logs")
    func discardCounters() {
        var d = Framed68Decoder()
        _ = d.decode([0x01, 0x02] + [0xFF, 0x68, 0x03, 0x03, 0x68, 0x03, 0x11, 0x02, 0x17, 0x16])
        #expect(d.discarded[.garbage, default: 0] >= 2)
        #expect(d.discarded[.badChecksum] == 1)
    }
}

/// Deterministic generator so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Framed68Tests {
    @Test("data of every length 1…62 survives encode → decode, and frames compare by content (inline ≤ 8 bytes, else array)")
    func dataLengths() {
        for n in 1...62 { // L ≤ 2 (no data) is dropped by hosts, as the protocol says
            let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + n) }
            let frame = Framed68Frame(address: 9, function: 0x02, data: data)
            var decoder = Framed68Decoder()
            let out = decoder.decode(frame.encoded())
            #expect(out == [frame], "length \(n)")
            #expect(out.first?.data == data)
            #expect(out.first?.dataCount == n)
            #expect(Set(out + [frame]).count == 1)
            var changed = frame
            changed.data = data + [1]
            #expect(changed != frame && changed.data == data + [1])
        }
        #expect(Framed68Frame.press(address: 1, key: 3).pressedKey == 3)
        #expect(Framed68Frame(address: 1, function: 0x11, data: [3, 4]).pressedKey == nil)
    }
}
