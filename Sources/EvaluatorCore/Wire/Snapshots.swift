/// What the gateway reports about itself: domain values the API turns into JSON views (and the
/// CLI into tables). No HTTP, no field spellings of any wire format here.

/// One pad as the device side sees it.
public struct PadSnapshot: Sendable, Hashable {
    public var pad: PadID
    public var windowID: String?
    /// The serial bus the pad sits on, or `usb` for a USB HID pad.
    public var bus: String
    /// The node read (or configured) for the pad.
    public var path: String
    public var attached: Bool
    public var lastPressAt: Millis?
    public var presses: Int
    public var pressesToday: Int
    public var errors: Int
    /// Pressing faster than `session.max_presses_per_minute` this minute.
    public var flooding: Bool
    /// A screen pad with neither a `pad:WINDOW` token nor a pairing (issue 20).
    public var unpaired = false

    public init(pad: PadID, windowID: String?, bus: String, path: String, attached: Bool, lastPressAt: Millis?, presses: Int,
                pressesToday: Int, errors: Int, flooding: Bool = false) {
        self.flooding = flooding
        self.pad = pad
        self.windowID = windowID
        self.bus = bus
        self.path = path
        self.attached = attached
        self.lastPressAt = lastPressAt
        self.presses = presses
        self.pressesToday = pressesToday
        self.errors = errors
    }
}

/// A configured window and its open evaluation, if any.
/// A member of staff at a window (issue 14): shown on the citizen's screen; an evaluation
/// opened without `staff_id` takes theirs.
public struct StaffMember: Sendable, Hashable, Codable {
    public var staffID: String
    public var name: String
    public var title: String?
    /// A file name in `[screen] photo_dir`.
    public var photo: String?

    public init(staffID: String, name: String, title: String? = nil, photo: String? = nil) {
        self.staffID = staffID
        self.name = name
        self.title = title
        self.photo = photo
    }
}

/// A window's serving state: who is signed in, whether it is paused (暂停服务). Kept in the
/// store across restarts.
public struct WindowState: Sendable, Hashable, Codable {
    public var staff: StaffMember?
    public var paused: Bool

    public init(staff: StaffMember? = nil, paused: Bool = false) {
        self.staff = staff
        self.paused = paused
    }
}

public struct WindowSnapshot: Sendable, Hashable {
    public var id: String
    public var name: String
    public var department: String
    public var pad: PadID?
    public var session: Session?
    public var state: WindowState

    public init(id: String, name: String, department: String, pad: PadID?, session: Session?, state: WindowState = WindowState()) {
        self.id = id
        self.name = name
        self.department = department
        self.pad = pad
        self.session = session
        self.state = state
    }
}

/// A device that looks like a keypad but that no window uses, with the line that would bind it.
public struct UnconfiguredDevice: Sendable, Hashable {
    public var path: String
    public var idPath: String?
    public var vendor: String?
    public var product: String?
    public var model: String?
    public var configLine: String?

    public init(_ d: UdevDevice) {
        path = d.devnode
        idPath = d.idPath
        vendor = d.properties["ID_VENDOR_ID"]
        product = d.properties["ID_MODEL_ID"]
        model = d.properties["ID_MODEL"]
        configLine = DeviceMatcher.suggestedPadLine(for: d)
    }
}

public struct DevicesSnapshot: Sendable, Hashable {
    public var pads: [PadSnapshot]
    public var unconfigured: [UnconfiguredDevice]
    /// udev is followed (hotplug on).
    public var hotplug: Bool

    public init(pads: [PadSnapshot], unconfigured: [UnconfiguredDevice], hotplug: Bool) {
        self.pads = pads
        self.unconfigured = unconfigured
        self.hotplug = hotplug
    }
}

/// The uplink as status shows it (issue 13).
public struct UplinkStatus: Sendable, Hashable {
    public enum State: String, Sendable {
        /// No `[uplink]`: records are kept locally.
        case none
        /// The last attempt was accepted, or nothing has failed.
        case ok
        /// The last attempt failed; retries go on.
        case failing
    }
    public var state: State
    /// Where records go, in words (never a password).
    public var target: String
    /// When the current run of failures began.
    public var failingSince: Millis?
    /// Failed attempts in a row.
    public var attempts: Int
    public var nextRetryAt: Millis?
    public var lastUploadAt: Millis?
    public var lastError: String?

    public init(state: State, target: String, failingSince: Millis? = nil, attempts: Int = 0, nextRetryAt: Millis? = nil,
                lastUploadAt: Millis? = nil, lastError: String? = nil) {
        self.state = state
        self.target = target
        self.failingSince = failingSince
        self.attempts = attempts
        self.nextRetryAt = nextRetryAt
        self.lastUploadAt = lastUploadAt
        self.lastError = lastError
    }
}

/// `/v1/status` and `evaluatorctl status` (the schema is issue 13's: README "Status").
public struct StatusSnapshot: Sendable, Hashable {
    public var gatewayID: String
    public var region: String
    public var startedAt: Millis
    /// When the snapshot was taken (for ages and uptime).
    public var at: Millis
    /// ok, degraded or failing, with what is wrong (the same as `/healthz`).
    public var health: HealthSnapshot
    public var records: Int
    public var backlog: Int
    /// The oldest record waiting to be sent.
    public var oldestWaitingAt: Millis?
    /// Records the central store refused, set aside.
    public var quarantined: Int
    public var uplink: UplinkStatus
    public var openSessions: Int
    public var pads: [PadSnapshot]
    /// The chain head: `chain_id`, `seq`, `hash` (docs/CHAIN.md).
    public var chain: ChainHead?
    /// The build (`BuildInfo.description`).
    public var version = BuildInfo.description
    /// The last reload since start, if any.
    public var lastReload: ReloadResult?

    public init(gatewayID: String, region: String, startedAt: Millis, at: Millis, health: HealthSnapshot, records: Int, backlog: Int,
                oldestWaitingAt: Millis?, quarantined: Int, uplink: UplinkStatus, openSessions: Int, pads: [PadSnapshot]) {
        self.gatewayID = gatewayID
        self.region = region
        self.startedAt = startedAt
        self.at = at
        self.health = health
        self.records = records
        self.backlog = backlog
        self.oldestWaitingAt = oldestWaitingAt
        self.quarantined = quarantined
        self.uplink = uplink
        self.openSessions = openSessions
        self.pads = pads
    }

    public var problems: [Problem] { health.problems }
    public var lastUploadAt: Millis? { uplink.lastUploadAt }
}

/// Something wrong that an operator should see (status, and the log at the time): a stable code
/// and a sentence.
public struct Problem: Sendable, Hashable {
    public var code: String
    /// The English detail, for operators: logs, `--json`, the hover text of the status page.
    public var message: String
    /// What hall staff read (Chinese): what is wrong and what to do (issue 21; Problems.swift).
    public var text: String

    public init(code: String, message: String, text: String) {
        self.code = code
        self.message = message
        self.text = text
    }
}

/// `GET /healthz`: ok, degraded (ratings are taken, something needs a look) or failing (the
/// store refuses writes: ratings cannot be taken).
public struct HealthSnapshot: Sendable, Hashable {
    public enum Status: String, Sendable { case ok, degraded, failing }
    public var status: Status
    public var problems: [Problem]

    public init(status: Status, problems: [Problem]) {
        self.status = status
        self.problems = problems
    }
}

/// What an import of salvaged records did.
public struct ImportResult: Sendable, Hashable {
    public var imported: Int
    public var alreadyPresent: Int
    public var ratedCases: Int

    public init(imported: Int, alreadyPresent: Int, ratedCases: Int) {
        self.imported = imported
        self.alreadyPresent = alreadyPresent
        self.ratedCases = ratedCases
    }
}

/// What `resend` did: records put back in the queue, and named records that could not be
/// (unknown, already accepted upstream, or not quarantined).
public struct ResendResult: Sendable, Hashable {
    public var requeued: [String]
    public var notResendable: [String]

    public init(requeued: [String], notResendable: [String]) {
        self.requeued = requeued
        self.notResendable = notResendable
    }
}

/// The answer to opening an evaluation.
public struct OpenedEvaluation: Sendable, Hashable {
    public var session: Session
    /// The request repeated the open one: the same session answers.
    public var reused: Bool
    /// The repeat changed the request's details; the open session now carries them.
    public var updated: Bool
    /// The window's pad was there to be prompted; false: absent or detached (the evaluation
    /// is open all the same and its records are flagged `pad_offline`).
    public var prompted: Bool

    public init(session: Session, reused: Bool, updated: Bool, prompted: Bool = true) {
        self.session = session
        self.reused = reused
        self.updated = updated
        self.prompted = prompted
    }
}
