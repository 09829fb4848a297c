import ArgumentParser
import AsyncHTTPClient
import EvaluatorCore
import EvaluatorWire
import EvaluatorProtocol
import EvaluatorStore
import Foundation
import NIOCore

/// `devices` and `simulate`: the pads.
extension Control {
    /// `/v1/devices` as an operator reads it.
    public static func devicesTable(json: String) throws -> String {
        let v = try JSONDecoder().decode(DevicesView.self, from: Data(json.utf8))
        var table = TextTable(["window", "pad", "state", "today", "errors", "last press", "path"], rightAligned: [3, 4])
        for p in v.pads {
            table.add([p.window_id ?? "-", p.pad, p.state, "\(p.presses_today)", "\(p.errors)", p.last_press_at ?? "-", p.path])
        }
        var out = table.lines
        out.append("hotplug: \(v.hotplug)")
        if !v.unconfigured.isEmpty {
            out.append("")
            out.append("unconfigured keypads (add the line to a [[window]] to bind one):")
            for f in v.unconfigured {
                out.append("  \(f.path) \(f.model ?? "")")
                out.append("    \(f.config_line ?? "(no ID_PATH: bind it with evdev = \"\(f.path)\")")")
            }
        }
        return out.joined(separator: "\n")
    }

    /// Runs a simulated pad: links `link` to the pty, answers each start-rating prompt with a
    /// press of `key` after `delayMs`, and prints what crosses the line. Returns after
    /// `answers` prompts (0 = forever).
    public static func simulate(link: String, address: UInt8, key: UInt8, delayMs: Int, answers: Int,
                                print out: @Sendable (String) -> Void) async throws {
        let pad = try SimulatedPad()
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent.isEmpty ? "." : (link as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pad.slavePath)
        defer { try? FileManager.default.removeItem(atPath: link) }
        out("simulated pad at address \(address): \(link) -> \(pad.slavePath); waiting for a start-rating prompt")
        var answered = 0
        while answers == 0 || answered < answers {
            guard let frame = await pad.nextFrame(timeoutMs: 1000) else {
                if Task.isCancelled { return }
                continue
            }
            guard frame.address == address else { continue }
            if frame.function == Framed68Frame.Function.ackOrStart && frame.data == [Framed68Frame.startRatingKey] {
                out("pad ← start rating   [\(frame)]")
                try await Task.sleep(for: .milliseconds(delayMs))
                let press = Framed68Frame.press(address: address, key: key)
                out("pad → press key \(key)  [\(press)]")
                pad.press(address: address, key: key)
                // Wait for the ack; press again (a retransmit) if it does not come.
                var acked = false
                for _ in 0..<5 where !acked {
                    if let ack = await pad.nextFrame(timeoutMs: 1000), ack == .ack(address: address, key: key) {
                        out("pad ← ack key \(key)    [\(ack)]")
                        acked = true
                    } else {
                        out("pad → no ack yet; sending the press again")
                        pad.press(address: address, key: key)
                    }
                }
                answered += 1
            }
        }
    }
}
