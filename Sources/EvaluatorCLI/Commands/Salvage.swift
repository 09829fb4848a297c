import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Salvage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-import the readable unsent records of a damaged store evaluatord moved aside (same record ids), and its rated cases (R3).",
        discussion: "Through the daemon's API while it runs, directly otherwise. Salvaging twice imports once."
    )
    @OptionGroup var options: ConfigOption
    @Argument(help: "The damaged file (evaluatord.sqlite.damaged-…).") var file: String
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        do {
            try Control.emit(try await Control.salvage(config: config, file: file, api: try options.api(config, admin: true), progress: isatty(2) == 1 && !json), json: json)
        } catch let e as StoreError {
            printError("evaluatorctl salvage: \(e)")
            throw ExitCode(.failure)
        }
    }
}
