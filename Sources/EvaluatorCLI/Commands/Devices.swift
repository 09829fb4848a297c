import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List pads (window, state, path, last press, presses today, errors) and unconfigured keypads with the config line that binds them.")
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print the daemon's JSON instead of a table.") var json = false

    func run() async throws {
        let config = try options.load()
        let (code, body) = try await Control.apiGet(try options.api(config), path: "/v1/devices")
        guard code == 200 else {
            print(body)
            throw ExitCode(.failure)
        }
        print(json ? body : try Control.devicesTable(json: body))
    }
}
