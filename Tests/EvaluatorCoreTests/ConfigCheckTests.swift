import EvaluatorCore
import Testing

@Suite("check-config: every error in the file, and warnings about risky settings (issue 13)")
struct ConfigCheckTests {
    @Test("four independent mistakes are four errors, in file order, each with its line and key; a window on a broken bus is not reported again")
    func everyError() throws {
        let text = """
        [gateway]
        id = "x"
        region = "37021"
        [api]
        listen = "nonsense"
        [[bus]]
        id = "bus1"
        port = "/dev/ttyUSB0"
        baud = 1234
        [[window]]
        id = "W01"
        department = "d"
        pad = { bus = "bus1", address = 3 }
        [uplink]
        url = "ftp://x"
        """
        do {
            _ = try GatewayConfig.parse(text, source: "t.toml", files: .system)
            Issue.record("parsed")
        } catch {
            #expect(error.all.map(\.key) == ["gateway.region", "api.listen", "bus[1].baud", "uplink.url"])
            #expect(error.all.map(\.line) == [3, 5, 9, 15])
            #expect(error.description.split(separator: "\n").count == 4)
            #expect(error.description.hasPrefix("t.toml:3: gateway.region: must be a 6-digit"))
        }
    }

    @Test("two broken windows are both named")
    func twoWindows() throws {
        let text = """
        [gateway]
        id = "x"
        region = "370211"
        [[window]]
        id = "W 1"
        department = "d"
        [[window]]
        id = "W02"
        """
        do {
            _ = try GatewayConfig.parse(text, source: "t.toml", files: .system)
            Issue.record("parsed")
        } catch {
            #expect(error.all.map(\.key) == ["window[1].id", "window[2].department"])
        }
    }

    @Test("warnings: no uplink, no tokens, a temporary state folder, kernel names for ports and nodes, a window without a pad, vendor-only matching")
    func warnings() throws {
        let text = """
        [gateway]
        id = "x"
        region = "370211"
        state_dir = "/tmp/evaluatord"
        [[bus]]
        id = "bus1"
        port = "/dev/ttyUSB0"
        [[window]]
        id = "W01"
        department = "d"
        pad = { bus = "bus1", address = 3 }
        [[window]]
        id = "W02"
        department = "d"
        pad = { evdev = "/dev/input/event3" }
        [[window]]
        id = "W03"
        department = "d"
        pad = { match = { vendor = "0627", product = "0001" } }
        [[window]]
        id = "W04"
        department = "d"
        """
        let w = ConfigWarnings.of(try GatewayConfig.parse(text, source: "t.toml", files: .system))
        #expect(w.count == 7, "\(w)")
        for part in ["[uplink]: none configured", "api.tokens_file: none", "gateway.state_dir = /tmp/evaluatord", "bus bus1: port = /dev/ttyUSB0",
                     "window W02: /dev/input/event3", "window W03: matched by vendor/product only", "window W04: no pad"] {
            #expect(w.contains { $0.hasPrefix(part) }, "missing \(part)")
        }
    }
}
