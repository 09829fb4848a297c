import Foundation

/// Where the PostgreSQL sink writes: `postgres://user:password@host:port/database?sslmode=require`.
public struct PostgresTarget: Sendable, Hashable {
    public init(host: String, port: Int, user: String, password: String?, database: String, table: String, requireTLS: Bool) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.table = table
        self.requireTLS = requireTLS
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var table: String
    public var requireTLS: Bool

    public static func parse(url: String, table: String) -> PostgresTarget? {
        guard let u = URLComponents(string: url), ["postgres", "postgresql"].contains(u.scheme ?? ""), let host = u.host, !host.isEmpty,
              let user = u.user, !user.isEmpty else { return nil }
        let db = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        let tls = u.queryItems?.first { $0.name == "sslmode" }?.value == "require"
        return PostgresTarget(host: host, port: u.port ?? 5432, user: user, password: u.password, database: db.isEmpty ? user : db,
                              table: table, requireTLS: tls)
    }
}
