/// An error's code, as swift-service-lifecycle's `ServiceRunnerError` keeps its own: a struct,
/// not a public enum, so a module can add a code without breaking a caller's `switch`. Callers
/// compare with the named constants (`error.code == .locked`) and print `name`; each error type
/// declares its constants in an extension on `ErrorCode where Domain == ThatError` (issue 21).
public struct ErrorCode<Domain>: Hashable, Sendable, CustomStringConvertible {
    /// The code's name, as it appears in `--json` output and logs.
    public let name: String

    public init(_ name: String) { self.name = name }

    public var description: String { name }
}
