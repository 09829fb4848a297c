import Foundation
import TOMLKit

/// `[uplink]`: the central store, its profile, PostgreSQL, TLS.
extension ConfigReader {
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
