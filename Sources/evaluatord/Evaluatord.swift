import ArgumentParser
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorStore
import EvaluatorSupport
import Logging
import Foundation

/// evaluatord: reads evaluator pads, ties presses to cases, stores them durably and forwards
/// them. All the work lives in EvaluatorDaemon; this is argument parsing only.
@main
struct Evaluatord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluatord",
        abstract: "Hall evaluator gateway daemon (评价器网关).",
        discussion: "Exits with status 78 on a configuration error, before touching any device. " + ExitStatus.allCases.map { "\($0.rawValue): \($0.meaning)" }.joined(separator: "; ") + ".",
        version: "evaluatord " + BuildInfo.description
    )

    @Option(name: .long, help: "Path of the TOML configuration (see Config/evaluatord.toml).")
    var config: String?

    @Flag(name: .long, help: "Run on the embedded demo configuration (state under ./.demo).")
    var demo = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let cfg: GatewayConfig
        let here = FileManager.default.currentDirectoryPath
        do {
            if demo { try DemoTokens.prepare(workingDirectory: here) }
            cfg = try GatewayConfig.load(commandLine: config, demo: demo, workingDirectory: here, files: .system)
        } catch {
            printError("evaluatord: configuration error: \(error)")
            throw ExitCode(ExitStatus.config.rawValue)
        }
        DaemonLog.bootstrap(level: logLevel, identifier: "evaluatord")
        // A start failure is one plain sentence and exit 1 (systemd retries it), or 75 when
        // another evaluatord holds the state folder.
        do {
            let daemon = try Daemon(config: cfg, logger: Logger(label: "evaluatord"), configSource: demo ? "<embedded demo config>" : config ?? "")
            try await daemon.run()
        } catch let e as StoreError where e.code == .locked {
            printError("evaluatord: \(e)")
            throw ExitCode(ExitStatus.busy.rawValue)
        } catch {
            printError("evaluatord: cannot start: \(Daemon.sentence(error))")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
