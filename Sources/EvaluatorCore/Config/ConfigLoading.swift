import Foundation

/// Every file the configuration names is read through this one reader: the config file, upstream
/// profiles, the HMAC key, the TLS files. The parser itself touches no file; tests and the
/// fuzzer hand it a reader of their own.
public struct ConfigFiles: Sendable {
    /// The bytes of a file, or a message saying why it cannot be read.
    public var read: @Sendable (String) -> Result<Data, ConfigFileError>

    /// The permission bits of a file (nil: cannot be looked at): secrets in a file others may
    /// read or write are refused.
    public var permissions: @Sendable (String) -> UInt32?
    /// Secrets this process may not read are taken as empty instead of refused: `evaluatorctl`
    /// run by an operator who cannot read the daemon's tokens or keys still reads the config.
    public var skipUnreadableSecrets = false
    /// A credential systemd passed to this process (`LoadCredential=`: a file in
    /// `$CREDENTIALS_DIRECTORY`), by its id; nil when there is none, it is empty, or it is the
    /// unit's fallback `-`.
    public var credential: @Sendable (String) -> Data? = { _ in nil }
    /// Whether a file exists (a missing optional file is not an error).
    public var exists: @Sendable (String) -> Bool = { _ in false }
    /// The owner of a file (nil: not known): a secret must be owned by root, this process's
    /// user or the service user `evaluatord` (issue 20) — anyone else could swap it.
    public var owner: @Sendable (String) -> UInt32? = { _ in nil }

    public init(read: @escaping @Sendable (String) -> Result<Data, ConfigFileError>,
                permissions: @escaping @Sendable (String) -> UInt32? = { _ in 0o600 }) {
        self.read = read
        self.permissions = permissions
    }

    /// No file at all: for text that names none (a profile, a test's inline config).
    public static let none = ConfigFiles(read: { .failure(ConfigFileError(message: "no file is read here: \($0)")) }, permissions: { _ in nil })

    /// The real file system.
    public static let system: ConfigFiles = {
        var f = ConfigFiles(read: systemRead, permissions: systemPermissions)
        f.exists = { FileManager.default.fileExists(atPath: $0) }
        f.owner = { path in
            var st = stat()
            return stat(path, &st) == 0 ? UInt32(st.st_uid) : nil
        }
        f.credential = { id in
            guard let dir = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty, !id.contains("/"),
                  let data = FileManager.default.contents(atPath: dir + "/" + id) else { return nil }
            // The unit's fallback (`SetCredential=admin.token:-`) says there is none.
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty || text == "-" ? nil : data
        }
        return f
    }()

    private static let systemRead: @Sendable (String) -> Result<Data, ConfigFileError> = { path in
        if let data = FileManager.default.contents(atPath: path) { return .success(data) }
        do {
            _ = try String(contentsOfFile: path, encoding: .utf8) // for Foundation's words on why not
            return .failure(ConfigFileError(message: "it cannot be read"))
        } catch {
            return .failure(ConfigFileError(message: error.localizedDescription))
        }
    }

    private static let systemPermissions: @Sendable (String) -> UInt32? = { path in
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt32(st.st_mode) & 0o7777
    }

    /// A secret's bytes; refused when others may read or write the file.
    func secret(_ path: String) -> Result<Data, ConfigFileError> {
        if let mode = permissions(path), mode & 0o007 != 0 {
            return .failure(ConfigFileError(message: "others may read or write it (mode \(String(mode, radix: 8))); chmod o-rwx \(path)"))
        }
        if let uid = owner(path), !Self.trustedOwners.contains(uid) {
            return .failure(ConfigFileError(message: "it is owned by uid \(uid), not by root or the service user; chown root \(path)"))
        }
        let result = read(path)
        if case .failure = result, skipUnreadableSecrets { return .success(Data()) }
        return result
    }

    /// root, this process's user and the service user `evaluatord` (when it exists).
    static var trustedOwners: Set<UInt32> {
        var out: Set<UInt32> = [0, UInt32(geteuid())]
        if let pw = getpwnam("evaluatord") { out.insert(UInt32(pw.pointee.pw_uid)) }
        return out
    }

    /// The real file system, for a reader who may not see the daemon's secrets.
    public static var operatorView: ConfigFiles {
        var f = ConfigFiles.system
        f.skipUnreadableSecrets = true
        return f
    }

    /// A file's text (UTF-8); an unreadable file is a config error naming it: "cannot read
    /// `what` (why)".
    func text(_ path: String, what: String) throws(ConfigError) -> String {
        let result = read(path).flatMap { data -> Result<String, ConfigFileError> in
            guard let s = String(data: data, encoding: .utf8) else { return .failure(ConfigFileError(message: "it is not UTF-8 text")) }
            return .success(s)
        }
        switch result {
        case let .success(s): return s
        case let .failure(e): throw ConfigError(code: .unreadable, file: path, line: nil, key: "", message: "cannot read \(what) (\(e.message))")
        }
    }
}

public struct ConfigFileError: Error, Sendable {
    public var message: String
}

extension GatewayConfig {
    /// Reads and validates a config file. Relative paths inside it (state_dir, bus ports) are
    /// taken relative to the file's folder.
    public static func load(path: String, files: ConfigFiles) throws(ConfigError) -> GatewayConfig {
        let text = try files.text(path, what: "the file")
        let base = (path as NSString).deletingLastPathComponent
        return try parse(text, source: path, baseDirectory: base.isEmpty ? "." : base, files: files)
    }

    /// Parses config text; the files it names are read through `files`.
    public static func parse(_ text: String, source: String, baseDirectory: String = ".", files: ConfigFiles) throws(ConfigError) -> GatewayConfig {
        let root = try TOMLGuard.table(text, source: source)
        let r = ConfigReader(source: source, lines: text.components(separatedBy: "\n"), files: files)
        return try r.read(root, baseDirectory: baseDirectory)
    }

    /// The config named on a command line (`--config PATH`), or the embedded demo config
    /// (`--demo`, relative to `workingDirectory`; its tokens file must be there: `evaluatord`
    /// writes it first).
    public static func load(commandLine path: String?, demo: Bool, workingDirectory: String, files: ConfigFiles) throws(ConfigError) -> GatewayConfig {
        if demo {
            return try parse(DemoConfig.toml, source: "<embedded demo config>", baseDirectory: workingDirectory, files: files)
        }
        guard let path else {
            throw ConfigError(code: .missing, file: "<command line>", line: nil, key: "--config", message: "give --config PATH (or --demo for the embedded demo config)")
        }
        return try load(path: path, files: files)
    }
}
