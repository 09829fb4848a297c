/// Linux evdev: `struct input_event` as read from `/dev/input/eventN` on 64-bit Linux —
/// 24 bytes, little-endian: tv_sec i64, tv_usec i64, type u16, code u16, value i32.
/// Pure: bytes in, events out.
public struct InputEvent: Hashable, Sendable, CustomStringConvertible {
    public var seconds: Int64
    public var microseconds: Int64
    public var type: UInt16
    public var code: UInt16
    public var value: Int32

    public init(seconds: Int64 = 0, microseconds: Int64 = 0, type: UInt16, code: UInt16, value: Int32) {
        self.seconds = seconds
        self.microseconds = microseconds
        self.type = type
        self.code = code
        self.value = value
    }

    public static let size = 24

    public static let evSyn: UInt16 = 0x00
    public static let evKey: UInt16 = 0x01
    public static let evMsc: UInt16 = 0x04
    public static let synReport: UInt16 = 0
    public static let synDropped: UInt16 = 3

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(seconds)
        put(microseconds)
        put(type)
        put(code)
        put(value)
        return out
    }

    public var description: String { "\(seconds).\(microseconds) type=\(type) code=\(code) value=\(value)" }
}

/// Cuts a byte stream into `input_event` records; keeps a partial record until the rest
/// arrives (a FIFO may deliver any number of bytes).
public struct EvdevDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public var pendingByteCount: Int { pending.count }

    public mutating func decode<S: Sequence>(_ bytes: S) -> [InputEvent] where S.Element == UInt8 {
        pending.append(contentsOf: bytes)
        let whole = pending.count / InputEvent.size
        guard whole > 0 else { return [] }
        var events: [InputEvent] = []
        events.reserveCapacity(whole)
        pending.withUnsafeBytes { raw in
            for i in 0..<whole {
                let o = i * InputEvent.size
                events.append(InputEvent(
                    seconds: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)),
                    microseconds: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o + 8, as: Int64.self)),
                    type: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o + 16, as: UInt16.self)),
                    code: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o + 18, as: UInt16.self)),
                    value: Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o + 20, as: Int32.self))
                ))
            }
        }
        pending.removeFirst(whole * InputEvent.size)
        return events
    }
}

/// What the key tracker tells the reader.
public enum KeyTrackerOutput: Hashable, Sendable {
    /// A key went down: rate it (autorepeat and releases never produce this).
    case press(code: UInt16)
    /// Events were dropped by the kernel and the drop is over: read the real key state
    /// (EVIOCGKEY) and pass it to `resync(held:)`.
    case resyncNeeded
}

/// Turns evdev events into key presses. Pure state machine:
/// - EV_KEY value 1 is a press; value 2 (autorepeat) and 0 (release) only update held keys;
/// - after SYN_DROPPED every event up to and including the next SYN_REPORT is discarded, then
///   the reader must resynchronise the held keys from the device (EVIOCGKEY).
public struct EvdevKeyTracker: Sendable {
    public private(set) var held: Set<UInt16> = []
    public private(set) var dropping = false
    /// Number of SYN_DROPPED seen, for health logs.
    public private(set) var drops = 0

    public init() {}

    /// True when no key is held: the moment a grab will not leave a stuck key on the desktop.
    public var isIdle: Bool { held.isEmpty }

    public mutating func handle(_ e: InputEvent) -> [KeyTrackerOutput] {
        if e.type == InputEvent.evSyn && e.code == InputEvent.synDropped {
            dropping = true
            drops += 1
            return []
        }
        if dropping {
            if e.type == InputEvent.evSyn && e.code == InputEvent.synReport {
                dropping = false
                return [.resyncNeeded]
            }
            return []
        }
        guard e.type == InputEvent.evKey else { return [] }
        switch e.value {
        case 1:
            let wasHeld = !held.insert(e.code).inserted
            return wasHeld ? [] : [.press(code: e.code)]
        case 0:
            held.remove(e.code)
            return []
        default:
            return [] // autorepeat
        }
    }

    /// Sets the held keys from the device's real state after a drop. A key that is down now
    /// but was not down before was pressed during the drop: it is reported as a press.
    public mutating func resync(held now: Set<UInt16>) -> [KeyTrackerOutput] {
        let newlyDown = now.subtracting(held).sorted()
        held = now
        return newlyDown.map { .press(code: $0) }
    }
}

/// hidraw boot-keyboard input reports: 8 bytes — modifiers, reserved, six key slots of HID
/// usages. A press is a usage that appears in a report and was not in the previous one; the
/// all-zero report is a release of everything.
public struct HidrawDecoder: Sendable {
    public static let reportSize = 8
    private var pending: [UInt8] = []
    /// Usages held in the last report, one bit per usage: no allocation per report.
    private var previous = SIMD4<UInt64>()

    public init() {}

    public var held: Set<UInt8> { Set((0...255).map(UInt8.init).filter { Self.contains(previous, $0) }) }

    private static func contains(_ set: SIMD4<UInt64>, _ u: UInt8) -> Bool {
        (set[Int(u >> 6)] >> UInt64(u & 63)) & 1 == 1
    }

    /// Sets the bit; true if it was not set.
    private static func insert(_ set: inout SIMD4<UInt64>, _ u: UInt8) -> Bool {
        let bit: UInt64 = 1 << UInt64(u & 63)
        let word = Int(u >> 6)
        if set[word] & bit != 0 { return false }
        set[word] |= bit
        return true
    }

    /// Returns the usages newly pressed, in slot order.
    /// A byte stream of 8-byte boot reports back to back — the framing of a FIFO or file
    /// replay (the shared fixture's format), where report boundaries are not kept.
    public mutating func decode<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        pending.append(contentsOf: bytes)
        var pressed: [UInt8] = []
        var offset = 0
        while pending.count - offset >= Self.reportSize {
            apply(slots: pending[(offset + 2)..<(offset + Self.reportSize)], to: &pressed)
            offset += Self.reportSize
        }
        pending.removeFirst(offset)
        return pressed
    }

    /// One report as the kernel delivers it: one report per read(2) of a hidraw node. 8 bytes:
    /// a boot keyboard report; 9 bytes: a report id, then the boot report (devices that number
    /// their reports). Any other length is another kind of report (consumer keys, a vendor
    /// report) and says nothing about the keyboard: ignored, the held keys unchanged. Cutting
    /// the node's bytes into 8-byte pieces instead turned a report id or an interleaved
    /// report into phantom or missed keys — wrong ratings.
    public mutating func decodeReport<C: Collection>(_ report: C) -> [UInt8] where C.Element == UInt8 {
        let bytes = Array(report)
        let boot: ArraySlice<UInt8>
        switch bytes.count {
        case Self.reportSize: boot = bytes[...]
        case Self.reportSize + 1: boot = bytes[1...]
        default: return []
        }
        var pressed: [UInt8] = []
        apply(slots: boot[(boot.startIndex + 2)...], to: &pressed)
        return pressed
    }

    private mutating func apply(slots: ArraySlice<UInt8>, to pressed: inout [UInt8]) {
        // 0x01..0x03 are error codes (roll-over): the report says nothing about keys.
        if slots.contains(where: { (1...3).contains($0) }) { return }
        var now = SIMD4<UInt64>()
        for u in slots where u != 0 && Self.insert(&now, u) && !Self.contains(previous, u) { pressed.append(u) }
        previous = now
    }

    /// HID usage (keyboard page) → Linux key code, through the one table (`KeyCodes`).
    public static func keyCode(forUsage u: UInt8) -> UInt16? { KeyCodes.code(forUsage: u) }
}
