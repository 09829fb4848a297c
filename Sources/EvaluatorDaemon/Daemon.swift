import EvaluatorAPI
import EvaluatorCore
import EvaluatorDevices
import EvaluatorStore
import EvaluatorSupport
import EvaluatorUplink
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A start failure, in one sentence.
public struct StartError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Wires the daemon: the store (migrated before anything starts), the gateway, and the
/// services in dependency order — group commit, session clock, udev, buses and pads, uplink,
/// then the API last, so that on shutdown the API stops taking requests first and the commit
/// service stops last (what the others applied is still made durable). READY=1 goes to systemd once the store is
/// migrated and the API is bound.
public struct Daemon: Sendable {
    public let config: GatewayConfig
    public let gateway: Gateway
    /// The API's side of the gateway: reads off the actor, changes through it.
    public let service: HallService
    public let store: Store
    public let registry: DeviceRegistry
    /// Held while the daemon runs.
    let stateLock: StateLock
    /// The group while `run` runs, for `shutdown()`.
    private let running = RunningGroup()

    final class RunningGroup: Sendable {
        let group = Mutex<ServiceGroup?>(nil)
    }

    /// Stops the daemon as SIGTERM does: gracefully, the API first. (Cancelling the task that
    /// runs it instead can trap in NIO when a connection was accepted but not yet served —
    /// swift-nio #2637 — so tests stop it this way.)
    public func shutdown() async {
        await running.group.withLock { $0 }?.triggerGracefulShutdown()
    }
    let services: [any Service]
    let logger: Logger
    /// The config file's path, for the start line.
    let configSource: String
    let notifier: SystemdNotifier
    /// Re-reads the configuration on SIGHUP and `POST /v1/reload`.
    public let reloader: Reloader
    /// Found by the store's checks at start; stored as audit records when the daemon runs.
    let startupProblems: [Problem]

    /// The bounded checks at start (R8): foreign objects (triggers already dropped by the
    /// store) and the chain's last 1,000 records — not the whole chain, so start-up does not
    /// grow with the store (`evaluatorctl verify` walks it all).
    static func checkStore(_ store: Store) -> [Problem] {
        var found = store.findings.map(Problem.storeForeignObject)
        do {
            if case let .broken(seq, what) = try store.checkTail() {
                found.append(.chainBroken(seq: seq, what: what))
            }
        } catch {
            found.append(.chainUnreadable("\(error)"))
        }
        return found
    }

    /// - Parameters:
    ///   - storeCheckAfterMs: when the background check of the whole store file runs after start.
    ///   - onReady: called with the bound API address once the API listens.
    public init(
        config: GatewayConfig, logger: Logger, configSource: String = "",
        clock: @escaping @Sendable () -> Millis = { Millis(date: Date()) },
        storeCheckAfterMs: Int64 = 600_000,
        notifier: SystemdNotifier = .fromEnvironment(),
        onReady: @escaping @Sendable (String) async -> Void = { _ in }
    ) throws {
        signal(SIGPIPE, SIG_IGN)
        // SIGHUP reloads (ReloadSignalService); until it listens, the signal must not kill us.
        signal(SIGHUP, SIG_IGN)
        self.config = config
        self.logger = logger
        self.configSource = configSource
        self.notifier = notifier
        // The API's address first: a port another program holds is a start failure before any
        // file or device is touched.
        try Self.probeListen(config.api)
        // Private (R10) and ours, then one daemon per state folder: before the store is opened.
        try StateFolder.prepare(stateDir: config.stateDir, databasePath: config.databasePath)
        stateLock = try StateLock(stateDir: config.stateDir)
        // A damaged file is moved aside and a new store started: the hall never stops rating.
        let (store, damage) = try Store.openForDaemon(path: config.databasePath, timeZone: config.signals.timeZone, now: clock())
        self.store = store
        let wake = WakeSignal()
        let monitor = UplinkMonitor()
        let registry = DeviceRegistry(windows: config.windows, logger: logger)
        self.registry = registry
        let padCommands = PadCommandRouter()
        let pairings = try PadPairings(stateDir: config.stateDir)
        gateway = try Gateway(config: config, store: store, logger: logger, padCommands: padCommands, uplinkWake: wake, clock: clock)
        gateway.stats.seedToday(from: store, config: config, at: clock()) // today's presses survive a restart
        service = HallService(gateway: gateway, registry: registry, pairings: pairings, uplinkMonitor: monitor, startedAt: clock())
        logger.info("store ready", metadata: ["store.path": "\(store.path)", "store.journal_mode": "wal", "store.synchronous": "FULL"])
        // The replaced store's audit record comes first: it opens the new chain.
        startupProblems = (damage.map { [Problem.storeReplaced($0.message)] } ?? []) + Self.checkStore(store)

        var services: [any Service] = [CommitService(gateway: gateway), SessionClockService(gateway: gateway, clock: clock),
                                       StoreCheckService(store: store, gateway: gateway, logger: logger, firstAfterMs: storeCheckAfterMs),
                                       WatchdogService(notifier: notifier, gateway: gateway, service: service, store: store, logger: logger)]
        let needsUdev = config.windows.contains { if case .udev? = $0.pad?.source { true } else { false } }
        if let days = config.keepSentDays {
            services.append(RetentionService(store: store, keepDays: days, logger: logger, clock: clock))
        }
        services.append(UdevService(registry: registry, logger: logger, needed: needsUdev))
        // Pads, buses and the uplink: what a reload may change (issue 13).
        let makeChildren: @Sendable (GatewayConfig) -> [Supervisor.Child] = { [gateway] config in
            Self.children(config: config, gateway: gateway, registry: registry, padCommands: padCommands, store: store,
                          wake: wake, monitor: monitor, clock: clock, logger: logger)
        }
        let supervisor = Supervisor(children: makeChildren(config), logger: logger)
        services.append(supervisor)
        for w in ConfigWarnings.of(config) { logger.warning("config: \(w)") }
        let tokens = TokenBox(config.apiAccess.tokens)
        let screens = ScreenPads(gateway: gateway, service: service, tokens: tokens, pairings: pairings, logger: logger)
        reloader = Reloader(running: config, source: configSource, gateway: gateway, registry: registry, supervisor: supervisor, tokens: tokens,
                            makeChildren: makeChildren, notifier: notifier, logger: logger, clock: clock,
                            tokensReplaced: { screens.revalidate(reason: "its secret changed in a reload") })
        services.append(ReloadSignalService(reloader: reloader))

        let address: BindAddress
        switch config.api {
        case let .tcp(host, port): address = .hostname(host, port: port)
        case let .unix(path):
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            var st = stat()
            if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
            address = .unixDomainSocket(path: path)
        }
        var socketGID: gid_t?
        if let group = config.apiAccess.socketGroup {
            guard let g = getgrnam(group) else {
                throw StartError("api.socket_group: no group \"\(group)\" on this system")
            }
            socketGID = g.pointee.gr_gid
        }
        if !config.api.isLocal && config.apiAccess.tlsCertFile == nil {
            logger.warning("the API listens beyond this machine without TLS: tokens cross the network in clear (set [api] tls_cert_file and tls_key_file)",
                           metadata: ["api.listen": "\(config.api)"])
        }
        let screenService = ScreenCommandService(screens: screens, commands: padCommands.commands(forBus: PadCommandRouter.screenOutlet))
        let api = try APIServer(
            router: EvaluatorAPI.router(service: service, maxBodyBytes: config.apiMaxBodyBytes, tokens: tokens,
                                        pairedPad: { secret in screens.pairedToken(secret) },
                                        browser: BrowserGuard(listen: config.api, access: config.apiAccess),
                                        reload: { [reloader] caller in await reloader.reload(trigger: caller) },
                                        metrics: { [service] in await service.metricsText() }),
            screenRouter: EvaluatorAPI.screenRouter(tokens: tokens, pairedPad: { secret in screens.pairedToken(secret) },
                                                    browser: BrowserGuard(listen: config.api, access: config.apiAccess),
                                                    screenPad: { [service] window in service.screenPad(ofWindow: window) },
                                                    serve: { connection, inbound, outbound in await screens.serve(connection, inbound: inbound, outbound: outbound) }),
            address: address, access: config.apiAccess, logger: logger,
            onServerRunning: { [logger, access = config.apiAccess, listen = config.api, socketGID, notifier] channel in
                let bound = channel.localAddress.map { a -> String in
                    if let port = a.port, let ip = a.ipAddress { return "\(ip):\(port)" }
                    return a.pathname.map { "unix:\($0)" } ?? "\(a)"
                } ?? "\(address)"
                if case let .unix(path) = listen {
                    // The socket's mode and group are the config's, not the umask's.
                    _ = chmod(path, mode_t(access.socketMode))
                    // Only when the group differs: the packaged unit denies @privileged system
                    // calls (chown among them), so a socket group other than the service's own needs
                    // a drop-in allowing fchownat — the warning says so.
                    if let gid = socketGID, gid != getegid(), chown(path, uid_t.max, gid) != 0 {
                        logger.warning("api.socket_group: cannot give the socket its group (\(String(cString: strerror(errno)))); under the packaged unit add SystemCallFilter=fchownat in a drop-in",
                                       metadata: ["api.listen": "\(listen)"])
                    }
                }
                logger.notice("api listening; ready", metadata: ["api.listen": "\(bound)"])
                notifier.send("READY=1\nSTATUS=listening on \(bound)")
                await onReady(bound)
            }
        )
        services.append(api)
        services.append(screenService) // stops before the API (reverse order): closes the screens' sockets
        self.services = services
    }

    /// Runs until SIGTERM/SIGINT (when `signals`) or until the calling task is cancelled.
    public func run(signals: Bool = true) async throws {
        defer { stateLock.release() }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [],
            logger: logger
        ))
        running.group.withLock { $0 = group }
        await gateway.auditor.audit(startupProblems)
        let status = try? await service.status()
        logger.notice("evaluatord \(BuildInfo.description) starting", metadata: [
            "config": "\(configSource)", "state_dir": "\(config.stateDir)", "windows": "\(config.windows.count)",
            "restored_open_evaluations": "\(gateway.restoredSessions)", "backlog": "\(status?.backlog ?? 0)",
            "problems": "\(startupProblems.map(\.code).joined(separator: ","))",
        ])
        try await group.run()
        let open = (try? await service.status().openSessions) ?? 0
        logger.notice("evaluatord stopped; \(open) open evaluations kept for the next start", metadata: ["open_evaluations": "\(open)"])
    }

    /// The services a configuration's pads, buses and uplink need, each keyed by its part of the
    /// configuration (a reload restarts only those whose part changed).
    static func children(config: GatewayConfig, gateway: Gateway, registry: DeviceRegistry, padCommands: PadCommandRouter,
                         store: Store, wake: WakeSignal, monitor: UplinkMonitor, clock: @escaping @Sendable () -> Millis,
                         logger: Logger) -> [Supervisor.Child] {
        var out: [Supervisor.Child] = []
        for bus in config.buses {
            out.append(.init(key: .bus(bus), name: "bus \(bus.id)") {
                SerialBusService(bus: bus, gateway: gateway, commands: padCommands.commands(forBus: bus.id), logger: logger)
            })
        }
        for window in config.windows {
            guard let pad = window.pad else { continue }
            let key = Supervisor.Key.pad(windowID: window.id, source: pad.source, grab: pad.grab, id: pad.id)
            switch pad.source {
            // A screen pad connects to the API's WebSocket (ScreenPads): nothing to open here.
            case .serial, .screen: continue
            case let .hid(node, path):
                out.append(.init(key: key, name: "pad \(window.id)") {
                    HIDPadService(windowID: window.id, pad: pad.id, node: node, location: .fixed(path), grabMode: pad.grab, gateway: gateway, logger: logger)
                })
            case let .udev(node, match):
                out.append(.init(key: key, name: "pad \(window.id)") {
                    HIDPadService(windowID: window.id, pad: pad.id, node: node, location: .udev(registry, match), grabMode: pad.grab, gateway: gateway, logger: logger)
                })
            }
        }
        if let uplink = config.uplink {
            out.append(.init(key: .uplink(uplink, gatewayID: config.gatewayID), name: "uplink") {
                UplinkService(config: uplink, gatewayID: config.gatewayID, store: store, logger: logger, wake: wake, monitor: monitor, clock: clock,
                              metrics: gateway.metrics.factory)
            })
        }
        return out
    }

    /// Binds the API's TCP address once and lets go (a port another program holds is named
    /// before any device is opened); a unix socket's folder must be writable.
    static func probeListen(_ listen: APIListen) throws {
        switch listen {
        case let .tcp(host, port):
            do {
                let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: host, port: port).wait()
                try channel.close().wait()
            } catch {
                throw StartError("the API cannot listen on \(host):\(port) (api.listen): \(sentence(error))")
            }
        case let .unix(path):
            let folder = (path as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            guard access(folder, W_OK | X_OK) == 0 else {
                throw StartError("the API socket's folder \(folder) (api.listen) cannot be written: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// An error as one sentence for the operator: NIO's `IOError` says which system call failed and
    /// its errno; the operator needs only the reason.
    public static func sentence(_ error: any Error) -> String {
        if let e = error as? IOError { return String(cString: strerror(e.errnoCode)).lowercased() }
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first { return sentence(first.error) }
        return "\(error)"
    }
}
