import EvaluatorCore
import EvaluatorStore
import Foundation
import Synchronization

/// Pad and bus statistics for `devices` and status: presses (and presses today), last press,
/// errors, which node is attached. Kept off the gateway actor: device services report here
/// directly, and a status request reads a snapshot without waiting for the actor.
public final class PadStats: Sendable {
    struct Pad {
        var presses = 0
        /// Presses on `day` (the box's local calendar day).
        var pressesToday = 0
        var day = ""
        var lastPressAt: Millis?
        var errors = 0
        /// USB pads: the node being read, nil while detached.
        var attachedPath: String?
        /// Flooding until this minute ends.
        var floodingUntil: Millis?
    }

    struct Bus {
        var attached = false
        var errors = 0
    }

    private struct State {
        var pads: [PadID: Pad] = [:]
        var buses: [String: Bus] = [:]
        var today = LocalDay()
    }

    private let state = Mutex(State())

    public init() {}

    func countPress(_ pad: PadID, at now: Millis) {
        addToday(pad, 1, at: now) { p in
            p.presses += 1
            p.lastPressAt = now
        }
    }

    /// Adds to `pad`'s presses today, starting the count again on a new day.
    private func addToday(_ pad: PadID, _ n: Int, at now: Millis, also: (inout Pad) -> Void = { _ in }) {
        state.withLock { s in
            let day = s.today.name(of: now)
            var p = s.pads[pad] ?? Pad()
            if p.day != day {
                p.day = day
                p.pressesToday = 0
            }
            p.pressesToday += n
            also(&p)
            s.pads[pad] = p
        }
    }

    /// At start: the presses the store already counted today (from the rollups), so "presses
    /// today" counts the day, not the time since the daemon started.
    func seedToday(_ pad: PadID, count: Int, at now: Millis) {
        addToday(pad, count, at: now)
    }

    /// Presses today survive a restart: what the rollups counted today per window (ratings and
    /// presses that rated nothing), before any press of this run.
    func seedToday(from store: Store, config: GatewayConfig, at now: Millis) {
        guard let query = try? StatsQuery.parse(since: nil, until: nil, by: StatsGrouping.window.rawValue, now: now, timeZone: config.signals.timeZone),
              let report = try? store.stats(query) else { return }
        for g in report.groups {
            guard let pad = config.windows.first(where: { $0.id == g.key })?.pad?.id else { continue }
            seedToday(pad, count: g.rated + g.counts["no_case", default: 0], at: now)
        }
    }

    func flooding(_ pad: PadID, until: Millis) { state.withLock { $0.pads[pad, default: Pad()].floodingUntil = until } }
    func padError(_ pad: PadID) { state.withLock { $0.pads[pad, default: Pad()].errors += 1 } }
    func padAttached(_ pad: PadID, path: String?) { state.withLock { $0.pads[pad, default: Pad()].attachedPath = path } }
    func busAttached(_ bus: String, _ attached: Bool) { state.withLock { $0.buses[bus, default: Bus()].attached = attached } }
    /// Whether `pad` can be prompted now: its bus is open (serial) or its node is being read (USB).
    func isOnline(_ pad: PadID) -> Bool {
        state.withLock { s in
            if let bus = pad.bus { return s.buses[bus]?.attached ?? false }
            return s.pads[pad]?.attachedPath != nil
        }
    }

    func busError(_ bus: String) { state.withLock { $0.buses[bus, default: Bus()].errors += 1 } }

    /// Every configured pad, and every serial pad that pressed although no window owns it.
    func snapshot(config: GatewayConfig, now: Millis) -> [PadSnapshot] {
        let s = state.withLock { $0 }
        func flooding(_ p: Pad) -> Bool { p.floodingUntil.map { now < $0 } ?? false }
        var out: [PadSnapshot] = []
        for bus in config.buses {
            let b = s.buses[bus.id] ?? Bus()
            let ids = Set(config.windows.compactMap { $0.pad?.id.bus == bus.id ? $0.pad?.id : nil })
                .union(s.pads.keys.filter { $0.bus == bus.id })
            for id in ids.sorted() {
                let p = s.pads[id] ?? Pad()
                out.append(PadSnapshot(
                    pad: id, windowID: config.windows.first { $0.pad?.id == id }?.id, bus: bus.id, path: bus.port,
                    attached: b.attached, lastPressAt: p.lastPressAt, presses: p.presses, pressesToday: p.pressesToday,
                    errors: p.errors + b.errors, flooding: flooding(p)
                ))
            }
        }
        for w in config.windows {
            guard let pad = w.pad, pad.id.bus == nil else { continue }
            let p = s.pads[pad.id] ?? Pad()
            let path: String
            switch pad.source {
            case let .hid(_, configured): path = p.attachedPath ?? configured
            case let .udev(_, match): path = p.attachedPath ?? "udev: \(match)"
            case .screen: path = p.attachedPath ?? "websocket: not connected"
            case .serial: path = ""
            }
            out.append(PadSnapshot(
                pad: pad.id, windowID: w.id, bus: pad.screenName == nil ? "usb" : "screen", path: path, attached: p.attachedPath != nil,
                lastPressAt: p.lastPressAt, presses: p.presses, pressesToday: p.pressesToday, errors: p.errors, flooding: flooding(p)
            ))
        }
        return out
    }
}

/// The box's local calendar day, for "presses today", recomputed only when a press falls
/// outside the day last computed. localtime_r/mktime, not DateFormatter/Calendar: those load
/// ICU's data into the daemon's memory (idle RSS, issue 6).
struct LocalDay {
    private var start = Millis(0), end = Millis(0), cached = ""

    mutating func name(of now: Millis) -> String {
        if now < start || !(now < end) {
            var t = time_t(now.value >= 0 ? now.value / 1000 : (now.value - 999) / 1000)
            var parts = tm()
            localtime_r(&t, &parts)
            func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
            cached = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            var first = parts
            first.tm_hour = 0; first.tm_min = 0; first.tm_sec = 0; first.tm_isdst = -1
            var next = first
            next.tm_mday += 1
            let s = Int64(mktime(&first)) * 1000
            let e = Int64(mktime(&next)) * 1000
            (start, end) = (Millis(s), Millis(e > s ? e : s + 86_400_000))
        }
        return cached
    }
}
