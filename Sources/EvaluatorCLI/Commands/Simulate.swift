import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Simulate a \"68\" pad on a pty: answer start-rating prompts with a key press.")
    @Option(name: .long, help: "Symlink to create for the pty (the bus port in the config).") var link: String
    @Option(name: .long, help: "Pad address on the bus.") var address: UInt8 = 3
    @Option(name: .long, help: "Key to press (framed68-4key: 0 不满意, 1 基本满意, 2 满意, 3 非常满意).") var key: UInt8 = 3
    @Option(name: .long, help: "Delay between prompt and press, ms.") var delayMs = 500
    @Option(name: .long, help: "Exit after this many prompts (0 = run until stopped).") var answers = 0

    @Flag(name: .long, help: "Print each event as a JSON line {\"message\"}.") var json = false

    func run() async throws {
        try await Control.simulate(link: link, address: address, key: key, delayMs: delayMs, answers: answers) { [json] line in
            let text = json ? JSONValue.object(["message": .string(line)]).text : line
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }
}
