import EvaluatorTestSupport
import Foundation
import Testing

/// systemd-analyze, from Debian's `systemd` package (make deps installs it).
let systemdAnalyze = "/usr/bin/systemd-analyze"

@Suite("the systemd unit: hardened and valid (issue 13)")
struct UnitFileTests {
    let unit = repoRoot.appendingPathComponent("Systemd/evaluatord.service").path

    @Test("systemd-analyze security --offline rates the unit 1.5 or better",
          .enabled(if: FileManager.default.isExecutableFile(atPath: systemdAnalyze)))
    func exposure() throws {
        let dir = temporaryFolder()
        try FileManager.default.copyItem(atPath: unit, toPath: dir + "/evaluatord.service")
        let (status, out) = try runCommand(systemdAnalyze, ["security", "--offline=yes", "--no-pager", "evaluatord.service"], cwd: dir)
        let line = try #require(out.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(status): \(out)")
        // "→ Overall exposure level for evaluatord.service: 1.5 OK 🙂" — in the C locale (env -i)
        // the smiley is ":-)", so the figure is taken by its pattern, not the last ":" field.
        let score = try #require(Self.exposure(String(line)), "\(line)")
        #expect(score <= 1.5, "the unit's exposure rose to \(score): \(out.split(separator: "\n").filter { $0.hasPrefix("✗") }.joined(separator: "\n"))")
    }

    /// The figure of "Overall exposure level for UNIT: N.N …", whatever follows it.
    static func exposure(_ line: String) -> Double? {
        guard let m = line.firstMatch(of: /Overall exposure level for [^:]+: ([0-9]+\.[0-9]+)/) else { return nil }
        return Double(m.1)
    }

    @Test("the exposure figure is read in any locale (the C locale prints \":-)\" after it)")
    func exposureParsing() {
        #expect(Self.exposure("→ Overall exposure level for evaluatord.service: 1.5 OK 🙂") == 1.5)
        #expect(Self.exposure("-> Overall exposure level for evaluatord.service: 1.5 OK :-)") == 1.5)
        #expect(Self.exposure("-> Overall exposure level for evaluatord.service: 9.6 UNSAFE :-{") == 9.6)
    }

    /// `verify` checks that ExecStart= names an executable: the copy points the two commands at
    /// this build's binaries (the only change made to it).
    @Test("systemd-analyze verify finds nothing to say about the unit",
          .enabled(if: FileManager.default.isExecutableFile(atPath: systemdAnalyze)))
    func verify() throws {
        let dir = temporaryFolder()
        let text = try String(contentsOfFile: unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/bin/evaluatord ", with: builtExecutable("evaluatord") + " ")
            .replacingOccurrences(of: "/usr/bin/evaluatorctl ", with: builtExecutable("evaluatorctl") + " ")
        #expect(text.contains(builtExecutable("evaluatorctl")) && text.contains(builtExecutable("evaluatord")))
        try text.write(toFile: dir + "/evaluatord.service", atomically: true, encoding: .utf8)
        let (status, out) = try runCommand(systemdAnalyze, ["verify", "--man=no", dir + "/evaluatord.service"])
        #expect(status == 0 && out.isEmpty, "\(out)")
    }
}
