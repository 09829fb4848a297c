import EvaluatorCore
/// The status schema (issue 13 owns it; README "Status"): what `/v1/status` answers and what
/// `evaluatorctl status --json` prints. One definition, encoded by the API and decoded by the
/// CLI, so the two never drift.

/// `/v1/status` and `evaluatorctl status --json` (issue 13 owns this schema; README "Status").
public struct StatusView: Codable, Sendable {
    public var version: String
    /// ok, degraded or failing — the same as `/healthz`.
    public var state: String
    /// What is wrong, first.
    public var problems: [ProblemView]
    public var gateway_id: String
    public var region: String
    public var started_at: String
    public var uptime_s: Int64
    public var pads: [PadView]
    public var backlog: BacklogView
    public var uplink: UplinkView
    public var open_sessions: Int
    public var last_reload: ReloadView?
    /// Records in the store (the chain's length less what retention pruned).
    public var records: Int
    public var chain: ChainView?

    public struct ProblemView: Codable, Sendable {
        public var code: String
        /// English, for operators.
        public var message: String
        /// Chinese, for hall staff (the status page shows it, the detail on hover).
        public var text: String?
        public init(code: String, message: String, text: String? = nil) {
            self.code = code
            self.message = message
            self.text = text
        }
    }

    public struct BacklogView: Codable, Sendable {
        public var records: Int
        public var oldest_age_s: Int64?
        public var quarantined: Int
    }

    public struct UplinkView: Codable, Sendable {
        /// none, ok or failing.
        public var state: String
        public var target: String
        public var failing_since: String?
        public var attempts: Int
        public var next_retry_at: String?
        public var last_upload_at: String?
        public var last_error: String?
    }

    public struct ChainView: Codable, Sendable {
        public var chain_id: String
        public var seq: Int64
        public var hash: String
    }

    public init(_ s: StatusSnapshot) {
        version = s.version
        state = s.health.status.rawValue
        problems = s.problems.map { ProblemView(code: $0.code, message: $0.message, text: $0.text) }
        gateway_id = s.gatewayID
        region = s.region
        started_at = s.startedAt.rfc3339
        uptime_s = max(0, (s.at.value - s.startedAt.value) / 1000)
        pads = s.pads.map(PadView.init)
        backlog = BacklogView(records: s.backlog, oldest_age_s: s.oldestWaitingAt.map { max(0, (s.at.value - $0.value) / 1000) },
                              quarantined: s.quarantined)
        let u = s.uplink
        uplink = UplinkView(state: u.state.rawValue, target: u.target, failing_since: u.failingSince?.rfc3339, attempts: u.attempts,
                            next_retry_at: u.nextRetryAt?.rfc3339, last_upload_at: u.lastUploadAt?.rfc3339, last_error: u.lastError)
        open_sessions = s.openSessions
        last_reload = s.lastReload.map(ReloadView.init)
        records = s.records
        chain = s.chain.map { ChainView(chain_id: $0.chainID, seq: $0.seq, hash: $0.hash) }
    }
}

public struct PadView: Codable, Sendable {
    public var pad: String
    public var window_id: String?
    /// serial, evdev or hidraw.
    public var kind: String
    public var bus: String
    public var path: String
    public var state: String
    public var last_press_at: String?
    public var presses: Int
    public var presses_today: Int
    public var errors: Int

    public init(_ p: PadSnapshot) {
        pad = p.pad.description
        window_id = p.windowID
        kind = p.pad.kind
        bus = p.bus
        path = p.path
        state = !p.attached ? (p.unpaired ? "unpaired" : "detached") : p.flooding ? "flooding" : "attached"
        last_press_at = p.lastPressAt?.rfc3339
        presses = p.presses
        presses_today = p.pressesToday
        errors = p.errors
    }
}

/// `POST /v1/reload`'s answer and status's `last_reload`.
public struct ReloadView: Codable, Sendable {
    public var result: String
    public var at: String
    public var trigger: String
    public var changes: [String]
    public var message: String?

    public init(_ r: ReloadResult) {
        result = r.outcome.rawValue
        at = r.at.rfc3339
        trigger = r.trigger
        changes = r.changes
        message = r.message.isEmpty ? nil : r.message
    }
}
