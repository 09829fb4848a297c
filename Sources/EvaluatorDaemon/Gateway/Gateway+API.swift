import EvaluatorCore
import Foundation

/// The gateway as the API sees it: domain values in and out; EvaluatorAPI maps them to HTTP.
/// The gateway's changes of the hall, for `HallService` (the API's side): each through the policy, answered once durable.
extension Gateway {
    func openEvaluation(windowID: String, request: EvaluationRequest, caller: String) async throws(Rejection) -> OpenedEvaluation {
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
                log.opened(s, reused: reused, updated: updated, prompted: padOnline, caller: caller)
                return OpenedEvaluation(session: s, reused: reused, updated: updated, prompted: padOnline)
            case let .rejected(r): throw r
            default: continue
            }
        }
        throw .storeUnavailable("the policy gave no answer to the request")
    }

    func cancelEvaluation(windowID: String, caller: String) async throws(Rejection) -> Session {
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


    /// Changes a window's serving state through the policy, durably (the screen is told after
    /// the commit, with the rest), then answers with the window.
    func changeWindowState(_ windowID: String, staff: StaffMember?? = nil, paused: Bool? = nil, caller: String) async throws(Rejection) -> WindowSnapshot {
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
                log.windowState(windowID, before: before, after: state, caller: caller)
            default: continue
            }
        }
        guard let window = config.windows.first(where: { $0.id == windowID }) else { throw .unknownWindow(windowID) }
        return HallService.snapshot(window, board.current)
    }

}
