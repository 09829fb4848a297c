import Foundation
import TOMLKit

/// `[api]` access: the tokens file, the admin token file, TLS, hosts and origins (R10, issue 20).
extension ConfigReader {
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
}
