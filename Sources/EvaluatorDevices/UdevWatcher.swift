import CUdev
import EvaluatorCore
import EvaluatorSupport
import Foundation
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Enumerates devices of some subsystems through libudev, then follows udev's monitor for
/// add/remove. One `ReaderThread` owns the libudev context (libudev is not thread-safe); it
/// sleeps in poll(2) until udev sends an event or it is stopped.
public final class UdevWatcher: Sendable {
    public enum Event: Sendable, Hashable {
        case add(UdevDevice)
        case remove(devnode: String)
        /// Enumeration of the devices present at start is complete.
        case enumerated
    }

    public let events: AsyncStream<Event>
    private let thread: ReaderThread

    public init(subsystems: [String]) throws(DeviceError) {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        events = stream
        do {
            thread = try ReaderThread { poller in
                Self.watch(subsystems: subsystems, poller: poller, continuation: continuation)
                continuation.finish()
            }
        } catch {
            throw DeviceError(code: .open, path: "udev", operation: "starting the udev thread", errno: error)
        }
    }

    public func stop() { thread.stop() }

    /// The udev properties, node and subsystem of a libudev device.
    static func convert(_ dev: OpaquePointer) -> UdevDevice? {
        guard let node = udev_device_get_devnode(dev), let subsystem = udev_device_get_subsystem(dev) else { return nil }
        var props: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(dev)
        while let e = entry {
            if let n = udev_list_entry_get_name(e), let v = udev_list_entry_get_value(e) {
                props[string(n)] = string(v)
            }
            entry = udev_list_entry_get_next(e)
        }
        return UdevDevice(devnode: string(node), subsystem: string(subsystem), properties: props)
    }

    static func string(_ p: UnsafePointer<CChar>) -> String {
        String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
    }
}

extension UdevWatcher {
    /// Runs on the reader thread, which alone owns the libudev context.
    private static func watch(subsystems: [String], poller: ReaderThread.Poller, continuation: AsyncStream<Event>.Continuation) {
        guard let ctx = udev_new() else { return }
        defer { udev_unref(ctx) }
        // Monitor first, then enumerate, so nothing plugged in between is missed.
        guard let mon = udev_monitor_new_from_netlink(ctx, "udev") else { return }
        defer { udev_monitor_unref(mon) }
        for s in subsystems { udev_monitor_filter_add_match_subsystem_devtype(mon, s, nil) }
        udev_monitor_enable_receiving(mon)
        let monFD = udev_monitor_get_fd(mon)

        if let en = udev_enumerate_new(ctx) {
            for s in subsystems { udev_enumerate_add_match_subsystem(en, s) }
            udev_enumerate_scan_devices(en)
            var entry = udev_enumerate_get_list_entry(en)
            while let e = entry {
                if let path = udev_list_entry_get_name(e), let dev = udev_device_new_from_syspath(ctx, path) {
                    if let d = UdevWatcher.convert(dev) { continuation.yield(.add(d)) }
                    udev_device_unref(dev)
                }
                entry = udev_list_entry_get_next(e)
            }
            udev_enumerate_unref(en)
        }
        continuation.yield(.enumerated)

        while true {
            guard poller.wait(for: monFD) == .readable else { return }
            guard let dev = udev_monitor_receive_device(mon) else { continue }
            defer { udev_device_unref(dev) }
            let action = udev_device_get_action(dev).map(UdevWatcher.string) ?? ""
            switch action {
            case "remove":
                if let node = udev_device_get_devnode(dev) { continuation.yield(.remove(devnode: UdevWatcher.string(node))) }
            case "add", "change", "bind":
                if let d = UdevWatcher.convert(dev) { continuation.yield(.add(d)) }
            default:
                continue
            }
        }
    }
}
