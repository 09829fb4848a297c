import EvaluatorCore

/// An API failure: HTTP status, a stable code and a message that says what is wrong.
public struct APIFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func unknownWindow(_ id: String) -> APIFailure {
        APIFailure(status: 404, code: "unknown_window", message: "no window \"\(id)\" is configured")
    }
}

public struct OpenedEvaluationView: Encodable, Sendable {
    public var session_id: String
    public var window_id: String
    public var case_id: String
    public var batch_case_ids: [String]
    public var prompted_at: String
    public var expires_at: String
    /// True when this request repeated the open one and got the same session back.
    public var reused: Bool

    public init(_ s: Session, reused: Bool) {
        session_id = s.sessionID
        window_id = s.windowID
        case_id = s.request.caseID
        batch_case_ids = s.request.batchCaseIDs
        prompted_at = s.promptedAt.rfc3339
        expires_at = s.expiresAt.rfc3339
        self.reused = reused
    }
}

public struct CancelledEvaluationView: Encodable, Sendable {
    public var session_id: String
    public var window_id: String
    public var case_id: String
    public var outcome = "cancelled"

    public init(_ s: Session) {
        session_id = s.sessionID
        window_id = s.windowID
        case_id = s.request.caseID
    }
}

public struct SessionView: Encodable, Sendable {
    public var session_id: String
    public var case_id: String
    public var prompted_at: String
    public var expires_at: String
    public var rated: Bool

    public init(_ s: Session) {
        session_id = s.sessionID
        case_id = s.request.caseID
        prompted_at = s.promptedAt.rfc3339
        expires_at = s.expiresAt.rfc3339
        rated = s.ratedAt != nil
    }
}

public struct PadView: Encodable, Sendable {
    public var pad: String
    public var window_id: String?
    public var bus: String
    public var path: String
    public var state: String
    public var last_press_at: String?
    public var presses: Int
    public var presses_today: Int
    public var errors: Int

    public init(pad: String, window_id: String?, bus: String, path: String, state: String, last_press_at: String?, presses: Int,
                presses_today: Int, errors: Int) {
        self.presses_today = presses_today
        self.pad = pad
        self.window_id = window_id
        self.bus = bus
        self.path = path
        self.state = state
        self.last_press_at = last_press_at
        self.presses = presses
        self.errors = errors
    }
}

public struct WindowView: Encodable, Sendable {
    public var id: String
    public var name: String
    public var department: String
    public var pad: String?
    public var session: SessionView?

    public init(id: String, name: String, department: String, pad: String?, session: SessionView?) {
        self.id = id
        self.name = name
        self.department = department
        self.pad = pad
        self.session = session
    }
}

public struct StatusView: Encodable, Sendable {
    public var gateway_id: String
    public var region: String
    public var started_at: String
    public var records: Int
    public var backlog: Int
    /// Records the central store refused, set aside (`evaluatorctl pending --quarantined`).
    public var quarantined: Int = 0
    public var last_upload_at: String?
    public var last_upload_error: String?
    public var uplink: String
    public var open_sessions: Int
    public var pads: [PadView]

    public init(gateway_id: String, region: String, started_at: String, records: Int, backlog: Int, last_upload_at: String?,
                last_upload_error: String?, uplink: String, open_sessions: Int, pads: [PadView]) {
        self.gateway_id = gateway_id
        self.region = region
        self.started_at = started_at
        self.records = records
        self.backlog = backlog
        self.last_upload_at = last_upload_at
        self.last_upload_error = last_upload_error
        self.uplink = uplink
        self.open_sessions = open_sessions
        self.pads = pads
    }
}

/// A device that looks like a keypad but no window uses, with the line that would bind it.
public struct UnconfiguredDeviceView: Encodable, Sendable {
    public var path: String
    public var id_path: String?
    public var vendor: String?
    public var product: String?
    public var model: String?
    public var config_line: String?

    public init(path: String, id_path: String?, vendor: String?, product: String?, model: String?, config_line: String?) {
        self.path = path
        self.id_path = id_path
        self.vendor = vendor
        self.product = product
        self.model = model
        self.config_line = config_line
    }
}

public struct DevicesView: Encodable, Sendable {
    public var pads: [PadView]
    public var unconfigured: [UnconfiguredDeviceView]
    /// "on" (udev followed), "off" (no udev: explicit paths only).
    public var hotplug: String

    public init(pads: [PadView], unconfigured: [UnconfiguredDeviceView], hotplug: String) {
        self.pads = pads
        self.unconfigured = unconfigured
        self.hotplug = hotplug
    }
}

/// What the API needs from the gateway. The daemon's `Gateway` actor implements it.
public protocol EvaluationService: Sendable {
    func openEvaluation(windowID: String, request: EvaluationRequest) async throws(APIFailure) -> (Session, reused: Bool)
    func cancelEvaluation(windowID: String) async throws(APIFailure) -> Session
    func windowViews() async -> [WindowView]
    func statusView() async throws(APIFailure) -> StatusView
    func devicesView() async -> DevicesView
}
