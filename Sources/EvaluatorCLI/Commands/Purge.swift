import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete this gateway's store and pairings (decommissioning, a fresh start) — never ratings the centre does not have, unless told how many.",
        discussion: "Refused while evaluatord runs. With ratings not yet accepted by the centre (waiting or quarantined) it refuses and names their count; --force COUNT with exactly that count deletes them anyway. Make a backup first (evaluatorctl backup)."
    )
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "The number of unsent ratings you accept to lose (as purge named it).") var force: Int?
    @Flag(name: .long, help: "Delete nothing: exit 0 when nothing is unsent, 1 when something is (the package's removal asks this).") var check = false
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.purge(config: config, force: force, checkOnly: check), json: json)
    }
}
