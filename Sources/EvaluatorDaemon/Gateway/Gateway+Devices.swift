import EvaluatorCore
import EvaluatorProtocol

/// Device input turned into session events. What a key means (window, level, reason, unknown)
/// is decided once, by the policy through the pad directory.
extension Gateway {
    /// The valid frames of one read from a bus, handled in one turn of the actor: presses that
    /// arrive together are committed together.
    public func handleFrames(bus: String, frames: [Framed68Frame]) {
        for frame in frames {
            guard let key = frame.pressedKey else {
                logger.debug("ignored frame that is not an evaluator press", metadata: ["bus": "\(bus)", "frame": "\(frame)"])
                continue
            }
            let pad = PadID.serial(bus: bus, address: frame.address)
            apply(.press(pad: pad, key: Int(key), at: clock()), pad: pad)
        }
    }

    /// A USB HID pad (evdev or hidraw) reported a key-down, as a Linux key code.
    public func handleKey(pad: PadID, code: UInt16) {
        apply(.press(pad: pad, key: Int(code), at: clock()), pad: pad)
    }

    /// A bus opened: the start-rating frames its pads owe for evaluations restored after a
    /// restart (once per evaluation, never again on a later re-attach). Evaluations opened while
    /// the bus was down need nothing here: the bus held their prompts.
    public func restoredPrompts(bus: String) -> [PadCommand] {
        var prompts: [PadCommand] = []
        let now = clock()
        for s in policy.sessions.values.sorted(by: { $0.windowID < $1.windowID })
        where s.restored && s.ratedAt == nil && s.pending == nil && now < s.expiresAt && !repromptedRestored.contains(s.sessionID) {
            guard let pad = policy.config.windows[s.windowID]?.pad, pad.bus == bus else { continue }
            repromptedRestored.insert(s.sessionID)
            prompts.append(.prompt(pad, until: s.expiresAt))
        }
        if !prompts.isEmpty {
            logger.info("restored evaluations prompted again", metadata: ["bus": "\(bus)", "pads": "\(prompts.map { "\($0.pad)" }.joined(separator: ","))"])
        }
        return prompts
    }
}
