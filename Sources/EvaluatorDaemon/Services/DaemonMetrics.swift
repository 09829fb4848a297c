import CoreMetrics
import EvaluatorCore
import Foundation
import Prometheus
import Synchronization

/// The daemon's metrics (issue 13), through swift-metrics into one explicit swift-prometheus
/// registry (no global bootstrap: each daemon, and each test, has its own). Events count as
/// they happen; the state gauges (pads up, backlog, its oldest age) are set when `/metrics` is
/// read. Labels are bounded: windows, pads and buses come from the config, results and
/// outcomes are enums.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    public let factory: PrometheusMetricsFactory
    /// Counters already made, by name and labels (making one looks it up in the registry under its lock).
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    /// The pad gauges set by the last read: a pad gone after a reload is removed.
    private let padGauges = Mutex<[String: CoreMetrics.Gauge]>([:])

    /// Press → ack: a key pad answers within tens of milliseconds; a second is already wrong.
    static let pressToAckBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                                .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5)]
    /// One batch to the central store, from a LAN server to a slow provincial link.
    static let uploadBuckets: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]

    private let pressToAckTimer: CoreMetrics.Timer

    public init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.durationHistogramBuckets = ["evaluatord_press_to_ack_seconds": Self.pressToAckBuckets,
                                      "evaluatord_upload_seconds": Self.uploadBuckets]
        factory = f
        pressToAckTimer = CoreMetrics.Timer(label: "evaluatord_press_to_ack_seconds", factory: f)
        var labels = [("version", BuildInfo.version)]
        if let commit = BuildInfo.commit { labels.append(("commit", commit)) }
        CoreMetrics.Gauge(label: "evaluatord_build_info", dimensions: labels, factory: factory).record(1)
    }

    private func count(_ name: String, _ labels: [(String, String)], by amount: Int = 1) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let counter = counters.withLock { c in
            if let existing = c[key] { return existing }
            let made = CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
            c[key] = made
            return made
        }
        counter.increment(by: amount)
    }

    /// Every configured window's press counter at 0, so a window that never pressed is a 0 on
    /// a dashboard, not a missing series.
    func declare(windows: [WindowConfig]) {
        for w in windows where w.pad != nil { count("evaluatord_presses_total", [("window", w.id)], by: 0) }
    }

    /// A key press from a window's pad (`unassigned` for a serial address no window owns).
    func press(window: String?) { count("evaluatord_presses_total", [("window", window ?? "unassigned")]) }

    /// A record made durable.
    func record(outcome: String, level: String?) { count("evaluatord_records_total", [("outcome", outcome), ("level", level ?? "none")]) }

    func pressToAck(ms: Int64) {
        pressToAckTimer.recordMilliseconds(ms)
    }

    /// A screen pad's connection ended by the gateway (issue 20): `replaced` by a newer one,
    /// `heartbeat` missed, `revoked` (its secret changed: reload or a new pairing).
    func screenDisconnect(pad: PadID, reason: String) { count("evaluatord_screen_disconnects_total", [("pad", pad.description), ("reason", reason)]) }

    /// The serial decoder skipped bytes to find the next frame.
    func decoderResync(bus: String) { count("evaluatord_decoder_resyncs_total", [("bus", bus)]) }

    /// The Prometheus text, with the state gauges set from `status` now.
    public func render(status: StatusSnapshot, now: Millis) -> String {
        padGauges.withLock { gauges in
            var seen: Set<String> = []
            for p in status.pads {
                let key = "\(p.pad)|\(p.windowID ?? "")"
                seen.insert(key)
                let g = gauges[key] ?? CoreMetrics.Gauge(label: "evaluatord_pad_up", dimensions: [("pad", "\(p.pad)"), ("window", p.windowID ?? "unassigned")], factory: factory)
                gauges[key] = g
                g.record(p.attached ? 1 : 0)
            }
            for (key, g) in gauges where !seen.contains(key) {
                g.destroy()
                gauges[key] = nil
            }
        }
        CoreMetrics.Gauge(label: "evaluatord_backlog_records", factory: factory).record(status.backlog)
        CoreMetrics.Gauge(label: "evaluatord_backlog_oldest_seconds", factory: factory)
            .record(Double(status.oldestWaitingAt.map { max(0, now.value - $0.value) } ?? 0) / 1000)
        CoreMetrics.Gauge(label: "evaluatord_open_evaluations", factory: factory).record(status.openSessions)
        return registry.emitToString()
    }
}
