import Foundation

/// Where the PostgreSQL sink writes: `postgres://user:password@host:port/database?sslmode=…`.
public struct PostgresTarget: Sendable, Hashable {
    /// `sslmode` as libpq means it, for the modes the sink supports.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Plaintext (a config error to a non-loopback host unless `allow_plaintext = true`).
        case disable
        /// TLS; the certificate and host name are verified (stricter than libpq's `require`,
        /// which verifies nothing).
        case require
        /// TLS; the certificate must chain to the CA (`uplink.tls_ca_file`, else the system
        /// roots); the host name is not checked.
        case verifyCA = "verify-ca"
        /// TLS; the certificate must chain to the CA and name the host.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var table: String
    public var sslMode: SSLMode
    /// The CA that verifies the server (`uplink.tls_ca_file`); nil: the system roots.
    public var caFile: String?
    /// Every statement's limit, so a stuck server cannot hold the sender (`uplink.request_timeout_ms`).
    public var statementTimeoutMs: Int64 = 30_000

    public init(host: String, port: Int, user: String, password: String?, database: String, table: String, sslMode: SSLMode) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.table = table
        self.sslMode = sslMode
    }

    /// The table name as an SQL identifier, quoted.
    public var quotedTable: String { "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    public enum ParseError: Error, Equatable {
        case notAURL
        case sslMode(String)
    }

    public static func parse(url: String, table: String) -> Result<PostgresTarget, ParseError> {
        guard let u = URLComponents(string: url), ["postgres", "postgresql"].contains(u.scheme ?? ""), let host = u.host, !host.isEmpty,
              let user = u.user, !user.isEmpty else { return .failure(.notAURL) }
        let db = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        let modeText = u.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard let mode = SSLMode(rawValue: modeText) else { return .failure(.sslMode(modeText)) }
        return .success(PostgresTarget(host: host, port: u.port ?? 5432, user: user, password: u.password, database: db.isEmpty ? user : db,
                                       table: table, sslMode: mode))
    }
}

extension PostgresTarget: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never the password.
    public var description: String { "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database) table \(table), sslmode \(sslMode.rawValue)" }
    public var debugDescription: String { description }
}
