/// The "68 … 16" serial evaluator bus (IEC 60870-5 FT1.2 variable-length frame with a 0xFF
/// wake-up byte). See `shared/protocols/framed-68.md`.
///
///     FF 68 L L 68 A F D1 … Dn CS 16      L = 2 + n, CS = (A + F + D1 + … + Dn) mod 256
///
/// Everything here is pure: bytes in, values out. No file descriptors, no clocks.
public struct Framed68Frame: Hashable, Sendable, CustomStringConvertible {
    public var address: UInt8
    public var function: UInt8
    /// Up to 8 data bytes are kept inline, longer data in `overflow` (one representation per
    /// value, so the synthesized Hashable is by content). Pads send one data byte: decoding a
    /// frame allocates nothing (issue 6: decoder throughput).
    private var inline: UInt64 = 0
    private var inlineCount: UInt8 = 0
    private var overflow: [UInt8]?

    /// The data bytes D1 … Dn.
    public var data: [UInt8] {
        get { overflow ?? (0..<Int(inlineCount)).map { UInt8(truncatingIfNeeded: inline >> (8 * UInt64($0))) } }
        set {
            if newValue.count <= 8 {
                inline = 0
                for (k, b) in newValue.enumerated() { inline |= UInt64(b) << (8 * UInt64(k)) }
                inlineCount = UInt8(newValue.count)
                overflow = nil
            } else {
                inline = 0
                inlineCount = 0
                overflow = newValue
            }
        }
    }

    /// Number of data bytes.
    public var dataCount: Int { overflow?.count ?? Int(inlineCount) }

    public init(address: UInt8, function: UInt8, data: [UInt8]) {
        self.address = address
        self.function = function
        self.data = data
    }

    /// From a decoder's buffer, without an intermediate array for short data.
    init(address: UInt8, function: UInt8, buffer: [UInt8], range: Range<Int>) {
        self.address = address
        self.function = function
        if range.count <= 8 {
            var v: UInt64 = 0
            var k: UInt64 = 0
            for i in range {
                v |= UInt64(buffer[i]) << (8 * k)
                k += 1
            }
            inline = v
            inlineCount = UInt8(range.count)
        } else {
            overflow = Array(buffer[range])
        }
    }

    /// Function codes used on the bus.
    public enum Function {
        /// Device → host: evaluator key pressed (data = key index).
        public static let press: UInt8 = 0x11
        /// Host → device: acknowledge a press (echo the key) or start an evaluation (0x0B).
        public static let ackOrStart: UInt8 = 0x01
        /// Host → device: show digits / star level.
        public static let display: UInt8 = 0x02
        /// Host → device: beep.
        public static let beep: UInt8 = 0x03
    }

    /// The data byte of the start-rating frame (the pad shows "请您评价").
    public static let startRatingKey: UInt8 = 0x0B

    public static func ack(address: UInt8, key: UInt8) -> Framed68Frame {
        Framed68Frame(address: address, function: Function.ackOrStart, data: [key])
    }

    public static func startRating(address: UInt8) -> Framed68Frame {
        Framed68Frame(address: address, function: Function.ackOrStart, data: [startRatingKey])
    }

    public static func press(address: UInt8, key: UInt8) -> Framed68Frame {
        Framed68Frame(address: address, function: Function.press, data: [key])
    }

    public static func beep(address: UInt8) -> Framed68Frame {
        Framed68Frame(address: address, function: Function.beep, data: [])
    }

    /// The evaluator key, if this is a device → host press frame (F = 0x11, one data byte).
    public var pressedKey: UInt8? {
        function == Function.press && dataCount == 1 && overflow == nil ? UInt8(truncatingIfNeeded: inline) : nil
    }

    /// Checksum over A, F and the data, mod 256.
    public var checksum: UInt8 {
        data.reduce(address &+ function) { $0 &+ $1 }
    }

    /// The frame on the wire, with the 0xFF wake-up byte in front.
    public func encoded() -> [UInt8] {
        let length = UInt8(truncatingIfNeeded: 2 + data.count)
        var bytes: [UInt8] = [0xFF, 0x68, length, length, 0x68, address, function]
        bytes.append(contentsOf: data)
        bytes.append(checksum)
        bytes.append(0x16)
        return bytes
    }

    public var description: String {
        encoded().map { hex($0) }.joined(separator: " ")
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// Why the decoder skipped bytes. Reported so that device health logs can say what happened.
public enum Framed68Discard: Hashable, Sendable {
    /// Bytes before a start byte that are not the 0xFF wake-up byte.
    case garbage
    /// `68 L L 68` header invalid: lengths differ, L out of range, or second start byte missing.
    case badHeader
    /// Checksum does not match.
    case badChecksum
    /// Missing 0x16 end byte.
    case badEnd
}

/// A streaming decoder for the "68" bus.
///
/// Bytes arrive in arbitrary chunks; frames come out whole. `nextFrame()` returns `nil` when it
/// needs more bytes. After any invalid byte sequence it drops exactly one byte of the suspected
/// start and rescans, so that a valid frame that begins inside garbage is still found.
///
///     chunks:  | FF 68 03 | 03 68 03 11 02 16 16 FF 68 | 03 03 68 … 16 |
///     frames:  |          |                    [frame 1] |        [frame 2]
///
/// Bytes already known not to start a frame are never scanned twice.
public struct Framed68Decoder: Sendable {
    /// Largest L accepted (A + F + data). Real pads send L = 3; 64 leaves room for any variant
    /// while bounding how long a corrupt length byte can stall resynchronisation.
    public static let maxLength: Int = 64

    private var buffer: [UInt8] = []
    private var start: Int = 0
    /// Counts of skipped bytes by reason, for health logs and tests.
    public private(set) var discarded: [Framed68Discard: Int] = [:]

    public init() {}

    /// Bytes buffered but not yet part of a frame.
    public var pendingByteCount: Int { buffer.count - start }

    public mutating func append<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        if start > 4096 || (start > 0 && start == buffer.count) {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    private mutating func skip(_ count: Int, _ reason: Framed68Discard) {
        start += count
        discarded[reason, default: 0] += count
    }

    /// The next complete, valid frame, or nil when more bytes are needed.
    public mutating func nextFrame() -> Framed68Frame? {
        while true {
            // Find a start byte; a wake-up 0xFF before it is not garbage.
            var i = start
            var garbage = 0
            while i < buffer.count && buffer[i] != 0x68 {
                if buffer[i] != 0xFF { garbage += 1 }
                i += 1
            }
            if garbage > 0 { discarded[.garbage, default: 0] += garbage }
            start = i
            let available = buffer.count - start
            guard available >= 4 else { return nil }
            let l1 = Int(buffer[start + 1])
            let l2 = Int(buffer[start + 2])
            guard l1 == l2, l1 > 2, l1 <= Self.maxLength, buffer[start + 3] == 0x68 else {
                skip(1, .badHeader)
                continue
            }
            let total = 4 + l1 + 2
            guard available >= total else { return nil }
            var sum: UInt8 = 0
            for k in (start + 4)..<(start + 4 + l1) { sum &+= buffer[k] }
            guard sum == buffer[start + 4 + l1] else {
                skip(1, .badChecksum)
                continue
            }
            guard buffer[start + 4 + l1 + 1] == 0x16 else {
                skip(1, .badEnd)
                continue
            }
            let frame = Framed68Frame(
                address: buffer[start + 4],
                function: buffer[start + 5],
                buffer: buffer, range: (start + 6)..<(start + 4 + l1)
            )
            start += total
            return frame
        }
    }

    /// Appends bytes and returns every frame now complete.
    public mutating func decode<S: Sequence>(_ bytes: S) -> [Framed68Frame] where S.Element == UInt8 {
        append(bytes)
        var frames: [Framed68Frame] = []
        while let frame = nextFrame() { frames.append(frame) }
        return frames
    }
}
