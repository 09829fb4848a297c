import Foundation
import TOMLKit

/// A configuration error names the file, the line (where it can be found) and the key, and says
/// what is wrong. The daemon exits non-zero on one before touching any device.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable { case unreadable, syntax, missing, invalid, unknownKey }
    public var code: Code
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String

    public init(code: Code, file: String, line: Int?, key: String, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

public enum APIListen: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case let .tcp(host, port): "\(host):\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }

    /// Parses `127.0.0.1:8740`, `[::1]:8740` or `unix:/run/evaluatord/api.sock`.
    public static func parse(_ text: String) -> APIListen? {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            return path.isEmpty ? nil : .unix(path: path)
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : .tcp(host: host, port: port)
    }
}

public struct BusConfig: Sendable, Hashable {
    public var id: String
    public var port: String
    public var baud: Int
    public var proto: String
}

/// Which udev device a USB pad is: by physical port (`ID_PATH`, the default way — identical
/// pads share vendor, product and serial) or by vendor/product/serial.
public struct DeviceMatch: Sendable, Hashable, CustomStringConvertible {
    public var idPath: String?
    public var vendor: String?
    public var product: String?
    public var serial: String?

    public init(idPath: String? = nil, vendor: String? = nil, product: String? = nil, serial: String? = nil) {
        self.idPath = idPath
        self.vendor = vendor
        self.product = product
        self.serial = serial
    }

    public var description: String {
        [idPath.map { "id_path=\($0)" }, vendor.map { "vendor=\($0)" }, product.map { "product=\($0)" }, serial.map { "serial=\($0)" }]
            .compactMap { $0 }.joined(separator: " ")
    }
}

/// The kind of device node a USB HID pad is read from.
public enum HIDNode: String, Sendable, Hashable { case evdev, hidraw }

/// Whether an evdev pad is grabbed (EVIOCGRAB) so presses never type into the clerk's desktop.
public enum GrabMode: String, Sendable, Hashable {
    /// Do not grab.
    case off
    /// Grab; if another program holds the device, warn and keep reading.
    case attempt = "try"
    /// Grab; if it fails, the pad is unhealthy and not read.
    case require
}

public enum PadSource: Sendable, Hashable {
    case serial(bus: String, address: UInt8)
    case hid(node: HIDNode, path: String)
    case udev(node: HIDNode, match: DeviceMatch)
}

public struct PadConfig: Sendable, Hashable {
    public var source: PadSource
    public var keymap: KeyMap
    public var grab: GrabMode
    /// How records name the pad: `bus1#3` for a serial pad, `evdev:W01` / `hidraw:W01` for USB.
    public var reference: String

    public init(source: PadSource, keymap: KeyMap, grab: GrabMode = .attempt, reference: String) {
        self.source = source
        self.keymap = keymap
        self.grab = grab
        self.reference = reference
    }

    public static func serial(bus: String, address: UInt8, keymap: KeyMap) -> PadConfig {
        PadConfig(source: .serial(bus: bus, address: address), keymap: keymap, grab: .off, reference: "\(bus)#\(address)")
    }

    public var bus: String? {
        switch source {
        case let .serial(b, _): return b
        default: return nil
        }
    }

    public var address: UInt8? {
        switch source {
        case let .serial(_, a): return a
        default: return nil
        }
    }

    /// The configured node path of an explicit USB pad.
    public var hidPath: String? {
        switch source {
        case let .hid(_, p): return p
        default: return nil
        }
    }

    /// The udev match of a USB pad found by udev.
    public var udevMatch: DeviceMatch? {
        switch source {
        case let .udev(_, m): return m
        default: return nil
        }
    }
}

public struct WindowConfig: Sendable, Hashable {
    public var id: String
    public var name: String
    public var department: String
    public var pad: PadConfig?
}

public struct UplinkConfig: Sendable, Hashable {
    public var url: String
    public var batchMax: Int
    public var flushIntervalMs: Int64
    public var backoffInitialMs: Int64
    public var backoffMaxMs: Int64
    public var requestTimeoutMs: Int64
    public var connectTimeoutMs: Int64
    /// The upstream format (default generic-json).
    public var profile: UpstreamProfile
    /// The HMAC key, for a profile that signs.
    public var signingKey: [UInt8]?
    /// TLS: certificate verification is always on. A CA file replaces the system roots (a
    /// provincial private CA); a client certificate and key enable mTLS.
    public var tlsCAFile: String?
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// Send bodies gzip-compressed (`Content-Encoding: gzip`), for slow links and big backlogs.
    public var gzip = false
    /// `kind = "postgres"`: insert into this PostgreSQL table instead of POSTing.
    public var postgres: PostgresTarget?
    /// Batches sent at once while draining a backlog (1: strictly one after another).
    public var maxInFlight = 1

    public init(url: String, batchMax: Int = 500, flushIntervalMs: Int64 = 1000, backoffInitialMs: Int64 = 500,
                backoffMaxMs: Int64 = 300_000, requestTimeoutMs: Int64 = 30_000, connectTimeoutMs: Int64 = 10_000,
                profile: UpstreamProfile = .genericJSON, signingKey: [UInt8]? = nil) {
        self.profile = profile
        self.signingKey = signingKey
        self.url = url
        self.batchMax = batchMax
        self.flushIntervalMs = flushIntervalMs
        self.backoffInitialMs = backoffInitialMs
        self.backoffMaxMs = backoffMaxMs
        self.requestTimeoutMs = requestTimeoutMs
        self.connectTimeoutMs = connectTimeoutMs
    }
}

public struct GatewayConfig: Sendable, Hashable {
    public var gatewayID: String
    public var region: String
    public var stateDir: String
    public var api: APIListen
    public var apiMaxBodyBytes: Int
    public var sessionTimeoutMs: Int64
    public var retransmitWindowMs: Int64
    public var reasonWindowMs: Int64
    public var scores: ScoreTable
    public var buses: [BusConfig]
    public var windows: [WindowConfig]
    public var uplink: UplinkConfig?
    /// Where the configuration came from, for messages.
    public var source: String

    public var policyConfig: SessionPolicyConfig {
        SessionPolicyConfig(
            windows: Dictionary(uniqueKeysWithValues: windows.map {
                ($0.id, WindowInfo(id: $0.id, name: $0.name, department: $0.department, pad: $0.pad?.reference))
            }),
            scores: scores, defaultTimeoutMs: sessionTimeoutMs, retransmitWindowMs: retransmitWindowMs,
            reasonWindowMs: reasonWindowMs
        )
    }

    /// The window whose pad sits at this bus address, if any.
    public func window(bus: String, address: UInt8) -> WindowConfig? {
        windows.first { $0.pad?.bus == bus && $0.pad?.address == address }
    }

    public var databasePath: String { (stateDir as NSString).appendingPathComponent("evaluatord.sqlite") }
}

// MARK: - Loading

extension GatewayConfig {
    /// Reads and validates a config file. Relative paths inside it (state_dir, bus ports) are
    /// taken relative to the file's folder.
    public static func load(path: String) throws(ConfigError) -> GatewayConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(code: .unreadable, file: path, line: nil, key: "",
                              message: "cannot read the file (\(error.localizedDescription))")
        }
        let base = (path as NSString).deletingLastPathComponent
        return try parse(text, source: path, baseDirectory: base.isEmpty ? "." : base)
    }

    /// Parses config text. Pure but for nothing: no file is touched.
    public static func parse(_ text: String, source: String, baseDirectory: String = ".") throws(ConfigError) -> GatewayConfig {
        let root = try TOMLGuard.table(text, source: source)
        var r = ConfigReader(source: source, lines: text.components(separatedBy: "\n"))
        return try r.read(root, baseDirectory: baseDirectory)
    }
}

/// Reads typed values out of a TOML table, naming the key path and line on every error.
struct ConfigReader {
    let source: String
    let lines: [String]

    func fail(_ code: ConfigError.Code, _ path: [String], _ message: String) -> ConfigError {
        ConfigError(code: code, file: source, line: line(of: path), key: path.joined(separator: "."), message: message)
    }

    /// Best-effort line of a key path such as ["window[2]", "pad"]: the section header, then the
    /// first `key =` line inside it.
    func line(of path: [String]) -> Int? {
        guard let first = path.first else { return nil }
        // A dotted table header such as [record.fields] or [keymap.my-5key], then the key.
        if path.count >= 3 || (path.count == 2 && !first.contains("[")) {
            for split in stride(from: path.count - 1, through: 1, by: -1) {
                let header = "[" + path[0..<split].joined(separator: ".") + "]"
                guard let h = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == header }) else { continue }
                let key = path[split]
                var i = h + 1
                while i < lines.count {
                    let l = lines[i].trimmingCharacters(in: .whitespaces)
                    if l.hasPrefix("[") { break }
                    if l.hasPrefix(key + " ") || l.hasPrefix(key + "=") || l.hasPrefix("\"\(key)\"") { return i + 1 }
                    i += 1
                }
                return h + 1
            }
        }
        var section = first
        var wantedIndex = 0
        if let open = first.firstIndex(of: "["), let idx = Int(first[first.index(after: open)...].dropLast()) {
            section = String(first[..<open])
            wantedIndex = idx - 1
        }
        var seen = 0
        var headerLine: Int?
        for (i, raw) in lines.enumerated() {
            let l = raw.trimmingCharacters(in: .whitespaces)
            if l == "[\(section)]" || l.hasPrefix("[\(section)]") && !l.hasPrefix("[[") {
                headerLine = i + 1
            } else if l.hasPrefix("[[\(section)]]") {
                if seen == wantedIndex { headerLine = i + 1 }
                seen += 1
            }
            if headerLine != nil { break }
        }
        guard let header = headerLine else {
            // A top-level key.
            return lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(first) ") || $0.hasPrefix("\(first)=") }.map { $0 + 1 }
        }
        guard path.count > 1 else { return header }
        let key = path[1]
        var i = header
        while i < lines.count {
            let l = lines[i].trimmingCharacters(in: .whitespaces)
            if l.hasPrefix("[") { break }
            if l.hasPrefix(key + " ") || l.hasPrefix(key + "=") { return i + 1 }
            i += 1
        }
        return header
    }

    func table(_ t: TOMLTable, _ key: String, _ path: [String]) throws(ConfigError) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let tt = v.table else { throw fail(.invalid, path + [key], "must be a table") }
        return tt
    }

    func string(_ t: TOMLTable, _ key: String, _ path: [String], required: Bool = false) throws(ConfigError) -> String? {
        guard let v = t[key] else {
            if required { throw fail(.missing, path + [key], "is required") }
            return nil
        }
        guard let s = v.string else { throw fail(.invalid, path + [key], "must be a string, got \(v.type)") }
        if required && s.trimmingCharacters(in: .whitespaces).isEmpty {
            throw fail(.invalid, path + [key], "must not be empty")
        }
        return s
    }

    func int(_ t: TOMLTable, _ key: String, _ path: [String], range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let v = t[key] else { return nil }
        guard let i = v.int else { throw fail(.invalid, path + [key], "must be an integer, got \(v.type)") }
        guard range.contains(i) else {
            throw fail(.invalid, path + [key], "\(i) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return i
    }

    func onlyKeys(_ t: TOMLTable, _ allowed: Set<String>, _ path: [String]) throws(ConfigError) {
        for key in t.keys.sorted() where !allowed.contains(key) {
            throw fail(.unknownKey, path + [key], "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func absolute(_ p: String, _ base: String) -> String {
        p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p)
    }

    mutating func read(_ root: TOMLTable, baseDirectory: String) throws(ConfigError) -> GatewayConfig {
        try onlyKeys(root, ["gateway", "api", "session", "scores", "bus", "window", "keymap", "uplink"], [])

        guard let gateway = try table(root, "gateway", []) else { throw fail(.missing, ["gateway"], "the [gateway] table is required") }
        try onlyKeys(gateway, ["id", "region", "state_dir"], ["gateway"])
        let id = try string(gateway, "id", ["gateway"], required: true)!
        let region = try string(gateway, "region", ["gateway"], required: true)!
        guard region.count == 6, region.allSatisfy(\.isASCII), region.allSatisfy(\.isNumber) else {
            throw fail(.invalid, ["gateway", "region"], "must be a 6-digit 行政区划代码 such as \"370211\", got \"\(region)\"")
        }
        let stateDir = absolute(try string(gateway, "state_dir", ["gateway"]) ?? "/var/lib/evaluatord", baseDirectory)

        var listen = APIListen.tcp(host: "127.0.0.1", port: 8740)
        var maxBody = 64 * 1024
        if let api = try table(root, "api", []) {
            try onlyKeys(api, ["listen", "max_body_bytes"], ["api"])
            if let l = try string(api, "listen", ["api"]) {
                guard let parsed = APIListen.parse(l) else {
                    throw fail(.invalid, ["api", "listen"], "\"\(l)\" is not HOST:PORT or unix:/path")
                }
                listen = parsed
            }
            maxBody = try int(api, "max_body_bytes", ["api"], range: 1024...(16 << 20)) ?? maxBody
        }
        if case let .unix(p) = listen { listen = .unix(path: absolute(p, baseDirectory)) }

        var timeoutMs: Int64 = 30_000
        var retransmitMs: Int64 = 1500
        var reasonMs: Int64 = 10_000
        if let s = try table(root, "session", []) {
            try onlyKeys(s, ["timeout_s", "retransmit_window_ms", "reason_window_ms"], ["session"])
            timeoutMs = Int64(try int(s, "timeout_s", ["session"], range: 1...3600) ?? 30) * 1000
            retransmitMs = Int64(try int(s, "retransmit_window_ms", ["session"], range: 0...60_000) ?? 1500)
            reasonMs = Int64(try int(s, "reason_window_ms", ["session"], range: 0...120_000) ?? 10_000)
        }

        var scores = ScoreTable.standard
        if let s = try table(root, "scores", []) {
            try onlyKeys(s, Set(Level.allCases.map(\.rawValue)), ["scores"])
            for level in Level.allCases {
                if let p = try int(s, level.rawValue, ["scores"], range: 0...1000) { scores.points[level] = p }
            }
        }

        var keymaps = KeyMap.builtIn
        if let km = try table(root, "keymap", []) {
            for name in km.keys.sorted() {
                guard let t = km[name]?.table else { throw fail(.invalid, ["keymap", name], "must be a table of key = level") }
                guard keymaps[name] == nil else { throw fail(.invalid, ["keymap", name], "redefines a built-in key map") }
                var levels: [Int: Level] = [:]
                var reasons: [Int: String] = [:]
                for key in t.keys.sorted() {
                    guard let code = KeyNames.code(key) else {
                        throw fail(.invalid, ["keymap", name, key], "a key is a code (\"0\", \"79\") or a Linux key name (\"KEY_KP1\", \"KP1\", \"KEY_F1\")")
                    }
                    guard let s = t[key]?.string else {
                        throw fail(.invalid, ["keymap", name, key], "must be a string: one of \(Level.allNames), or \"reason:CODE\"")
                    }
                    if let level = Level(rawValue: s) {
                        levels[code] = level
                    } else if s.hasPrefix("reason:"), case let r = String(s.dropFirst(7)), !r.isEmpty {
                        reasons[code] = r
                    } else {
                        throw fail(.invalid, ["keymap", name, key], "\"\(s)\" is not one of \(Level.allNames), or \"reason:CODE\"")
                    }
                    if levels[code] != nil && reasons[code] != nil || (levels.count + reasons.count) != Set(levels.keys).union(reasons.keys).count {
                        throw fail(.invalid, ["keymap", name, key], "key \(code) is mapped twice")
                    }
                }
                guard !levels.isEmpty else { throw fail(.invalid, ["keymap", name], "maps no key to a level") }
                keymaps[name] = KeyMap(name: name, levels: levels, reasons: reasons)
            }
        }

        var buses: [BusConfig] = []
        if let arr = root["bus"] {
            guard let a = arr.array else { throw fail(.invalid, ["bus"], "must be an array of tables: [[bus]]") }
            for (i, v) in a.enumerated() {
                let p = ["bus[\(i + 1)]"]
                guard let t = v.table else { throw fail(.invalid, p, "must be a table") }
                try onlyKeys(t, ["id", "port", "baud", "protocol"], p)
                let bid = try string(t, "id", p, required: true)!
                guard !buses.contains(where: { $0.id == bid }) else { throw fail(.invalid, p + ["id"], "duplicate bus id \"\(bid)\"") }
                let port = absolute(try string(t, "port", p, required: true)!, baseDirectory)
                let baud = try int(t, "baud", p, range: 50...4_000_000) ?? 9600
                guard SerialBauds.supported.contains(baud) else {
                    throw fail(.invalid, p + ["baud"], "\(baud) is not a supported baud rate (\(SerialBauds.supported.map(String.init).joined(separator: ", ")))")
                }
                let proto = try string(t, "protocol", p) ?? "framed68"
                guard proto == "framed68" else { throw fail(.invalid, p + ["protocol"], "unknown protocol \"\(proto)\" (supported: framed68)") }
                buses.append(BusConfig(id: bid, port: port, baud: baud, proto: proto))
            }
        }

        var windows: [WindowConfig] = []
        if let arr = root["window"] {
            guard let a = arr.array else { throw fail(.invalid, ["window"], "must be an array of tables: [[window]]") }
            for (i, v) in a.enumerated() {
                let p = ["window[\(i + 1)]"]
                guard let t = v.table else { throw fail(.invalid, p, "must be a table") }
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

        var uplink: UplinkConfig?
        if let u = try table(root, "uplink", []) {
            let p = ["uplink"]
            try onlyKeys(u, ["url", "batch_max", "flush_interval_ms", "backoff_initial_ms", "backoff_max_ms", "request_timeout_ms",
                             "connect_timeout_ms", "profile", "signing_key_file", "tls_ca_file", "tls_cert_file", "tls_key_file", "gzip", "kind", "table", "max_in_flight"], p)
            let kind = try string(u, "kind", p) ?? "http"
            guard ["http", "postgres"].contains(kind) else { throw fail(.invalid, p + ["kind"], "must be \"http\" or \"postgres\", got \"\(kind)\"") }
            var tlsFiles: [String: String] = [:]
            for k in ["tls_ca_file", "tls_cert_file", "tls_key_file"] {
                guard let f = try string(u, k, p) else { continue }
                let path = absolute(f, baseDirectory)
                guard FileManager.default.isReadableFile(atPath: path) else { throw fail(.invalid, p + [k], "cannot read \(path)") }
                tlsFiles[k] = path
            }
            if (tlsFiles["tls_cert_file"] == nil) != (tlsFiles["tls_key_file"] == nil) {
                throw fail(.invalid, p + [tlsFiles["tls_cert_file"] == nil ? "tls_cert_file" : "tls_key_file"],
                           "mTLS needs both tls_cert_file and tls_key_file")
            }
            var profile = UpstreamProfile.genericJSON
            if let name = try string(u, "profile", p), name != "generic-json" {
                let path = absolute(name, baseDirectory)
                do {
                    profile = try UpstreamProfile.load(path: path)
                } catch where error.code == .unreadable {
                    // Name the line that points at the missing file, not only the file.
                    throw fail(.invalid, p + ["profile"], "cannot read the profile file \(path) \(error.message.replacingOccurrences(of: "cannot read the profile ", with: ""))")
                }
            }
            var key: [UInt8]?
            if let keyFile = try string(u, "signing_key_file", p) {
                let path = absolute(keyFile, baseDirectory)
                guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else {
                    throw fail(.invalid, p + ["signing_key_file"], "cannot read the key file \(path)")
                }
                key = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            }
            if profile.signingHeader != nil && key == nil {
                throw fail(.missing, p + ["signing_key_file"], "profile \"\(profile.name)\" signs its requests: give the HMAC key file")
            }
            let url = try string(u, "url", p, required: true)!
            var postgres: PostgresTarget?
            if kind == "postgres" {
                let table = try string(u, "table", p) ?? "evaluator_records"
                guard table.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
                    throw fail(.invalid, p + ["table"], "\"\(table)\" is not a plain lower-case SQL name")
                }
                guard let target = PostgresTarget.parse(url: url, table: table) else {
                    throw fail(.invalid, p + ["url"], "\"\(url)\" is not postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
                }
                postgres = target
            } else {
                if u["table"] != nil { throw fail(.invalid, p + ["table"], "applies to kind = \"postgres\" only") }
                guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
                    throw fail(.invalid, p + ["url"], "\"\(url)\" is not an http:// or https:// URL")
                }
            }
            var up = UplinkConfig(
                url: url,
                batchMax: try int(u, "batch_max", p, range: 1...10_000) ?? 500,
                flushIntervalMs: Int64(try int(u, "flush_interval_ms", p, range: 10...3_600_000) ?? 1000),
                backoffInitialMs: Int64(try int(u, "backoff_initial_ms", p, range: 10...600_000) ?? 500),
                backoffMaxMs: Int64(try int(u, "backoff_max_ms", p, range: 100...86_400_000) ?? 300_000),
                requestTimeoutMs: Int64(try int(u, "request_timeout_ms", p, range: 100...600_000) ?? 30_000),
                connectTimeoutMs: Int64(try int(u, "connect_timeout_ms", p, range: 100...600_000) ?? 10_000),
                profile: profile, signingKey: key
            )
            up.tlsCAFile = tlsFiles["tls_ca_file"]
            up.tlsCertFile = tlsFiles["tls_cert_file"]
            up.tlsKeyFile = tlsFiles["tls_key_file"]
            up.postgres = postgres
            up.maxInFlight = try int(u, "max_in_flight", p, range: 1...8) ?? 1
            if let g = u["gzip"] {
                guard let b = g.bool else { throw fail(.invalid, p + ["gzip"], "must be true or false") }
                up.gzip = b
            }
            uplink = up
        }

        return GatewayConfig(
            gatewayID: id, region: region, stateDir: stateDir, api: listen, apiMaxBodyBytes: maxBody,
            sessionTimeoutMs: timeoutMs, retransmitWindowMs: retransmitMs, reasonWindowMs: reasonMs, scores: scores, buses: buses,
            windows: windows, uplink: uplink, source: source
        )
    }
}

extension ConfigReader {
    /// `pad = { bus, address, keymap }`, `{ evdev = PATH, keymap, grab }`, `{ hidraw = PATH, keymap }`
    /// or `{ match = { id_path | vendor, product, serial }, node = "evdev" | "hidraw", keymap, grab }`.
    // The Swift 6.3.1 optimizer crashes on this function ("Found ownership error"): config
    // reading is not hot, so it is compiled without optimization.
    @_optimize(none)
    func readPad(_ pt: TOMLTable, path pp: [String], windowID: String, buses: [BusConfig], keymaps: [String: KeyMap],
                 windows: [WindowConfig], base: String) throws(ConfigError) -> PadConfig {
        try onlyKeys(pt, ["bus", "address", "keymap", "evdev", "hidraw", "match", "node", "grab"], pp)
        let kinds = ["bus", "evdev", "hidraw", "match"].filter { pt[$0] != nil }
        guard kinds.count == 1 else {
            throw fail(.invalid, pp, kinds.isEmpty
                ? "needs one of: bus (serial), evdev, hidraw, match (USB by udev)"
                : "has \(kinds.joined(separator: " and ")); give exactly one of bus, evdev, hidraw, match")
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
            return PadConfig(source: .udev(node: node, match: m), keymap: km, grab: node == .evdev ? try grab() : .off, reference: "\(node.rawValue):\(windowID)")
        }
        if pt["node"] != nil { throw fail(.invalid, pp + ["node"], "applies to match = { … } only") }
        let node: HIDNode = kinds[0] == "evdev" ? .evdev : .hidraw
        let devicePath = absolute(try string(pt, kinds[0], pp, required: true)!, base)
        for other in windows where other.pad?.hidPath == devicePath {
            throw fail(.invalid, pp + [kinds[0]], "\(devicePath) already belongs to window \"\(other.id)\"")
        }
        if node == .hidraw && pt["grab"] != nil { throw fail(.invalid, pp + ["grab"], "applies to evdev pads only (hidraw cannot be grabbed)") }
        return PadConfig(source: .hid(node: node, path: devicePath), keymap: km, grab: node == .evdev ? try grab() : .off, reference: "\(node.rawValue):\(windowID)")
    }
}

public enum SerialBauds {
    public static let supported: [Int] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]
}
