import Foundation
import TOMLKit

/// `[[bus]]`, `[[window]]` and their pads.
extension ConfigReader {
    /// The tables of `[[key]]`, each with its path (`bus[2]`) for messages.
    func arrayOfTables(_ root: TOMLTable, _ key: String) throws(ConfigError) -> [([String], TOMLTable)] {
        guard let arr = root[key] else { return [] }
        guard let a = arr.array else { throw fail(.invalid, [key], "must be an array of tables: [[\(key)]]") }
        var out: [([String], TOMLTable)] = []
        for (i, v) in a.enumerated() {
            let p = ["\(key)[\(i + 1)]"]
            guard let t = v.table else { throw fail(.invalid, p, "must be a table") }
            out.append((p, t))
        }
        return out
    }

    /// `[[bus]]`: serial lines.
    func readBuses(_ root: TOMLTable, base baseDirectory: String) -> [BusConfig] {
        var buses: [BusConfig] = []
        for (p, t) in attempt({ () throws(ConfigError) in try arrayOfTables(root, "bus") }) ?? [] {
            _ = attempt { () throws(ConfigError) in
                try onlyKeys(t, ["id", "port", "baud", "protocol"], p)
                let bid = try string(t, "id", p, required: true)!
                guard !buses.contains(where: { $0.id == bid }) else { throw fail(.invalid, p + ["id"], "duplicate bus id \"\(bid)\"") }
                let port = absolute(try string(t, "port", p, required: true)!, baseDirectory)
                let baud = try int(t, "baud", p, range: 50...4_000_000) ?? 9600
                guard SerialBaud(rawValue: baud) != nil else {
                    throw fail(.invalid, p + ["baud"], "\(baud) is not a supported baud rate (\(SerialBaud.allCases.map { String($0.rawValue) }.joined(separator: ", ")))")
                }
                let proto = try string(t, "protocol", p) ?? "framed68"
                guard proto == "framed68" else { throw fail(.invalid, p + ["protocol"], "unknown protocol \"\(proto)\" (supported: framed68)") }
                buses.append(BusConfig(id: bid, port: port, baud: baud, proto: proto))
            }
        }
        return buses
    }

    /// `[[window]]`: windows and their pads.
    func readWindows(_ root: TOMLTable, buses: [BusConfig], keymaps: [String: KeyMap], base baseDirectory: String) -> [WindowConfig] {
        var windows: [WindowConfig] = []
        for (p, t) in attempt({ () throws(ConfigError) in try arrayOfTables(root, "window") }) ?? [] {
            _ = attempt { () throws(ConfigError) in
                try onlyKeys(t, ["id", "name", "department", "pad"], p)
                let wid = try string(t, "id", p, required: true)!
                guard wid.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                    throw fail(.invalid, p + ["id"], "\"\(wid)\" may hold only letters, digits, '-', '_' and '.' (it is part of API paths)")
                }
                guard !windows.contains(where: { $0.id == wid }) else { throw fail(.invalid, p + ["id"], "duplicate window id \"\(wid)\"") }
                let name = try string(t, "name", p) ?? wid
                let department = try string(t, "department", p, required: true)!
                var pad: PadConfig?
                if let pt = try table(t, "pad", p) {
                    pad = try readPad(pt, path: p + ["pad"], windowID: wid, buses: buses, keymaps: keymaps, windows: windows, base: baseDirectory)
                }
                windows.append(WindowConfig(id: wid, name: name, department: department, pad: pad))
            }
        }
        return windows
    }

    /// An HMAC key file's bytes as they are: a binary key is not mangled. Only a text key's line
    /// ending (`echo KEY > file`) is dropped: printable UTF-8 followed by "\n" or "\r\n".
    static func keyBytes(_ data: Data) -> [UInt8] {
        var bytes = [UInt8](data)
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        let body = bytes[..<end]
        let isText = end < bytes.count && String(validating: body, as: UTF8.self).map { $0.unicodeScalars.allSatisfy { $0.properties.generalCategory != .control } } == true
        if isText { bytes.removeLast(bytes.count - end) }
        return bytes
    }


    /// `pad = { bus, address, keymap }`, `{ evdev = PATH, keymap, grab }`, `{ hidraw = PATH, keymap }`
    /// or `{ match = { id_path | vendor, product, serial }, node = "evdev" | "hidraw", keymap, grab }`.
    // The Swift 6.3.1 optimizer crashes on this function ("Found ownership error"): config
    // reading is not hot, so it is compiled without optimization.
    @_optimize(none)
    func readPad(_ pt: TOMLTable, path pp: [String], windowID: String, buses: [BusConfig], keymaps: [String: KeyMap],
                 windows: [WindowConfig], base: String) throws(ConfigError) -> PadConfig {
        try onlyKeys(pt, ["bus", "address", "keymap", "evdev", "hidraw", "match", "node", "grab", "screen"], pp)
        let kinds = ["bus", "evdev", "hidraw", "match", "screen"].filter { pt[$0] != nil }
        guard kinds.count == 1 else {
            throw fail(.invalid, pp, kinds.isEmpty
                ? "needs one of: bus (serial), evdev, hidraw, match (USB by udev), screen (a tablet)"
                : "has \(kinds.joined(separator: " and ")); give exactly one of bus, evdev, hidraw, match, screen")
        }
        if kinds[0] == "screen" {
            for k in ["address", "keymap", "node", "grab"] where pt[k] != nil { throw fail(.invalid, pp + [k], "does not apply to a screen pad") }
            let name = try string(pt, "screen", pp, required: true)!
            guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) }) else {
                throw fail(.invalid, pp + ["screen"], "\"\(name)\" may hold only A-Z a-z 0-9 _ . - (it is the name of the pad's token)")
            }
            for other in windows where other.pad?.screenName == name {
                throw fail(.invalid, pp + ["screen"], "screen \"\(name)\" already belongs to window \"\(other.id)\"")
            }
            return .screen(name: name)
        }
        func keymap(default name: String) throws(ConfigError) -> KeyMap {
            let kmName = try string(pt, "keymap", pp) ?? name
            guard let km = keymaps[kmName] else {
                throw fail(.invalid, pp + ["keymap"], "unknown key map \"\(kmName)\" (known: \(keymaps.keys.sorted().joined(separator: ", ")))")
            }
            return km
        }
        func grab() throws(ConfigError) -> GrabMode {
            guard let g = try string(pt, "grab", pp) else { return .attempt }
            guard let mode = GrabMode(rawValue: g) else { throw fail(.invalid, pp + ["grab"], "must be \"try\", \"require\" or \"off\", got \"\(g)\"") }
            return mode
        }
        if kinds[0] == "bus" {
            for k in ["node", "grab"] where pt[k] != nil { throw fail(.invalid, pp + [k], "applies to USB pads only") }
            let bus = try string(pt, "bus", pp, required: true)!
            guard buses.contains(where: { $0.id == bus }) else {
                throw fail(.invalid, pp + ["bus"], "no [[bus]] has id \"\(bus)\" (known: \(buses.map(\.id).joined(separator: ", ")))")
            }
            guard let address = try int(pt, "address", pp, range: 0...255) else { throw fail(.missing, pp + ["address"], "is required") }
            for other in windows where other.pad?.bus == bus && other.pad?.address == UInt8(address) {
                throw fail(.invalid, pp + ["address"], "\(bus)#\(address) already belongs to window \"\(other.id)\"")
            }
            return .serial(bus: bus, address: UInt8(address), keymap: try keymap(default: KeyMap.framed68FourKey.name))
        }
        if pt["address"] != nil { throw fail(.invalid, pp + ["address"], "applies to serial pads (bus = …) only") }
        let km = try keymap(default: KeyMap.keypadFive.name)
        if kinds[0] == "match" {
            guard let mt = try table(pt, "match", pp) else { throw fail(.invalid, pp + ["match"], "must be a table") }
            try onlyKeys(mt, ["id_path", "vendor", "product", "serial"], pp + ["match"])
            let m = DeviceMatch(
                idPath: try string(mt, "id_path", pp + ["match"]), vendor: try string(mt, "vendor", pp + ["match"])?.lowercased(),
                product: try string(mt, "product", pp + ["match"])?.lowercased(), serial: try string(mt, "serial", pp + ["match"])
            )
            guard m.idPath != nil || (m.vendor != nil && m.product != nil) else {
                throw fail(.invalid, pp + ["match"], "needs id_path (the physical port, recommended) or vendor and product")
            }
            for hex in [m.vendor, m.product].compactMap({ $0 }) where hex.count != 4 || !hex.allSatisfy(\.isHexDigit) {
                throw fail(.invalid, pp + ["match"], "vendor and product are 4 hex digits such as \"0627\", got \"\(hex)\"")
            }
            let nodeName = try string(pt, "node", pp) ?? "evdev"
            guard let node = HIDNode(rawValue: nodeName) else { throw fail(.invalid, pp + ["node"], "must be \"evdev\" or \"hidraw\"") }
            for other in windows where other.pad?.udevMatch == m {
                throw fail(.invalid, pp + ["match"], "the same match already belongs to window \"\(other.id)\"")
            }
            return .usb(.udev(node: node, match: m), node: node, window: windowID, keymap: km, grab: node == .evdev ? try grab() : .off)
        }
        if pt["node"] != nil { throw fail(.invalid, pp + ["node"], "applies to match = { … } only") }
        let node: HIDNode = kinds[0] == "evdev" ? .evdev : .hidraw
        let devicePath = absolute(try string(pt, kinds[0], pp, required: true)!, base)
        for other in windows where other.pad?.hidPath == devicePath {
            throw fail(.invalid, pp + [kinds[0]], "\(devicePath) already belongs to window \"\(other.id)\"")
        }
        if node == .hidraw && pt["grab"] != nil { throw fail(.invalid, pp + ["grab"], "applies to evdev pads only (hidraw cannot be grabbed)") }
        return .usb(.hid(node: node, path: devicePath), node: node, window: windowID, keymap: km, grab: node == .evdev ? try grab() : .off)
    }
}
