/// The exit statuses of `evaluatord` and `evaluatorctl`, named once (README "Exit codes").
/// Numbers follow sysexits(3) where one fits, so systemd's `RestartPreventExitStatus=` and
/// scripts can tell a config error (fix the file; restarting will not help) from a failure.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    /// Done; for `evaluatord`, stopped by SIGTERM/SIGINT.
    case success = 0
    /// The work failed (the daemon could not start or stopped on an error; the API refused).
    case failure = 1
    /// `evaluatorctl verify`: the store cannot be read (a broken chain is `failure`).
    case storeUnreadable = 2
    /// `evaluatorctl status`: the daemon is not running (as `systemctl status` exits 3).
    case notRunning = 3
    /// The command line is wrong (argument-parser's own status).
    case usage = 64
    /// Another evaluatord holds the state folder (EX_TEMPFAIL); nothing was started.
    case busy = 75
    /// The configuration is invalid or unreadable (EX_CONFIG); nothing was started.
    case config = 78

    public var meaning: String {
        switch self {
        case .success: "success"
        case .failure: "failure: the daemon could not start or run, the daemon's API refused the request, or verify found the chain broken"
        case .storeUnreadable: "verify could not read the store"
        case .notRunning: "status: the daemon is not running (what the store shows is printed)"
        case .usage: "wrong command line"
        case .busy: "another evaluatord holds the state folder (EX_TEMPFAIL): nothing was started"
        case .config: "configuration error (EX_CONFIG): nothing was started; fix the file"
        }
    }
}
