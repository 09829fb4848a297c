import EvaluatorCore

/// The API's JSON views (issue 21: one wire schema): the daemon encodes them, `evaluatorctl`
/// decodes them; nobody redeclares them. Field names are the JSON names.
public struct OpenedEvaluationView: Codable, Sendable {
    public var session_id: String
    public var window_id: String
    public var case_id: String
    public var batch_case_ids: [String]
    public var prompted_at: String
    public var expires_at: String
    /// True when this request repeated the open one and got the same session back.
    public var reused: Bool
    /// True when that repeat changed the request's details (the session now carries them).
    public var updated: Bool
    /// false: the window's pad is absent or detached; the evaluation is open all the same.
    public var prompted: Bool
    /// The stage this evaluation rates and its service of the case (1, 2, … per case; issue 22).
    public var stage: String?
    public var service_no: Int

    public init(_ o: OpenedEvaluation) {
        let s = o.session
        stage = s.request.stage
        service_no = s.serviceNo ?? 1
        session_id = s.sessionID
        window_id = s.windowID
        case_id = s.request.caseID
        batch_case_ids = s.request.batchCaseIDs
        prompted_at = s.promptedAt.rfc3339
        expires_at = s.expiresAt.rfc3339
        reused = o.reused
        updated = o.updated
        prompted = o.prompted
    }
}

public struct CancelledEvaluationView: Codable, Sendable {
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

public struct SessionView: Codable, Sendable {
    public var session_id: String
    public var case_id: String
    public var prompted_at: String
    public var expires_at: String
    public var rated: Bool
    /// Opened while the window's pad was absent or detached (its prompt may not have been seen).
    public var pad_offline: Bool

    public init(_ s: Session) {
        pad_offline = s.padOffline == true
        session_id = s.sessionID
        case_id = s.request.caseID
        prompted_at = s.promptedAt.rfc3339
        expires_at = s.expiresAt.rfc3339
        rated = s.ratedAt != nil
    }
}

public struct WindowView: Codable, Sendable {
    public var id: String
    public var name: String
    public var department: String
    public var pad: String?
    public var session: SessionView?
    /// The staff signed in, or null.
    public var staff: StaffView?
    /// 暂停服务.
    public var paused: Bool

    public struct StaffView: Codable, Sendable {
        public var staff_id: String
        public var name: String
        public var title: String?
        public var photo: String?
    }

    public init(_ w: WindowSnapshot) {
        id = w.id
        name = w.name
        department = w.department
        pad = w.pad?.description
        session = w.session.map(SessionView.init)
        staff = w.state.staff.map { StaffView(staff_id: $0.staffID, name: $0.name, title: $0.title, photo: $0.photo) }
        paused = w.state.paused
    }

    enum CodingKeys: String, CodingKey { case id, name, department, pad, session, staff, paused }

    /// `staff` is null when nobody is signed in (not left out): a screen tells "signed out" from "not said".
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(department, forKey: .department)
        try c.encodeIfPresent(pad, forKey: .pad)
        try c.encodeIfPresent(session, forKey: .session)
        try c.encode(staff, forKey: .staff)
        try c.encode(paused, forKey: .paused)
    }
}

/// A device that looks like a keypad but no window uses, with the line that would bind it.
public struct UnconfiguredDeviceView: Codable, Sendable {
    public var path: String
    public var id_path: String?
    public var vendor: String?
    public var product: String?
    public var model: String?
    public var config_line: String?

    public init(_ d: UnconfiguredDevice) {
        path = d.path
        id_path = d.idPath
        vendor = d.vendor
        product = d.product
        model = d.model
        config_line = d.configLine
    }
}

public struct DevicesView: Codable, Sendable {
    public var pads: [PadView]
    public var unconfigured: [UnconfiguredDeviceView]
    /// "on" (udev followed), "off" (no udev: explicit paths only).
    public var hotplug: String

    public init(_ d: DevicesSnapshot) {
        pads = d.pads.map(PadView.init)
        unconfigured = d.unconfigured.map(UnconfiguredDeviceView.init)
        hotplug = d.hotplug ? "on" : "off"
    }
}

public struct ResendView: Codable, Sendable {
    public var requeued: Int
    public var record_ids: [String]
    /// Named records that are not quarantined (unknown, already accepted, or waiting).
    public var not_resendable: [String]

    public init(_ r: ResendResult) {
        requeued = r.requeued.count
        record_ids = r.requeued
        not_resendable = r.notResendable
    }
}

/// `GET /healthz`: `{"status": "ok" | "degraded" | "failing", "problems": [{"code", "message"}]}`.
public struct HealthView: Codable, Sendable {
    public var status: String
    public var problems: [StatusView.ProblemView]

    public init(_ h: HealthSnapshot) {
        status = h.status.rawValue
        problems = h.problems.map { StatusView.ProblemView(code: $0.code, message: $0.message, text: $0.text) }
    }
}

/// `POST /v1/records/import`: `{"imported", "already_present", "rated_cases"}`.
public struct ImportView: Codable, Sendable {
    public var imported: Int
    public var already_present: Int
    public var rated_cases: Int

    public init(_ r: ImportResult) {
        imported = r.imported
        already_present = r.alreadyPresent
        rated_cases = r.ratedCases
    }
}


/// `POST /v1/pads/{window}/pair`'s answer (admin): the one-time code and the tablet's address.
public struct PairingCodeView: Codable, Sendable {
    public var window_id: String
    public var code: String
    public var expires_at: String
    public var url: String
    public var qr_svg: String

    /// `qrSVG`: the URL as a QR code (the API draws it with libqrencode).
    public init(_ c: PairingCode, qrSVG: String) {
        window_id = c.windowID
        code = c.code
        expires_at = c.expiresAt.rfc3339
        url = c.url
        qr_svg = qrSVG
    }
}

/// A screen pad's page address for the hall status page (`/ui/pads`).
public struct ScreenPadLink: Codable, Sendable {
    public var window_id: String
    public var window_name: String
    public var pad: String
    /// The page with the pad's `pad:WINDOW` token; "" for a pad that pairs (its secret is never shown).
    public var url: String
    public var qr_svg: String
    /// When the pad was last paired (nil: never).
    public var paired_at: String?
    /// The command that pairs it (issue 20).
    public var pair_with: String

    public init(window_id: String, window_name: String, pad: String, url: String, qr_svg: String, paired_at: String?, pair_with: String) {
        self.window_id = window_id
        self.window_name = window_name
        self.pad = pad
        self.url = url
        self.qr_svg = qr_svg
        self.paired_at = paired_at
        self.pair_with = pair_with
    }
}

/// Every API error: `{"error": {"code", "message"}}`.
public struct ErrorView: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String
    }
    public var error: Detail

    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}
