/// Valid but risky settings (issue 13): `check-config` prints them after the summary and the
/// daemon logs them at start. Pure: a config in, sentences out, each naming its key.
public enum ConfigWarnings {
    public static func of(_ c: GatewayConfig) -> [String] {
        var out: [String] = []
        if c.uplink == nil {
            out.append("[uplink]: none configured — ratings are kept on this PC only and never reach the province")
        }
        if let u = c.uplink {
            if u.allowPlaintext { out.append("uplink.allow_plaintext = true: ratings cross the network unencrypted") }
            if u.backoffMaxMs > 3_600_000 { out.append("uplink.backoff_max_ms = \(u.backoffMaxMs): after an outage the first retry may wait over an hour") }
        }
        if !c.api.isLocal && c.apiAccess.tlsCertFile == nil {
            out.append("api.listen = \(c.api) without tls_cert_file: tokens cross the hall network in clear")
        }
        if c.api.isLocal, case .tcp = c.api, c.apiAccess.tokensFile == nil {
            out.append("api.tokens_file: none — every program on this PC may open and cancel evaluations (the clerk's browser too)")
        }
        if let file = c.apiAccess.adminTokenFile, c.apiAccess.adminToken == nil {
            out.append("api.admin_token_file = \(file): not there or not readable by this process — salvage through the API, resend, reload and pad links are refused (evaluatorctl admin-token init makes it; the packaged unit passes it with LoadCredential=)")
        }
        if c.stateDir.hasPrefix("/tmp/") || c.stateDir == "/tmp" || c.stateDir.hasPrefix("/run/") {
            out.append("gateway.state_dir = \(c.stateDir): a temporary folder — the ratings are lost at the next boot")
        }
        if c.sessionTimeoutMs > 600_000 {
            out.append("session.timeout_s = \(c.sessionTimeoutMs / 1000): a prompt that long keeps the window's evaluation open after the citizen left")
        }
        for bus in c.buses where kernelName(bus.port, ["/dev/ttyUSB", "/dev/ttyACM"]) {
            out.append("bus \(bus.id): port = \(bus.port) is a kernel name that can change when adapters are plugged in another order; prefer /dev/serial/by-path/…")
        }
        for w in c.windows {
            guard let pad = w.pad else {
                out.append("window \(w.id): no pad — evaluations opened there are never prompted")
                continue
            }
            switch pad.source {
            case let .hid(_, path) where kernelName(path, ["/dev/input/event", "/dev/hidraw"]):
                out.append("window \(w.id): \(path) is a kernel name that can change at the next boot; prefer pad = { match = { id_path = … } }")
            case let .udev(_, match) where match.idPath == nil:
                out.append("window \(w.id): matched by vendor/product only — two identical pads make it ambiguous (nothing is bound then); prefer id_path")
            case let .screen(name) where c.apiAccess.tokens?.tokens.contains(where: { $0.name == name }) != true:
                out.append("window \(w.id): screen pad \"\(name)\" has no pad:\(w.id) line — it rates only once paired (evaluatorctl pair \(w.id))")
            default:
                break
            }
        }
        if let days = c.keepSentDays, days < 30 {
            out.append("store.keep_sent_days = \(days): records are pruned after \(days) days, statistics stay (rollups), the records themselves do not")
        }
        return out
    }

    private static func kernelName(_ path: String, _ prefixes: [String]) -> Bool {
        prefixes.contains { path.hasPrefix($0) && path.dropFirst($0.count).allSatisfy(\.isNumber) }
    }
}
