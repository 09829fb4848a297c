import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk the store's tamper-evident chain (R8): every record's hash, seq and prev_hash.",
        discussion: "Exit 0: chain ok; 1: chain broken (the first break is named); 2: the store cannot be read. Works while the daemon runs."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print JSON: {\"ok\", \"records\", \"first_seq\", \"last_seq\", \"head\"} or {\"ok\": false, \"seq\", \"what\"}.") var json = false

    func run() throws {
        let config = try options.load()
        let result = Control.verify(config: config, progress: isatty(2) == 1 && !json)
        print(json ? result.json : result.line)
        if result.status != .success { throw ExitCode(result.status) }
    }
}
