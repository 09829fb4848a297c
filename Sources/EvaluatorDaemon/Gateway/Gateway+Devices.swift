import EvaluatorCore
import EvaluatorProtocol

/// Device input turned into session events. What a key means (window, level, reason, unknown)
/// is decided once, by the policy through the pad directory.
extension Gateway {
    /// The valid frames of one read from a bus, handled in one turn of the actor: presses that
    /// arrive together are committed together.
    public func handleFrames(bus: String, frames: [Framed68Frame]) {
        for frame in frames {
            guard let key = frame.pressedKey else { log.ignored(frame, bus: bus); continue }
            let pad = PadID.serial(bus: bus, address: frame.address)
            apply(.press(pad: pad, key: Int(key), at: clock()), pad: pad)
        }
    }

    /// A USB HID pad (evdev or hidraw) reported a key-down, as a Linux key code.
    public func handleKey(pad: PadID, code: UInt16) {
        apply(.press(pad: pad, key: Int(code), at: clock()), pad: pad)
    }

    /// A bus opened: the start-rating frames its pads owe for evaluations restored after a
    /// restart (the policy says which, once each).
    public func restoredPrompts(bus: String) -> [PadCommand] {
        policy.restoredPrompts(bus: bus, at: clock()).map { PadCommand.prompt($0.pad, until: $0.until) }
    }
}
