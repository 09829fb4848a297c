/// The one key-code table: Linux key codes (linux/input-event-codes.h), their names, and the
/// HID keyboard-page usage that means the same key, for the keys pads use (digits, letters,
/// Enter, F1–F12, the keypad). Key maps name keys from it; the hidraw decoder translates usages
/// through it, so one key map serves evdev and hidraw pads.
public enum KeyCodes {
    public struct Key: Sendable, Hashable {
        /// Without the `KEY_` prefix: `KP1`, `F1`, `A`, `1`.
        public let name: String
        public let code: UInt16
        /// HID usage (keyboard page 0x07).
        public let usage: UInt8
    }

    public static let table: [Key] = {
        var keys: [Key] = []
        let letters: [UInt16] = [30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50, 49, 24, 25, 16, 19, 31, 20, 22, 47, 17, 45, 21, 44]
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZ".enumerated() {
            keys.append(Key(name: String(c), code: letters[i], usage: 0x04 + UInt8(i)))
        }
        for (i, d) in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"].enumerated() {
            keys.append(Key(name: d, code: UInt16(i) + 2, usage: 0x1E + UInt8(i))) // KEY_1 (2) … KEY_0 (11)
        }
        keys.append(Key(name: "ENTER", code: 28, usage: 0x28))
        for f in 1...10 { keys.append(Key(name: "F\(f)", code: UInt16(58 + f), usage: 0x39 + UInt8(f))) }
        keys.append(Key(name: "F11", code: 87, usage: 0x44))
        keys.append(Key(name: "F12", code: 88, usage: 0x45))
        keys.append(Key(name: "KPENTER", code: 96, usage: 0x58))
        let keypad: [UInt16] = [79, 80, 81, 75, 76, 77, 71, 72, 73, 82]
        for (i, code) in keypad.enumerated() {
            keys.append(Key(name: "KP\((i + 1) % 10)", code: code, usage: 0x59 + UInt8(i))) // KP1 … KP9, KP0
        }
        return keys
    }()

    /// Usage → key code, indexed by usage (looked up once per pressed usage).
    static let byUsage: [UInt16?] = {
        var t = [UInt16?](repeating: nil, count: 256)
        for k in table { t[Int(k.usage)] = k.code }
        return t
    }()

    public static func code(forUsage usage: UInt8) -> UInt16? { byUsage[Int(usage)] }
}
