import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Records: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show recent records from the store (no rater data).")
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "How many records.") var limit = 20
    @Flag(name: .long, help: "Print the stored record objects as a JSON array, oldest first.") var json = false

    func run() throws {
        let config = try options.load()
        print(json ? try Control.recordsJSON(config: config, limit: limit) : try Control.recordsTable(config: config, limit: limit))
    }
}
