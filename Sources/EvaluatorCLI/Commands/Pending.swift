import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Pending: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List records not yet accepted by the central store (or only the quarantined ones).")
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Only records the central store refused (poison records), with its answer.") var quarantined = false
    @Option(name: .long, help: "How many records.") var limit = 50
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() throws {
        let config = try options.load()
        print(json ? try Control.pendingJSON(config: config, quarantined: quarantined, limit: limit)
                   : try Control.pendingTable(config: config, quarantined: quarantined, limit: limit))
    }
}
