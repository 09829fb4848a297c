import EvaluatorProtocol
import Foundation
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A "68" evaluator pad simulated on a real pty pair: the daemon opens the slave side like
/// any serial port; this side holds the master. Used by `evaluatorctl simulate`, the demo and
/// the end-to-end tests.
public final class SimulatedPad: @unchecked Sendable {
    public let slavePath: String
    let master: Int32
    let slave: Int32
    private var decoder = Framed68Decoder()
    private var closed = false

    /// Throws the errno of openpty(3).
    public init() throws(Errno) {
        var m: Int32 = 0
        var s: Int32 = 0
        var name = [CChar](repeating: 0, count: 128)
        guard openpty(&m, &s, &name, nil, nil) == 0 else {
            throw Errno(rawValue: errno)
        }
        master = m
        slave = s
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Raw on both sides: no echo, no line editing between pad and daemon.
        var t = termios()
        tcgetattr(s, &t)
        cfmakeraw(&t)
        tcsetattr(s, TCSANOW, &t)
        _ = fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK)
    }

    /// Writes raw bytes onto the bus, as a pad (or line noise) would.
    public func write(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
            if n > 0 { off += n } else if errno == EAGAIN || errno == EINTR { usleep(1000) } else { return }
        }
    }

    public func press(address: UInt8, key: UInt8) {
        write(Framed68Frame.press(address: address, key: key).encoded())
    }

    /// The next frame the host sends, waiting up to `timeoutMs`.
    public func readFrame(timeoutMs: Int) -> Framed68Frame? {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while true {
            if let f = decoder.nextFrame() { return f }
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, left) <= 0 { return nil }
            var buf = [UInt8](repeating: 0, count: 256)
            let n = Glibc.read(master, &buf, buf.count)
            if n > 0 { decoder.append(buf[0..<n]) } else if n < 0 && errno != EAGAIN && errno != EINTR { return nil }
        }
    }

    /// Async wrapper of `readFrame` that does not block the cooperative pool.
    public func nextFrame(timeoutMs: Int) async -> Framed68Frame? {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: self.readFrame(timeoutMs: timeoutMs)) }
        }
    }

    /// Unplugs the pad: both pty ends close, the daemon's reads fail, and the path goes away.
    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(master)
        Glibc.close(slave)
    }

    deinit { close() }
}
