import Synchronization

/// A wake-up flag one task waits on and others fire. Firing while nobody waits is remembered
/// once, so no wake-up is lost.
public final class Signal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func fire() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when fired, when `milliseconds` passed, or when the task is cancelled.
    public func wait(milliseconds: Int64) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForever() }
            group.addTask { try? await Task.sleep(for: .milliseconds(milliseconds)) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForever() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.pending {
                        s.pending = false
                        return true
                    }
                    if Task.isCancelled { return true }
                    s.waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume()
        }
    }
}
