import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

/// `evaluatorctl status` as one screen, like `systemctl status` (issue 13): the state and what
/// is wrong first, then the pads with their own liveness, the backlog and its oldest age, the
/// uplink, the last reload. Colour only on a terminal.
public enum StatusScreen {
    /// Local times in the gateway's time zone; ages in words.
    struct Clock {
        let zone: TimeZone
        let now: Millis

        func time(_ m: Millis) -> String {
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = zone
            let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(m.value) / 1000))
            let sameDay = cal.isDate(Date(timeIntervalSince1970: Double(m.value) / 1000), inSameDayAs: Date(timeIntervalSince1970: Double(now.value) / 1000))
            let hms = String(format: "%02d:%02d:%02d", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
            return sameDay ? hms : String(format: "%04d-%02d-%02d ", c.year ?? 0, c.month ?? 0, c.day ?? 0) + hms
        }

        func time(_ rfc3339: String?) -> String? { rfc3339.flatMap(Millis.parseRFC3339).map(time) }
    }

    /// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
    static func age(_ seconds: Int64) -> String {
        switch seconds {
        case ..<60: "\(seconds) s"
        case ..<3600: "\(seconds / 60) min"
        case ..<86_400: "\(seconds / 3600) h \(seconds % 3600 / 60) min"
        default: "\(seconds / 86_400) d \(seconds % 86_400 / 3600) h"
        }
    }

    static func paint(_ text: String, _ code: String, _ color: Bool) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// The running daemon's status.
    public static func render(_ s: StatusView, timeZone: TimeZone, now: Millis, color: Bool) -> String {
        let clock = Clock(zone: timeZone, now: now)
        let dot = paint("●", s.state == "ok" ? "32" : s.state == "degraded" ? "33" : "31", color)
        var out = ["\(dot) evaluatord \(s.version) — \(paint(s.state, s.state == "ok" ? "32" : s.state == "degraded" ? "33" : "1;31", color))"]
        out.append("    gateway: \(s.gateway_id) (region \(s.region)), up \(age(s.uptime_s)) since \(clock.time(s.started_at) ?? s.started_at)")
        if !s.problems.isEmpty {
            out.append("   problems:")
            for p in s.problems { out.append("     " + paint(p.code, "33", color) + ": " + p.message) }
        }
        let attached = s.pads.filter { $0.state == "attached" || $0.state == "flooding" }.count
        out.append("       pads: \(attached)/\(s.pads.count) attached")
        for p in s.pads {
            let state = p.state == "attached" ? p.state : paint(p.state, p.state == "detached" ? "31" : "33", color)
            let last = clock.time(p.last_press_at).map { "last press \($0)" } ?? "no press yet"
            out.append("             \(pad(p.window_id ?? "-", 6)) \(pad(p.pad, 14)) \(pad(p.kind, 7)) \(state)  \(last), \(p.presses_today) today"
                       + (p.errors > 0 ? ", \(p.errors) errors" : ""))
        }
        var backlog = "\(s.backlog.records) record\(s.backlog.records == 1 ? "" : "s") waiting"
        if let age = s.backlog.oldest_age_s { backlog += ", oldest \(Self.age(age))" }
        if s.backlog.quarantined > 0 { backlog += "; " + paint("\(s.backlog.quarantined) quarantined", "33", color) + " (evaluatorctl pending --quarantined)" }
        out.append("    backlog: \(backlog)")
        out += uplinkLines(s.uplink, clock: clock, color: color)
        out.append("  open eval: \(s.open_sessions)")
        if let r = s.last_reload {
            out.append("last reload: \(clock.time(r.at) ?? r.at) \(r.result) (\(r.trigger))" + (r.message.map { ": \($0)" } ?? ""))
        }
        if let c = s.chain { out.append("      chain: \(c.chain_id) seq \(c.seq)") }
        return out.joined(separator: "\n")
    }

    static func uplinkLines(_ u: StatusView.UplinkView, clock: Clock, color: Bool) -> [String] {
        var out: [String] = []
        switch u.state {
        case "none":
            out.append("     uplink: none (records kept locally)")
        case "failing":
            var line = "     uplink: " + paint("failing", "31", color)
            if let since = clock.time(u.failing_since) { line += " since \(since)" }
            line += " (\(u.attempts) attempt\(u.attempts == 1 ? "" : "s"))"
            if let next = clock.time(u.next_retry_at) { line += ", next retry \(next)" }
            out.append(line + " → \(u.target)")
            if let e = u.last_error { out.append("             last error: \(e)") }
        default:
            out.append("     uplink: ok → \(u.target)")
        }
        out.append("last upload: " + (clock.time(u.last_upload_at) ?? "none yet"))
        return out
    }

    /// With the daemon down: says so and shows what the store can tell.
    public static func renderDown(reason: String, config: GatewayConfig, now: Millis, color: Bool) async -> String {
        let clock = Clock(zone: config.signals.timeZone, now: now)
        var out = ["\(paint("○", "31", color)) evaluatord is not running (\(reason))"]
        do {
            let store = try Store(readOnlyPath: config.databasePath, timeZone: config.signals.timeZone)
            let counts = try await store.counts()
            let oldest = try await store.oldestWaiting()
            var backlog = "\(counts.backlog) record\(counts.backlog == 1 ? "" : "s") waiting"
            if let oldest { backlog += ", oldest \(age(max(0, (now.value - oldest.value) / 1000)))" }
            if counts.quarantined > 0 { backlog += "; \(counts.quarantined) quarantined" }
            out.append("   from the store \(config.databasePath):")
            out.append("    records: \(counts.records)")
            out.append("    backlog: \(backlog)")
            out.append("last upload: " + (counts.lastSentAt.map(clock.time) ?? "none yet"))
            out.append("  open eval: \(try store.openSessions().count) (kept for the next start)")
        } catch {
            out.append("   the store cannot be read: \(error)")
        }
        return out.joined(separator: "\n")
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}
