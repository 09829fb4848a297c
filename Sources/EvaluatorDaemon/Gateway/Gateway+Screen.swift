import EvaluatorCore
import EvaluatorStore
import Foundation

/// Screen pads (issue 14): a rating sent from one. The WebSocket itself is the screen
/// service's (`ScreenPads`), what the store holds of a resend is read off the actor
/// (`HallService.rateOnScreen`); the decisions are the policy's.
extension Gateway {
    /// A rating from a screen pad: acked with its record id only once that record is durable
    /// (R7); a resend of a rating already acked gets the same record id and stores nothing (the
    /// policy remembers its acks, and `stored` says what the store held of it).
    func rateOnScreen(pad: PadID, rating: ScreenRating, stored: ScreenEvidence) async -> ScreenAnswer {
        let windowID = policy.config.pads.entry(for: pad)?.windowID
        // A resend of a rating already acked, or stored before a restart lost its ack: the same
        // rating, acked at once (nothing to store, so nothing waits for a commit).
        var answer = (policy.screenAcks.recordID(of: rating.sessionID, pad: pad) ?? stored.ratedAs).map { ScreenAnswer.acked(sessionID: rating.sessionID, recordID: $0) }
        if answer == nil {
            do {
                answer = ScreenAnswer(try await applyAndWait(.rate(pad: pad, rating: rating, at: clock(), evidenceStored: stored.refusal), pad: pad),
                                      pad: pad, window: windowID)
            } catch {
                return .unavailable(sessionID: rating.sessionID, window: windowID)
            }
        }
        if case let .acked(sid, recordID)? = answer { _ = policy.handle(.screenAcked(pad: pad, sessionID: sid, recordID: recordID)) }
        return answer ?? .refused(sessionID: rating.sessionID, window: windowID, code: .notOpen, message: "the rating was not taken")
    }
}

/// What the store holds of a screen rating that may be a resend (issue 20): this pad's rating
/// of the evaluation, stored before a restart lost its ack (`ratedAs`), or that very refusal.
struct ScreenEvidence {
    var ratedAs: String?
    var refusal = false
}
