#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EvaluatorCore
import EvaluatorSupport
import Synchronization
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

    private static func configure(fd: FileDescriptor, baud: Int, path: String) throws(DeviceError) {
        guard let speed = SerialBaud(rawValue: baud)?.speed else {
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

/// Reads a file descriptor on a `ReaderThread`. EOF, POLLHUP or a read error other than
/// EAGAIN ends the stream with `.disconnected` (the device went away).
///
/// Bounded: at most `maxChunks` reads wait for the gateway (1 MiB of 4 KiB reads); a pad
/// flooding bytes faster than they can be handled loses the newest, counted in `dropped`,
/// instead of growing the daemon's memory without bound (issue 11).
public final class DescriptorReader: Sendable {
    public let stream: AsyncThrowingStream<[UInt8], any Error>
    private let thread: ReaderThread
    private let droppedChunks = DropCounter()
    public static let maxChunks = 256

    /// Reads dropped so far because the stream was full.
    public var dropped: Int { droppedChunks.count.withLock { $0 } }

    final class DropCounter: Sendable {
        let count = Mutex(0)
    }

    public init(fd: FileDescriptor, path: String, chunkSize: Int = 4096) throws(DeviceError) {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream(bufferingPolicy: .bufferingOldest(Self.maxChunks))
        self.stream = stream
        let dropped = droppedChunks
        let raw = fd.rawValue
        do {
            thread = try ReaderThread { poller in
                var buffer = [UInt8](repeating: 0, count: chunkSize)
                while true {
                    switch poller.wait(for: raw) {
                    case .stopped:
                        continuation.finish()
                        return
                    case let .failed(e):
                        continuation.finish(throwing: DeviceError(code: .read, path: path, operation: "poll", errno: e))
                        return
                    case .readable:
                        let n = Glibc.read(raw, &buffer, chunkSize)
                        if n > 0 {
                            if case .dropped = continuation.yield(Array(buffer[0..<n])) { dropped.count.withLock { $0 += 1 } }
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
        } catch {
            throw DeviceError(code: .read, path: path, operation: "starting the reader thread", errno: error)
        }
    }

    /// Wakes the reader thread and ends the stream. The caller closes the device afterwards.
    public func stop() { thread.stop() }

    /// Stops the thread and waits (at most a second) until it no longer touches the device,
    /// so that the caller can close it safely.
    public func stopAndWait() { thread.stopAndWait() }
}

extension Errno {
    static var current: Errno { Errno(rawValue: Glibc.errno) }
}

extension SerialBaud {
    /// The termios speed of this rate.
    var speed: speed_t {
        switch self {
        case .b1200: speed_t(B1200)
        case .b2400: speed_t(B2400)
        case .b4800: speed_t(B4800)
        case .b9600: speed_t(B9600)
        case .b19200: speed_t(B19200)
        case .b38400: speed_t(B38400)
        case .b57600: speed_t(B57600)
        case .b115200: speed_t(B115200)
        case .b230400: speed_t(B230400)
        }
    }
}
