import EvaluatorCore
import EvaluatorStore
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// The optional second sink, for cities that run their own store: records are inserted into
/// PostgreSQL with `ON CONFLICT (record_id) DO NOTHING` (a re-sent batch changes nothing), the
/// table created on first use.
public final class PostgresSink: UplinkSink {
    public let client: PostgresClient
    let deadlineMs: Int64
    /// The table, quoted as an SQL identifier.
    public let table: String
    let logger: Logger
    private let schemaReady = Mutex(false)

    public init(config: PostgresTarget, logger: Logger) throws {
        var tls = PostgresClient.Configuration.TLS.disable
        if config.sslMode != .disable {
            var t = TLSConfiguration.makeClientConfiguration()
            // verify-ca: the chain is checked, not the name; verify-full and require: both.
            t.certificateVerification = config.sslMode == .verifyCA ? .noHostnameVerification : .fullVerification
            if let ca = config.caFile { t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            tls = .require(t)
        }
        var pc = PostgresClient.Configuration(host: config.host, port: config.port, username: config.user, password: config.password,
                                              database: config.database, tls: tls)
        // A server that stops answering cannot hold the sender: every statement has a limit.
        pc.options.additionalStartupParameters = [("statement_timeout", "\(config.statementTimeoutMs)")]
        client = PostgresClient(configuration: pc, backgroundLogger: logger)
        deadlineMs = config.statementTimeoutMs
        table = config.quotedTable
        self.logger = logger
    }

    public func run() async { await client.run() }

    func ensureSchema() async throws {
        if schemaReady.withLock({ $0 }) { return }
        try await client.query(PostgresQuery(unsafeSQL: """
            CREATE TABLE IF NOT EXISTS \(table) (
                record_id text PRIMARY KEY,
                gateway_id text NOT NULL,
                region text NOT NULL,
                window_id text,
                case_id text,
                outcome text NOT NULL,
                level text,
                bad boolean NOT NULL,
                recorded_at timestamptz NOT NULL,
                body jsonb NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now()
            )
            """), logger: logger)
        schemaReady.withLock { $0 = true }
    }

    /// One deadline for the whole attempt (connecting included): a server that cannot be
    /// reached or verified fails the attempt instead of holding the sender.
    public func deliver(_ batch: OutboxBatch) async -> UplinkVerdict {
        await UplinkVerdict.within(ms: deadlineMs, what: "PostgreSQL") { await self.insert(batch) }
    }

    private func insert(_ batch: OutboxBatch) async -> UplinkVerdict {
        do {
            try await ensureSchema()
            let json = "[" + batch.bodies.joined(separator: ",") + "]"
            try await client.query(PostgresQuery(unsafeSQL: """
                INSERT INTO \(table) (record_id, gateway_id, region, window_id, case_id, outcome, level, bad, recorded_at, body)
                SELECT r->>'record_id', r->>'gateway_id', r->>'region', r->>'window_id', r->>'case_id', r->>'outcome',
                       r->>'level', (r->>'bad')::boolean, (r->>'recorded_at')::timestamptz, r
                FROM jsonb_array_elements($1::jsonb) AS r
                ON CONFLICT (record_id) DO NOTHING
                """, binds: try Self.binds(json)), logger: logger)
            return .accepted
        } catch let e as PSQLError {
            let state = e.serverInfo?[.sqlState] ?? ""
            let message = "PostgreSQL \(state): \(e.serverInfo?[.message] ?? String(reflecting: e.code))"
            // Data exceptions (22…) and integrity violations (23…) are about the records: bisect.
            if state.hasPrefix("22") || state.hasPrefix("23") { return .reject(message) }
            return .retry(message, retryAfterMs: nil)
        } catch {
            return .retry("PostgreSQL: \(error)", retryAfterMs: nil)
        }
    }

    static func binds(_ json: String) throws -> PostgresBindings {
        var b = PostgresBindings()
        b.append(json)
        return b
    }
}

