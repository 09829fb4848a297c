import Foundation

/// A configuration error names the file, the line (where it can be found) and the key, and says
/// what is wrong. The daemon exits non-zero on one before touching any device.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public typealias Code = ErrorCode<ConfigError>
    public var code: Code
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String
    /// The other errors found in the same file (the reader goes on past the first; a section
    /// that depends on a broken one is not read, so one mistake is not reported twice).
    public var more: [ConfigError] = []

    public init(code: Code, file: String, line: Int?, key: String, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// This error and the others, in the file's order.
    public var all: [ConfigError] {
        var first = self
        first.more = []
        return [first] + more
    }

    /// One line: file:line: key: message.
    public var line1: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }

    /// Every error, one per line.
    public var description: String { all.map(\.line1).joined(separator: "\n") }
}

public enum APIListen: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case let .tcp(host, port): "\(host):\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }

    /// Parses `127.0.0.1:8740`, `[::1]:8740` or `unix:/run/evaluatord/api.sock`.
    public static func parse(_ text: String) -> APIListen? {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            return path.isEmpty ? nil : .unix(path: path)
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : .tcp(host: host, port: port)
    }
}

public struct BusConfig: Sendable, Hashable {
    public var id: String
    public var port: String
    public var baud: Int
    public var proto: String
}

/// Which udev device a USB pad is: by physical port (`ID_PATH`, the default way — identical
/// pads share vendor, product and serial) or by vendor/product/serial.
public struct DeviceMatch: Sendable, Hashable, CustomStringConvertible {
    public var idPath: String?
    public var vendor: String?
    public var product: String?
    public var serial: String?

    public init(idPath: String? = nil, vendor: String? = nil, product: String? = nil, serial: String? = nil) {
        self.idPath = idPath
        self.vendor = vendor
        self.product = product
        self.serial = serial
    }

    public var description: String {
        [idPath.map { "id_path=\($0)" }, vendor.map { "vendor=\($0)" }, product.map { "product=\($0)" }, serial.map { "serial=\($0)" }]
            .compactMap { $0 }.joined(separator: " ")
    }
}

/// The kind of device node a USB HID pad is read from.
public enum HIDNode: String, Sendable, Hashable { case evdev, hidraw }

/// Whether an evdev pad is grabbed (EVIOCGRAB) so presses never type into the clerk's desktop.
public enum GrabMode: String, Sendable, Hashable {
    /// Do not grab.
    case off
    /// Grab; if another program holds the device, warn and keep reading.
    case attempt = "try"
    /// Grab; if it fails, the pad is unhealthy and not read.
    case require
}

public enum PadSource: Sendable, Hashable {
    case serial(bus: String, address: UInt8)
    case hid(node: HIDNode, path: String)
    case udev(node: HIDNode, match: DeviceMatch)
    /// A screen pad (tablet) named NAME, talking over the WebSocket (issue 14).
    case screen(name: String)
}

public struct PadConfig: Sendable, Hashable {
    public var source: PadSource
    public var keymap: KeyMap
    public var grab: GrabMode
    /// The pad's identity (records show its text form: `bus1#3`, `evdev:W01`, `hidraw:W01`).
    public var id: PadID

    public init(source: PadSource, keymap: KeyMap, grab: GrabMode = .attempt, id: PadID) {
        self.source = source
        self.keymap = keymap
        self.grab = grab
        self.id = id
    }

    public static func serial(bus: String, address: UInt8, keymap: KeyMap) -> PadConfig {
        PadConfig(source: .serial(bus: bus, address: address), keymap: keymap, grab: .off, id: .serial(bus: bus, address: address))
    }

    /// A USB HID pad of a window: its identity follows from the node kind and the window.
    public static func usb(_ source: PadSource, node: HIDNode, window: String, keymap: KeyMap, grab: GrabMode) -> PadConfig {
        PadConfig(source: source, keymap: keymap, grab: node == .evdev ? grab : .off,
                  id: node == .evdev ? .evdev(window: window) : .hidraw(window: window))
    }

    /// A screen pad of a window: no keys, its identity is its name.
    public static func screen(name: String) -> PadConfig {
        PadConfig(source: .screen(name: name), keymap: KeyMap(name: "screen", levels: [:]), grab: .off, id: .screen(name: name))
    }

    /// The name of a screen pad.
    public var screenName: String? {
        if case let .screen(n) = source { return n }
        return nil
    }

    public var bus: String? {
        switch source {
        case let .serial(b, _): return b
        default: return nil
        }
    }

    public var address: UInt8? {
        switch source {
        case let .serial(_, a): return a
        default: return nil
        }
    }

    /// The configured node path of an explicit USB pad.
    public var hidPath: String? {
        switch source {
        case let .hid(_, p): return p
        default: return nil
        }
    }

    /// The udev match of a USB pad found by udev.
    public var udevMatch: DeviceMatch? {
        switch source {
        case let .udev(_, m): return m
        default: return nil
        }
    }
}

public struct WindowConfig: Sendable, Hashable {
    public var id: String
    public var name: String
    public var department: String
    public var pad: PadConfig?
}

public struct UplinkConfig: Sendable, Hashable {
    public var url: String
    public var batchMax: Int
    public var flushIntervalMs: Int64
    public var backoffInitialMs: Int64
    public var backoffMaxMs: Int64
    public var requestTimeoutMs: Int64
    public var connectTimeoutMs: Int64
    /// The upstream format (default generic-json).
    public var profile: UpstreamProfile
    /// The HMAC key, for a profile that signs.
    public var signingKey: [UInt8]?
    /// TLS: certificate verification is always on. A CA file replaces the system roots (a
    /// provincial private CA); a client certificate and key enable mTLS.
    public var tlsCAFile: String?
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// Send bodies gzip-compressed (`Content-Encoding: gzip`), for slow links and big backlogs.
    public var gzip = false
    /// `kind = "postgres"`: insert into this PostgreSQL table instead of POSTing.
    public var postgres: PostgresTarget?
    /// Batches sent at once while draining a backlog (1: strictly one after another).
    public var maxInFlight = 1
    /// Health is degraded when records have waited this long with no upload (s).
    public var stallAlertS = 600
    /// Plaintext (http://, sslmode=disable) to a non-loopback host was asked for explicitly.
    public var allowPlaintext = false

    /// The defaults, written once: the reader falls back to these.
    public static let defaults = UplinkConfig(url: "")

    public init(url: String, batchMax: Int = 500, flushIntervalMs: Int64 = 1000, backoffInitialMs: Int64 = 500,
                backoffMaxMs: Int64 = 300_000, requestTimeoutMs: Int64 = 30_000, connectTimeoutMs: Int64 = 10_000,
                profile: UpstreamProfile = .genericJSON, signingKey: [UInt8]? = nil) {
        self.profile = profile
        self.signingKey = signingKey
        self.url = url
        self.batchMax = batchMax
        self.flushIntervalMs = flushIntervalMs
        self.backoffInitialMs = backoffInitialMs
        self.backoffMaxMs = backoffMaxMs
        self.requestTimeoutMs = requestTimeoutMs
        self.connectTimeoutMs = connectTimeoutMs
    }
}

public struct GatewayConfig: Sendable, Hashable {
    /// The defaults of the [gateway], [api] and [session] keys, written once.
    public enum Defaults {
        public static let stateDir = "/var/lib/evaluatord"
        public static let api = APIListen.tcp(host: "127.0.0.1", port: 8740)
        public static let apiMaxBodyBytes = 64 * 1024
        public static let sessionTimeoutS = 30
        public static let retransmitWindowMs = 1500
        public static let reasonWindowMs = 10_000
        public static let maxPressesPerMinute = 30
    }

    public var gatewayID: String
    public var region: String
    public var stateDir: String
    public var api: APIListen
    public var apiMaxBodyBytes: Int
    public var sessionTimeoutMs: Int64
    public var retransmitWindowMs: Int64
    public var reasonWindowMs: Int64
    public var scores: ScoreTable
    public var buses: [BusConfig]
    public var windows: [WindowConfig]
    public var uplink: UplinkConfig?
    /// Where the configuration came from, for messages.
    public var source: String
    /// Who may use the API and how the server is bounded (`[api]`).
    public var apiAccess = APIAccess()
    /// Per pad, presses that rate nothing stored one by one per minute; beyond, counted.
    public var maxPressesPerMinute = Defaults.maxPressesPerMinute
    /// Fraud and interference signals: `[session]` thresholds, `[hours]`, `gateway.time_zone`.
    public var signals = SignalRules()
    /// `[store] keep_sent_days`: records accepted upstream and older are pruned; nil: kept forever.
    public var keepSentDays: Int?
    /// Screen pads: `[screen]`, `[reasons.*]`, `[[dimension]]` (issue 14).
    public var screen = ScreenOptions()
    /// `[session] stages`: the stages a case is rated at, in order (一事多评, issue 22).
    public var stages = Stages.defaultList
    /// `[session] max_services_per_case` (issue 22).
    public var maxServicesPerCase = Stages.defaultMaxServicesPerCase

    public var policyConfig: SessionPolicyConfig {
        var c = SessionPolicyConfig(
            windows: Dictionary(uniqueKeysWithValues: windows.map {
                ($0.id, WindowInfo(id: $0.id, name: $0.name, department: $0.department, pad: $0.pad?.id))
            }),
            pads: PadDirectory(windows: windows),
            scores: scores, defaultTimeoutMs: sessionTimeoutMs, retransmitWindowMs: retransmitWindowMs,
            reasonWindowMs: reasonWindowMs
        )
        c.maxPressesPerMinute = maxPressesPerMinute
        c.signals = signals
        c.screen = screen
        c.stages = stages
        c.maxServicesPerCase = maxServicesPerCase
        return c
    }

    public var databasePath: String { (stateDir as NSString).appendingPathComponent("evaluatord.sqlite") }
}

/// The `[api]` keys beyond `listen` and `max_body_bytes`: access control and bounds.
public struct APIAccess: Sendable, Hashable {
    public static let defaults = APIAccess()

    /// `tokens_file`; nil: no tokens, every local caller may act (caller name `api`).
    public var tokensFile: String?
    /// The tokens file's tokens, and the admin token when it could be read (issue 20).
    public var tokens: TokenSet?
    /// `admin_token_file` (default `admin.token` beside the tokens file; only with a tokens
    /// file): one line, the `admin` token, 0600 root. Under systemd the daemon gets it as the
    /// credential `admin.token` (the unit's `LoadCredential=`); `evaluatorctl` run as root reads
    /// the file. The operator's tokens file is never edited.
    public var adminTokenFile: String?
    /// The admin token, when this process could read it.
    public var adminToken: APIToken? { tokens?.tokens.first { $0.name == APIToken.adminName } }
    /// TLS for a non-loopback API.
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// An idle connection is closed after this long.
    public var idleTimeoutS = 30
    /// A connection's first request head must be complete this long after accept, absolute
    /// (issue 20: a byte every 20 s kept the idle timer from ever firing).
    public var headerTimeoutMs = 3000
    /// At most this many connections are open at once.
    public var maxConnections = 256
    /// The unix socket's mode and group (`unix:` listen only).
    public var socketMode: UInt32 = 0o660
    public var socketGroup: String?
    /// On a TCP listener without tokens (issue 20): `Host` names besides the listen address
    /// (and, on loopback, localhost) that requests may carry — anything else is DNS rebinding.
    public var allowedHosts: [String] = []
    /// Browser origins (`http://queue.hall.local:8080`) of web-based window systems that may
    /// call the API without tokens, answered with CORS headers; any other `Origin` is refused.
    public var allowedOrigins: [String] = []

    public init() {}
}

extension APIListen {
    /// True where only this box can connect: a loopback address, or a unix socket.
    public var isLocal: Bool {
        switch self {
        case .unix: true
        case let .tcp(host, _): host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }
}

/// The one baud table: the rates a bus may be configured with. The serial port maps each to
/// its termios speed (an exhaustive switch, so a rate added here cannot be forgotten there).
public enum SerialBaud: Int, CaseIterable, Sendable {
    case b1200 = 1200, b2400 = 2400, b4800 = 4800, b9600 = 9600, b19200 = 19200, b38400 = 38400
    case b57600 = 57600, b115200 = 115200, b230400 = 230400
}

extension UplinkConfig {
    /// Where records go, in words for status (never the password of a PostgreSQL URL).
    public var summary: String {
        postgres.map { "postgres: \($0.host):\($0.port)/\($0.database) table \($0.table)" } ?? redactedURL
    }
}

/// Secrets never reach a log, an answer or a message: a URL's password and query string are
/// shown as `***` (a provincial interface may carry its key in the query).
public enum Redact {
    public static func url(_ text: String) -> String {
        guard var c = URLComponents(string: text) else { return "***" }
        if c.password != nil { c.password = "***" }
        if c.query != nil { c.percentEncodedQuery = "***" }
        return c.string ?? "***"
    }
}

extension UplinkConfig: CustomStringConvertible, CustomDebugStringConvertible {
    /// The URL as logs and status may show it.
    public var redactedURL: String { Redact.url(url) }

    /// Never the URL's password or query, never the key: a config printed by a library's debug
    /// log (swift-service-lifecycle prints its services) must not leak them.
    public var description: String {
        "uplink \(summary), profile \(profile.name), batches of \(batchMax)\(signingKey == nil ? "" : ", signed (key ***)")"
    }

    public var debugDescription: String { description }
}

extension ErrorCode where Domain == ConfigError {
    public static var unreadable: Self { Self("unreadable") }
    public static var syntax: Self { Self("syntax") }
    public static var missing: Self { Self("missing") }
    public static var invalid: Self { Self("invalid") }
    public static var unknownKey: Self { Self("unknownKey") }
}
