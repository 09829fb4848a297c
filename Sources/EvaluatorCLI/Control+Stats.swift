import ArgumentParser
import AsyncHTTPClient
import EvaluatorCore
import EvaluatorWire
import EvaluatorProtocol
import EvaluatorStore
import Foundation
import NIOCore

extension Control {
    /// A stats report as an aligned table: one line per group, then the total.
    public static func statsTable(_ r: StatsReport) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
        func num(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
        let header = [r.by.rawValue, "opened", "rated", "unrated", "superseded", "cancelled", "no_case", "particip.", "bad", "bad share", "mean",
                      "instant", "burst", "off_hours", "large_batch"]
        func row(_ g: StatsGroup, _ name: String) -> [String] {
            let f = g.flags
            return [name, "\(g.opened)", "\(g.rated)", "\(g.counts["unrated"] ?? 0)", "\(g.counts["superseded"] ?? 0)", "\(g.counts["cancelled"] ?? 0)",
                    "\(g.counts["no_case"] ?? 0)", pct(g.participation), "\(g.counts["bad"] ?? 0)", pct(g.badShare), num(g.meanScore),
                    "\(f["instant"] ?? 0)", "\(f["burst"] ?? 0)", "\(f["off_hours"] ?? 0)", "\(f["large_batch"] ?? 0)"]
        }
        var table = TextTable(header, rightAligned: Set(1..<header.count), ruleBeforeLast: true)
        for g in r.groups { table.add(row(g, g.key ?? "(none)")) }
        table.add(row(r.total, "total"))
        let out = ["statistics \(r.since.rfc3339) … \(r.until.rfc3339) by \(r.by.rawValue)"] + table.lines
        return out.joined(separator: "\n")
    }
}
