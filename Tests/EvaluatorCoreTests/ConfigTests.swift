import Foundation
import Testing
@testable import EvaluatorCore

let exampleConfig = """
[gateway]
id = "370211-hall-01"
region = "370211"
state_dir = "/var/lib/evaluatord"

[api]
listen = "127.0.0.1:8740"

[session]
timeout_s = 30
retransmit_window_ms = 1500

[scores]
very_satisfied = 10
satisfied = 8
basic = 6
dissatisfied = 3
very_dissatisfied = 0

[[bus]]
id = "bus1"
port = "/dev/ttyUSB0"
baud = 9600
protocol = "framed68"

[[window]]
id = "W01"
name = "不动产登记1号窗"
department = "自然资源局"
pad = { bus = "bus1", address = 3, keymap = "framed68-4key" }

[uplink]
url = "http://127.0.0.1:9000/ratings"
batch_max = 500
flush_interval_ms = 1000
"""

func configError(_ text: String) -> ConfigError? {
    do {
        _ = try GatewayConfig.parse(text, source: "test.toml", files: .system)
        return nil
    } catch {
        return error
    }
}

@Suite("config")
struct ConfigTests {
    @Test("the issue's example parses with every field")
    func example() throws {
        let c = try GatewayConfig.parse(exampleConfig, source: "test.toml", files: .system)
        #expect(c.gatewayID == "370211-hall-01")
        #expect(c.region == "370211")
        #expect(c.api == .tcp(host: "127.0.0.1", port: 8740))
        #expect(c.sessionTimeoutMs == 30_000)
        #expect(c.retransmitWindowMs == 1500)
        #expect(c.buses == [BusConfig(id: "bus1", port: "/dev/ttyUSB0", baud: 9600, proto: "framed68")])
        #expect(c.windows.first?.pad == PadConfig.serial(bus: "bus1", address: 3, keymap: .framed68FourKey))
        #expect(c.uplink?.url == "http://127.0.0.1:9000/ratings")
        #expect(c.uplink?.batchMax == 500)
        #expect(PadDirectory(windows: c.windows).entry(for: .serial(bus: "bus1", address: 3))?.windowID == "W01")
    }

    @Test("the shipped example config and the embedded demo config are valid")
    func shippedConfigs() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        _ = try GatewayConfig.load(path: here.appendingPathComponent("Config/evaluatord.toml").path, files: .system)
        // The demo's tokens file is written by evaluatord (DemoTokens, tested in
        // EvaluatorSupportTests); Core only reads what it is handed.
        var files = ConfigFiles.none
        files.read = { path in
            path.hasSuffix("/.demo/tokens") ? .success(Data("demo-api api \(String(repeating: "a", count: 48))\nT1 pad:W02 \(String(repeating: "b", count: 48))\n".utf8))
                : .failure(ConfigFileError(message: "not here: \(path)"))
        }
        files.permissions = { _ in 0o600 }
        files.exists = { $0.hasSuffix("/.demo/tokens") }
        let demo = try GatewayConfig.load(commandLine: nil, demo: true, workingDirectory: "/nonexistent/work", files: files)
        #expect(demo.windows.map { $0.pad?.id.description } == ["bus1#3", "screen:T1"])
        #expect(demo.apiAccess.tokens?.tokens.count == 2)
    }

    @Test("custom key maps are tables of key code = level")
    func customKeymap() throws {
        let text = exampleConfig.replacingOccurrences(of: "keymap = \"framed68-4key\"", with: "keymap = \"five\"")
            + "\n[keymap.five]\n\"0\" = \"very_satisfied\"\n\"4\" = \"very_dissatisfied\"\n"
        let c = try GatewayConfig.parse(text, source: "t", files: .system)
        #expect(c.windows[0].pad?.keymap.level(forKey: 0) == .verySatisfied)
        #expect(c.windows[0].pad?.keymap.level(forKey: 4) == .veryDissatisfied)
    }

    @Test("relative paths are taken from the config file's folder")
    func relativePaths() throws {
        let c = try GatewayConfig.parse(exampleConfig.replacingOccurrences(of: "/var/lib/evaluatord", with: "state"), source: "t", baseDirectory: "/etc/evaluatord", files: .system)
        #expect(c.stateDir == "/etc/evaluatord/state")
        #expect(c.databasePath == "/etc/evaluatord/state/evaluatord.sqlite")
    }

    @Test("errors name the file, the line, the key and what is wrong", arguments: [
        ("id = \"370211-hall-01\"", "id = \"\"", "test.toml:2: gateway.id: must not be empty"),
        ("region = \"370211\"", "region = \"3702\"", "test.toml:3: gateway.region: must be a 6-digit 行政区划代码 such as \"370211\", got \"3702\""),
        ("pad = { bus = \"bus1\"", "pad = { bus = \"bus9\"", "test.toml:30: window[1].pad.bus: no [[bus]] has id \"bus9\" (known: bus1)"),
        ("keymap = \"framed68-4key\"", "keymap = \"nine-key\"", "test.toml:30: window[1].pad.keymap: unknown key map \"nine-key\" (known: framed68-4key, framed68-5key, keypad-4, keypad-5)"),
        ("baud = 9600", "baud = 9601", "test.toml:23: bus[1].baud: 9601 is not a supported baud rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)"),
        ("timeout_s = 30", "timeout_s = 0", "test.toml:10: session.timeout_s: 0 is out of range (1…3600)"),
        ("timeout_s = 30", "timeout_s = \"30\"", "test.toml:10: session.timeout_s: must be an integer, got string"),
        ("batch_max = 500", "batch_mx = 500", "test.toml:34: uplink.batch_mx: unknown key (expected one of: allow_plaintext, backoff_initial_ms, backoff_max_ms, batch_max, connect_timeout_ms, flush_interval_ms, gzip, kind, max_in_flight, profile, request_timeout_ms, signing_key_file, stall_alert_s, table, tls_ca_file, tls_cert_file, tls_key_file, url)"),
        ("url = \"http://127.0.0.1:9000/ratings\"", "url = \"ftp://x\"", "test.toml:33: uplink.url: \"ftp://x\" is not an http:// or https:// URL"),
        ("listen = \"127.0.0.1:8740\"", "listen = \"localhost\"", "test.toml:7: api.listen: \"localhost\" is not HOST:PORT or unix:/path"),
        ("department = \"自然资源局\"", "", "test.toml:26: window[1].department: is required"),
    ])
    func errors(find: String, replace: String, message: String) {
        #expect(exampleConfig.contains(find))
        let e = configError(exampleConfig.replacingOccurrences(of: find, with: replace))
        #expect(e?.description == message)
    }

    @Test("signals, hours, time zone and retention (issue 12): read, defaulted, and refused with the key named")
    func signalKeys() throws {
        let defaults = try GatewayConfig.parse(exampleConfig, source: "test.toml", files: .system)
        #expect(defaults.signals.instantMs == 500 && defaults.signals.burstPresses == 5 && defaults.signals.burstWindowMs == 60_000)
        #expect(defaults.signals.largeBatchCases == 10 && defaults.signals.maxBatchCases == 50)
        #expect(defaults.signals.hours == nil && defaults.keepSentDays == nil)
        #expect(defaults.signals.timeZone == TimeZone.current)
        let text = exampleConfig
            .replacingOccurrences(of: "state_dir = \"/var/lib/evaluatord\"", with: "state_dir = \"/var/lib/evaluatord\"\ntime_zone = \"Asia/Shanghai\"")
            .replacingOccurrences(of: "retransmit_window_ms = 1500", with: "retransmit_window_ms = 1500\ninstant_ms = 800\nburst_presses = 3\nburst_window_s = 30\nlarge_batch_cases = 5\nmax_batch_cases = 20")
            + "\n[hours]\nmon = \"08:30-12:00,13:30-17:30\"\nsat = \"\"\n\n[store]\nkeep_sent_days = 365\n"
        let c = try GatewayConfig.parse(text, source: "test.toml", files: .system)
        #expect(c.signals.timeZone.identifier == "Asia/Shanghai")
        #expect(c.signals.instantMs == 800 && c.signals.burstPresses == 3 && c.signals.burstWindowMs == 30_000)
        #expect(c.signals.largeBatchCases == 5 && c.signals.maxBatchCases == 20)
        #expect(c.signals.hours == HallHours(intervals: [1: [510...720, 810...1050], 6: []]))
        #expect(c.keepSentDays == 365)
        #expect(c.policyConfig.signals == c.signals)
        #expect(configError(text.replacingOccurrences(of: "Asia/Shanghai", with: "Mars/Olympus"))?.description
                == "test.toml:5: gateway.time_zone: unknown time zone \"Mars/Olympus\" (an IANA name such as \"Asia/Shanghai\")")
        #expect(configError(text.replacingOccurrences(of: "13:30-17:30", with: "13:30-12:30"))?.description
                == "test.toml:43: hours.mon: \"13:30-12:30\" ends before it starts (write e.g. \"08:30-12:00,13:30-17:30\", or \"\" for closed)")
        #expect(configError(text.replacingOccurrences(of: "sat = ", with: "saturday = "))?.message.hasPrefix("unknown key") == true)
        #expect(configError(text.replacingOccurrences(of: "keep_sent_days = 365", with: "keep_sent_days = 0"))?.description
                == "test.toml:47: store.keep_sent_days: 0 is out of range (1…36500)")
    }

    @Test("a TOML syntax error gives its line")
    func syntax() {
        let e = configError("[gateway]\nid = \"x\"\nregion = 370211 oops\n")
        #expect(e?.code == .syntax)
        #expect(e?.line == 3)
        #expect(e?.description.hasPrefix("test.toml:3: TOML syntax error") == true)
    }

    @Test("a pad address can belong to one window only")
    func duplicatePad() {
        let text = exampleConfig + "\n[[window]]\nid = \"W02\"\ndepartment = \"x\"\npad = { bus = \"bus1\", address = 3 }\n"
        #expect(configError(text)?.description == "test.toml:39: window[2].pad.address: bus1#3 already belongs to window \"W01\"")
    }

    @Test("USB pad forms: evdev, hidraw, udev match; reason keys by name")
    func usbPads() throws {
        let text = exampleConfig + """

        [[window]]
        id = "W02"
        department = "d"
        pad = { evdev = "/dev/input/by-path/pci-0000:00:05.0-usb-0:1:1.0-event-kbd", keymap = "keypad-5", grab = "require" }

        [[window]]
        id = "W03"
        department = "d"
        pad = { hidraw = "/dev/hidraw0", keymap = "kp-reasons" }

        [[window]]
        id = "W04"
        department = "d"
        pad = { match = { id_path = "pci-0000:00:05.0-usb-0:2:1.0" } }

        [keymap.kp-reasons]
        KP1 = "very_dissatisfied"
        KEY_KP2 = "dissatisfied"
        KP5 = "very_satisfied"
        KEY_F1 = "reason:207"
        "60" = "reason:208"
        """
        let c = try GatewayConfig.parse(text, source: "t", files: .system)
        #expect(c.windows[1].pad?.source == .hid(node: .evdev, path: "/dev/input/by-path/pci-0000:00:05.0-usb-0:1:1.0-event-kbd"))
        #expect(c.windows[1].pad?.grab == .require)
        #expect(c.windows[1].pad?.id.description == "evdev:W02")
        #expect(c.windows[2].pad?.source == .hid(node: .hidraw, path: "/dev/hidraw0"))
        #expect(c.windows[2].pad?.keymap.reasons == [59: "207", 60: "208"])
        #expect(c.windows[2].pad?.keymap.level(forKey: 79) == .veryDissatisfied)
        #expect(c.windows[3].pad?.source == .udev(node: .evdev, match: DeviceMatch(idPath: "pci-0000:00:05.0-usb-0:2:1.0")))
        #expect(c.windows[3].pad?.keymap == .keypadFive)
        #expect(c.windows[3].pad?.grab == .attempt)
    }

    @Test("USB pad errors", arguments: [
        ("pad = { evdev = \"/dev/input/event3\", bus = \"bus1\" }", "window[2].pad: has bus and evdev; give exactly one of bus, evdev, hidraw, match, screen"),
        ("pad = { evdev = \"/dev/input/event3\", grab = \"always\" }", "window[2].pad.grab: must be \"try\", \"require\" or \"off\", got \"always\""),
        ("pad = { hidraw = \"/dev/hidraw0\", grab = \"try\" }", "window[2].pad.grab: applies to evdev pads only (hidraw cannot be grabbed)"),
        ("pad = { match = { serial = \"x\" } }", "window[2].pad.match: needs id_path (the physical port, recommended) or vendor and product"),
        ("pad = { match = { vendor = \"627\", product = \"0001\" } }", "window[2].pad.match: vendor and product are 4 hex digits such as \"0627\", got \"627\""),
        ("pad = { evdev = \"/dev/input/event3\", address = 3 }", "window[2].pad.address: applies to serial pads (bus = …) only"),
    ])
    func usbPadErrors(pad: String, message: String) {
        let text = exampleConfig + "\n[[window]]\nid = \"W02\"\ndepartment = \"d\"\n\(pad)\n"
        #expect(configError(text)?.description.hasSuffix(message) == true, "\(configError(text)?.description ?? "no error")")
    }

    @Test("a missing file is named")
    func missingFile() {
        #expect(throws: ConfigError.self) { try GatewayConfig.load(path: "/nonexistent/evaluatord.toml", files: .system) }
    }
}

/// `make fuzz` (target config) found table headers that made toml++ assert and abort the
/// process; they must be refused with the line, like any other syntax error.
@Suite("config: table headers that would crash the TOML parser")
struct TOMLGuardTests {
    @Test("refused with file and line, never a crash", arguments: [
        ("[[\u{FFFD}\u{FFFD}ow]]", 1), ("[ 窗口 ]\n", 1), ("[窗口]", 1), ("a = 1\n[é]", 2), ("[.a]", 1), ("[=]", 1),
        ("[", 1), ("[[\n", 1), ("[gateway]\nid = \"g\"\n  [ @x ]", 3), ("[\rgateway]]#e", 1), ("\r\n[\u{FFFD}", 2),
    ])
    func refused(text: String, line: Int) {
        #expect(throws: ConfigError.self) { try GatewayConfig.parse(text, source: "hall.toml", files: .system) }
        do {
            _ = try GatewayConfig.parse(text, source: "hall.toml", files: .system)
        } catch {
            #expect(error.code == .syntax)
            #expect(error.line == line)
            #expect(error.description.hasPrefix("hall.toml:\(line): TOML syntax error: a table name must start with"))
        }
        #expect(throws: ConfigError.self) { try UpstreamProfile.parse(text, source: "p.toml") }
    }

    @Test("headers inside strings and multi-line arrays are not table headers")
    func notHeaders() {
        let texts = [
            "x = [\n  [1, 2],\n  [ \"é\" ],\n]",
            "s = \"\"\"\n[é]\n\"\"\"",
            "s = '''\n[ 窗 ]\n'''",
            "[\"窗口\"]\na = 1",
            "a = \"[\" # [é\n[b]",
            "[gateway]\r\nid = 1\r\n[[window]]\r\n",
        ]
        for t in texts { #expect(TOMLGuard.badTableHeader(in: t) == nil, "\(t)") }
    }
}
