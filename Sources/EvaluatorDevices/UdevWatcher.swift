import CUdev
import Dispatch
import EvaluatorCore
import Foundation
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Enumerates devices of some subsystems through libudev, then follows udev's monitor for
/// add/remove. One thread owns the libudev context (libudev is not thread-safe); it sleeps in
/// poll(2) until udev sends an event or it is stopped.
public final class UdevWatcher: Sendable {
    public enum Event: Sendable, Hashable {
        case add(UdevDevice)
        case remove(devnode: String)
        /// Enumeration of the devices present at start is complete.
        case enumerated
    }

    public let events: AsyncStream<Event>
    private let stopPipe: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)

    public init(subsystems: [String]) throws(DeviceError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw DeviceError(code: .open, path: "udev", operation: "pipe", errno: Errno(rawValue: errno)) }
        stopPipe = (fds[0], fds[1])
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        events = stream
        let job = UdevThread(subsystems: subsystems, stopFD: fds[0], continuation: continuation, finished: finished)
        let thread = Thread { job.run() }
        thread.name = "udev-watcher"
        thread.start()
    }

    public func stop() {
        var one: UInt8 = 1
        _ = write(stopPipe.write, &one, 1)
    }

    deinit {
        stop()
        _ = finished.wait(timeout: .now() + 1)
        close(stopPipe.write)
        close(stopPipe.read)
    }

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

private final class UdevThread: @unchecked Sendable {
    let subsystems: [String]
    let stopFD: Int32
    let continuation: AsyncStream<UdevWatcher.Event>.Continuation
    let finished: DispatchSemaphore

    init(subsystems: [String], stopFD: Int32, continuation: AsyncStream<UdevWatcher.Event>.Continuation, finished: DispatchSemaphore) {
        self.subsystems = subsystems
        self.stopFD = stopFD
        self.continuation = continuation
        self.finished = finished
    }

    func run() {
        defer {
            continuation.finish()
            finished.signal()
        }
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
            var fds = [pollfd(fd: monFD, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, 2, -1)
            if rc < 0 { if errno == EINTR { continue } else { return } }
            if fds[1].revents != 0 { return }
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
