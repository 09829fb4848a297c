import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's state on one screen: problems, pads, backlog, uplink, last reload.",
        discussion: "Like `systemctl status`: with the daemon down it says so, shows what the store holds, and exits 3. --json prints /v1/status (README \"Status\" has the schema)."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print the daemon's JSON (with the daemon down: {\"state\": \"stopped\", \"reason\"}).") var json = false

    func run() async throws {
        let config = try options.load()
        let now = Millis(date: Date())
        let color = !json && isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let code: Int, body: String
        do {
            (code, body) = try await Control.apiGet(try options.api(config), path: "/v1/status")
        } catch let e as APIClient.Unreachable {
            if json {
                let obj = ["state": "stopped", "reason": e.reason]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(await StatusScreen.renderDown(reason: "the API at \(config.api) does not answer: \(e.reason)", config: config, now: now, color: color))
            }
            throw ExitCode(.notRunning)
        }
        guard code == 200, let view = try? JSONDecoder().decode(StatusView.self, from: Data(body.utf8)) else {
            printError("evaluatorctl status: the daemon answered HTTP \(code): \(body)")
            throw ExitCode(.failure)
        }
        print(json ? body : StatusScreen.render(view, timeZone: config.signals.timeZone, now: now, color: color))
    }
}
