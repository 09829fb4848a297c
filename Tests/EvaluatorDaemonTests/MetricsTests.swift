import AsyncHTTPClient
import CoreMetrics
import EvaluatorCore
@testable import EvaluatorDaemon
import EvaluatorTestSupport
import Foundation
import Testing

/// Prometheus text with its families in name order, and the series of a counter or gauge in
/// label order (the registry emits both in hash order; a histogram's lines keep theirs).
func sortedFamilies(_ text: String) -> String {
    var families: [[String]] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
        if line.hasPrefix("# TYPE") || families.isEmpty { families.append([line]) } else { families[families.count - 1].append(line) }
    }
    return families.sorted { $0[0] < $1[0] }.map { f in
        (f[0].hasSuffix(" histogram") ? f : [f[0]] + f.dropFirst().sorted()).joined(separator: "\n")
    }.joined(separator: "\n") + "\n"
}

@Suite("metrics: Prometheus text (issue 13)")
struct MetricsTests {
    @Test("golden text: presses, records, press → ack, decoder resyncs, uplink requests and upload time, pads up, backlog and its age, build info")
    func golden() throws {
        let m = DaemonMetrics()
        m.declare(windows: try testConfig(dir: temporaryFolder(), receiverPort: nil).windows)
        m.press(window: "W01")
        m.press(window: "W01")
        m.press(window: nil)
        m.record(outcome: "rated", level: "very_satisfied")
        m.record(outcome: "timeout", level: nil)
        m.pressToAck(ms: 12)
        m.pressToAck(ms: 700)
        m.decoderResync(bus: "bus1")
        CoreMetrics.Counter(label: "evaluatord_uplink_requests_total", dimensions: [("result", "accepted")], factory: m.factory).increment()
        CoreMetrics.Timer(label: "evaluatord_upload_seconds", factory: m.factory).recordMilliseconds(80)
        let status = StatusSnapshot(gatewayID: "g", region: "r", startedAt: Millis(0), at: Millis(91_000), health: HealthSnapshot(status: .ok, problems: []),
                                    records: 2, backlog: 2, oldestWaitingAt: Millis(1_000), quarantined: 0, uplink: UplinkStatus(state: .ok, target: ""), openSessions: 1,
                                    pads: [PadSnapshot(pad: .serial(bus: "bus1", address: 3), windowID: "W01", bus: "bus1", path: "/dev/ttyUSB0",
                                                       attached: true, lastPressAt: nil, presses: 2, pressesToday: 2, errors: 0)])
        let text = sortedFamilies(m.render(status: status, now: Millis(91_000)))
        let build = BuildInfo.commit.map { "version=\"\(BuildInfo.version)\",commit=\"\($0)\"" } ?? "version=\"\(BuildInfo.version)\""
        #expect(text == """
        # TYPE evaluatord_backlog_oldest_seconds gauge
        evaluatord_backlog_oldest_seconds 90.0
        # TYPE evaluatord_backlog_records gauge
        evaluatord_backlog_records 2.0
        # TYPE evaluatord_build_info gauge
        evaluatord_build_info{\(build)} 1.0
        # TYPE evaluatord_decoder_resyncs_total counter
        evaluatord_decoder_resyncs_total{bus="bus1"} 1
        # TYPE evaluatord_open_evaluations gauge
        evaluatord_open_evaluations 1.0
        # TYPE evaluatord_pad_up gauge
        evaluatord_pad_up{pad="bus1#3",window="W01"} 1.0
        # TYPE evaluatord_press_to_ack_seconds histogram
        evaluatord_press_to_ack_seconds_bucket{le="0.005"} 0
        evaluatord_press_to_ack_seconds_bucket{le="0.01"} 0
        evaluatord_press_to_ack_seconds_bucket{le="0.025"} 1
        evaluatord_press_to_ack_seconds_bucket{le="0.05"} 1
        evaluatord_press_to_ack_seconds_bucket{le="0.1"} 1
        evaluatord_press_to_ack_seconds_bucket{le="0.25"} 1
        evaluatord_press_to_ack_seconds_bucket{le="0.5"} 1
        evaluatord_press_to_ack_seconds_bucket{le="1.0"} 2
        evaluatord_press_to_ack_seconds_bucket{le="2.5"} 2
        evaluatord_press_to_ack_seconds_bucket{le="+Inf"} 2
        evaluatord_press_to_ack_seconds_sum 0.712
        evaluatord_press_to_ack_seconds_count 2
        # TYPE evaluatord_presses_total counter
        evaluatord_presses_total{window="W01"} 2
        evaluatord_presses_total{window="W02"} 0
        evaluatord_presses_total{window="unassigned"} 1
        # TYPE evaluatord_records_total counter
        evaluatord_records_total{outcome="rated",level="very_satisfied"} 1
        evaluatord_records_total{outcome="timeout",level="none"} 1
        # TYPE evaluatord_uplink_requests_total counter
        evaluatord_uplink_requests_total{result="accepted"} 1
        # TYPE evaluatord_upload_seconds histogram
        evaluatord_upload_seconds_bucket{le="0.05"} 0
        evaluatord_upload_seconds_bucket{le="0.1"} 1
        evaluatord_upload_seconds_bucket{le="0.25"} 1
        evaluatord_upload_seconds_bucket{le="0.5"} 1
        evaluatord_upload_seconds_bucket{le="1.0"} 1
        evaluatord_upload_seconds_bucket{le="2.5"} 1
        evaluatord_upload_seconds_bucket{le="5.0"} 1
        evaluatord_upload_seconds_bucket{le="10.0"} 1
        evaluatord_upload_seconds_bucket{le="30.0"} 1
        evaluatord_upload_seconds_bucket{le="+Inf"} 1
        evaluatord_upload_seconds_sum 0.08
        evaluatord_upload_seconds_count 1

        """)
    }

    @Test("GET /metrics from the running daemon: a read token is needed; a press is counted, timed to its ack and uploaded")
    func endToEnd() async throws {
        let dir = temporaryFolder()
        let pad = try plugPad(dir: dir)
        defer { pad.close() }
        let receiver = Receiver()
        try await receiver.start()
        let config = try testConfig(dir: dir, receiverPort: receiver.port, api: "tokens_file = \"\(try writeTokens(dir))\"")
        let daemon = try await RunningDaemon(config: config, logger: LogCapture().logger)
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "M-1"}"#, token: apiToken).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))
        pad.press(address: 3, key: 1)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 1))
        #expect(await eventually(5) { receiver.records(case: "M-1").count == 1 })

        #expect(try await daemon.request(.GET, "/metrics").0 == 401)
        #expect(try await metrics(daemon, token: apiToken).0 == 200)
        var text = ""
        #expect(await eventually(5) {
            text = (try? await metrics(daemon, token: readToken).1) ?? ""
            // The service record (issue 22) and the rating: one batch or two, as the uplink woke.
            return text.contains("evaluatord_backlog_records 0.0")
                && (text.contains(#"evaluatord_uplink_requests_total{result="accepted"} 1"#) || text.contains(#"evaluatord_uplink_requests_total{result="accepted"} 2"#))
        }, "\(text)")
        #expect(text.contains("evaluatord_upload_seconds_count ") && !text.contains("evaluatord_upload_seconds_count 0"), "\(text)")
        for line in [#"evaluatord_presses_total{window="W01"} 1"#, #"evaluatord_presses_total{window="W02"} 0"#,
                     #"evaluatord_records_total{outcome="rated",level="basic"} 1"#, "evaluatord_press_to_ack_seconds_count 1",
                     #"evaluatord_pad_up{pad="bus1#3",window="W01"} 1.0"#, "evaluatord_backlog_records 0.0",
                     "evaluatord_build_info{version=\"\(BuildInfo.version)\""] {
            #expect(text.contains(line), "missing: \(line)")
        }
        await daemon.stop()
        await receiver.stop()
    }

    func metrics(_ daemon: RunningDaemon, token: String) async throws -> (Int, String) {
        var r = HTTPClientRequest(url: daemon.api + "/metrics")
        r.headers.add(name: "Authorization", value: "Bearer \(token)")
        let resp = try await HTTPClient.shared.execute(r, timeout: .seconds(10))
        #expect(resp.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return (Int(resp.status.code), String(buffer: try await resp.body.collect(upTo: 1 << 20)))
    }
}
