import EvaluatorCore
import EvaluatorDevices
import EvaluatorProtocol
import EvaluatorSupport
import Foundation
import Logging
import ServiceLifecycle

/// One USB HID pad read from a configured path (`pad = { evdev = … }` or `{ hidraw = … }`).
/// The node may come and go: while it is missing or not yet accessible (EACCES before udev
/// applies permissions) it is retried, quickly at first, then with backoff up to 10 s. The
/// window's open session is untouched by detach and re-attach. A FIFO or regular file is read
/// the same way, without ioctls; its EOF means "disconnected".
struct HIDPadService: Service {
    /// Where the pad's node is: a configured path, or whatever udev binds to the window.
    enum Location: Sendable {
        case fixed(String)
        case udev(DeviceRegistry, DeviceMatch)
    }

    let windowID: String
    let pad: PadID
    let node: HIDNode
    let location: Location
    let grabMode: GrabMode
    let gateway: Gateway
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func meta(_ path: String) -> Logger.Metadata {
        ["window": "\(windowID)", "pad": "\(pad)", "path": "\(path)"]
    }

    /// The path to open now; waits while a udev-matched pad is absent.
    private func currentPath() async -> String? {
        switch location {
        case let .fixed(p): return p
        case let .udev(registry, _):
            while !Task.isCancelled {
                if let p = await registry.path(for: windowID) { return p }
                await registry.waitForChange(ms: 5000)
            }
            return nil
        }
    }

    private func loop() async {
        var retry = Backoff(initialMs: 250, maxMs: 10_000, jitter: false)
        while !Task.isCancelled {
            guard let path = await currentPath() else { break }
            let baseMeta = meta(path)
            let device: InputDevice
            do {
                device = try InputDevice.open(path: path)
            } catch {
                if retry.failed(error) {
                    let hint = error.errno == .permissionDenied ? " (not accessible yet; udev may still be applying permissions, or add the service user to group 'input')" : ""
                    logger.warning("pad cannot be opened; retrying\(hint)", metadata: baseMeta.merging(["error": "\(error)"]) { $1 })
                }
                await retry.wait()
                continue
            }
            retry.reset()
            var meta = baseMeta
            if device.isCharacterDevice, let idPath = Udev.properties(ofDeviceNode: path)?["ID_PATH"] {
                meta["id_path"] = "\(idPath)"
            }
            meta["node"] = "\(node.rawValue)\(device.isCharacterDevice ? "" : " (file or FIFO: no ioctls)")"
            await read(device, path: path, meta: meta)
            device.close()
            gateway.stats.padAttached(pad, path: nil)
            if Task.isCancelled { break }
            logger.notice("pad detached", metadata: meta)
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func read(_ device: InputDevice, path: String, meta: Logger.Metadata) async {
        let reader: DescriptorReader
        do {
            reader = try DescriptorReader(fd: device.fd, path: path)
        } catch {
            logger.error("cannot start reading pad", metadata: meta.merging(["error": "\(error)"]) { $1 })
            return
        }
        defer { reader.stopAndWait() }
        var tracker = EvdevKeyTracker()
        var events = EvdevDecoder()
        var reports = HidrawDecoder()
        var grab = GrabPolicy(mode: node == .evdev && device.isCharacterDevice ? grabMode : .off)
        if node == .evdev {
            _ = tracker.resync(held: (try? device.heldKeys()) ?? [])
        }

        // Grab only when no key is held, or the desktop sees a stuck key.
        func tryGrab() -> Bool {
            guard grab.shouldGrab(keysHeld: !tracker.isIdle) else { return true }
            do {
                try device.grab()
                _ = grab.grabResult(succeeded: true)
                logger.info("pad grabbed: presses no longer reach the desktop", metadata: meta)
                return true
            } catch {
                switch grab.grabResult(succeeded: false) {
                case .unhealthy:
                    logger.error("pad grab failed and grab = \"require\": pad is unhealthy and not read. Another program holds it (see `fuser -v \(path)`); stop it or set grab = \"try\"", metadata: meta.merging(["error": "\(error)"]) { $1 })
                    return false
                default:
                    logger.warning("pad grab failed: presses also reach the desktop. Another program holds it (see `fuser -v \(path)`); reading goes on (grab = \"try\")", metadata: meta.merging(["error": "\(error)"]) { $1 })
                    return true
                }
            }
        }

        guard tryGrab() else {
            gateway.stats.padError(pad)
            // Unhealthy: keep the node open (so detach is still seen) but do not rate from it.
            do { for try await _ in reader.stream {} } catch {}
            return
        }
        gateway.stats.padAttached(pad, path: path)
        logger.notice("pad attached", metadata: meta)
        do {
            for try await chunk in reader.stream {
                switch node {
                case .evdev:
                    for event in events.decode(chunk) {
                        for out in tracker.handle(event) {
                            switch out {
                            case let .press(code):
                                await gateway.handleKey(pad: pad, code: code)
                            case .resyncNeeded:
                                logger.warning("pad events dropped by the kernel (SYN_DROPPED); key state resynchronised", metadata: meta)
                                for case let .press(code) in tracker.resync(held: (try? device.heldKeys()) ?? tracker.held) {
                                    await gateway.handleKey(pad: pad, code: code)
                                }
                            }
                        }
                    }
                    if !tryGrab() { return }
                case .hidraw:
                    // A node gives one report per read(2); a FIFO replay is a stream of 8-byte reports.
                    for usage in device.isCharacterDevice ? reports.decodeReport(chunk) : reports.decode(chunk) {
                        if let code = HidrawDecoder.keyCode(forUsage: usage) {
                            await gateway.handleKey(pad: pad, code: code)
                        } else {
                            logger.debug("hidraw usage with no key code ignored", metadata: meta.merging(["usage": "\(usage)"]) { $1 })
                        }
                    }
                }
            }
        } catch let e as DeviceError where e.errno == .operationNotSupportedByDevice {
            logger.info("pad removed", metadata: meta) // unplugged: ENODEV is how the kernel says so
        } catch {
            logger.warning("pad read error", metadata: meta.merging(["error": "\(error)"]) { $1 })
            gateway.stats.padError(pad)
        }
    }
}
