@testable import EvaluatorCLI
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
        var config = try GatewayConfig.parse(cliConfig, source: "t", files: .system)
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

    @Test("issue 20: admin verbs take the admin token; the others a read or api token, never the admin's when another will do")
    func adminTokenPick() throws {
        var config = try GatewayConfig.parse(cliConfig, source: "t", files: .system)
        let api = APIToken(name: "queue", scope: .api, secret: "q" + String(repeating: "2", count: 40))
        let admin = APIToken(name: "admin", scope: .admin, secret: "a" + String(repeating: "3", count: 40))
        config.apiAccess.tokens = TokenSet(tokens: [api, admin])
        #expect(try Control.token(file: nil, environment: [:], config: config) == api.secret)
        #expect(try Control.token(file: nil, environment: [:], config: config, admin: true) == admin.secret)
        config.apiAccess.tokens = TokenSet(tokens: [api])
        #expect(try Control.token(file: nil, environment: [:], config: config, admin: true) == nil, "an api token is never sent for an admin verb")
    }

    @Test("issue 20: admin-token init makes the file 0600 once, keeps an existing one, never writes through a link; without tokens it does nothing")
    func adminTokenInit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config = try GatewayConfig.parse(cliConfig, source: "t", files: .system)
        #expect(try Control.adminTokenInit(config: config).fields["created"] == .bool(false))
        config.apiAccess.adminTokenFile = dir + "/admin.token"
        let made = try Control.adminTokenInit(config: config)
        #expect(made.ok && made.fields["created"] == .bool(true))
        let text = try String(contentsOfFile: dir + "/admin.token", encoding: .utf8)
        #expect(text.count == 65 && text.hasSuffix("\n") && !made.json.contains(text.dropLast()), "the token is never printed")
        let mode = try #require(FileManager.default.attributesOfItem(atPath: dir + "/admin.token")[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        _ = try APIToken.admin(fileText: text, source: "made")
        #expect(try Control.adminTokenInit(config: config).fields["created"] == .bool(false))
        #expect(try String(contentsOfFile: dir + "/admin.token", encoding: .utf8) == text, "kept")
        // A dangling link planted where the file goes: not followed.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.token", withDestinationPath: dir + "/target")
        config.apiAccess.adminTokenFile = dir + "/link.token"
        #expect(try Control.adminTokenInit(config: config).fields["created"] == .bool(false))
        #expect(!FileManager.default.fileExists(atPath: dir + "/target"))
    }

    @Test("check-config's summary names the uplink without its password or query")
    func summary() throws {
        let text = Control.summary(try GatewayConfig.parse(cliConfig, source: "t", files: .system))
        #expect(text.contains("ratings.example.gov.cn") && !text.contains("S3cret") && !text.contains("K3y"))
    }

    @Test("devices: the daemon's JSON as an operator's table")
    func devicesTable() throws {
        let json = #"{"pads": [{"pad": "bus1#3", "window_id": "W01", "kind": "serial", "bus": "bus1", "path": "/dev/ttyUSB0", "state": "flooding", "last_press_at": null, "presses": 40, "presses_today": 40, "errors": 0}], "unconfigured": [], "hotplug": "on"}"#
        let table = try Control.devicesTable(json: json)
        #expect(table.contains("W01") && table.contains("bus1#3") && table.contains("flooding") && table.contains("hotplug: on"))
    }

    @Test("one table printer (issue 21): columns padded by terminal width, so Chinese names line up with the header")
    func tableByDisplayWidth() throws {
        var t = TextTable(["window", "pad", "today"], rightAligned: [2])
        t.add(["综合受理3号窗", "screen:T1", "7"])
        t.add(["W01", "bus1#3", "1234"])
        let lines = t.lines
        #expect(lines == ["window         pad        today", "综合受理3号窗  screen:T1      7", "W01            bus1#3      1234"])
        // The column after a Chinese name starts where the header's does, in terminal columns.
        let column = displayWidth(String(lines[0].prefix(upTo: lines[0].range(of: "pad")!.lowerBound)))
        #expect(displayWidth(String(lines[1].prefix(upTo: lines[1].range(of: "screen")!.lowerBound))) == column)
    }
}
