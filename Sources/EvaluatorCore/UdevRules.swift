/// `evaluatorctl udev-rules` (issue 13): udev rules that give the service user the nodes of
/// the USB pads the configuration names, and nothing else. The unit does not put the service
/// in the `input` group, which would let it read the clerk's own keyboard. Pure: a config in,
/// the rules file's text out.
public enum UdevRules {
    public static let path = "/etc/udev/rules.d/70-evaluatord-pads.rules"

    /// The rules for `config`'s USB pads, owned by `user`. Pads read from a FIFO or file get a
    /// comment, not a rule; a node named by its kernel name (`/dev/input/event3`) gets a rule
    /// and a warning in the file (the name can change at the next boot).
    public static func render(config: GatewayConfig, user: String = "evaluatord") -> String {
        var out = [
            "# \(path): written by `evaluatorctl udev-rules` from \(config.source).",
            "# Gives the service user \(user) the nodes of the USB pads that configuration names, and",
            "# nothing else (the `input` group would let it read every keyboard). Serial pads need no",
            "# rule: the unit's SupplementaryGroups=dialout opens /dev/ttyUSB* and /dev/ttyS*.",
            "# Write it again after changing the pads: evaluatorctl udev-rules --install",
            "",
            "# hidraw nodes get the USB identity and physical port input nodes already have.",
            #"SUBSYSTEM=="hidraw", IMPORT{builtin}="path_id", IMPORT{builtin}="usb_id""#,
        ]
        var rules = 0
        for window in config.windows {
            guard let pad = window.pad else { continue }
            let owner = #"OWNER="\#(user)""#
            switch pad.source {
            case .serial, .screen:
                continue
            case let .udev(node, match):
                var keys = subsystem(node)
                if let p = match.idPath { keys.append(#"ENV{ID_PATH}=="\#(escape(p))""#) }
                if let v = match.vendor { keys.append(#"ENV{ID_VENDOR_ID}=="\#(escape(v))""#) }
                if let m = match.product { keys.append(#"ENV{ID_MODEL_ID}=="\#(escape(m))""#) }
                if let s = match.serial { keys.append(#"ENV{ID_SERIAL_SHORT}=="\#(escape(s))""#) }
                out += ["", "# window \(window.id): \(node.rawValue) matched by \(match)", (keys + [owner]).joined(separator: ", ")]
                rules += 1
            case let .hid(node, path):
                out.append("")
                if let link = stripPrefix(path, "/dev/"), link.contains("/") {
                    out += ["# window \(window.id): \(path)", (subsystem(node) + [#"SYMLINK=="\#(escape(link))""#, owner]).joined(separator: ", ")]
                    rules += 1
                } else if let name = stripPrefix(path, "/dev/") {
                    out += ["# window \(window.id): \(path) — a kernel name can change at the next boot; prefer",
                            "# /dev/input/by-path/… or pad = { match = { id_path = … } }",
                            (subsystem(node) + [#"KERNEL=="\#(escape(name))""#, owner]).joined(separator: ", ")]
                    rules += 1
                } else {
                    out.append("# window \(window.id): \(path) is not a device node (a FIFO or file?): no rule")
                }
            }
        }
        if rules == 0 { out += ["", "# The configuration names no USB pad: no node is given to \(user)."] }
        return out.joined(separator: "\n") + "\n"
    }

    private static func subsystem(_ node: HIDNode) -> [String] {
        node == .evdev ? [#"SUBSYSTEM=="input""#, #"KERNEL=="event*""#] : [#"SUBSYSTEM=="hidraw""#]
    }

    private static func stripPrefix(_ s: String, _ prefix: String) -> String? {
        s.hasPrefix(prefix) ? String(s.dropFirst(prefix.count)) : nil
    }

    /// udev values are double-quoted; a quote or backslash in one would end it early.
    private static func escape(_ s: String) -> String {
        String(s.filter { $0 != "\"" && $0 != "\\" && $0 != "\n" })
    }
}
