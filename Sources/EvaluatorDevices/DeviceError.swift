import SystemPackage

/// A device error names the device path, what was being done and the errno.
public struct DeviceError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable { case open, busy, configure, read, write, disconnected }
    public var code: Code
    public var path: String
    public var operation: String
    public var errno: Errno?

    public init(code: Code, path: String, operation: String, errno: Errno? = nil) {
        self.code = code
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        if let errno { return "\(path): \(operation): \(errno) (errno \(errno.rawValue))" }
        return "\(path): \(operation)"
    }
}
