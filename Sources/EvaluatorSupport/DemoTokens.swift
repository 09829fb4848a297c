import Foundation

/// The demo's tokens file (`.demo/tokens`, relative to the working folder), written by
/// `evaluatord --demo` before it reads the embedded demo config: Core writes no file (issue 21).
public enum DemoTokens {
    public static let file = ".demo/tokens"

    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "cannot write the demo's tokens file \(path): \(reason)" }
    }

    /// Writes the file (mode 0600) with random tokens if it is not there: `demo-api` (api),
    /// `demo-read` (read), `T1` (pad:W02).
    public static func prepare(workingDirectory: String) throws(WriteError) {
        let path = (workingDirectory as NSString).appendingPathComponent(file)
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let text = "# evaluatord --demo: NAME SCOPE TOKEN (made at the first demo run)\ndemo-api api \(RandomID.hex(bytes: 24))\ndemo-read read \(RandomID.hex(bytes: 24))\nT1 pad:W02 \(RandomID.hex(bytes: 24))\n"
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: path, reason: error.localizedDescription)
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw WriteError(path: path, reason: "the file could not be created")
        }
    }
}
