import Foundation
import Testing
@testable import EvaluatorCore

/// Scenario tables for the window-session policy, keyd-style: each step carries its time
/// (a virtual clock in ms); each expectation is a compact line per decision.
enum Step {
    case open(Int64, String, String, batch: [String] = [], timeoutS: Int64? = nil, staff: String? = nil, matter: String? = nil, session: String)
    /// An open of a case at a stage (issue 22), `servicesBefore` as the gateway found in the store.
    case openStage(Int64, String, String, stage: String?, session: String, servicesBefore: Int = 0, ratedBefore: String? = nil)
    case press(Int64, String, Int)
    case cancel(Int64, String)
    case tick(Int64)
    /// A USB pad with reason keys at W02 (`evdev:W02`), keymap `reasonPad`.
    case key(Int64, Int)
    /// The screen pad `screen:T1` at W04 rates a session (issue 14).
    case rate(Int64, String, Level, reason: String? = nil, text: String? = nil, dims: [String: Level]? = nil)
    /// The gateway tells the policy that `screen:T1`'s rating of a session was acked as a record id.
    case acked(String, recordID: String)
    /// Another screen pad (`screen:T9`, at no window) sends a rating of a session.
    case rateFromOther(Int64, String, Level)
}

/// The screen options of the scenarios: two reasons for 不满意, one dimension.
let screenOptions: ScreenOptions = {
    var o = ScreenOptions()
    o.reasons = [.dissatisfied: [ReasonItem(code: "207", text: "等候时间长"), ReasonItem(code: "208", text: "服务态度差")]]
    o.dimensions = [DimensionItem(id: "attitude", text: "服务态度")]
    return o
}()

/// KP1..KP5 levels; F1/F2 reasons 207/208.
let reasonPad = KeyMap(name: "r", levels: KeyMap.keypadFive.levels, reasons: [59: "207", 60: "208"])

func compact(_ d: Decision) -> String {
    switch d {
    case let .record(r):
        var s = "record \(r.outcome.rawValue) \(r.windowID ?? "-") \(r.caseID ?? "-")"
        if r.outcome == .service || (r.stage != nil && r.stage != Stages.defaultList[0]) { s += " \(r.stage ?? "-")#\(r.serviceNo.map(String.init) ?? "-")" }
        if let l = r.level { s += " \(l.rawValue)" }
        if !r.batchCaseIDs.isEmpty { s += " batch=\(r.batchCaseIDs.joined(separator: ","))" }
        if let reason = r.reason { s += " reason=\(reason)" }
        if let text = r.reasonText { s += " text=\(text)" }
        if let dims = r.dimensions { s += " dims=\(dims.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.rawValue)" }.joined(separator: ","))" }
        if !r.flags.isEmpty { s += " [\(r.flags.map(\.rawValue).joined(separator: ","))]" }
        if let c = r.count { s += " count=\(c)" }
        // ended_by of a cancel or supersede has its own test (callers); shown for an expiry only.
        if let by = r.endedBy, r.outcome == .unrated, !r.flags.contains(.superseded) { s += " ended_by=\(by)" }
        for e in r.edits ?? [] { s += " edit@\(e.at.value):\(e.by):\(e.field):\(e.from ?? "null")→\(e.to ?? "null")" }
        return s
    case let .saveSession(s): return "save \(s.sessionID)\(s.ratedAt != nil ? " rated" : "")"
    case let .removeSession(id): return "remove \(id)"
    case let .prompt(w, _): return "prompt \(w)"
    case let .ack(p, k, r): return "ack \(p) \(k)\(r ? " repeat" : "")"
    case let .opened(s, reused, updated): return "opened \(s.sessionID)\(reused ? " reused" : "")\(updated ? " updated" : "") until \(s.expiresAt.value)"
    case let .cancelled(s): return "cancelled \(s.sessionID)"
    case let .rejected(r): return "rejected \(r)"
    case let .unknownKey(p, k): return "unknown-key \(p) \(k)"
    case let .strayReason(p, k, r): return "stray-reason \(p) \(k) \(r)"
    case let .saveFlood(f): return "flood \(f.pad) \(f.count)"
    case let .removeFlood(p): return "flood-end \(p)"
    case let .flooding(p, max, _): return "flooding \(p) >\(max)/min"
    case let .screenRated(p, sid): return "screen-ack \(p) \(sid)"
    case let .screenRefused(p, sid, code, _): return "screen-refused \(p) \(sid) \(code.rawValue)"
    case let .screenAckedBefore(p, sid, id): return "screen-ack-again \(p) \(sid) \(id)"
    case let .saveWindowState(w, st): return "save-window \(w) staff=\(st.staff?.staffID ?? "-") paused=\(st.paused)"
    case let .windowState(w, before, after): return "window \(w)\(before == after ? " unchanged" : "")"
    }
}

let windows: [String: WindowInfo] = [
    "W01": WindowInfo(id: "W01", name: "1号窗", department: "自然资源局", pad: .serial(bus: "bus1", address: 3)),
    "W02": WindowInfo(id: "W02", name: "2号窗", department: "市场监管局", pad: .serial(bus: "bus1", address: 4)),
    "W03": WindowInfo(id: "W03", name: "3号窗", department: "税务局", pad: .serial(bus: "bus1", address: 5)),
    "W04": WindowInfo(id: "W04", name: "4号窗", department: "行政审批服务局", pad: .screen(name: "T1")),
]
/// The pads of the scenarios: "68" pads at bus1#3 (W01) and bus1#4 (W02); W02 also has a USB pad
/// with reason keys (`evdev:W02`).
let pads = PadDirectory(entries: [
    .init(pad: .serial(bus: "bus1", address: 3), windowID: "W01", keymap: .framed68FourKey),
    .init(pad: .serial(bus: "bus1", address: 4), windowID: "W02", keymap: .framed68FourKey),
    .init(pad: .evdev(window: "W02"), windowID: "W02", keymap: reasonPad),
    // A custom map that knows only key 3: key 0 is unknown, never the built-in 不满意.
    .init(pad: .serial(bus: "bus1", address: 5), windowID: "W03", keymap: KeyMap(name: "one-key", levels: [3: .verySatisfied])),
    .init(pad: .screen(name: "T1"), windowID: "W04", keymap: KeyMap(name: "screen", levels: [:])),
])

/// Signal rules that flag nothing, for the scenarios about other rules (the signals have their own).
let quietSignals: SignalRules = {
    var r = SignalRules()
    r.instantMs = 0
    r.burstPresses = 1000
    return r
}()

/// `services`: show the service records an open makes (issue 22); the tables about other rules
/// leave them out.
func run(_ steps: [Step], restoring: [Session] = [], maxPressesPerMinute: Int = 30, signals: SignalRules = quietSignals,
         stages: [String]? = nil, maxServices: Int = 8, services: Bool = false) -> [[String]] {
    var config = SessionPolicyConfig(windows: windows, pads: pads, scores: .standard, defaultTimeoutMs: 30_000, retransmitWindowMs: 1500, reasonWindowMs: 5000)
    if let stages { config.stages = stages }
    config.maxServicesPerCase = maxServices
    config.maxPressesPerMinute = maxPressesPerMinute
    config.signals = signals
    config.screen = screenOptions
    var policy = WindowSessions(config: config, restoring: restoring)
    return steps.map { step in
        let event: SessionEvent
        switch step {
        case let .open(t, w, c, batch, timeout, staff, matter, session):
            event = .open(windowID: w, sessionID: session, request: EvaluationRequest(caseID: c, batchCaseIDs: batch, matterName: matter, staffID: staff,
                                                                                       timeoutMs: timeout.map { $0 * 1000 }),
                          by: "queue", at: Millis(t))
        case let .openStage(t, w, c, stage, session, before, rated):
            event = .open(windowID: w, sessionID: session, request: EvaluationRequest(caseID: c, stage: stage), by: "queue", at: Millis(t),
                          ratedBefore: rated, servicesBefore: before)
        case let .press(t, pad, key):
            event = .press(pad: PadID(pad)!, key: key, at: Millis(t))
        case let .cancel(t, w): event = .cancel(windowID: w, by: "clerk-pc", at: Millis(t))
        case let .tick(t): event = .tick(at: Millis(t))
        case let .key(t, code):
            event = .press(pad: .evdev(window: "W02"), key: code, at: Millis(t))
        case let .rate(t, session, level, reason, text, dims):
            event = .rate(pad: .screen(name: "T1"), rating: ScreenRating(sessionID: session, level: level, reason: reason, reasonText: text, dimensions: dims), at: Millis(t))
        case let .acked(session, id): event = .screenAcked(pad: .screen(name: "T1"), sessionID: session, recordID: id)
        case let .rateFromOther(t, session, level):
            event = .rate(pad: .screen(name: "T9"), rating: ScreenRating(sessionID: session, level: level, reason: nil, reasonText: nil, dimensions: nil), at: Millis(t))
        }
        return policy.handle(event).map(compact).filter { services || !$0.hasPrefix("record service ") }
    }
}
