/// When to grab an evdev pad (EVIOCGRAB), pure. Grabbing while a key is held would leave the
/// desktop seeing that key stuck down, so the grab waits until no key is held (keyd does the
/// same). A failed grab (EBUSY: another program holds the device) is reported once.
public struct GrabPolicy: Sendable, Hashable {
    public enum State: Sendable, Hashable { case waiting, grabbed, failed }
    public enum Outcome: Sendable, Hashable {
        case grabbed
        /// `grab = "try"`: warn, keep reading.
        case warnAndRead
        /// `grab = "require"`: the pad is unhealthy and is not read.
        case unhealthy
    }

    public let mode: GrabMode
    public private(set) var state: State = .waiting

    public init(mode: GrabMode) { self.mode = mode }

    /// True when a grab should be tried now.
    public func shouldGrab(keysHeld: Bool) -> Bool {
        mode != .off && state == .waiting && !keysHeld
    }

    public mutating func grabResult(succeeded: Bool) -> Outcome {
        if succeeded {
            state = .grabbed
            return .grabbed
        }
        state = .failed
        return mode == .require ? .unhealthy : .warnAndRead
    }
}
