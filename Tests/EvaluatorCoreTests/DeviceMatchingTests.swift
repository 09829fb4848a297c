import Foundation
import Testing
@testable import EvaluatorCore

/// As `udevadm info` prints them for two identical QEMU keypads on different ports.
let kbdPort1 = """
P: /devices/pci0000:00/0000:00:05.0/usb1/1-1/1-1:1.0/0003:0627:0001.0001/input/input3/event3
M: event3
R: 3
U: input
D: c 13:67
N: input/event3
L: 0
S: input/by-path/pci-0000:00:05.0-usb-0:1:1.0-event-kbd
E: DEVPATH=/devices/pci0000:00/0000:00:05.0/usb1/1-1/1-1:1.0/0003:0627:0001.0001/input/input3/event3
E: DEVNAME=/dev/input/event3
E: MAJOR=13
E: MINOR=67
E: SUBSYSTEM=input
E: ID_INPUT=1
E: ID_INPUT_KEY=1
E: ID_INPUT_KEYBOARD=1
E: ID_BUS=usb
E: ID_MODEL=QEMU_USB_Keyboard
E: ID_MODEL_ID=0001
E: ID_SERIAL=QEMU_QEMU_USB_Keyboard_68284-0000:00:05.0-1
E: ID_SERIAL_SHORT=68284-0000:00:05.0-1
E: ID_VENDOR=QEMU
E: ID_VENDOR_ID=0627
E: ID_PATH=pci-0000:00:05.0-usb-0:1:1.0
E: ID_PATH_TAG=pci-0000_00_05_0-usb-0_1_1_0
"""

let kbdPort2 = kbdPort1
    .replacingOccurrences(of: "event3", with: "event4")
    .replacingOccurrences(of: "usb-0:1:1.0", with: "usb-0:2:1.0")
    .replacingOccurrences(of: "ID_SERIAL_SHORT=68284-0000:00:05.0-1", with: "ID_SERIAL_SHORT=68284-0000:00:05.0-2")

let mouse = """
N: input/event5
E: DEVNAME=/dev/input/event5
E: SUBSYSTEM=input
E: ID_INPUT=1
E: ID_INPUT_MOUSE=1
E: ID_BUS=usb
E: ID_PATH=pci-0000:00:05.0-usb-0:3:1.0
"""

let hidraw0 = """
N: hidraw0
E: DEVNAME=/dev/hidraw0
E: SUBSYSTEM=hidraw
E: ID_PATH=pci-0000:00:05.0-usb-0:1:1.0
"""

func window(_ id: String, _ source: PadSource) -> WindowConfig {
    WindowConfig(id: id, name: id, department: "d", pad: PadConfig(source: source, keymap: .keypadFive, id: .evdev(window: id)))
}

@Suite("udev matching (pure)")
struct DeviceMatchingTests {
    let devices = [kbdPort1, kbdPort2, mouse, hidraw0].compactMap(UdevDevice.init(udevadmInfo:))

    @Test("udevadm info text parses into a device")
    func parse() throws {
        let d = try #require(UdevDevice(udevadmInfo: kbdPort1))
        #expect(d.devnode == "/dev/input/event3")
        #expect(d.subsystem == "input")
        #expect(d.idPath == "pci-0000:00:05.0-usb-0:1:1.0")
        #expect(d.node == .evdev)
        #expect(d.looksLikeKeypad)
        #expect(devices.count == 4)
    }

    @Test("identical pads are told apart by physical port", arguments: [
        ("pci-0000:00:05.0-usb-0:1:1.0", HIDNode.evdev, DeviceMatcher.Binding.bound(devnode: "/dev/input/event3")),
        ("pci-0000:00:05.0-usb-0:2:1.0", .evdev, .bound(devnode: "/dev/input/event4")),
        ("pci-0000:00:05.0-usb-0:1:1.0", .hidraw, .bound(devnode: "/dev/hidraw0")),
        ("pci-0000:00:05.0-usb-0:3:1.0", .evdev, .absent), // a mouse is not a key device
        ("pci-0000:00:05.0-usb-0:9:1.0", .evdev, .absent),
    ])
    func byPort(idPath: String, node: HIDNode, expected: DeviceMatcher.Binding) {
        let w = window("W01", .udev(node: node, match: DeviceMatch(idPath: idPath)))
        #expect(DeviceMatcher.bind(windows: [w], devices: devices)["W01"] == expected)
    }

    @Test("vendor/product alone is ambiguous for identical pads: nothing is bound")
    func ambiguous() {
        let w = window("W01", .udev(node: .evdev, match: DeviceMatch(vendor: "0627", product: "0001")))
        #expect(DeviceMatcher.bind(windows: [w], devices: devices)["W01"] == .ambiguous(devnodes: ["/dev/input/event3", "/dev/input/event4"]))
        let withSerial = window("W01", .udev(node: .evdev, match: DeviceMatch(vendor: "0627", product: "0001", serial: "68284-0000:00:05.0-2")))
        #expect(DeviceMatcher.bind(windows: [withSerial], devices: devices)["W01"] == .bound(devnode: "/dev/input/event4"))
    }

    @Test("unconfigured keypads are listed with the config line that binds them")
    func suggestions() {
        let w = window("W01", .udev(node: .evdev, match: DeviceMatch(idPath: "pci-0000:00:05.0-usb-0:1:1.0")))
        let free = DeviceMatcher.unconfiguredKeypads(windows: [w], devices: devices)
        #expect(free.map(\.devnode) == ["/dev/input/event4"])
        #expect(DeviceMatcher.suggestedPadLine(for: free[0]) == "pad = { match = { id_path = \"pci-0000:00:05.0-usb-0:2:1.0\" }, keymap = \"keypad-5\" }")
    }
}
