import CUdev
#if canImport(Glibc)
import Glibc
#endif

/// libudev, linked through the `CUdev` system library. Discovery and hotplug of USB pads
/// build on this; for now it reports whether udev is usable so the log can say when hotplug
/// is off and explicit device paths are the only way in.
public enum Udev {
    /// True when libudev can create a context and udevd's runtime folder exists.
    public static var isRunning: Bool {
        guard let ctx = udev_new() else { return false }
        defer { udev_unref(ctx) }
        return access("/run/udev/control", F_OK) == 0
    }

    /// The udev properties of a device node (e.g. `ID_PATH`), or nil when udev does not know it.
    public static func properties(ofDeviceNode path: String) -> [String: String]? {
        guard let ctx = udev_new() else { return nil }
        defer { udev_unref(ctx) }
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let type: Int8 = (st.st_mode & S_IFMT) == S_IFCHR ? Int8(UInt8(ascii: "c")) : Int8(UInt8(ascii: "b"))
        guard let dev = udev_device_new_from_devnum(ctx, type, st.st_rdev) else { return nil }
        defer { udev_device_unref(dev) }
        var props: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(dev)
        while let e = entry {
            if let n = udev_list_entry_get_name(e), let v = udev_list_entry_get_value(e) {
                props[String(cString: n)] = String(cString: v)
            }
            entry = udev_list_entry_get_next(e)
        }
        return props
    }
}
