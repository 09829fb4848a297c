import EvaluatorCore
import SystemPackage

/// A device error names the device path, what was being done and the errno.
public struct DeviceError: Error, CustomStringConvertible, Sendable, Equatable {
    public typealias Code = ErrorCode<DeviceError>
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

extension ErrorCode where Domain == DeviceError {
    public static var open: Self { Self("open") }
    public static var busy: Self { Self("busy") }
    public static var configure: Self { Self("configure") }
    public static var read: Self { Self("read") }
    public static var write: Self { Self("write") }
    public static var disconnected: Self { Self("disconnected") }
}
