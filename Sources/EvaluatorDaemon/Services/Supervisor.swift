import EvaluatorCore
import Logging
import ServiceLifecycle

/// Runs the services a configuration asks for — pad readers, serial buses, the uplink — and on
/// a reload stops those that changed or went away and starts the new ones. A service whose key
/// (its part of the configuration) is unchanged keeps running: its port stays open and its
/// pad's open evaluation never notices (issue 13). The children inherit this service's
/// graceful shutdown, so SIGTERM stops them as it stopped them when they were in the group.
final class Supervisor: Service, Sendable {
    /// One child: what it runs on (a config value; equal keys mean "the same service") and how
    /// to make it — called only when the key is new, so an unchanged child is never rebuilt.
    struct Child: Sendable {
        var key: Key
        var name: String
        var make: @Sendable () -> any Service
    }

    /// The part of the configuration a child runs on.
    enum Key: Hashable, Sendable {
        case bus(BusConfig)
        /// Not the key map: keys are the gateway's business, changing them reopens nothing.
        case pad(windowID: String, source: PadSource, grab: GrabMode, id: PadID)
        case uplink(UplinkConfig, gatewayID: String)
    }

    private struct Request: Sendable {
        var children: [Child]
        var done: CheckedContinuation<(started: [String], stopped: [String]), Never>?
    }

    private let logger: Logger
    private let initial: [Child]
    private let requests: AsyncStream<Request>
    private let submit: AsyncStream<Request>.Continuation

    init(children: [Child], logger: Logger) {
        initial = children
        self.logger = logger
        (requests, submit) = AsyncStream<Request>.makeStream()
    }

    /// Replaces the children; returns once the old ones stopped and the new ones started (the
    /// names of both).
    @discardableResult
    func apply(_ children: [Child]) async -> (started: [String], stopped: [String]) {
        await withCheckedContinuation { c in
            if case .terminated = submit.yield(Request(children: children, done: c)) { c.resume(returning: ([], [])) }
        }
    }

    func run() async throws {
        var running: [Key: (name: String, task: Task<Void, Never>)] = [:]
        func start(_ c: Child) {
            let service = c.make()
            running[c.key] = (c.name, Task { [logger] in
                do { try await service.run() } catch {
                    logger.error("service stopped on an error", metadata: ["service": "\(c.name)", "error": "\(error)"])
                }
            })
        }
        for c in initial where running[c.key] == nil { start(c) }
        for await request in requests.cancelOnGracefulShutdown() {
            let wanted = Set(request.children.map(\.key))
            let gone = running.filter { !wanted.contains($0.key) }
            for (_, child) in gone { child.task.cancel() }
            // A changed bus or pad is let go before its replacement opens the same node.
            for (key, child) in gone {
                await child.task.value
                running[key] = nil
            }
            var started: [String] = []
            for c in request.children where running[c.key] == nil {
                start(c)
                started.append(c.name)
            }
            request.done?.resume(returning: (started.sorted(), gone.values.map(\.name).sorted()))
        }
        submit.finish()
        for child in running.values { await child.task.value }
    }
}
