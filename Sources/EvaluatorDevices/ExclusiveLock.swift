import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

extension FileDescriptor {
    /// Takes the node's exclusive lock (flock) without waiting, or closes the descriptor and
    /// throws `.busy`: one reader per bus or pad. A second reader on a serial line splits the
    /// presses between two stores (`make faults` met exactly that when a stray daemon opened a
    /// reused /dev/pts node); hidraw, and evdev unless grabbed, hand every report to every
    /// reader, so a second daemon would count each press again (R3).
    func lockExclusiveOrClose(path: String, what: String) throws(DeviceError) {
        guard flock(rawValue, LOCK_EX | LOCK_NB) != 0 else { return }
        let e = Errno(rawValue: errno)
        try? close()
        throw DeviceError(code: .busy, path: path, operation: "flock: the \(what) is in use by another program (another evaluatord?)", errno: e)
    }
}
