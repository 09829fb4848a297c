import AsyncHTTPClient
import EvaluatorCLI
import EvaluatorCore
import EvaluatorStore
import EvaluatorDaemon
import Foundation
import Logging
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization
import EvaluatorTestSupport

/// The central store's far side: a real HTTP server on 127.0.0.1 that keeps every batch it
/// accepts (with its Idempotency-Key).
final class Receiver: Sendable {
    struct Batch: Sendable {
        var key: String
        var body: Data
    }

    let batches = Mutex<[Batch]>([])
    /// Answer this status instead of 200 while set.
    let failWith = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let portBox = Mutex<Int>(0)
    var port: Int { portBox.withLock { $0 } }

    /// Starts on `port` (0: any free port) and returns once it listens.
    func start(port wanted: Int = 0) async throws {
        let (stream, cont) = AsyncStream<Int>.makeStream()
        let router = Router()
        router.post("/ratings") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 16 << 20)
            if let status = self.failWith.withLock({ $0 }) {
                return Response(status: .init(code: status))
            }
            let key = request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value ?? ""
            self.batches.withLock { $0.append(Batch(key: key, body: Data(buffer: body))) }
            return Response(status: .ok)
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: wanted)),
            onServerRunning: { channel in cont.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "receiver", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        var it = stream.makeAsyncIterator()
        let bound = await it.next() ?? 0
        portBox.withLock { $0 = bound }
    }

    func stop() async {
        let t = task.withLock { t -> Task<Void, any Error>? in
            defer { t = nil }
            return t
        }
        t?.cancel()
        _ = try? await t?.value
    }

    /// Every record received, in order of arrival, service records (issue 22) included.
    var allRecords: [[String: Any]] {
        batches.withLock { $0 }.flatMap { b -> [[String: Any]] in
            let obj = try? JSONSerialization.jsonObject(with: b.body) as? [String: Any]
            return obj?["records"] as? [[String: Any]] ?? []
        }
    }

    /// Every record received but the service records each open stores first (issue 22): the
    /// ratings and the evidence most tests look at.
    var records: [[String: Any]] { allRecords.filter { $0["outcome"] as? String != "service" } }

    func records(case caseID: String) -> [[String: Any]] { records.filter { $0["case_id"] as? String == caseID } }

    /// The service records of a case, in order of arrival (issue 22).
    func services(case caseID: String) -> [[String: Any]] { allRecords.filter { $0["case_id"] as? String == caseID && $0["outcome"] as? String == "service" } }
}


extension Store {
    /// Records but the service records each open stores first (issue 22).
    func ratingsCount() throws -> Int { try recentRecords(limit: 100_000).filter { $0.outcome != Outcome.service.rawValue }.count }
}

/// The real daemon, in this process, on a config written for the test.
final class RunningDaemon: Sendable {
    let task: Task<Void, any Error>
    let api: String
    let daemon: Daemon

    init(config: GatewayConfig, logger: Logger, configSource: String = "", storeCheckAfterMs: Int64 = 600_000,
         notifier: SystemdNotifier = SystemdNotifier(socketPath: nil, watchdogMs: nil)) async throws {
        let (stream, cont) = AsyncStream<String>.makeStream()
        let daemon = try Daemon(config: config, logger: logger, configSource: configSource, storeCheckAfterMs: storeCheckAfterMs, notifier: notifier, onReady: { cont.yield($0) })
        self.daemon = daemon
        task = Task { try await daemon.run(signals: false) }
        var it = stream.makeAsyncIterator()
        api = "http://" + (await it.next() ?? "")
    }

    /// Stops it gracefully, as SIGTERM would; after 3 s (a kept-alive client connection holds
    /// the API's graceful shutdown) the task is cancelled.
    func stop() async {
        await daemon.shutdown()
        let task = task
        let cancel = Task {
            try await Task.sleep(for: .seconds(3))
            task.cancel()
        }
        _ = try? await task.value
        cancel.cancel()
    }

    func request(_ method: HTTPMethod, _ path: String, json: String? = nil, token: String? = nil) async throws -> (Int, [String: Any]) {
        var r = HTTPClientRequest(url: api + path)
        r.method = method
        if let token { r.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if method != .GET { r.headers.add(name: "Content-Type", value: "application/json") }
        if let json { r.body = .bytes(ByteBuffer(string: json)) }
        let resp = try await HTTPClient.shared.execute(r, timeout: .seconds(10))
        let body = try await resp.body.collect(upTo: 1 << 20)
        let obj = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        return (Int(resp.status.code), obj)
    }
}

/// The test config; `windows` replaces W01 (address 3) and W02 (address 4) on bus1.
/// `api`: more `[api]` lines (tokens_file, idle_timeout_s …).
func testConfig(dir: String, receiverPort: Int?, timeoutS: Int = 30, windows: [(id: String, address: Int)]? = nil, api: String = "") throws -> GatewayConfig {
    try GatewayConfig.parse(testConfigText(dir: dir, receiverPort: receiverPort, timeoutS: timeoutS, windows: windows, api: api), source: "e2e.toml", files: .system)
}

func testConfigText(dir: String, receiverPort: Int?, timeoutS: Int = 30, windows: [(id: String, address: Int)]? = nil, api: String = "") -> String {
    var text = """
    [gateway]
    id = "370211-test-01"
    region = "370211"
    state_dir = "\(dir)/state"

    [api]
    listen = "127.0.0.1:0"
    \(api.contains("header_timeout_ms") ? "" : "header_timeout_ms = 10000")
    \(api)

    [session]
    timeout_s = \(timeoutS)
    retransmit_window_ms = 1500

    [[bus]]
    id = "bus1"
    port = "\(dir)/pad-bus1"
    baud = 9600


    """
    if let windows {
        for w in windows {
            text += "[[window]]\nid = \"\(w.id)\"\ndepartment = \"d\"\npad = { bus = \"bus1\", address = \(w.address) }\n"
        }
    } else {
        text += """
        [[window]]
        id = "W01"
        name = "不动产登记1号窗"
        department = "自然资源局"
        pad = { bus = "bus1", address = 3 }

        [[window]]
        id = "W02"
        department = "市场监督管理局"
        pad = { bus = "bus1", address = 4 }

        """
    }
    if let receiverPort {
        text += """
        [uplink]
        url = "http://127.0.0.1:\(receiverPort)/ratings"
        batch_max = 50
        flush_interval_ms = 100
        backoff_initial_ms = 50
        backoff_max_ms = 400
        request_timeout_ms = 2000

        """
    }
    return text
}

/// A simulated pad linked where the config expects the bus port.
func plugPad(dir: String) throws -> SimulatedPad {
    let pad = try SimulatedPad()
    let link = "\(dir)/pad-bus1"
    try? FileManager.default.removeItem(atPath: link)
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pad.slavePath)
    return pad
}
