import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Participation and results statistics (R14, R15) from the store: opened, rated, participation, levels, bad share, mean score, flags.",
        discussion: "DATE is YYYY-MM-DD (a day in gateway.time_zone; --until includes it) or an RFC 3339 time on the hour. Default: today. Works while the daemon runs."
    )
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "From DATE (default: the start of today).") var since: String?
    @Option(name: .long, help: "Until DATE (default: the end of today).") var until: String?
    @Option(name: .long, help: "Group by window, staff, department or day.") var by = "window"
    @Flag(name: .long, help: "Print JSON: {since, until, by, total, groups}.") var json = false

    func run() throws {
        let config = try options.load()
        let query: StatsQuery
        do {
            query = try StatsQuery.parse(since: since, until: until, by: by, now: Millis(date: Date()), timeZone: config.signals.timeZone)
        } catch {
            printError("evaluatorctl stats: \(error.message)")
            throw ExitCode(.usage)
        }
        let report = try Store(readOnlyPath: config.databasePath, timeZone: config.signals.timeZone).stats(query)
        print(json ? report.json : Control.statsTable(report))
    }
}
