import EvaluatorAPI
import EvaluatorCore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the configuration file (SIGHUP, `POST /v1/reload`, `evaluatorctl reload`) and
/// applies what may change while the daemon runs (`ConfigReload`): the gateway's windows, key
/// maps, session knobs and signals; the tokens; the pads, buses and uplink whose part of the
/// configuration changed (the others keep running). A file with an error, or a change that
/// needs a restart, is refused with the reason and the running configuration stays. One reload
/// at a time; systemd hears RELOADING=1 and then READY=1.
public actor Reloader {
    private var running: GatewayConfig
    /// The file the daemon was started with ("" or `<…>` when it was not a file).
    let source: String
    let registry: DeviceRegistry?
    let gateway: Gateway
    let supervisor: Supervisor
    let tokens: TokenBox
    let makeChildren: @Sendable (GatewayConfig) -> [Supervisor.Child]
    let notifier: SystemdNotifier
    let logger: Logger
    let clock: @Sendable () -> Millis
    /// After new tokens are in force: a screen pad whose secret changed is disconnected (issue 20).
    let tokensReplaced: @Sendable () -> Void

    init(running: GatewayConfig, source: String, gateway: Gateway, registry: DeviceRegistry?, supervisor: Supervisor, tokens: TokenBox,
         makeChildren: @escaping @Sendable (GatewayConfig) -> [Supervisor.Child], notifier: SystemdNotifier, logger: Logger,
         clock: @escaping @Sendable () -> Millis, tokensReplaced: @escaping @Sendable () -> Void = {}) {
        self.tokensReplaced = tokensReplaced
        self.running = running
        self.source = source
        self.gateway = gateway
        self.registry = registry
        self.supervisor = supervisor
        self.tokens = tokens
        self.makeChildren = makeChildren
        self.notifier = notifier
        self.logger = logger
        self.clock = clock
    }

    /// Reloads; `trigger` is `SIGHUP` or the API caller's name.
    public func reload(trigger: String) async -> ReloadResult {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        notifier.send("RELOADING=1\nMONOTONIC_USEC=\(Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)")
        let result = await attempt(trigger: trigger)
        let meta: Logger.Metadata = ["trigger": "\(trigger)", "config": "\(source)", "changes": "\(result.changes.joined(separator: "; "))"]
        switch result.outcome {
        case .applied: logger.notice("configuration reloaded", metadata: meta)
        case .unchanged: logger.notice("configuration reloaded: nothing changed", metadata: meta)
        case .refused: logger.error("reload refused; the running configuration is kept: \(result.message)", metadata: meta)
        }
        gateway.board.update { $0.lastReload = result }
        let changes = result.changes.isEmpty ? "" : ": " + result.changes.joined(separator: "; ")
        await gateway.auditor.adminAudit(caller: result.trigger, "reload \(result.outcome)\(result.outcome == .refused ? " (\(result.message))" : changes)")
        notifier.send("READY=1")
        return result
    }

    private func attempt(trigger: String) async -> ReloadResult {
        func refused(_ message: String) -> ReloadResult { ReloadResult(outcome: .refused, at: clock(), trigger: trigger, message: message) }
        guard !source.isEmpty, !source.hasPrefix("<") else {
            return refused("the configuration was not read from a file (--demo): there is nothing to re-read")
        }
        let new: GatewayConfig
        do {
            new = try GatewayConfig.load(path: source, files: .system)
        } catch {
            return refused("\(error)")
        }
        let restart = ConfigReload.needsRestart(from: running, to: new)
        guard restart.isEmpty else {
            return refused("\(restart.joined(separator: ", ")) changed: \(restart.count == 1 ? "it needs" : "they need") a restart (systemctl restart evaluatord)")
        }
        let changes = ConfigReload.changes(from: running, to: new)
        guard !changes.isEmpty else { return ReloadResult(outcome: .unchanged, at: clock(), trigger: trigger) }
        await gateway.reload(new)
        await registry?.update(windows: new.windows)
        tokens.replace(new.apiAccess.tokens)
        tokensReplaced()
        let (started, stopped) = await supervisor.apply(makeChildren(new))
        running = new
        if !stopped.isEmpty || !started.isEmpty {
            logger.info("reload: services restarted", metadata: ["stopped": "\(stopped.joined(separator: ", "))", "started": "\(started.joined(separator: ", "))"])
        }
        return ReloadResult(outcome: .applied, at: clock(), trigger: trigger, changes: changes)
    }
}

/// SIGHUP reloads (the daemon ignores the signal's default action, which would kill it).
struct ReloadSignalService: Service {
    let reloader: Reloader

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                _ = await reloader.reload(trigger: "SIGHUP")
            }
        }
    }
}
