import Foundation

/// The embedded default that `evaluatord --demo` and `make demo` run on: everything local,
/// relative to the working folder, one simulated pad on a pty linked at `.demo/pad-bus1`, and a
/// screen pad (`T1` at W02) whose page a browser opens (its token in `.demo/tokens`, which
/// `evaluatord --demo` writes with random tokens the first time: `DemoTokens` in
/// EvaluatorSupport — Core reads no file it is not handed and writes none).
public enum DemoConfig {
    /// The demo's tokens file, relative to the working folder.
    public static let tokensFile = ".demo/tokens"

    public static let toml = """
    [gateway]
    id = "370211-demo-01"
    region = "370211"
    state_dir = ".demo/state"

    [api]
    listen = "127.0.0.1:8740"
    tokens_file = ".demo/tokens"

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

    [[window]]
    id = "W02"
    name = "综合受理2号窗"
    department = "行政审批服务局"
    pad = { screen = "T1" }

    # An example set: the province's list of reason codes replaces it.
    [reasons.dissatisfied]
    207 = "等候时间过长"
    208 = "服务态度不好"
    209 = "一次告知不清"

    [reasons.very_dissatisfied]
    108 = "办事效率低"
    109 = "要求重复提交材料"
    110 = "服务态度恶劣"
    """
}
