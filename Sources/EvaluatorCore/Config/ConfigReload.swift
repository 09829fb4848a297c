/// What a reload (SIGHUP, `evaluatorctl reload`) may change while the daemon runs, and what
/// needs a restart (issue 13). Pure: two configs in, words out.
///
/// Reloaded: windows and their pads, key maps, session knobs, hours and signal thresholds,
/// tokens, the uplink target. Refused (the running config stays): what the daemon binds or
/// opens once — the state folder, the API's address and server settings, the store's retention
/// — and what names the records — the gateway's id, region and time zone.
public enum ConfigReload {
    /// The keys that differ and need a restart; empty when the new config can be applied.
    public static func needsRestart(from old: GatewayConfig, to new: GatewayConfig) -> [String] {
        var keys: [String] = []
        func check<T: Equatable>(_ key: String, _ a: T, _ b: T) { if a != b { keys.append(key) } }
        check("gateway.id", old.gatewayID, new.gatewayID)
        check("gateway.region", old.region, new.region)
        check("gateway.state_dir", old.stateDir, new.stateDir)
        check("gateway.time_zone", old.signals.timeZone, new.signals.timeZone)
        check("api.listen", old.api, new.api)
        check("api.max_body_bytes", old.apiMaxBodyBytes, new.apiMaxBodyBytes)
        check("api.tls_cert_file", old.apiAccess.tlsCertFile, new.apiAccess.tlsCertFile)
        check("api.tls_key_file", old.apiAccess.tlsKeyFile, new.apiAccess.tlsKeyFile)
        check("api.idle_timeout_s", old.apiAccess.idleTimeoutS, new.apiAccess.idleTimeoutS)
        check("api.header_timeout_ms", old.apiAccess.headerTimeoutMs, new.apiAccess.headerTimeoutMs)
        check("api.max_connections", old.apiAccess.maxConnections, new.apiAccess.maxConnections)
        check("api.socket_mode", old.apiAccess.socketMode, new.apiAccess.socketMode)
        check("api.socket_group", old.apiAccess.socketGroup, new.apiAccess.socketGroup)
        check("api.allowed_hosts", old.apiAccess.allowedHosts, new.apiAccess.allowedHosts)
        check("api.allowed_origins", old.apiAccess.allowedOrigins, new.apiAccess.allowedOrigins)
        check("store.keep_sent_days", old.keepSentDays, new.keepSentDays)
        return keys
    }

    /// What a reload from `old` to `new` changes, one phrase each (for the log and the answer).
    public static func changes(from old: GatewayConfig, to new: GatewayConfig) -> [String] {
        var out: [String] = []
        let oldWindows = Dictionary(old.windows.map { ($0.id, $0) }) { a, _ in a }
        let newWindows = Dictionary(new.windows.map { ($0.id, $0) }) { a, _ in a }
        for id in newWindows.keys.sorted() where oldWindows[id] == nil { out.append("window \(id) added") }
        for id in oldWindows.keys.sorted() where newWindows[id] == nil { out.append("window \(id) removed") }
        for id in newWindows.keys.sorted() {
            guard let a = oldWindows[id], let b = newWindows[id], a != b else { continue }
            out.append(a.pad != b.pad ? "window \(id): pad or key map changed" : "window \(id) changed")
        }
        let oldBuses = Dictionary(old.buses.map { ($0.id, $0) }) { a, _ in a }
        let newBuses = Dictionary(new.buses.map { ($0.id, $0) }) { a, _ in a }
        for id in newBuses.keys.sorted() where oldBuses[id] == nil { out.append("bus \(id) added") }
        for id in oldBuses.keys.sorted() where newBuses[id] == nil { out.append("bus \(id) removed") }
        for id in newBuses.keys.sorted() where oldBuses[id] != nil && oldBuses[id] != newBuses[id] { out.append("bus \(id) changed") }
        if old.sessionTimeoutMs != new.sessionTimeoutMs || old.retransmitWindowMs != new.retransmitWindowMs
            || old.reasonWindowMs != new.reasonWindowMs || old.maxPressesPerMinute != new.maxPressesPerMinute || old.scores != new.scores {
            out.append("session settings changed")
        }
        var oldSignals = old.signals, newSignals = new.signals
        oldSignals.timeZone = newSignals.timeZone
        if oldSignals != newSignals { out.append("signal thresholds or hours changed") }
        if old.apiAccess.tokens != new.apiAccess.tokens || old.apiAccess.tokensFile != new.apiAccess.tokensFile { out.append("tokens changed") }
        if old.uplink != new.uplink { out.append("uplink changed") }
        // Screen pads show the new reasons and dimensions at their next prompt.
        if old.screen != new.screen { out.append("screen reasons, dimensions or photos changed") }
        if old.stages != new.stages || old.maxServicesPerCase != new.maxServicesPerCase { out.append("stages or max_services_per_case changed") }
        return out
    }
}

/// The outcome of a reload, for the API's answer, status and the log.
public struct ReloadResult: Sendable, Hashable {
    public enum Outcome: String, Sendable { case applied, unchanged, refused }
    public var outcome: Outcome
    public var at: Millis
    /// What asked: `SIGHUP` or the API caller's name.
    public var trigger: String
    public var changes: [String]
    /// A refusal's reason; empty otherwise.
    public var message: String

    public init(outcome: Outcome, at: Millis, trigger: String, changes: [String] = [], message: String = "") {
        self.outcome = outcome
        self.at = at
        self.trigger = trigger
        self.changes = changes
        self.message = message
    }
}
