import EvaluatorCore
import EvaluatorDevices
import EvaluatorSupport
import Foundation
import Logging
import ServiceLifecycle

/// The devices udev says are present, and which window's pad each one is. Fed by
/// `UdevService`; asked by the pad readers of `match = { … }` pads.
public actor DeviceRegistry {
    private(set) var windows: [WindowConfig]
    let logger: Logger
    private(set) var devices: [String: UdevDevice] = [:]
    private var bindings: [String: DeviceMatcher.Binding] = [:]
    private(set) var enumerated = false
    private let changed = WakeSignal()
    /// nil until the watcher has run: udev is off and matched pads cannot be found.
    private(set) var available: Bool?

    init(windows: [WindowConfig], logger: Logger) {
        self.windows = windows
        self.logger = logger
    }

    func setAvailable(_ on: Bool) {
        available = on
        changed.fire()
    }

    /// A reload's windows: the devices present are bound to them again.
    func update(windows: [WindowConfig]) {
        self.windows = windows
        rebind()
    }

    func apply(_ event: UdevWatcher.Event) {
        switch event {
        case let .add(d): devices[d.devnode] = d
        case let .remove(node): devices[node] = nil
        case .enumerated: enumerated = true
        }
        rebind()
    }

    private func rebind() {
        guard enumerated else { return }
        let new = DeviceMatcher.bind(windows: windows, devices: Array(devices.values))
        for (window, binding) in new.sorted(by: { $0.key < $1.key }) where bindings[window] != binding {
            switch binding {
            case let .bound(node):
                logger.notice("pad found by udev", metadata: ["window": "\(window)", "path": "\(node)", "id_path": "\(devices[node]?.idPath ?? "-")"])
            case .absent:
                logger.notice("pad not present", metadata: ["window": "\(window)"])
            case let .ambiguous(nodes):
                logger.error("several devices match this window's pad; none is used. Match by id_path (the physical port)",
                             metadata: ["window": "\(window)", "paths": "\(nodes.joined(separator: ","))"])
            }
        }
        bindings = new
        changed.fire()
    }

    /// The node of a window's pad now, if exactly one device matches.
    public func path(for windowID: String) -> String? {
        if case let .bound(node) = bindings[windowID] { return node }
        return nil
    }

    /// Waits until the bindings change (or `ms` pass).
    nonisolated func waitForChange(ms: Int64) async { await changed.wait(milliseconds: ms) }

    public func snapshot() -> [UdevDevice] { Array(devices.values) }
}

/// Runs the udev watcher for input, hidraw and tty devices and feeds the registry. Without
/// udev (containers, minimal systems) it logs that hotplug is off and ends; explicit paths
/// still work.
struct UdevService: Service {
    let registry: DeviceRegistry
    let logger: Logger
    let needed: Bool

    func run() async throws {
        guard Udev.isRunning else {
            await registry.setAvailable(false)
            if needed {
                logger.error("udev is not running: pads bound by match = { … } cannot be found; give explicit paths (evdev = …, hidraw = …)")
            } else {
                logger.info("udev is not running: hotplug is off; configured device paths are opened directly")
            }
            // A service that returns ends the group: wait for shutdown instead.
            try? await gracefulShutdown()
            return
        }
        let watcher: UdevWatcher
        do {
            watcher = try UdevWatcher(subsystems: ["input", "hidraw", "tty"])
        } catch {
            await registry.setAvailable(false)
            logger.error("cannot watch udev; hotplug is off", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        await registry.setAvailable(true)
        logger.info("udev is running: following device hotplug")
        await cancelWhenGracefulShutdown {
            for await event in watcher.events {
                await registry.apply(event)
            }
        }
        watcher.stop()
    }
}
