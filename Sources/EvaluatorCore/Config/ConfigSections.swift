import Foundation
import TOMLKit

/// One function per section of the file; `read` puts them together. Defaults come from the
/// model (`GatewayConfig.Defaults`, `UplinkConfig.defaults`), never from here.
extension ConfigReader {
    func read(_ root: TOMLTable, baseDirectory base: String) throws(ConfigError) -> GatewayConfig {
        _ = attempt { () throws(ConfigError) in
            try onlyKeys(root, ["gateway", "api", "session", "scores", "bus", "window", "keymap", "uplink", "hours", "store",
                               "screen", "reasons", "dimension"], [])
        }
        let gateway = attempt { () throws(ConfigError) in try readGateway(root, base: base) }
        let api = attempt { () throws(ConfigError) in try readAPI(root, base: base) }
        let session = attempt { () throws(ConfigError) in try readSession(root) }
        let maxPresses = attempt { () throws(ConfigError) in
            try table(root, "session", []).flatMap { t throws(ConfigError) in
                try int(t, "max_presses_per_minute", ["session"], range: 1...100_000)
            } ?? GatewayConfig.Defaults.maxPressesPerMinute
        }
        let keymaps = attempt { () throws(ConfigError) in try readKeymaps(root) }
        let busErrors = errors.list.count
        let buses = readBuses(root, base: base)
        // Windows name buses and key maps: read them only when those read cleanly (a broken
        // bus would otherwise be reported again by every window on it).
        let windowErrors = errors.list.count
        var windows = keymaps != nil && windowErrors == busErrors
            ? readWindows(root, buses: buses, keymaps: keymaps ?? [:], base: base) : nil
        // Tokens name windows (pad:WINDOW): read against windows that read cleanly.
        if errors.list.count != windowErrors { windows = nil }
        let scores = attempt { () throws(ConfigError) in try readScores(root) }
        let uplink = attempt { () throws(ConfigError) in try readUplink(root, base: base) }
        let access = api.flatMap { api in
            windows.flatMap { windows in
                attempt { () throws(ConfigError) in try readAPIAccess(root, listen: api.listen, windows: windows, base: base) }
            }
        }
        let signals = attempt { () throws(ConfigError) in try readSignals(root) }
        let keep = attempt { () throws(ConfigError) in try readStore(root) }
        let screen = attempt { () throws(ConfigError) in try readScreen(root, base: base) }
        guard errors.list.isEmpty, let gateway, let api, let session, let maxPresses, let windows, let scores, let uplink, let access,
              let signals, let keep, let screen else {
            var first = errors.list.sorted { ($0.line ?? .max) < ($1.line ?? .max) }
            let head = first.removeFirst()
            var error = head
            error.more = first
            throw error
        }
        var config = GatewayConfig(
            gatewayID: gateway.id, region: gateway.region, stateDir: gateway.stateDir, api: api.listen, apiMaxBodyBytes: api.maxBody,
            sessionTimeoutMs: session.timeoutMs, retransmitWindowMs: session.retransmitMs, reasonWindowMs: session.reasonMs,
            scores: scores, buses: buses, windows: windows, uplink: uplink, source: source,
            apiAccess: access, maxPressesPerMinute: maxPresses
        )
        config.signals = signals
        config.keepSentDays = keep
        config.screen = screen
        return config
    }

    /// `[screen]` (photo_dir, heartbeat_s), `[reasons.dissatisfied]` and
    /// `[reasons.very_dissatisfied]` (code = text), `[[dimension]]` (id, text): what screen pads
    /// offer (issue 14; R2 reasons, R12 rating content).
    func readScreen(_ root: TOMLTable, base: String) throws(ConfigError) -> ScreenOptions {
        var o = ScreenOptions()
        if let s = try table(root, "screen", []) {
            try onlyKeys(s, ["photo_dir", "heartbeat_s"], ["screen"])
            o.photoDir = try string(s, "photo_dir", ["screen"]).map { absolute($0, base) }
            o.heartbeatS = try int(s, "heartbeat_s", ["screen"], range: 2...3600) ?? ScreenOptions.Defaults.heartbeatS
        }
        if let r = try table(root, "reasons", []) {
            let bad = [Level.dissatisfied, .veryDissatisfied]
            try onlyKeys(r, Set(bad.map(\.rawValue)), ["reasons"])
            for level in bad {
                guard let t = try table(r, level.rawValue, ["reasons"]) else { continue }
                var items: [ReasonItem] = []
                for code in t.keys {
                    let p = ["reasons", level.rawValue, code]
                    guard !code.isEmpty, code.count <= 32, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                        throw fail(.invalid, p, "a reason code is 1 to 32 letters, digits, '-', '_' or '.' (e.g. \"207\")")
                    }
                    guard let text = t[code]?.string, !text.isEmpty, text.count <= 40 else {
                        throw fail(.invalid, p, "must be the button's text: a string of 1 to 40 characters")
                    }
                    items.append(ReasonItem(code: code, text: text))
                }
                guard items.count <= 20 else { throw fail(.invalid, ["reasons", level.rawValue], "at most 20 reasons per level fit on a screen, got \(items.count)") }
                // Codes in numeric order where they are numbers (207, 208 … 214), else by text.
                o.reasons[level] = items.sorted { a, b in
                    if let x = Int(a.code), let y = Int(b.code) { return x < y }
                    return a.code < b.code
                }
            }
        }
        for (p, t) in try arrayOfTables(root, "dimension") {
            try onlyKeys(t, ["id", "text"], p)
            let id = try string(t, "id", p, required: true)!
            guard !id.isEmpty, id.count <= 32, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw fail(.invalid, p + ["id"], "a dimension id is 1 to 32 letters, digits, '-', '_' or '.' (e.g. \"attitude\")")
            }
            guard !o.dimensions.contains(where: { $0.id == id }) else { throw fail(.invalid, p + ["id"], "duplicate dimension id \"\(id)\"") }
            let text = try string(t, "text", p, required: true)!
            guard !text.isEmpty, text.count <= 40 else { throw fail(.invalid, p + ["text"], "must be 1 to 40 characters") }
            o.dimensions.append(DimensionItem(id: id, text: text))
        }
        guard o.dimensions.count <= 8 else { throw fail(.invalid, ["dimension"], "at most 8 dimensions fit on a screen, got \(o.dimensions.count)") }
        return o
    }

    /// `[session]` signal thresholds, `[hours]` and `gateway.time_zone` (R9, R11).
    func readSignals(_ root: TOMLTable) throws(ConfigError) -> SignalRules {
        var rules = SignalRules()
        if let zone = try table(root, "gateway", []).flatMap({ g throws(ConfigError) in try string(g, "time_zone", ["gateway"]) }) {
            guard let tz = TimeZone(identifier: zone) else {
                throw fail(.invalid, ["gateway", "time_zone"], "unknown time zone \"\(zone)\" (an IANA name such as \"Asia/Shanghai\")")
            }
            rules.timeZone = tz
        }
        if let s = try table(root, "session", []) {
            let p = ["session"]
            rules.instantMs = Int64(try int(s, "instant_ms", p, range: 0...60_000) ?? SignalRules.Defaults.instantMs)
            rules.burstPresses = try int(s, "burst_presses", p, range: 1...1000) ?? SignalRules.Defaults.burstPresses
            rules.burstWindowMs = Int64(try int(s, "burst_window_s", p, range: 1...3600) ?? SignalRules.Defaults.burstWindowS) * 1000
            rules.largeBatchCases = try int(s, "large_batch_cases", p, range: 1...1000) ?? SignalRules.Defaults.largeBatchCases
            rules.maxBatchCases = try int(s, "max_batch_cases", p, range: 1...1000) ?? SignalRules.Defaults.maxBatchCases
        }
        if let h = try table(root, "hours", []) {
            try onlyKeys(h, Set(HallHours.dayKeys), ["hours"])
            var intervals: [Int: [ClosedRange<Int>]] = [:]
            for (i, day) in HallHours.dayKeys.enumerated() {
                guard let text = try string(h, day, ["hours"]) else { continue }
                do {
                    intervals[i + 1] = try HallHours.parseDay(text)
                } catch {
                    throw fail(.invalid, ["hours", day], "\(error.message) (write e.g. \"08:30-12:00,13:30-17:30\", or \"\" for closed)")
                }
            }
            rules.hours = HallHours(intervals: intervals)
        }
        return rules
    }

    /// `[store]`: keep_sent_days (retention of records accepted upstream; nil: forever).
    func readStore(_ root: TOMLTable) throws(ConfigError) -> Int? {
        guard let s = try table(root, "store", []) else { return nil }
        try onlyKeys(s, ["keep_sent_days"], ["store"])
        return try int(s, "keep_sent_days", ["store"], range: 1...36_500)
    }

    /// `[gateway]`: id, region, state_dir.
    func readGateway(_ root: TOMLTable, base: String) throws(ConfigError) -> (id: String, region: String, stateDir: String) {
        guard let gateway = try table(root, "gateway", []) else { throw fail(.missing, ["gateway"], "the [gateway] table is required") }
        try onlyKeys(gateway, ["id", "region", "state_dir", "time_zone"], ["gateway"])
        let id = try string(gateway, "id", ["gateway"], required: true)!
        let region = try string(gateway, "region", ["gateway"], required: true)!
        guard region.count == 6, region.allSatisfy(\.isASCII), region.allSatisfy(\.isNumber) else {
            throw fail(.invalid, ["gateway", "region"], "must be a 6-digit 行政区划代码 such as \"370211\", got \"\(region)\"")
        }
        let stateDir = absolute(try string(gateway, "state_dir", ["gateway"]) ?? GatewayConfig.Defaults.stateDir, base)
        return (id, region, stateDir)
    }

    /// `[api]`: listen, max_body_bytes.
    func readAPI(_ root: TOMLTable, base: String) throws(ConfigError) -> (listen: APIListen, maxBody: Int) {
        var listen = GatewayConfig.Defaults.api
        var maxBody = GatewayConfig.Defaults.apiMaxBodyBytes
        if let api = try table(root, "api", []) {
            try onlyKeys(api, ["listen", "max_body_bytes", "tokens_file", "tls_cert_file", "tls_key_file", "idle_timeout_s", "header_timeout_ms",
                               "max_connections", "socket_mode", "socket_group", "admin_token_file", "allowed_hosts", "allowed_origins"], ["api"])
            if let l = try string(api, "listen", ["api"]) {
                guard let parsed = APIListen.parse(l) else {
                    throw fail(.invalid, ["api", "listen"], "\"\(l)\" is not HOST:PORT or unix:/path")
                }
                listen = parsed
            }
            maxBody = try int(api, "max_body_bytes", ["api"], range: 1024...(16 << 20)) ?? maxBody
        }
        if case let .unix(p) = listen { listen = .unix(path: absolute(p, base)) }
        return (listen, maxBody)
    }

    /// `[api]` access and bounds: tokens_file, TLS, idle_timeout_s, max_connections, the socket's
    /// mode and group. A non-loopback listen without a tokens file is an error: anyone on the
    /// hall LAN could cancel the prompt just before the citizen presses (R11).
    func readAPIAccess(_ root: TOMLTable, listen: APIListen, windows: [WindowConfig], base: String) throws(ConfigError) -> APIAccess {
        var access = APIAccess()
        let p = ["api"]
        if let api = try table(root, "api", []) {
            if let f = try string(api, "tokens_file", p) {
                let path = absolute(f, base)
                let text: String
                switch files.secret(path) {
                case let .success(data): text = String(decoding: data, as: UTF8.self)
                case let .failure(e): throw fail(.invalid, p + ["tokens_file"], "cannot use \(path): \(e.message)")
                }
                access.tokensFile = path
                access.tokens = try TokenSet.parse(text, source: path, windows: Set(windows.map(\.id)))
                let adminPath = try string(api, "admin_token_file", p).map { absolute($0, base) }
                    ?? ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("admin.token")
                access.adminTokenFile = adminPath
                if let admin = try readAdminToken(adminPath) { access.tokens?.tokens.append(admin) }
            } else if try string(api, "admin_token_file", p) != nil {
                throw fail(.invalid, p + ["admin_token_file"], "an admin token needs [api] tokens_file: without one every local caller may act")
            }
            for k in ["tls_cert_file", "tls_key_file"] {
                guard let f = try string(api, k, p) else { continue }
                let path = absolute(f, base)
                let readable = k == "tls_key_file" ? files.secret(path) : files.read(path)
                if case let .failure(e) = readable { throw fail(.invalid, p + [k], "cannot use \(path): \(e.message)") }
                if k == "tls_cert_file" { access.tlsCertFile = path } else { access.tlsKeyFile = path }
            }
            if (access.tlsCertFile == nil) != (access.tlsKeyFile == nil) {
                throw fail(.invalid, p + [access.tlsCertFile == nil ? "tls_cert_file" : "tls_key_file"], "TLS needs both tls_cert_file and tls_key_file")
            }
            access.idleTimeoutS = try int(api, "idle_timeout_s", p, range: 1...3600) ?? access.idleTimeoutS
            access.headerTimeoutMs = try int(api, "header_timeout_ms", p, range: 100...60_000) ?? access.headerTimeoutMs
            access.maxConnections = try int(api, "max_connections", p, range: 1...65_536) ?? access.maxConnections
            if let m = try string(api, "socket_mode", p) {
                guard let mode = UInt32(m, radix: 8), mode <= 0o777, mode & 0o007 == 0 || m.isEmpty else {
                    throw fail(.invalid, p + ["socket_mode"], "\"\(m)\" is not an octal mode such as \"0660\" (others may not have access)")
                }
                access.socketMode = mode
            }
            access.socketGroup = try string(api, "socket_group", p)
            access.allowedHosts = try strings(api, "allowed_hosts", p)?.map { $0.lowercased() } ?? []
            for h in access.allowedHosts where h.contains("/") || h.contains(" ") {
                throw fail(.invalid, p + ["allowed_hosts"], "\"\(h)\" is not a host name (no scheme, path or spaces)")
            }
            access.allowedOrigins = try strings(api, "allowed_origins", p) ?? []
            for o in access.allowedOrigins {
                guard let u = URLComponents(string: o), ["http", "https"].contains(u.scheme ?? ""), u.host?.isEmpty == false,
                      u.path.isEmpty, u.query == nil, u.fragment == nil else {
                    throw fail(.invalid, p + ["allowed_origins"], "\"\(o)\" is not an origin such as \"http://queue.hall.local:8080\" (scheme, host, optional port; no path)")
                }
            }
        }
        // A screen pad rates with its own secret, also on loopback (otherwise the clerk's own
        // browser could rate the clerk's case, issue 14): a `NAME pad:WINDOW` line, or the
        // secret a pairing gives it (`evaluatorctl pair WINDOW`, issue 20). A line named after
        // the screen with another scope is a mistake.
        for (i, w) in windows.enumerated() {
            guard let name = w.pad?.screenName, let t = access.tokens?.tokens.first(where: { $0.name == name }) else { continue }
            guard t.scope == .pad(window: w.id) else {
                throw fail(.invalid, ["window[\(i + 1)]", "pad", "screen"], "the token named \"\(name)\" has scope \(t.scope), but screen pad \"\(name)\" serves window \(w.id): give it \"\(name) pad:\(w.id) TOKEN\" or pair the pad (evaluatorctl pair \(w.id))")
            }
        }
        if !listen.isLocal && access.tokens == nil {
            throw fail(.invalid, p + ["listen"], "\(listen) is reachable from other machines: give [api] tokens_file (NAME SCOPE TOKEN lines) or listen on 127.0.0.1")
        }
        return access
    }

    /// The admin token (issue 20): the credential `admin.token` systemd passed, else the file
    /// when this process may read it. Missing or not readable by this process (the daemon runs
    /// as the service user; the file is 0600 root) is no admin token, not an error: the admin
    /// verbs are then refused (a warning says so); a file others may read, or one that is not a
    /// token, is an error naming the file.
    func readAdminToken(_ path: String) throws(ConfigError) -> APIToken? {
        let key = ["api", "admin_token_file"]
        if let data = files.credential("admin.token") {
            return try APIToken.admin(fileText: String(decoding: data, as: UTF8.self), source: "credential admin.token (\(path))")
        }
        guard files.exists(path) else { return nil }
        switch files.secret(path) {
        case let .success(data):
            guard !data.isEmpty else { return nil } // an operator's view that may not read it
            return try APIToken.admin(fileText: String(decoding: data, as: UTF8.self), source: path)
        case let .failure(e):
            if files.permissions(path).map({ $0 & 0o007 != 0 }) == true { throw fail(.invalid, key, "cannot use \(path): \(e.message)") }
            return nil
        }
    }

    /// `[session]`: timeout_s, retransmit_window_ms, reason_window_ms.
    func readSession(_ root: TOMLTable) throws(ConfigError) -> (timeoutMs: Int64, retransmitMs: Int64, reasonMs: Int64) {
        typealias D = GatewayConfig.Defaults
        guard let s = try table(root, "session", []) else {
            return (Int64(D.sessionTimeoutS) * 1000, Int64(D.retransmitWindowMs), Int64(D.reasonWindowMs))
        }
        try onlyKeys(s, ["timeout_s", "retransmit_window_ms", "reason_window_ms", "max_presses_per_minute", "instant_ms", "burst_presses",
                         "burst_window_s", "large_batch_cases", "max_batch_cases"], ["session"])
        return (
            Int64(try int(s, "timeout_s", ["session"], range: 1...3600) ?? D.sessionTimeoutS) * 1000,
            Int64(try int(s, "retransmit_window_ms", ["session"], range: 0...60_000) ?? D.retransmitWindowMs),
            Int64(try int(s, "reason_window_ms", ["session"], range: 0...120_000) ?? D.reasonWindowMs)
        )
    }

    /// `[scores]`: points per level (R1).
    func readScores(_ root: TOMLTable) throws(ConfigError) -> ScoreTable {
        var scores = ScoreTable.standard
        if let s = try table(root, "scores", []) {
            try onlyKeys(s, Set(Level.allCases.map(\.rawValue)), ["scores"])
            for level in Level.allCases {
                if let p = try int(s, level.rawValue, ["scores"], range: 0...1000) { scores.points[level] = p }
            }
        }
        return scores
    }

    /// `[keymap.NAME]`: custom key maps, added to the built-in ones.
    func readKeymaps(_ root: TOMLTable) throws(ConfigError) -> [String: KeyMap] {
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

        return keymaps
    }

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

    /// True for a loopback host name or address (plaintext there never leaves the box).
    static func isLoopback(_ host: String) -> Bool {
        let h = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    /// `[uplink]`: where records go.
    func readUplink(_ root: TOMLTable, base baseDirectory: String) throws(ConfigError) -> UplinkConfig? {
        var uplink: UplinkConfig?
        if let u = try table(root, "uplink", []) {
            let p = ["uplink"]
            try onlyKeys(u, ["url", "batch_max", "flush_interval_ms", "backoff_initial_ms", "backoff_max_ms", "request_timeout_ms",
                             "connect_timeout_ms", "profile", "signing_key_file", "tls_ca_file", "tls_cert_file", "tls_key_file", "gzip", "kind", "table", "max_in_flight",
                             "allow_plaintext", "stall_alert_s"], p)
            let kind = try string(u, "kind", p) ?? "http"
            guard ["http", "postgres"].contains(kind) else { throw fail(.invalid, p + ["kind"], "must be \"http\" or \"postgres\", got \"\(kind)\"") }
            var tlsFiles: [String: String] = [:]
            for k in ["tls_ca_file", "tls_cert_file", "tls_key_file"] {
                guard let f = try string(u, k, p) else { continue }
                let path = absolute(f, baseDirectory)
                let readable = k == "tls_key_file" ? files.secret(path) : files.read(path)
                if case let .failure(e) = readable { throw fail(.invalid, p + [k], "cannot read \(path) (\(e.message))") }
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
                    profile = try UpstreamProfile.load(path: path, files: files)
                } catch where error.code == .unreadable {
                    // Name the line that points at the missing file, not only the file.
                    throw fail(.invalid, p + ["profile"], "cannot read the profile file \(path) \(error.message.replacingOccurrences(of: "cannot read the profile ", with: ""))")
                }
            }
            var key: [UInt8]?
            if let keyFile = try string(u, "signing_key_file", p) {
                let path = absolute(keyFile, baseDirectory)
                let data: Data
                switch files.secret(path) {
                case let .success(d): data = d
                case let .failure(e): throw fail(.invalid, p + ["signing_key_file"], "cannot read the key file \(path) (\(e.message))")
                }
                key = Self.keyBytes(data)
                guard key?.isEmpty == false || files.skipUnreadableSecrets else { throw fail(.invalid, p + ["signing_key_file"], "the key file \(path) is empty") }
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
                switch PostgresTarget.parse(url: url, table: table) {
                case var .success(target):
                    target.caFile = tlsFiles["tls_ca_file"]
                    postgres = target
                case .failure(.notAURL):
                    throw fail(.invalid, p + ["url"], "\"\(Redact.url(url))\" is not postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
                case let .failure(.sslMode(m)):
                    throw fail(.invalid, p + ["url"], "sslmode=\(m) is not supported (\(PostgresTarget.SSLMode.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            } else {
                if u["table"] != nil { throw fail(.invalid, p + ["table"], "applies to kind = \"postgres\" only") }
                guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
                    throw fail(.invalid, p + ["url"], "\"\(Redact.url(url))\" is not an http:// or https:// URL")
                }
            }
            var allowPlaintext = false
            if let v = u["allow_plaintext"] {
                guard let b = v.bool else { throw fail(.invalid, p + ["allow_plaintext"], "must be true or false") }
                allowPlaintext = b
            }
            let plainHost: String? = postgres.map { $0.sslMode == .disable ? $0.host : nil }
                ?? (URL(string: url).flatMap { $0.scheme == "http" ? $0.host : nil })
            if let host = plainHost, !allowPlaintext, !Self.isLoopback(host) {
                throw fail(.invalid, p + ["url"], "ratings would cross the network to \(host) in plaintext (\(kind == "postgres" ? "sslmode=disable" : "http://")); use \(kind == "postgres" ? "sslmode=verify-full" : "https://"), or add allow_plaintext = true under [uplink] if this intranet endpoint is meant to be plain")
            }
            let d = UplinkConfig.defaults
            func ms(_ key: String, _ range: ClosedRange<Int>, _ fallback: Int64) throws(ConfigError) -> Int64 {
                try int(u, key, p, range: range).map(Int64.init) ?? fallback
            }
            var up = UplinkConfig(
                url: url,
                batchMax: try int(u, "batch_max", p, range: 1...10_000) ?? d.batchMax,
                flushIntervalMs: try ms("flush_interval_ms", 10...3_600_000, d.flushIntervalMs),
                backoffInitialMs: try ms("backoff_initial_ms", 10...600_000, d.backoffInitialMs),
                backoffMaxMs: try ms("backoff_max_ms", 100...86_400_000, d.backoffMaxMs),
                requestTimeoutMs: try ms("request_timeout_ms", 100...600_000, d.requestTimeoutMs),
                connectTimeoutMs: try ms("connect_timeout_ms", 100...600_000, d.connectTimeoutMs),
                profile: profile, signingKey: key
            )
            up.tlsCAFile = tlsFiles["tls_ca_file"]
            up.tlsCertFile = tlsFiles["tls_cert_file"]
            up.tlsKeyFile = tlsFiles["tls_key_file"]
            up.postgres = postgres
            up.maxInFlight = try int(u, "max_in_flight", p, range: 1...8) ?? d.maxInFlight
            up.stallAlertS = try int(u, "stall_alert_s", p, range: 1...604_800) ?? d.stallAlertS
            up.allowPlaintext = allowPlaintext
            up.postgres?.statementTimeoutMs = up.requestTimeoutMs
            if let g = u["gzip"] {
                guard let b = g.bool else { throw fail(.invalid, p + ["gzip"], "must be true or false") }
                up.gzip = b
            }
            uplink = up
        }

        return uplink
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

/// The one baud table: the rates a bus may be configured with. The serial port maps each to
/// its termios speed (an exhaustive switch, so a rate added here cannot be forgotten there).
