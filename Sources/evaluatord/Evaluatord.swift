import ArgumentParser
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorStore
import Logging
import Foundation

/// evaluatord: reads evaluator pads, ties presses to cases, stores them durably and forwards
/// them. All the work lives in EvaluatorDaemon; this is argument parsing only.
@main
struct Evaluatord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluatord",
        abstract: "Hall evaluator gateway daemon (评价器网关).",
        discussion: "Exits with status 78 on a configuration error, before touching any device. " + ExitStatus.allCases.map { "\($0.rawValue): \($0.meaning)" }.joined(separator: "; ") + "."
    )

    @Option(name: .long, help: "Path of the TOML configuration (see Config/evaluatord.toml).")
    var config: String?

    @Flag(name: .long, help: "Run on the embedded demo configuration (state under ./.demo).")
    var demo = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let cfg: GatewayConfig
        do {
            cfg = try GatewayConfig.load(commandLine: config, demo: demo, workingDirectory: FileManager.default.currentDirectoryPath)
        } catch {
            printError("evaluatord: configuration error: \(error)")
            throw ExitCode(ExitStatus.config.rawValue)
        }
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let daemon: Daemon
        do {
            daemon = try Daemon(config: cfg, logger: Logger(label: "evaluatord"))
        } catch let e as StoreError where e.code == .locked {
            printError("evaluatord: \(e)")
            throw ExitCode(ExitStatus.busy.rawValue)
        }
        try await daemon.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
