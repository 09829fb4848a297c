import EvaluatorCore
import Testing

@Suite("udev rules for the service user: the configured pads' nodes and nothing else (issue 13)")
struct UdevRulesTests {
    @Test("one rule per USB pad, by physical port, identity, stable link or kernel name; none for serial pads or FIFOs")
    func render() throws {
        let text = """
        [gateway]
        id = "g"
        region = "370211"
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
        pad = { match = { id_path = "pci-0000:00:14.0-usb-0:2:1.0" } }
        [[window]]
        id = "W03"
        department = "d"
        pad = { match = { vendor = "0627", product = "0001", serial = "42" }, node = "hidraw" }
        [[window]]
        id = "W04"
        department = "d"
        pad = { evdev = "/dev/input/by-path/pci-0000:00:14.0-usb-0:3:1.0-event-kbd" }
        [[window]]
        id = "W05"
        department = "d"
        pad = { hidraw = "/dev/hidraw2" }
        [[window]]
        id = "W06"
        department = "d"
        pad = { evdev = "/tmp/replay.fifo" }
        """
        let rules = UdevRules.render(config: try GatewayConfig.parse(text, source: "/etc/evaluatord/evaluatord.toml", files: .system))
        let lines = rules.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(lines == [
            #"SUBSYSTEM=="hidraw", IMPORT{builtin}="path_id", IMPORT{builtin}="usb_id""#,
            #"SUBSYSTEM=="input", KERNEL=="event*", ENV{ID_PATH}=="pci-0000:00:14.0-usb-0:2:1.0", OWNER="evaluatord""#,
            #"SUBSYSTEM=="hidraw", ENV{ID_VENDOR_ID}=="0627", ENV{ID_MODEL_ID}=="0001", ENV{ID_SERIAL_SHORT}=="42", OWNER="evaluatord""#,
            #"SUBSYSTEM=="input", KERNEL=="event*", SYMLINK=="input/by-path/pci-0000:00:14.0-usb-0:3:1.0-event-kbd", OWNER="evaluatord""#,
            #"SUBSYSTEM=="hidraw", KERNEL=="hidraw2", OWNER="evaluatord""#,
        ])
        #expect(rules.contains("# window W05: /dev/hidraw2 — a kernel name can change at the next boot"))
        #expect(rules.contains("# window W06: /tmp/replay.fifo is not a device node (a FIFO or file?): no rule"))
        #expect(rules.hasPrefix("# /etc/udev/rules.d/70-evaluatord-pads.rules: written by `evaluatorctl udev-rules` from /etc/evaluatord/evaluatord.toml."))
        #expect(!rules.contains("ttyUSB0\""), "serial pads get no rule")
    }
}
