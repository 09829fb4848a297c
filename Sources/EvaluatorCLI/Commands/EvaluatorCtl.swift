import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

/// evaluatorctl: the operator's tool. Subcommands nest under this root and share the
/// `--config` option group; the work lives in `Control`.
public struct EvaluatorCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "evaluatorctl",
        abstract: "Operate an evaluatord gateway.",
        discussion: ExitStatus.helpText,
        version: "evaluatorctl " + BuildInfo.description,
        subcommands: [CheckConfig.self, Status.self, Reload.self, UdevRulesCommand.self, Export.self, Devices.self, Records.self, Pending.self, Resend.self, Verify.self, Stats.self, Salvage.self, Backup.self, AdminTokenCommand.self, Pair.self, Purge.self, Simulate.self]
    )

    public init() {}
}

extension ExitStatus {
    /// The exit statuses, for `--help`.
    public static var helpText: String {
        "Exit statuses: " + allCases.map { "\($0.rawValue) \($0.meaning)" }.joined(separator: "; ") + "."
    }
}

extension ExitCode {
    public init(_ status: ExitStatus) { self.init(status.rawValue) }
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path of the daemon's TOML configuration.")
    var config: String = "/etc/evaluatord/evaluatord.toml"

    @Option(name: .long, help: "A file holding just the API token to use (else $EVALUATORCTL_TOKEN, else the first read or api token of the config's tokens file — for reload, resend, salvage and pair the admin token file — when it can be read).")
    var tokenFile: String?

    @Flag(name: .long, help: "Use the embedded demo configuration instead.")
    var demo = false

    /// The daemon's API with the token this operator can use.
    func api(_ config: GatewayConfig, admin: Bool = false) throws -> APIClient {
        APIClient(listen: config.api, token: try Control.token(file: tokenFile, environment: ProcessInfo.processInfo.environment, config: config, admin: admin))
    }

    func load() throws -> GatewayConfig {
        do {
            return try GatewayConfig.load(commandLine: config, demo: demo, workingDirectory: FileManager.default.currentDirectoryPath,
                                          files: .operatorView)
        } catch {
            printError("evaluatorctl: configuration error: \(error)")
            throw ExitCode(.config)
        }
    }
}

public func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
