import EvaluatorCore
import EvaluatorStore
import EvaluatorSupport
import EvaluatorUplink
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import Synchronization
import EvaluatorTestSupport
import Testing

/// An HTTPS central store that requires a client certificate from the test CA (mTLS).
final class TLSReceiver: Sendable {
    let received = Mutex(0)
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let portBox = Mutex(0)
    var port: Int { portBox.withLock { $0 } }

    func start(pki: TestPKI) async throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.serverCert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.serverKey, format: .pem))
        )
        tls.trustRoots = .file(pki.ca)
        tls.certificateVerification = .noHostnameVerification // require a client certificate from the CA
        let router = Router()
        router.post("/ratings") { request, _ -> Response in
            var request = request
            _ = try await request.collectBody(upTo: 1 << 20)
            self.received.withLock { $0 += 1 }
            return Response(status: .ok)
        }
        let (stream, cont) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { cont.yield($0.localAddress?.port ?? 0) },
            logger: Logger(label: "tls", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        var it = stream.makeAsyncIterator()
        let p = await it.next() ?? 0
        portBox.withLock { $0 = p }
    }

    func stop() async {
        let t = task.withLock { $0 }
        t?.cancel()
        _ = try? await t?.value
    }
}

@Suite("uplink TLS: verification always on, custom CA, mTLS", .serialized)
struct TLSTests {
    func run(_ config: UplinkConfig, store: Store, logs: LogCapture, seconds: Double, until: @escaping () -> Bool) async -> Bool {
        let service = UplinkService(config: config, gatewayID: "gw", store: store, logger: logs.logger, wake: WakeSignal(), monitor: UplinkMonitor(),
                                    clock: { Millis(date: Date()) })
        let task = Task { try await service.run() }
        let ok = await eventually(seconds) { until() }
        task.cancel()
        _ = try? await task.value
        return ok
    }

    @Test("with the CA file and a client certificate the batch is delivered; without either, nothing is sent and nothing is lost")
    func mtls() async throws {
        let pki = try TestPKI()
        let server = TLSReceiver()
        try await server.start(pki: pki)
        let url = "https://127.0.0.1:\(server.port)/ratings"

        // 1. No CA file: the server's certificate is not trusted by the system roots.
        let store = try newStore()
        try await store.commit(records: makeRecords(2))
        let logs = LogCapture()
        var config = UplinkConfig(url: url, flushIntervalMs: 50, backoffInitialMs: 20, backoffMaxMs: 200, requestTimeoutMs: 2000, connectTimeoutMs: 2000)
        // Until the refusal is logged (a loaded machine may take more than a second to fail the handshake).
        #expect(await run(config, store: store, logs: logs, seconds: 15) { logs.contains("uplink batch not accepted; will retry") })
        #expect(server.received.withLock { $0 } == 0)
        #expect(try store.backlogCount() == 2)

        // 2. CA file but no client certificate: the server refuses the handshake.
        config.tlsCAFile = pki.ca
        #expect(await run(config, store: store, logs: logs, seconds: 1.5) { false } == false)
        #expect(server.received.withLock { $0 } == 0)
        #expect(try store.backlogCount() == 2)

        // 3. CA file and client certificate: delivered.
        config.tlsCertFile = pki.clientCert
        config.tlsKeyFile = pki.clientKey
        #expect(await run(config, store: store, logs: logs, seconds: 10) { (try? store.backlogCount()) == 0 })
        #expect(server.received.withLock { $0 } == 1)
        await server.stop()
    }

    @Test("TLS files are checked when the config is read")
    func configChecks() {
        let base = "[gateway]\nid = \"g\"\nregion = \"370211\"\n[uplink]\nurl = \"https://x:1/r\"\n"
        #expect(throws: ConfigError.self) { try GatewayConfig.parse(base + "tls_ca_file = \"/nonexistent/ca.pem\"\n", source: "t", files: .system) }
        do {
            _ = try GatewayConfig.parse(base + "tls_cert_file = \"/etc/hostname\"\n", source: "t", files: .system)
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("mTLS needs both tls_cert_file and tls_key_file"), "\(error)")
        }
    }
}
