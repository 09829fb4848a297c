#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import SystemPackage

/// The one reader-thread type of the daemon: a detached thread that sleeps in poll(2) until
/// its descriptor has bytes or it is stopped — no busy loop, no wake-ups while idle. The device
/// readers (serial ports, evdev/hidraw nodes) and the udev monitor each run their loop on one.
///
/// The body gets a `Poller`; `poller.wait(for: fd)` returns `.readable` (bytes, EOF or hang-up:
/// the body reads to tell which), `.stopped` (end now) or `.failed` (poll itself failed).
public final class ReaderThread: Sendable {
    public enum Wake: Sendable, Equatable {
        case readable
        case stopped
        case failed(Errno)
    }

    /// What the body waits with: poll(2) on its descriptor and the stop pipe.
    public struct Poller: Sendable {
        let stopFD: Int32

        public func wait(for fd: Int32) -> Wake {
            while true {
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
                if poll(&fds, 2, -1) < 0 {
                    if errno == EINTR { continue }
                    return .failed(Errno(rawValue: errno))
                }
                if fds[1].revents != 0 { return .stopped }
                if fds[0].revents != 0 { return .readable }
            }
        }
    }

    private let stopPipe: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread running `body`. Throws the errno of pipe(2) or pthread_create(3).
    public init(_ body: @escaping @Sendable (Poller) -> Void) throws(Errno) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Errno(rawValue: errno) }
        for f in fds {
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
            _ = fcntl(f, F_SETFL, O_NONBLOCK)
        }
        stopPipe = (fds[0], fds[1])
        let job = Job(body: body, poller: Poller(stopFD: fds[0]), finished: finished)
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var tid = pthread_t()
        let box = Unmanaged.passRetained(job)
        let rc = pthread_create(&tid, &attr, { arg in
            let job = Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue()
            job.body(job.poller)
            job.finished.signal()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attr)
        if rc != 0 {
            box.release()
            close(fds[0])
            close(fds[1])
            throw Errno(rawValue: rc)
        }
    }

    /// Wakes the thread: its `wait` returns `.stopped`.
    public func stop() {
        var one: UInt8 = 1
        _ = write(stopPipe.write, &one, 1)
    }

    /// Stops the thread and waits (at most a second) until its body returned, so that the
    /// caller can close the descriptor it read safely.
    public func stopAndWait() {
        stop()
        if finished.wait(timeout: .now() + 1) == .success { finished.signal() }
    }

    deinit {
        // The read end stays open until here, so a late stop() never writes into a closed pipe.
        stopAndWait()
        close(stopPipe.write)
        close(stopPipe.read)
    }

    private final class Job: @unchecked Sendable {
        let body: @Sendable (Poller) -> Void
        let poller: Poller
        let finished: DispatchSemaphore

        init(body: @escaping @Sendable (Poller) -> Void, poller: Poller, finished: DispatchSemaphore) {
            self.body = body
            self.poller = poller
            self.finished = finished
        }
    }
}
