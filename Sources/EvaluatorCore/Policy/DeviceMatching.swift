import Foundation

/// udev device matching, pure: property maps in, decisions out. Pads are bound to windows by
/// physical port (`ID_PATH`) by default, because cheap pads share vendor, product and serial:
/// identical pads must still map to the right window (keyd #297, kmonad #838).

/// A device as udev describes it.
public struct UdevDevice: Sendable, Hashable {
    public var devnode: String
    public var subsystem: String
    public var properties: [String: String]

    public init(devnode: String, subsystem: String, properties: [String: String]) {
        self.devnode = devnode
        self.subsystem = subsystem
        self.properties = properties
    }

    /// Parses what `udevadm info /dev/…` prints (`N:`, `E: KEY=VALUE` lines).
    public init?(udevadmInfo text: String) {
        var props: [String: String] = [:]
        var node: String?
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("N: ") {
                node = "/dev/" + line.dropFirst(3)
            } else if line.hasPrefix("E: "), let eq = line.firstIndex(of: "=") {
                props[String(line[line.index(line.startIndex, offsetBy: 3)..<eq])] = String(line[line.index(after: eq)...])
            }
        }
        guard let devnode = props["DEVNAME"] ?? node, let subsystem = props["SUBSYSTEM"] else { return nil }
        self.init(devnode: devnode, subsystem: subsystem, properties: props)
    }

    public var idPath: String? { properties["ID_PATH"] }

    /// The node kind this device can serve as, if any: an input event node with keys, or a
    /// hidraw node.
    public var node: HIDNode? {
        if subsystem == "input" && devnode.hasPrefix("/dev/input/event") && properties["ID_INPUT_KEY"] == "1" { return .evdev }
        if subsystem == "hidraw" && devnode.hasPrefix("/dev/hidraw") { return .hidraw }
        return nil
    }

    /// A USB keyboard-like input node: what a pad looks like before it is configured.
    public var looksLikeKeypad: Bool {
        node == .evdev && properties["ID_BUS"] == "usb"
    }
}

public enum DeviceMatcher {
    /// Whether `device` is the pad `match` describes, for a pad read through `node`.
    public static func matches(_ match: DeviceMatch, node: HIDNode, _ device: UdevDevice) -> Bool {
        guard device.node == node else { return false }
        if let p = match.idPath, device.idPath != p { return false }
        if let v = match.vendor, device.properties["ID_VENDOR_ID"]?.lowercased() != v { return false }
        if let m = match.product, device.properties["ID_MODEL_ID"]?.lowercased() != m { return false }
        if let s = match.serial, device.properties["ID_SERIAL_SHORT"] != s && device.properties["ID_SERIAL"] != s { return false }
        return true
    }

    public enum Binding: Sendable, Hashable {
        case bound(devnode: String)
        case absent
        /// More than one device matches: nothing is bound (a press must never go to the wrong
        /// window); the operator must match by `id_path`.
        case ambiguous(devnodes: [String])
    }

    /// Which device each udev-matched window's pad is, among the present devices.
    public static func bind(windows: [WindowConfig], devices: [UdevDevice]) -> [String: Binding] {
        var out: [String: Binding] = [:]
        for w in windows {
            guard case let .udev(node, match) = w.pad?.source else { continue }
            let found = devices.filter { matches(match, node: node, $0) }.map(\.devnode).sorted()
            switch found.count {
            case 0: out[w.id] = .absent
            case 1: out[w.id] = .bound(devnode: found[0])
            default: out[w.id] = .ambiguous(devnodes: found)
            }
        }
        return out
    }

    /// The config line that would bind an unconfigured keypad to a window, by physical port.
    public static func suggestedPadLine(for device: UdevDevice) -> String? {
        guard let idPath = device.idPath, let node = device.node else { return nil }
        let nodePart = node == .hidraw ? ", node = \"hidraw\"" : ""
        return "pad = { match = { id_path = \"\(idPath)\" }\(nodePart), keymap = \"keypad-5\" }"
    }

    /// Unconfigured devices that look like keypads (not bound to any window, not explicit paths).
    public static func unconfiguredKeypads(windows: [WindowConfig], devices: [UdevDevice]) -> [UdevDevice] {
        let bound = Set(bind(windows: windows, devices: devices).values.compactMap { if case let .bound(d) = $0 { d } else { nil } })
        let explicit = Set(windows.compactMap { $0.pad?.hidPath })
        return devices.filter { d in
            d.looksLikeKeypad && !bound.contains(d.devnode) && !explicit.contains(d.devnode)
                && !explicit.contains(where: { $0.hasSuffix(d.idPath.map { "\($0)-event-kbd" } ?? "\u{0}") })
        }
    }
}
