import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration without starting anything: every error, then warnings about risky but valid settings.",
        discussion: "Exit 0 when valid (warnings do not fail it), 78 when the file has errors."
    )
    @Argument(help: "Path of the TOML configuration.") var path: String
    @Flag(name: .long, help: "Print {\"ok\", \"errors\": [{\"file\", \"line\", \"key\", \"message\"}], \"warnings\": [...]}.") var json = false

    func run() throws {
        let result = Control.checkConfig(path: path)
        if json {
            print(result.json)
        } else {
            if let config = result.config { print(Control.summary(config)) }
            for e in result.errors { printError(e.line1) }
            if !result.errors.isEmpty { printError("\(result.errors.count) error\(result.errors.count == 1 ? "" : "s") in \(path)") }
            for w in result.warnings { print("warning: \(w)") }
        }
        if !result.errors.isEmpty { throw ExitCode(.config) }
    }
}
