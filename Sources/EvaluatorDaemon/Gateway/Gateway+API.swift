import EvaluatorAPI
import EvaluatorCore

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
        do {
            decisions = try await applyAndWait(.open(windowID: windowID, sessionID: makeID(), request: request, by: caller, at: clock()))
        } catch {
            throw .storeUnavailable("\(error)")
        }
        for d in decisions {
            switch d {
            case let .opened(s, reused, updated):
                logger.info(updated ? "evaluation updated" : "evaluation opened", metadata: [
                    "window": "\(windowID)", "session_id": "\(s.sessionID)", "case_id": "\(s.request.caseID)",
                    "batch_cases": "\(s.request.batchCaseIDs.count)", "expires_at": "\(s.expiresAt)", "reused": "\(reused)",
                    "caller": "\(caller)",
                ])
                return OpenedEvaluation(session: s, reused: reused, updated: updated)
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

    public func windows() async -> [WindowSnapshot] {
        config.windows.map { w in
            WindowSnapshot(id: w.id, name: w.name, department: w.department, pad: w.pad?.id, session: policy.sessions[w.id])
        }
    }

    public func devices() async -> DevicesSnapshot {
        let devices = await registry?.snapshot() ?? []
        let free = DeviceMatcher.unconfiguredKeypads(windows: config.windows, devices: devices).sorted { $0.devnode < $1.devnode }
        return DevicesSnapshot(pads: stats.snapshot(config: config, now: clock()), unconfigured: free.map(UnconfiguredDevice.init),
                               hotplug: await registry?.available == true)
    }

    public func status() async throws(Rejection) -> StatusSnapshot {
        let openSessions = policy.sessions.count
        do {
            let up = uplinkMonitor.snapshot
            let counts = try await store.counts()
            let head = try store.chainHead()
            var snapshot = StatusSnapshot(
                gatewayID: config.gatewayID, region: config.region, startedAt: startedAt, records: counts.records,
                backlog: counts.backlog, quarantined: counts.quarantined, lastUploadAt: up.lastSuccessAt ?? counts.lastSentAt,
                lastUploadError: up.lastError, uplink: config.uplink?.summary ?? "none (records kept locally)",
                openSessions: openSessions, pads: stats.snapshot(config: config, now: clock())
            )
            snapshot.problems = problems
            snapshot.chain = head
            return snapshot
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }

    public func resend(recordIDs: [String]?, caller: String) async throws(Rejection) -> ResendResult {
        do {
            let result = try await store.resend(recordIDs: recordIDs)
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
            query = try StatsQuery.parse(since: since, until: until, by: by, now: clock(), timeZone: config.signals.timeZone)
        } catch {
            throw .invalidQuery(error.message)
        }
        do {
            return try await store.statsAsync(query)
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }
}
