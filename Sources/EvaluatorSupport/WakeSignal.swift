import NIOCore
import NIOPosix
import Synchronization

/// A wake-up flag that tasks wait on and others fire (not a POSIX signal: those are
/// swift-service-lifecycle's `UnixSignal`). Firing wakes every waiter; firing while
/// nobody waits is remembered once, so no wake-up is lost.
///
/// Timed waits use a NIO event-loop timer, not `Task.sleep`: on Linux, while any
/// `Task.sleep` is pending, libdispatch re-arms its timer every second (measured: 1 wake-up/s
/// with one hour-long sleep), which alone would use the idle daemon's budget (issue 6).
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var timers: [Int: Scheduled<Void>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// How many tasks wait right now (tests wait for their waiters before firing).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    public func fire() {
        let (waiters, timers) = state.withLock { s -> ([CheckedContinuation<Void, Never>], [Scheduled<Void>]) in
            if s.waiters.isEmpty {
                s.pending = true
                return ([], [])
            }
            defer {
                s.waiters.removeAll()
                s.timers.removeAll()
            }
            return (Array(s.waiters.values), Array(s.timers.values))
        }
        for t in timers { t.cancel() }
        for w in waiters { w.resume() }
    }

    /// Returns when fired, when `milliseconds` passed (nil: no timer at all), or when the task
    /// is cancelled.
    public func wait(milliseconds: Int64?) async {
        let id = state.withLock { s -> Int in
            defer { s.nextID += 1 }
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.pending {
                        s.pending = false
                        return true
                    }
                    if Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow {
                    c.resume()
                    return
                }
                if let milliseconds {
                    let timer = MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: .milliseconds(max(0, milliseconds))) {
                        self.release(id)
                    }
                    let fired = state.withLock { s -> Bool in
                        guard s.waiters[id] != nil else { return true }
                        s.timers[id] = timer
                        return false
                    }
                    if fired { timer.cancel() }
                }
            }
        } onCancel: {
            release(id)
        }
    }

    /// Resumes one waiter (timer or cancellation); a no-op if it was resumed already.
    private func release(_ id: Int) {
        let (w, t) = state.withLock { s in (s.waiters.removeValue(forKey: id), s.timers.removeValue(forKey: id)) }
        t?.cancel()
        w?.resume()
    }
}
