import EvaluatorAPI
import EvaluatorCore
import EvaluatorWire
import EvaluatorStore
import EvaluatorSupport
import EvaluatorUplink
import Foundation
import Logging

/// The gateway as the API sees it (`EvaluationService`): domain values in and out; EvaluatorAPI
/// maps them to HTTP. Changes of the hall (open, cancel, staff, pause) go through the gateway's
/// policy and are answered once durable; everything else — reads of the hall board as of the
/// last durable commit, the store's counts and statistics, health, metrics, screen views, and
/// the admin actions on stored records (resend, import) and on pairing — happens here, off the
/// actor, so no read waits behind presses (issue 21).
public struct HallService: EvaluationService {
    let gateway: Gateway
    let registry: DeviceRegistry?
    /// Screen pads paired with `evaluatorctl pair` (issue 20); nil in tests that pair nothing.
    let pairings: PadPairings?
    let uplinkMonitor: UplinkMonitor
    let startedAt: Millis

    public init(gateway: Gateway, registry: DeviceRegistry? = nil, pairings: PadPairings? = nil, uplinkMonitor: UplinkMonitor = UplinkMonitor(),
                startedAt: Millis) {
        self.gateway = gateway
        self.registry = registry
        self.pairings = pairings
        self.uplinkMonitor = uplinkMonitor
        self.startedAt = startedAt
    }

    var board: HallBoard { gateway.board }
    var store: Store { gateway.store }
    var clock: @Sendable () -> Millis { gateway.clock }
    var logger: Logger { gateway.log.logger }
    var stats: PadStats { gateway.stats }
    var metrics: DaemonMetrics { gateway.metrics }
    var uplinkWake: WakeSignal { gateway.uplinkWake }
    /// The configuration as of the last reload.
    var config: GatewayConfig { board.current.config }

    public func openEvaluation(windowID: String, request: EvaluationRequest, caller: String) async throws(Rejection) -> OpenedEvaluation {
        try await gateway.openEvaluation(windowID: windowID, request: request, caller: caller)
    }

    public func cancelEvaluation(windowID: String, caller: String) async throws(Rejection) -> Session {
        try await gateway.cancelEvaluation(windowID: windowID, caller: caller)
    }

    public func windows() async -> [WindowSnapshot] {
        let hall = board.current
        return hall.config.windows.map { Self.snapshot($0, hall) }
    }

    static func snapshot(_ w: WindowConfig, _ hall: HallState) -> WindowSnapshot {
        WindowSnapshot(id: w.id, name: w.name, department: w.department, pad: w.pad?.id, session: hall.sessions[w.id],
                       state: hall.windowStates[w.id] ?? WindowState())
    }


    public func setStaff(windowID: String, staff: StaffMember?, caller: String) async throws(Rejection) -> WindowSnapshot {
        if let photo = staff?.photo {
            // The photo must be there now: a screen showing a broken image is found by a citizen, not by IT.
            guard let path = config.screen.photoPath(photo) else {
                throw .invalidQuery("photo \"\(photo)\" given, but no [screen] photo_dir is configured")
            }
            guard ScreenOptions.photoType(photo) != nil else {
                throw .invalidQuery("photo \"\(photo)\" must be a .jpg, .jpeg, .png or .webp file")
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                throw .invalidQuery("photo \"\(photo)\" is not a file in [screen] photo_dir (\(config.screen.photoDir ?? ""))")
            }
        }
        try await gateway.changeWindowState(windowID, staff: .some(staff), caller: caller)
        return try window(windowID)
    }


    public func setPaused(windowID: String, paused: Bool, caller: String) async throws(Rejection) -> WindowSnapshot {
        try await gateway.changeWindowState(windowID, paused: paused, caller: caller)
        return try window(windowID)
    }

    /// A rating from a screen pad (issue 14). What the store holds of a resend is read here,
    /// off the actor; only a rating for a rated evaluation, or for no open, unexpired one, can
    /// be one, so only then is the store asked (no read on a rating's own path).
    public func rateOnScreen(pad: PadID, rating: ScreenRating) async -> ScreenAnswer {
        let hall = board.current
        let window = hall.config.windows.first(where: { $0.pad?.id == pad })?.id
        let session = window.flatMap { hall.sessions[$0] }.flatMap { $0.sessionID == rating.sessionID ? $0 : nil }
        var stored = ScreenEvidence()
        do {
            let stages = hall.config.stages
            if let session, session.ratedAt != nil,
               let found = try await store.ratedRecord(caseID: session.request.caseID, stage: session.request.stage ?? stages[0], firstStage: stages[0]),
               found.sessionID == rating.sessionID, found.pad == pad.description {
                stored.ratedAs = found.recordID
            } else if session.map({ $0.ratedAt != nil || $0.expiresAt <= clock() }) ?? true {
                stored.refusal = try await store.screenRefusalStored(pad: pad, sessionID: rating.sessionID, level: rating.level)
            }
        } catch {
            return .unavailable(sessionID: rating.sessionID, window: window)
        }
        return await gateway.rateOnScreen(pad: pad, rating: rating, stored: stored)
    }

    /// One window as the board shows it now.
    private func window(_ windowID: String) throws(Rejection) -> WindowSnapshot {
        let hall = board.current
        guard let window = hall.config.windows.first(where: { $0.id == windowID }) else { throw .unknownWindow(windowID) }
        return Self.snapshot(window, hall)
    }

    /// Every pad's figures; a screen pad with neither a `pad:WINDOW` line nor a pairing is
    /// `unpaired` (issue 20).
    func padSnapshots(now: Millis, config: GatewayConfig) -> [PadSnapshot] {
        stats.snapshot(config: config, now: now).map { p in
            guard case let .screen(name) = p.pad, let window = p.windowID,
                  config.apiAccess.tokens?.tokens.contains(where: { $0.name == name && $0.scope == .pad(window: window) }) != true,
                  pairings?.pairing(of: window) == nil else { return p }
            var p = p
            p.unpaired = true
            p.path = "unpaired: evaluatorctl pair \(window)"
            return p
        }
    }

    public func devices() async -> DevicesSnapshot {
        let config = board.current.config
        let devices = await registry?.snapshot() ?? []
        let free = DeviceMatcher.unconfiguredKeypads(windows: config.windows, devices: devices).sorted { $0.devnode < $1.devnode }
        return DevicesSnapshot(pads: padSnapshots(now: clock(), config: config), unconfigured: free.map(UnconfiguredDevice.init),
                               hotplug: await registry?.available == true)
    }

    public func status() async throws(Rejection) -> StatusSnapshot {
        do {
            let hall = board.current
            let config = hall.config
            let now = clock()
            let counts = try await store.counts()
            let oldest = counts.backlog > 0 ? try await store.oldestWaiting() : nil
            var snapshot = StatusSnapshot(
                gatewayID: config.gatewayID, region: config.region, startedAt: startedAt, at: now, health: health(oldestWaiting: oldest, hall),
                records: counts.records, backlog: counts.backlog, oldestWaitingAt: oldest, quarantined: counts.quarantined,
                uplink: uplinkStatus(lastSentAt: counts.lastSentAt, config), openSessions: hall.sessions.count,
                pads: padSnapshots(now: now, config: config)
            )
            snapshot.chain = try store.chainHead()
            snapshot.lastReload = hall.lastReload
            return snapshot
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }

    private func uplinkStatus(lastSentAt: Millis?, _ config: GatewayConfig) -> UplinkStatus {
        guard let uplink = config.uplink else { return UplinkStatus(state: .none, target: "none (records kept locally)", lastUploadAt: lastSentAt) }
        let up = uplinkMonitor.snapshot
        return UplinkStatus(state: up.consecutiveFailures > 0 ? .failing : .ok, target: uplink.summary, failingSince: up.failingSince,
                            attempts: up.consecutiveFailures, nextRetryAt: up.nextRetryAt, lastUploadAt: up.lastSuccessAt ?? lastSentAt,
                            lastError: up.lastError)
    }

    public func resend(recordIDs: [String]?, caller: String) async throws(Rejection) -> ResendResult {
        do {
            let result = try await store.resend(recordIDs: recordIDs)
            await gateway.auditor.adminAudit(caller: caller, "resend of \(recordIDs.map { "\($0.count) named record(s)" } ?? "every quarantined record"): \(result.requeued.count) queued again")
            if !result.requeued.isEmpty {
                logger.notice("quarantined records queued again", metadata: ["records": "\(result.requeued.count)", "caller": "\(caller)"])
                uplinkWake.fire()
            }
            return result
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }

    public func stats(since: String?, until: String?, by: String?) async throws(Rejection) -> StatsReport {
        let query: StatsQuery
        do {
            query = try StatsQuery.parse(since: since, until: until, by: by, now: clock(), timeZone: board.current.config.signals.timeZone)
        } catch {
            throw .invalidQuery(error.message)
        }
        do {
            return try await store.statsAsync(query)
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }

    /// Failing while the store refuses writes; degraded while a start-up check or a replaced
    /// store left a problem, a configured pad is absent, or the uplink has made no progress for
    /// `uplink.stall_alert_s` while records wait ("looks healthy but forwards nothing").
    /// `GET /metrics`: the registry's text with the state gauges set now.
    public func metricsText() async -> String {
        let now = clock()
        let status = try? await status()
        let hall = board.current
        let fallback = StatusSnapshot(gatewayID: hall.config.gatewayID, region: hall.config.region, startedAt: startedAt, at: now, health: await health(),
                                      records: 0, backlog: 0, oldestWaitingAt: nil, quarantined: 0, uplink: uplinkStatus(lastSentAt: nil, hall.config),
                                      openSessions: hall.sessions.count, pads: padSnapshots(now: now, config: hall.config))
        return metrics.render(status: status ?? fallback, now: now)
    }

    public func health() async -> HealthSnapshot {
        health(oldestWaiting: try? await store.oldestWaiting(), board.current)
    }

    /// Health from the oldest waiting record already read (status reads it once for both).
    private func health(oldestWaiting: Millis?, _ hall: HallState) -> HealthSnapshot {
        let now = clock()
        let config = hall.config
        var found = hall.problems
        for p in padSnapshots(now: now, config: config) where !p.attached {
            let name = config.windows.first { $0.id == p.windowID }?.name
            found.append(p.unpaired ? .padUnpaired(pad: p.pad, windowID: p.windowID, windowName: name)
                                    : .padAbsent(pad: p.pad, windowID: p.windowID, windowName: name, path: p.path))
        }
        if let uplink = config.uplink, let oldest = oldestWaiting {
            let stallMs = Int64(uplink.stallAlertS) * 1000
            let up = uplinkMonitor.snapshot
            if now.value - oldest.value > stallMs, up.lastSuccessAt.map({ now.value - $0.value > stallMs }) ?? true {
                let since = up.lastSuccessAt.map { "the last upload was at \($0.rfc3339)" } ?? "nothing was uploaded since start"
                found.append(.uplinkStalled(detail: "records have waited since \(oldest.rfc3339) and \(since)" + (up.lastError.map { "; last error: \($0)" } ?? ""),
                                            waitingMinutes: (now.value - oldest.value) / 60_000))
            }
        }
        if let failure = hall.commitFailure {
            return HealthSnapshot(status: .failing, problems: [Problem.storeUnwritable(failure)] + found)
        }
        return HealthSnapshot(status: found.isEmpty ? .ok : .degraded, problems: found)
    }

    public func importSalvaged(_ request: ImportRequest, caller: String) async throws(Rejection) -> ImportResult {
        do {
            let scores = config.scores
            let r = try await store.importSalvaged(records: request.records, known: request.known, ratedCases: request.ratedCases,
                                                   check: { scores.salvageProblem($0) })
            logger.notice("salvaged records imported", metadata: [
                "imported": "\(r.imported)", "already_present": "\(r.present)", "rated_cases": "\(r.ratedCases)", "caller": "\(caller)",
            ])
            await gateway.auditor.adminAudit(caller: caller, "import of salvaged records: \(r.imported) imported, \(r.present) already present, \(r.ratedCases) rated case(s) restored")
            if r.imported > 0 { uplinkWake.fire() }
            return ImportResult(imported: r.imported, alreadyPresent: r.present, ratedCases: r.ratedCases)
        } catch where error.code == .refused {
            logger.warning("salvage import refused", metadata: ["caller": "\(caller)", "reason": "\(error.message)"])
            throw .invalidImport(error.message)
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }

    /// The screen pad of a window, if its pad is a screen.
    public func screenPad(ofWindow windowID: String) -> PadID? {
        guard let pad = board.current.config.windows.first(where: { $0.id == windowID })?.pad, pad.screenName != nil else { return nil }
        return pad.id
    }

    /// The file of the photo of the staff signed in at a window (in `[screen] photo_dir`).
    public func staffPhoto(windowID: String) -> String? {
        let hall = board.current
        return hall.windowStates[windowID]?.staff?.photo.flatMap(hall.config.screen.photoPath)
    }

    /// `[screen] heartbeat_s`.
    public var screenHeartbeat: Duration { .seconds(board.current.config.screen.heartbeatS) }

    /// What the screen pad should show now (its window's prompt, paused or idle), as of the
    /// last durable commit; nil if no window has this pad.
    public func screenView(pad: PadID) -> ScreenProtocol.ServerMessage? {
        let hall = board.current
        guard let w = hall.config.windows.first(where: { $0.pad?.id == pad }) else { return nil }
        return ScreenProtocol.view(of: Self.snapshot(w, hall), options: hall.config.screen, now: clock())
    }

    // MARK: Pairing (issue 20)

    public func pairPad(windowID: String, address: String, caller: String) async throws(Rejection) -> PairingCode {
        guard config.windows.contains(where: { $0.id == windowID }) else { throw .unknownWindow(windowID) }
        guard screenPad(ofWindow: windowID) != nil, let pairings else { throw .noScreenPad(windowID) }
        let (code, expires) = pairings.issue(window: windowID, by: caller, now: clock())
        let scheme = config.apiAccess.tlsCertFile != nil ? "https" : "http"
        await gateway.auditor.adminAudit(caller: caller, "pairing code issued for the screen pad of window \(windowID), valid until \(expires.rfc3339)")
        logger.notice("screen pad pairing code issued", metadata: ["window": "\(windowID)", "caller": "\(caller)", "expires_at": "\(expires.rfc3339)"])
        return PairingCode(windowID: windowID, code: code, expiresAt: expires, url: "\(scheme)://\(address)/pad/\(windowID)?pair=\(code)")
    }

    public func exchangePairing(windowID: String, code: String, remote: String) async throws(Rejection) -> String {
        guard screenPad(ofWindow: windowID) != nil, let pairings else { throw .noScreenPad(windowID) }
        switch pairings.exchange(window: windowID, code: code, remote: remote, now: clock()) {
        case let .success(secret):
            await gateway.auditor.adminAudit(caller: pairings.pairing(of: windowID)?.paired_by ?? "admin",
                             "screen pad of window \(windowID) paired from \(remote); the previous pairing is revoked")
            logger.notice("screen pad paired", metadata: ["window": "\(windowID)", "remote": "\(remote)"])
            return secret
        case let .failure(e):
            logger.warning("screen pad pairing refused", metadata: ["window": "\(windowID)", "remote": "\(remote)", "why": "\(e)"])
            switch e {
            case .noCode: throw .pairingRefused("no pairing code is waiting for window \(windowID): ask hall IT to run evaluatorctl pair \(windowID)")
            case .expired: throw .pairingRefused("the pairing code has expired (codes last 10 minutes): run evaluatorctl pair \(windowID) again")
            case let .wrong(left):
                throw .pairingRefused(left > 0 ? "wrong pairing code (\(left) more tries, then the code is void)"
                                               : "wrong pairing code; the code is void now: run evaluatorctl pair \(windowID) again")
            case let .write(problem): throw .storeUnavailable("the pairing could not be saved: \(problem)")
            }
        }
    }

    public func pairedAt(windowID: String) -> String? { pairings?.pairing(of: windowID)?.paired_at }
}
