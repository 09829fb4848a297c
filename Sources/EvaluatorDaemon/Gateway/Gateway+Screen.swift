import EvaluatorCore
import EvaluatorStore
import Foundation

/// Screen pads (issue 14): a rating sent from one. The WebSocket itself
/// is the screen service's (`ScreenPads`); the decisions are the policy's.
extension Gateway {
    /// A rating from a screen pad: acked with its record id only once that record is durable
    /// (R7); a resend of a rating already acked gets the same record id and stores nothing (the
    /// policy remembers its acks). The screen service writes the answer and logs refusals.
    public func rateOnScreen(pad: PadID, rating: ScreenRating) async -> ScreenAnswer {
        // A resend of a rating already acked: the policy's acks answer it; nothing is stored, so
        // nothing waits for a commit.
        if let recordID = policy.screenAcks.recordID(of: rating.sessionID, pad: pad) {
            return .acked(sessionID: rating.sessionID, recordID: recordID)
        }
        let windowID = policy.config.pads.entry(for: pad)?.windowID
        let session = windowID.flatMap { policy.sessions[$0] }.flatMap { $0.sessionID == rating.sessionID ? $0 : nil }
        let result: (decisions: [Decision], records: [RatingRecord])
        do {
            // Rated already — by this pad, before a restart lost the ack? Then it is the same
            // rating: acked, and no refusal is kept (issue 20). Asked before applying, so the
            // policy never sees the resend.
            if let session, session.ratedAt != nil, let found = try await store.ratedRecord(caseID: session.request.caseID),
               found.sessionID == rating.sessionID, found.pad == pad.description {
                _ = policy.handle(.screenAcked(pad: pad, sessionID: rating.sessionID, recordID: found.recordID))
                return .acked(sessionID: rating.sessionID, recordID: found.recordID)
            }
            // A refusal stored before (a resend after a restart) is not stored again (issue 20).
            // Only a rating for no open, unrated, unexpired evaluation can be refused, so only
            // then is the store asked (no read on a rating's own path, and no await between the
            // look and the apply).
            let refusable = session.map { $0.ratedAt != nil || $0.expiresAt <= clock() } ?? true
            let stored = refusable ? try await store.screenRefusalStored(pad: pad, sessionID: rating.sessionID, level: rating.level) : false
            result = try await applyAndWaitRecording(.rate(pad: pad, rating: rating, at: clock(), evidenceStored: stored), pad: pad)
        } catch {
            return .refused(sessionID: rating.sessionID, window: windowID, code: .unavailable, message: "the gateway cannot store ratings now: nothing was taken; send it again")
        }
        for d in result.decisions {
            switch d {
            case let .screenAckedBefore(p, sid, recordID) where p == pad:
                return .acked(sessionID: sid, recordID: recordID)
            case let .screenRated(p, sid) where p == pad:
                guard let r = result.records.first(where: { $0.draft.sessionID == sid && $0.draft.outcome == .rated }) else { continue }
                _ = policy.handle(.screenAcked(pad: pad, sessionID: sid, recordID: r.recordID))
                return .acked(sessionID: sid, recordID: r.recordID)
            case let .screenRefused(p, sid, code, message) where p == pad:
                return .refused(sessionID: sid, window: windowID, code: code, message: message)
            default: continue
            }
        }
        return .refused(sessionID: rating.sessionID, window: windowID, code: .notOpen, message: "the rating was not taken")
    }
}
