import CLinuxInput
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A USB HID pad's node (`/dev/input/eventN`, `/dev/hidrawN`) — or, for replay and tests, a
/// FIFO or regular file, on which no ioctl is attempted and EOF means "disconnected".
public final class InputDevice: Sendable {
    public let path: String
    public let fd: FileDescriptor
    /// True for a character device: ioctls (grab, key state) apply.
    public let isCharacterDevice: Bool

    private init(path: String, fd: FileDescriptor, isCharacterDevice: Bool) {
        self.path = path
        self.fd = fd
        self.isCharacterDevice = isCharacterDevice
    }

    public static func open(path: String) throws(DeviceError) -> InputDevice {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.nonBlocking, .closeOnExec], retryOnInterrupt: true)
        } catch let e as Errno {
            throw DeviceError(code: .open, path: path, operation: "open", errno: e)
        } catch {
            throw DeviceError(code: .open, path: path, operation: "open: \(error)")
        }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else {
            let e = Errno(rawValue: errno)
            try? fd.close()
            throw DeviceError(code: .open, path: path, operation: "fstat", errno: e)
        }
        try fd.lockExclusiveOrClose(path: path, what: "pad")
        return InputDevice(path: path, fd: fd, isCharacterDevice: (st.st_mode & S_IFMT) == S_IFCHR)
    }

    /// EVIOCGRAB. Not attempted on FIFOs and files (returns true: nothing to grab).
    public func grab(_ on: Bool = true) throws(DeviceError) {
        guard isCharacterDevice else { return }
        let rc = cli_evdev_grab(fd.rawValue, on ? 1 : 0)
        if rc != 0 { throw DeviceError(code: .configure, path: path, operation: on ? "EVIOCGRAB" : "EVIOCGRAB release", errno: Errno(rawValue: -rc)) }
    }

    /// EVIOCGKEY: the keys held down right now. Empty for FIFOs and files.
    public func heldKeys() throws(DeviceError) -> Set<UInt16> {
        guard isCharacterDevice else { return [] }
        var bits = [UInt8](repeating: 0, count: cli_evdev_key_bytes())
        let rc = bits.withUnsafeMutableBufferPointer { cli_evdev_get_keys(fd.rawValue, $0.baseAddress, $0.count) }
        if rc != 0 { throw DeviceError(code: .read, path: path, operation: "EVIOCGKEY", errno: Errno(rawValue: -rc)) }
        var held: Set<UInt16> = []
        for (i, byte) in bits.enumerated() where byte != 0 {
            for b in 0..<8 where byte & (1 << b) != 0 { held.insert(UInt16(i * 8 + b)) }
        }
        return held
    }

    public func close() { try? fd.close() }
}
