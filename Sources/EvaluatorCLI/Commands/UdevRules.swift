import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct UdevRulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udev-rules",
        abstract: "Print (or install) udev rules giving the service user the USB pad nodes the config names, and nothing else.",
        discussion: "With --install (as root): writes \(UdevRules.path), reloads udev and re-applies the rules to the nodes present. Run it again after changing the pads."
    )
    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Write the rules file and apply it (root).") var install = false
    @Option(name: .long, help: "The service user the nodes are given to.") var user = "evaluatord"
    @Flag(name: .long, help: "Print {\"path\", \"rules\", \"installed\"}.") var json = false

    func run() throws {
        let text = UdevRules.render(config: try options.load(), user: user)
        var outcome = Control.Outcome(lines: [], ok: true, fields: ["path": .string(UdevRules.path), "rules": .string(text), "installed": .bool(install)])
        if install {
            do {
                try Control.installUdevRules(text)
                outcome.lines = ["wrote \(UdevRules.path); udev reloaded and the rules applied to the pads present"]
            } catch {
                outcome = Control.Outcome(lines: ["\(error)"], ok: false, fields: ["path": .string(UdevRules.path), "installed": .bool(false)])
            }
        } else if !json {
            print(text, terminator: "")
            return
        }
        try Control.emit(outcome, json: json)
    }
}
