import CBuildInfo

/// What this build is: `evaluatord --version`, status, `/metrics`, the start line in the log.
public enum BuildInfo {
    /// The release number (CHANGELOG.md); the package's version.
    public static let version = "0.3.0"
    /// The git commit when built from a checkout through the Makefile, else nil.
    public static let commit: String? = {
        let c = String(cString: evaluatord_build_commit())
        return c.isEmpty ? nil : c
    }()
    /// "0.3.0" or "0.3.0 (1a2b3c4d5e6f)".
    public static var description: String { commit.map { "\(version) (\($0))" } ?? version }
}
