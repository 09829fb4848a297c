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
        do {
            let stored = try await storedEvidence(of: rating, from: pad, window: windowID)
            // Rated already by this pad, before a restart lost the ack: the same rating, acked at
            // once (nothing to store, so nothing waits for a commit).
            let answer = if let ratedAs = stored.ratedAs {
                ScreenAnswer.acked(sessionID: rating.sessionID, recordID: ratedAs)
            } else {
                ScreenAnswer(try await applyAndWait(.rate(pad: pad, rating: rating, at: clock(), evidenceStored: stored.refusal), pad: pad),
                             pad: pad, window: windowID)
            }
            if case let .acked(sid, recordID)? = answer { _ = policy.handle(.screenAcked(pad: pad, sessionID: sid, recordID: recordID)) }
            return answer ?? .refused(sessionID: rating.sessionID, window: windowID, code: .notOpen, message: "the rating was not taken")
        } catch {
            return .refused(sessionID: rating.sessionID, window: windowID, code: .unavailable, message: "the gateway cannot store ratings now: nothing was taken; send it again")
        }
    }

    /// What the store holds of a resent rating (issue 20): this pad's rating of the evaluation,
    /// stored before a restart lost its ack (`ratedAs`), or that very refusal (`refusal`). Only
    /// a rating for a rated evaluation, or for no open, unexpired one, can be either, so only
    /// then is the store asked: no read on a rating's own path.
    private func storedEvidence(of rating: ScreenRating, from pad: PadID, window: String?) async throws(StoreError) -> (ratedAs: String?, refusal: Bool) {
        let session = window.flatMap { policy.sessions[$0] }.flatMap { $0.sessionID == rating.sessionID ? $0 : nil }
        if let session, session.ratedAt != nil, let found = try await store.ratedRecord(caseID: session.request.caseID),
           found.sessionID == rating.sessionID, found.pad == pad.description {
            return (found.recordID, false)
        }
        guard session.map({ $0.ratedAt != nil || $0.expiresAt <= clock() }) ?? true else { return (nil, false) }
        return (nil, try await store.screenRefusalStored(pad: pad, sessionID: rating.sessionID, level: rating.level))
    }
}
