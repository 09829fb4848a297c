import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the records of a period as CSV or JSON lines (no rater data; a column says whether the centre has them).",
        discussion: "DATE is YYYY-MM-DD (a day in gateway.time_zone; --until includes it) or RFC 3339 on the hour; default today. Works while the daemon runs. Progress on a terminal, none in a pipe."
    )
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "From DATE (default: the start of today).") var since: String?
    @Option(name: .long, help: "Until DATE (default: the end of today).") var until: String?
    @Option(name: .long, help: "csv or jsonl.") var format = "csv"
    @Option(name: .long, help: "Write to this new file instead of standard output.") var output: String?
    @Flag(name: .long, help: "Print a JSON summary {\"records\", \"since\", \"until\", \"format\", \"output\"} on standard error (with --output: on standard output).") var json = false

    func run() throws {
        let config = try options.load()
        guard let fmt = RecordExport.Format(rawValue: format) else {
            printError("evaluatorctl export: --format \"\(format)\" is not one of csv, jsonl")
            throw ExitCode(.usage)
        }
        let query: StatsQuery
        do {
            query = try StatsQuery.parse(since: since, until: until, by: nil, now: Millis(date: Date()), timeZone: config.signals.timeZone)
        } catch {
            printError("evaluatorctl export: \(error.message)")
            throw ExitCode(.usage)
        }
        do {
            let outcome = try Control.export(config: config, since: query.since, until: query.until, format: fmt, output: output,
                                             progress: isatty(2) == 1 && !json)
            if json || output != nil {
                let text = json ? outcome.json : outcome.lines.joined(separator: "\n")
                if output != nil { print(text) } else { printError(text) }
            }
        } catch {
            printError("evaluatorctl export: \(error)")
            throw ExitCode(.failure)
        }
    }
}
