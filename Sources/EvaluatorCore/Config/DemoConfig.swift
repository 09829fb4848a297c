/// The embedded default that `evaluatord --demo` and `make demo` run on: everything local,
/// relative to the working folder, one simulated pad on a pty linked at `.demo/pad-bus1`.
public enum DemoConfig {
    public static let toml = """
    [gateway]
    id = "370211-demo-01"
    region = "370211"
    state_dir = ".demo/state"

    [api]
    listen = "127.0.0.1:8740"

    [session]
    timeout_s = 30
    retransmit_window_ms = 1500

    [[bus]]
    id = "bus1"
    port = ".demo/pad-bus1"
    baud = 9600
    protocol = "framed68"

    [[window]]
    id = "W01"
    name = "不动产登记1号窗"
    department = "自然资源局"
    pad = { bus = "bus1", address = 3, keymap = "framed68-4key" }
    """
}
