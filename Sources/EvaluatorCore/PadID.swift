/// Which pad: the typed identity every layer passes around. Built once, from the config (or,
/// for a serial pad no window owns, from the bus and the frame's address); its text form is
/// what records, logs, `devices` and status show, and it never changes:
///
/// | pad | text |
/// |---|---|
/// | a "68" pad at address 3 on bus `bus1` | `bus1#3` |
/// | window W01's USB keypad read through evdev | `evdev:W01` |
/// | window W01's USB keypad read through hidraw | `hidraw:W01` |
/// | a screen pad (tablet) named `T1` | `screen:T1` |
public enum PadID: Sendable, Hashable, Comparable, CustomStringConvertible {
    case serial(bus: String, address: UInt8)
    case evdev(window: String)
    case hidraw(window: String)
    case screen(name: String)

    /// serial, evdev, hidraw or screen (status's `kind`).
    public var kind: String {
        switch self {
        case .serial: "serial"
        case .evdev: "evdev"
        case .hidraw: "hidraw"
        case .screen: "screen"
        }
    }

    public var description: String {
        switch self {
        case let .serial(bus, address): "\(bus)#\(address)"
        case let .evdev(window): "evdev:\(window)"
        case let .hidraw(window): "hidraw:\(window)"
        case let .screen(name): "screen:\(name)"
        }
    }

    /// Parses the text form (stored sessions carry it).
    public init?(_ text: String) {
        for (prefix, make) in [("evdev:", PadID.evdev), ("hidraw:", PadID.hidraw), ("screen:", PadID.screen)] where text.hasPrefix(prefix) {
            let rest = String(text.dropFirst(prefix.count))
            guard !rest.isEmpty else { return nil }
            self = make(rest)
            return
        }
        guard let hash = text.lastIndex(of: "#"), let address = UInt8(text[text.index(after: hash)...]), hash > text.startIndex else {
            return nil
        }
        self = .serial(bus: String(text[..<hash]), address: address)
    }

    /// The bus of a serial pad.
    public var bus: String? {
        if case let .serial(bus, _) = self { return bus }
        return nil
    }

    /// A serial pad sends the same press again until it is acked: repeats are folded.
    public var retransmits: Bool { bus != nil }

    public static func < (a: PadID, b: PadID) -> Bool { a.description < b.description }
}

extension PadID: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = PadID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\"\(text)\" is not a pad"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
