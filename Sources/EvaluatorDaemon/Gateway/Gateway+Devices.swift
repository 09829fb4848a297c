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

    /// A bus (re)opened: the pads on it whose window has an open, unrated evaluation are
    /// prompted again — evaluations restored after a restart, or opened while the bus was down.
    /// The sessions are already durable, so the prompt goes out at once.
    public func busAttached(_ bus: String) {
        var prompts: [PadCommand] = []
        let now = clock()
        for s in policy.sessions.values.sorted(by: { $0.windowID < $1.windowID }) where s.ratedAt == nil && s.pending == nil && now < s.expiresAt {
            if let pad = policy.config.windows[s.windowID]?.pad, pad.bus == bus { prompts.append(.prompt(pad)) }
        }
        guard !prompts.isEmpty else { return }
        logger.info("pads of open evaluations prompted again", metadata: ["bus": "\(bus)", "pads": "\(prompts.map { "\($0.pad)" }.joined(separator: ","))"])
        padCommands.send(prompts)
    }
}
