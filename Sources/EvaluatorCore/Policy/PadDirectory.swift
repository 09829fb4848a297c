/// Which window each pad serves and how its keys read: an immutable snapshot built from the
/// config and swapped whole (a reload replaces it while evaluations stay open). Pure.
///
/// It is the one place where a press is turned into what it means (`resolve`): the window, the
/// level or reason of the key — or that the key is unknown to the pad's map.
public struct PadDirectory: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var pad: PadID
        public var windowID: String
        public var keymap: KeyMap

        public init(pad: PadID, windowID: String, keymap: KeyMap) {
            self.pad = pad
            self.windowID = windowID
            self.keymap = keymap
        }
    }

    /// What one key press means.
    public struct Press: Sendable, Hashable {
        public var pad: PadID
        /// nil: no configured window owns this pad.
        public var windowID: String?
        public var key: Int
        public var level: Level?
        public var reason: String?
        /// The pad has reason keys, so a bad rating waits for one (R2).
        public var holdsReasons: Bool

        /// The key is neither a level nor a reason in the pad's map.
        public var isUnknownKey: Bool { level == nil && reason == nil }
    }

    public private(set) var byPad: [PadID: Entry] = [:]
    public private(set) var byWindow: [String: Entry] = [:]

    /// The key map of a serial pad that no window owns (its press is still kept, R9).
    public static let unownedSerialKeymap = KeyMap.framed68FourKey

    public init(windows: [WindowConfig]) {
        self.init(entries: windows.compactMap { w in w.pad.map { Entry(pad: $0.id, windowID: w.id, keymap: $0.keymap) } })
    }

    /// A window's first entry is its pad (the one prompted).
    public init(entries: [Entry]) {
        for e in entries {
            if byPad[e.pad] == nil { byPad[e.pad] = e }
            if byWindow[e.windowID] == nil { byWindow[e.windowID] = e }
        }
    }

    public func entry(for pad: PadID) -> Entry? { byPad[pad] }

    /// The pad of a window, if it has one.
    public func pad(ofWindow windowID: String) -> PadID? { byWindow[windowID]?.pad }

    public func resolve(pad: PadID, key: Int) -> Press {
        let entry = byPad[pad]
        let keymap = entry?.keymap ?? Self.unownedSerialKeymap
        // A "68" pad has no reason keys: its bad ratings are flagged needs_reason (R2).
        let reasons = !pad.retransmits
        return Press(pad: pad, windowID: entry?.windowID, key: key, level: keymap.level(forKey: key),
                     reason: reasons ? keymap.reason(forKey: key) : nil, holdsReasons: reasons && keymap.hasReasonKeys)
    }
}
