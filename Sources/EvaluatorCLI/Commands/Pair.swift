import ArgumentParser
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import Foundation

struct Pair: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pair a window's screen pad (issue 20): a one-time 8-digit code, valid 10 minutes, and the address with a QR code for the tablet.",
        discussion: "Admin only (run as root: the admin token file). The tablet opens the address (or scans the QR code); its page trades the code for the pad's own secret and keeps it. Pairing again revokes the previous tablet's secret and disconnects it. The daemon must be running."
    )
    @OptionGroup var options: ConfigOption
    @Argument(help: "The window whose screen pad to pair.") var window: String
    @Option(name: .long, help: "HOST[:PORT] the tablet reaches the API at (default: the address evaluatorctl reached it at).") var address: String?
    @Flag(name: .long, help: "Print JSON: {window_id, code, expires_at, url}.") var json = false

    func run() async throws {
        let config = try options.load()
        try Control.emit(try await Control.pair(api: try options.api(config, admin: true), window: window, address: address, qr: !json), json: json)
    }
}
