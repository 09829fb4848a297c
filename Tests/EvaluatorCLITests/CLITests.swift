import EvaluatorCLI
import EvaluatorCore
import Foundation
import Testing

let cliConfig = """
[gateway]
id = "g"
region = "370211"
[uplink]
url = "https://rater:S3cret@ratings.example.gov.cn/api?appkey=K3y"
"""

@Suite("evaluatorctl: tokens, tables, summaries")
struct CLITests {
    @Test("the token: --token-file, else EVALUATORCTL_TOKEN, else the config's first read or api token")
    func tokenOrder() throws {
        var config = try GatewayConfig.parse(cliConfig, source: "t")
        config.apiAccess.tokens = TokenSet(tokens: [
            APIToken(name: "tablet", scope: .pad(window: "W01"), secret: "p" + String(repeating: "0", count: 40)),
            APIToken(name: "hall-it", scope: .read, secret: "r" + String(repeating: "1", count: 40)),
        ])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)").path
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try Control.token(file: file, environment: ["EVALUATORCTL_TOKEN": "env"], config: config) == "from-file")
        #expect(try Control.token(file: nil, environment: ["EVALUATORCTL_TOKEN": "env"], config: config) == "env")
        #expect(try Control.token(file: nil, environment: [:], config: config) == "r" + String(repeating: "1", count: 40))
        config.apiAccess.tokens = nil
        #expect(try Control.token(file: nil, environment: [:], config: config) == nil)
    }

    @Test("check-config's summary names the uplink without its password or query")
    func summary() throws {
        let text = Control.summary(try GatewayConfig.parse(cliConfig, source: "t"))
        #expect(text.contains("ratings.example.gov.cn") && !text.contains("S3cret") && !text.contains("K3y"))
    }

    @Test("devices: the daemon's JSON as an operator's table")
    func devicesTable() throws {
        let json = #"{"pads": [{"pad": "bus1#3", "window_id": "W01", "path": "/dev/ttyUSB0", "state": "flooding", "last_press_at": null, "presses_today": 40, "errors": 0}], "unconfigured": [], "hotplug": "on"}"#
        let table = try Control.devicesTable(json: json)
        #expect(table.contains("W01") && table.contains("bus1#3") && table.contains("flooding") && table.contains("hotplug: on"))
    }
}
