import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running daemon to re-read its configuration file and wait for the result.",
        discussion: "Windows, key maps, session settings, hours, tokens and the uplink are applied without dropping open evaluations; a pad or bus is reopened only if its own lines changed. A file with an error, or a change that needs a restart (state_dir, api.listen …), is refused and the daemon keeps running on its old configuration: exit 1. `systemctl reload evaluatord` runs this."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.reload(api: try options.api(config, admin: true)), json: json)
    }
}
