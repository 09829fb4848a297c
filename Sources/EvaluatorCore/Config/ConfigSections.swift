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
        let services = attempt { () throws(ConfigError) in try readServices(root) }
        guard errors.list.isEmpty, let services, let gateway, let api, let session, let maxPresses, let windows, let scores, let uplink, let access,
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
        (config.stages, config.maxServicesPerCase) = services
        return config
    }

    /// `[session] stages` and `max_services_per_case` (一事多评, issue 22).
    func readServices(_ root: TOMLTable) throws(ConfigError) -> (stages: [String], maxServices: Int) {
        guard let s = try table(root, "session", []) else { return (Stages.defaultList, Stages.defaultMaxServicesPerCase) }
        let stages = (try strings(s, "stages", ["session"], maxCount: 16, maxLength: 32) ?? Stages.defaultList).map(\.precomposedStringWithCanonicalMapping)
        guard !stages.isEmpty else { throw fail(.invalid, ["session", "stages"], "must name at least one stage (the default is [\"办结\"])") }
        var seen: Set<String> = []
        if let twice = stages.first(where: { !seen.insert($0).inserted }) {
            throw fail(.invalid, ["session", "stages"], "names stage \"\(twice)\" twice")
        }
        if let bad = stages.first(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } || $0.trimmingCharacters(in: .whitespaces) != $0 }) {
            throw fail(.invalid, ["session", "stages"], "stage \"\(bad)\" has control characters or leading/trailing spaces")
        }
        let maxServices = try int(s, "max_services_per_case", ["session"], range: 1...64) ?? Stages.defaultMaxServicesPerCase
        guard maxServices >= stages.count else {
            throw fail(.invalid, ["session", "max_services_per_case"], "is \(maxServices), fewer than the \(stages.count) stages: a case could not be rated at each")
        }
        return (stages, maxServices)
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

    /// `[session]`: timeout_s, retransmit_window_ms, reason_window_ms.
    func readSession(_ root: TOMLTable) throws(ConfigError) -> (timeoutMs: Int64, retransmitMs: Int64, reasonMs: Int64) {
        typealias D = GatewayConfig.Defaults
        guard let s = try table(root, "session", []) else {
            return (Int64(D.sessionTimeoutS) * 1000, Int64(D.retransmitWindowMs), Int64(D.reasonWindowMs))
        }
        try onlyKeys(s, ["timeout_s", "retransmit_window_ms", "reason_window_ms", "max_presses_per_minute", "instant_ms", "burst_presses",
                         "burst_window_s", "large_batch_cases", "max_batch_cases", "stages", "max_services_per_case"], ["session"])
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

}
