import EvaluatorCore
import EvaluatorStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// systemd's watchdog and status line (issue 13). Every half `WatchdogSec=` it sends WATCHDOG=1
/// only if the probe started the round before has finished: the gateway actor answered, the
/// NIO event loop ran a task, and the store's writer took and released the write lock. A writer
/// stuck on a hung disk or a lock held by another program therefore stops the pets and systemd
/// restarts the daemon. The uplink is never probed: a provincial outage shows as degraded
/// health, not as a restart loop. STATUS= (pads attached, backlog, last upload) is sent when it
/// changes, with or without a watchdog.
struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let gateway: Gateway
    let service: HallService
    let store: Store
    let logger: Logger
    /// How often STATUS= is refreshed when no watchdog is configured.
    var statusEveryMs: Int64 = 30_000

    /// The outcome of the probe in flight: nil while it runs.
    final class Probe: Sendable {
        let result = Mutex<Result<Void, StoreError>?>(nil)
    }

    func run() async throws {
        guard notifier.socketPath != nil else {
            // Outside systemd: nothing to tell. A service that returns ends the group.
            try? await gracefulShutdown()
            return
        }
        // STOPPING=1 as soon as shutdown begins, not when it has finished.
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown { await loop() }
        } onGracefulShutdown: { [notifier] in
            notifier.send("STOPPING=1")
        }
    }

    private func loop() async {
        let period = notifier.watchdogMs.map { max($0 / 2, 10) } ?? statusEveryMs
        var probe = start()
        var lastStatus = ""
        var stuckSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(period)) } catch { break }
            if notifier.watchdogMs != nil {
                switch probe.result.withLock({ $0 }) {
                case .success?:
                    notifier.send("WATCHDOG=1")
                    if let since = stuckSince {
                        logger.notice("the store writer makes progress again; watchdog pets resumed", metadata: ["stuck_for": "\(ContinuousClock.now - since)"])
                        stuckSince = nil
                    }
                    probe = start()
                case let .failure(error)?:
                    if stuckSince == nil {
                        stuckSince = .now
                        logger.error("the store writer is stuck: no watchdog pet; systemd restarts the daemon if it stays so", metadata: ["error": "\(error)"])
                    }
                    probe = start()
                case nil:
                    if stuckSince == nil {
                        stuckSince = .now
                        logger.error("the store writer or the event loop made no progress for \(period) ms: no watchdog pet; systemd restarts the daemon if it stays so")
                    }
                }
            }
            if let line = await statusLine(), line != lastStatus {
                notifier.send("STATUS=" + line)
                lastStatus = line
            }
        }
    }

    /// Starts one probe of the gateway actor, the event loop and the store writer.
    private func start() -> Probe {
        let probe = Probe()
        Task { [gateway, store] in
            await gateway.heartbeat()
            _ = try? await MultiThreadedEventLoopGroup.singleton.next().submit {}.get()
            do {
                try await store.writerProbe()
                probe.result.withLock { $0 = .success(()) }
            } catch let error as StoreError {
                probe.result.withLock { $0 = .failure(error) }
            } catch {
                probe.result.withLock { $0 = .failure(StoreError(code: .write, path: store.path, message: "\(error)")) }
            }
        }
        return probe
    }

    /// "2/3 pads attached, backlog 12 (oldest 4 min), last upload 2026-12-02 15:04:05Z".
    private func statusLine() async -> String? {
        guard let s = try? await service.status() else { return "store unavailable" }
        return SystemdStatus.line(s, now: Millis(date: Date()))
    }
}

/// The STATUS= line, written once (also what `systemctl status` shows under the unit's name).
enum SystemdStatus {
    static func line(_ s: StatusSnapshot, now: Millis) -> String {
        let attached = s.pads.filter(\.attached).count
        var parts = ["\(attached)/\(s.pads.count) pads attached", "backlog \(s.backlog)"]
        if let at = s.lastUploadAt { parts.append("last upload \(at.rfc3339)") } else if s.backlog > 0 { parts.append("nothing uploaded yet") }
        if !s.problems.isEmpty { parts.append("problems: " + s.problems.map(\.code).joined(separator: ", ")) }
        return parts.joined(separator: ", ")
    }
}
