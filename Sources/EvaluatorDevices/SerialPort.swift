#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SystemPackage

/// A serial port in raw 8N1 mode. Every syscall goes through swift-system's `FileDescriptor`
/// (typed `Errno`, retry on EINTR) or, for termios, through `check` below.
public final class SerialPort: Sendable {
    public let path: String
    public let fd: FileDescriptor

    private init(path: String, fd: FileDescriptor) {
        self.path = path
        self.fd = fd
    }

    /// Opens `path` (a tty or a pty slave) non-blocking, raw 8N1 at `baud`.
    public static func open(path: String, baud: Int) throws(DeviceError) -> SerialPort {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(
                FilePath(path), .readWrite, options: [FileDescriptor.OpenOptions(rawValue: O_NOCTTY), .nonBlocking, .closeOnExec],
                retryOnInterrupt: true
            )
        } catch let e as Errno {
            throw DeviceError(code: .open, path: path, operation: "open", errno: e)
        } catch {
            throw DeviceError(code: .open, path: path, operation: "open: \(error)")
        }
        try fd.lockExclusiveOrClose(path: path, what: "port")
        do {
            try configure(fd: fd, baud: baud, path: path)
        } catch {
            try? fd.close()
            throw error
        }
        return SerialPort(path: path, fd: fd)
    }

    static func speed(_ baud: Int) -> speed_t? {
        let table: [Int: Int32] = [
            1200: B1200, 2400: B2400, 4800: B4800, 9600: B9600, 19200: B19200, 38400: B38400,
            57600: B57600, 115200: B115200, 230400: B230400,
        ]
        return table[baud].map { speed_t($0) }
    }

    private static func configure(fd: FileDescriptor, baud: Int, path: String) throws(DeviceError) {
        guard let speed = speed(baud) else {
            throw DeviceError(code: .configure, path: path, operation: "unsupported baud rate \(baud)")
        }
        var t = termios()
        guard tcgetattr(fd.rawValue, &t) == 0 else {
            throw DeviceError(code: .configure, path: path, operation: "tcgetattr (is this a serial port?)", errno: .current)
        }
        cfmakeraw(&t)
        cfsetispeed(&t, speed)
        cfsetospeed(&t, speed)
        t.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD) | tcflag_t(CS8)
        t.c_cflag &= ~(tcflag_t(PARENB) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        t.c_iflag &= ~(tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY))
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(fd.rawValue, TCSANOW, &t) == 0 else {
            throw DeviceError(code: .configure, path: path, operation: "tcsetattr (raw 8N1 at \(baud))", errno: .current)
        }
    }

    /// Writes all bytes, waiting at most `timeoutMs` for the port to drain when it is full.
    public func write(_ bytes: [UInt8], timeoutMs: Int32 = 200) throws(DeviceError) {
        var offset = 0
        while offset < bytes.count {
            do {
                let n = try bytes[offset...].withUnsafeBytes { try fd.write($0, retryOnInterrupt: true) }
                offset += n
            } catch let e as Errno where e == .wouldBlock || e == .resourceTemporarilyUnavailable {
                var p = pollfd(fd: fd.rawValue, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, timeoutMs) <= 0 {
                    throw DeviceError(code: .write, path: path, operation: "write timed out after \(timeoutMs) ms (port not draining)")
                }
            } catch let e as Errno {
                throw DeviceError(code: .write, path: path, operation: "write", errno: e)
            } catch {
                throw DeviceError(code: .write, path: path, operation: "write: \(error)")
            }
        }
    }

    public func close() {
        try? fd.close()
    }
}

/// Reads a file descriptor on a dedicated thread that sleeps in `poll` until bytes arrive or
/// it is stopped: no busy loop, no wake-ups while idle. EOF, POLLHUP or a read error other
/// than EAGAIN ends the stream with `.disconnected` (the device went away).
public final class DescriptorReader: Sendable {
    public let stream: AsyncThrowingStream<[UInt8], any Error>
    private let stopPipe: (read: Int32, write: Int32)
    private let finished: DispatchSemaphore

    public init(fd: FileDescriptor, path: String, chunkSize: Int = 4096) throws(DeviceError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw DeviceError(code: .read, path: path, operation: "pipe2 for the reader thread", errno: .current)
        }
        for f in fds {
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
            _ = fcntl(f, F_SETFL, O_NONBLOCK)
        }
        let stop = (read: fds[0], write: fds[1])
        stopPipe = stop
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        self.stream = stream
        let finished = DispatchSemaphore(value: 0)
        self.finished = finished
        let thread = ReaderThread(fd: fd.rawValue, stopFD: stop.read, path: path, chunkSize: chunkSize, continuation: continuation, finished: finished)
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var tid = pthread_t()
        let box = Unmanaged.passRetained(thread)
        let rc = pthread_create(&tid, &attr, { arg in
            let t = Unmanaged<ReaderThread>.fromOpaque(arg!).takeRetainedValue()
            t.run()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attr)
        if rc != 0 {
            box.release()
            Glibc.close(stop.read)
            Glibc.close(stop.write)
            throw DeviceError(code: .read, path: path, operation: "pthread_create", errno: Errno(rawValue: rc))
        }
    }

    /// Wakes the reader thread and ends the stream. The caller closes the device afterwards.
    public func stop() {
        var one: UInt8 = 1
        _ = Glibc.write(stopPipe.write, &one, 1)
    }

    /// Stops the thread and waits (at most a second) until it no longer touches the device,
    /// so that the caller can close it safely.
    public func stopAndWait() {
        stop()
        if finished.wait(timeout: .now() + 1) == .success { finished.signal() }
    }

    deinit {
        // The read end stays open until here, so a late stop() never writes into a closed pipe.
        stopAndWait()
        Glibc.close(stopPipe.write)
        Glibc.close(stopPipe.read)
    }
}

private final class ReaderThread: @unchecked Sendable {
    let fd: Int32
    let stopFD: Int32
    let path: String
    let chunkSize: Int
    let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    let finished: DispatchSemaphore

    init(fd: Int32, stopFD: Int32, path: String, chunkSize: Int, continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation,
         finished: DispatchSemaphore) {
        self.finished = finished
        self.fd = fd
        self.stopFD = stopFD
        self.path = path
        self.chunkSize = chunkSize
        self.continuation = continuation
    }

    func run() {
        defer { finished.signal() }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, 2, -1)
            if rc < 0 {
                if errno == EINTR { continue }
                continuation.finish(throwing: DeviceError(code: .read, path: path, operation: "poll", errno: .current))
                return
            }
            if fds[1].revents != 0 {
                continuation.finish()
                return
            }
            if fds[0].revents & Int16(POLLIN) != 0 || fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                let n = Glibc.read(fd, &buffer, chunkSize)
                if n > 0 {
                    continuation.yield(Array(buffer[0..<n]))
                    continue
                }
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                let e: Errno? = n < 0 ? .current : nil
                continuation.finish(throwing: DeviceError(
                    code: .disconnected, path: path, operation: n == 0 ? "end of file (device gone)" : "read", errno: e
                ))
                return
            }
        }
    }
}

extension Errno {
    static var current: Errno { Errno(rawValue: Glibc.errno) }
}
