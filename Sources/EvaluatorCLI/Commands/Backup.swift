import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write an online, consistent copy of the store (works while the daemon runs).")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The new file to write (never overwritten).") var destination: String
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() throws {
        let config = try options.load()
        do {
            try Control.emit(try Control.backup(config: config, destination: destination, progress: isatty(2) == 1 && !json), json: json)
        } catch let e as ExitCode {
            throw e
        } catch {
            printError("evaluatorctl backup: \(error)")
            throw ExitCode(.failure)
        }
    }
}
