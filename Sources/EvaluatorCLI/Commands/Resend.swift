import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Resend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Put quarantined records back in the queue (after the central store was fixed).")
    @OptionGroup var options: ConfigOption
    @Argument(help: "record_id values to re-send; none: every quarantined record.") var recordIDs: [String] = []
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.resend(config: config, api: try options.api(config, admin: true), recordIDs: recordIDs.isEmpty ? nil : recordIDs), json: json)
    }
}
