import EvaluatorAPI
import EvaluatorCore
import Foundation

/// The gateway as the API sees it: domain values in and out; EvaluatorAPI maps them to HTTP.
extension Gateway: EvaluationService {
    public func openEvaluation(windowID: String, request: EvaluationRequest, caller: String) async throws(Rejection) -> OpenedEvaluation {
        guard policy.config.windows[windowID] != nil else { throw .unknownWindow(windowID) }
        // R3: a case rated before — in the store, or in a group waiting for its commit. The store
        // is read without holding the actor, so a rating committed meanwhile (a group finished
        // during the read) makes us look again.
        var rated: String?
        var finished = -1
        while rated == nil && finished != commits.stats.groups {
            finished = commits.stats.groups
            rated = commits.uncommittedRating(among: request.allCaseIDs)
            if rated != nil { break }
            do {
                rated = try await store.firstRatedCase(among: request.allCaseIDs)
            } catch {
                throw .storeUnavailable("\(error)")
            }
        }
        if let rated { throw .alreadyRated(caseID: rated) }
        let decisions: [Decision]
        let padOnline = policy.config.windows[windowID]?.pad.map { stats.isOnline($0) } ?? false
        do {
            decisions = try await applyAndWait(.open(windowID: windowID, sessionID: makeID(), request: request, by: caller, at: clock(),
                                                     padOnline: padOnline))
        } catch {
            throw .storeUnavailable("\(error)")
        }
        for d in decisions {
            switch d {
            case let .opened(s, reused, updated):
                logger.log(level: padOnline ? .info : .warning, updated ? "evaluation updated" : padOnline ? "evaluation opened"
                           : "evaluation opened while the window's pad is absent or detached: the citizen is not prompted; its record is flagged pad_offline", metadata: [
                    "window": "\(windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)",
                    "batch_cases": "\(s.request.batchCaseIDs.count)", "expires_at": "\(s.expiresAt)", "reused": "\(reused)",
                    "caller": "\(caller)", "prompted": "\(padOnline)",
                ])
                return OpenedEvaluation(session: s, reused: reused, updated: updated, prompted: padOnline)
            case let .rejected(r): throw r
            default: continue
            }
        }
        throw .storeUnavailable("the policy gave no answer to the request")
    }

    public func cancelEvaluation(windowID: String, caller: String) async throws(Rejection) -> Session {
        guard policy.config.windows[windowID] != nil else { throw .unknownWindow(windowID) }
        let decisions: [Decision]
        do {
            decisions = try await applyAndWait(.cancel(windowID: windowID, by: caller, at: clock()))
        } catch {
            throw .storeUnavailable("\(error)")
        }
        for d in decisions {
            if case let .cancelled(s) = d {
                logger.info("evaluation cancelled", metadata: [
                    "window": "\(windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)", "caller": "\(caller)",
                ])
                return s
            }
        }
        throw .nothingToCancel(windowID: windowID)
    }

    // MARK: Reads from the board (issue 21): as of the last durable commit, never waiting on the actor.

    public nonisolated func windows() async -> [WindowSnapshot] {
        let hall = board.current
        return hall.config.windows.map { Self.snapshot($0, hall) }
    }

    nonisolated static func snapshot(_ w: WindowConfig, _ hall: HallState) -> WindowSnapshot {
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
        return try await changeWindowState(windowID, staff: .some(staff), caller: caller)
    }

    public func setPaused(windowID: String, paused: Bool, caller: String) async throws(Rejection) -> WindowSnapshot {
        try await changeWindowState(windowID, paused: paused, caller: caller)
    }

    /// Changes a window's serving state through the policy, durably (the screen is told after
    /// the commit, with the rest), then answers with the window.
    private func changeWindowState(_ windowID: String, staff: StaffMember?? = nil, paused: Bool? = nil, caller: String) async throws(Rejection) -> WindowSnapshot {
        let decisions: [Decision]
        do {
            decisions = try await applyAndWait(.setWindowState(windowID: windowID, staff: staff, paused: paused, by: caller, at: clock()))
        } catch {
            throw .storeUnavailable("\(error)")
        }
        for d in decisions {
            switch d {
            case let .rejected(r): throw r
            case let .windowState(_, before, state) where state != before:
                logger.notice(state.paused != before.paused ? (state.paused ? "window paused" : "window resumed")
                              : state.staff.map { _ in "staff signed in" } ?? "staff signed out", metadata: [
                    "window": "\(windowID)", "staff_id": "\(state.staff?.staffID ?? before.staff?.staffID ?? "-")", "caller": "\(caller)",
                ])
            default: continue
            }
        }
        guard let window = config.windows.first(where: { $0.id == windowID }) else { throw .unknownWindow(windowID) }
        return Self.snapshot(window, board.current)
    }

    /// Every pad's figures; a screen pad with neither a `pad:WINDOW` line nor a pairing is
    /// `unpaired` (issue 20).
    nonisolated func padSnapshots(now: Millis, config: GatewayConfig) -> [PadSnapshot] {
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

    public nonisolated func devices() async -> DevicesSnapshot {
        let config = board.current.config
        let devices = await registry?.snapshot() ?? []
        let free = DeviceMatcher.unconfiguredKeypads(windows: config.windows, devices: devices).sorted { $0.devnode < $1.devnode }
        return DevicesSnapshot(pads: padSnapshots(now: clock(), config: config), unconfigured: free.map(UnconfiguredDevice.init),
                               hotplug: await registry?.available == true)
    }

    public nonisolated func status() async throws(Rejection) -> StatusSnapshot {
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

    private nonisolated func uplinkStatus(lastSentAt: Millis?, _ config: GatewayConfig) -> UplinkStatus {
        guard let uplink = config.uplink else { return UplinkStatus(state: .none, target: "none (records kept locally)", lastUploadAt: lastSentAt) }
        let up = uplinkMonitor.snapshot
        return UplinkStatus(state: up.consecutiveFailures > 0 ? .failing : .ok, target: uplink.summary, failingSince: up.failingSince,
                            attempts: up.consecutiveFailures, nextRetryAt: up.nextRetryAt, lastUploadAt: up.lastSuccessAt ?? lastSentAt,
                            lastError: up.lastError)
    }

    public func resend(recordIDs: [String]?, caller: String) async throws(Rejection) -> ResendResult {
        do {
            let result = try await store.resend(recordIDs: recordIDs)
            await adminAudit(caller: caller, "resend of \(recordIDs.map { "\($0.count) named record(s)" } ?? "every quarantined record"): \(result.requeued.count) queued again")
            if !result.requeued.isEmpty {
                logger.notice("quarantined records queued again", metadata: ["records": "\(result.requeued.count)", "caller": "\(caller)"])
                uplinkWake.fire()
            }
            return result
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }

    public nonisolated func stats(since: String?, until: String?, by: String?) async throws(Rejection) -> StatsReport {
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
    public nonisolated func metricsText() async -> String {
        let now = clock()
        let status = try? await status()
        let hall = board.current
        let fallback = StatusSnapshot(gatewayID: hall.config.gatewayID, region: hall.config.region, startedAt: startedAt, at: now, health: await health(),
                                      records: 0, backlog: 0, oldestWaitingAt: nil, quarantined: 0, uplink: uplinkStatus(lastSentAt: nil, hall.config),
                                      openSessions: hall.sessions.count, pads: padSnapshots(now: now, config: hall.config))
        return metrics.render(status: status ?? fallback, now: now)
    }

    public nonisolated func health() async -> HealthSnapshot {
        health(oldestWaiting: try? await store.oldestWaiting(), board.current)
    }

    /// Health from the oldest waiting record already read (status reads it once for both).
    private nonisolated func health(oldestWaiting: Millis?, _ hall: HallState) -> HealthSnapshot {
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
            await adminAudit(caller: caller, "import of salvaged records: \(r.imported) imported, \(r.present) already present, \(r.ratedCases) rated case(s) restored")
            if r.imported > 0 { uplinkWake.fire() }
            return ImportResult(imported: r.imported, alreadyPresent: r.present, ratedCases: r.ratedCases)
        } catch where error.code == .refused {
            logger.warning("salvage import refused", metadata: ["caller": "\(caller)", "reason": "\(error.message)"])
            throw .invalidImport(error.message)
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }
}
