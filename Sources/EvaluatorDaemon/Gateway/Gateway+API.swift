import EvaluatorCore
import Foundation

/// The gateway's changes of the hall, for `HallService` (the API's side): each through the
/// policy, which alone refuses (unknown window, R3, …); answered once durable. Domain values in
/// and out; EvaluatorAPI maps them to HTTP.
extension Gateway {
    func openEvaluation(windowID: String, request: EvaluationRequest, caller: String) async throws(Rejection) -> OpenedEvaluation {
        // R3: a case rated at this stage before — in the store, or in a group waiting for its
        // commit — and the case's last service (issue 22). The store is read without holding the
        // actor, so a group that finished during the read makes us look again. An unknown stage
        // is the policy's to refuse.
        var rated: String?
        var services = 0
        var finished = -1
        let stages = policy.config.stages
        if let stage = policy.config.stage(request.stage) {
            while rated == nil && finished != commits.stats.groups {
                finished = commits.stats.groups
                rated = commits.uncommittedRating(among: request.allCaseIDs, stage: stage)
                services = commits.uncommittedLastService(of: request.caseID)
                if rated != nil { break }
                do {
                    let stored = try await store.caseHistory(among: request.allCaseIDs, stage: stage, firstStage: stages[0])
                    rated = stored.rated
                    services = max(services, stored.lastService)
                } catch {
                    throw .storeUnavailable("\(error)")
                }
            }
        }
        let padOnline = policy.config.windows[windowID]?.pad.map { stats.isOnline($0) } ?? false
        let event = SessionEvent.open(windowID: windowID, sessionID: makeID(), request: request, by: caller, at: clock(),
                                      padOnline: padOnline, ratedBefore: rated, servicesBefore: services)
        for case let .opened(s, reused, updated) in try await decide(event) {
            log.opened(s, reused: reused, updated: updated, prompted: padOnline, caller: caller)
            return OpenedEvaluation(session: s, reused: reused, updated: updated, prompted: padOnline)
        }
        throw .storeUnavailable("the policy gave no answer to the request")
    }

    func cancelEvaluation(windowID: String, caller: String) async throws(Rejection) -> Session {
        for case let .cancelled(s) in try await decide(.cancel(windowID: windowID, by: caller, at: clock())) {
            log.cancelled(s, caller: caller)
            return s
        }
        throw .nothingToCancel(windowID: windowID)
    }

    /// Changes a window's serving state through the policy, durably (the screen is told after
    /// the commit, with the rest); the hall board shows it once this returns.
    func changeWindowState(_ windowID: String, staff: StaffMember?? = nil, paused: Bool? = nil, caller: String) async throws(Rejection) {
        for case let .windowState(_, before, state) in try await decide(.setWindowState(windowID: windowID, staff: staff, paused: paused, by: caller, at: clock()))
            where state != before {
            log.windowState(windowID, before: before, after: state, caller: caller)
        }
    }

    /// Applies an API caller's event and waits until it is durable; the policy's refusal, or a
    /// store that cannot write, is the caller's `Rejection`.
    private func decide(_ event: SessionEvent) async throws(Rejection) -> [Decision] {
        let decisions: [Decision]
        do {
            decisions = try await applyAndWait(event).decisions
        } catch {
            throw .storeUnavailable("\(error)")
        }
        for case let .rejected(r) in decisions { throw r }
        return decisions
    }
}
