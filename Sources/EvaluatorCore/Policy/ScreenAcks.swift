/// The screen ratings acked in this run, by session id: a pad that did not hear its ack sends
/// the rating again, and gets the same record id with nothing stored (issue 14). Bounded: the
/// last `limit` acks (a screen resends within seconds). Part of the policy (issue 21); not
/// stored — after a restart the store's rated record answers instead.
public struct ScreenAcks: Sendable, Hashable {
    public static let limit = 1000
    private var byID: [String: Ack] = [:]
    private var order: [String] = []

    public struct Ack: Sendable, Hashable {
        public var pad: PadID
        public var recordID: String
    }

    public init() {}

    public var count: Int { byID.count }

    /// The record id this pad's rating of `sessionID` was acked with; nil for another pad.
    public func recordID(of sessionID: String, pad: PadID) -> String? {
        byID[sessionID].flatMap { $0.pad == pad ? $0.recordID : nil }
    }

    public mutating func remember(_ sessionID: String, pad: PadID, recordID: String) {
        if byID.updateValue(Ack(pad: pad, recordID: recordID), forKey: sessionID) == nil { order.append(sessionID) }
        if order.count > Self.limit { byID[order.removeFirst()] = nil }
    }
}

/// The gateway's answer to a screen pad's rating, as a domain value: the screen service writes
/// its JSON (`ScreenProtocol.ServerMessage`, EvaluatorWire) and logs refusals (issue 21).
public enum ScreenAnswer: Sendable, Hashable {
    case acked(sessionID: String, recordID: String)
    /// `window`: the window the pad serves, for the log line.
    case refused(sessionID: String, window: String?, code: ScreenRefusal, message: String)

    /// The store could not take the rating: nothing was taken, the pad sends it again.
    public static func unavailable(sessionID: String, window: String?) -> ScreenAnswer {
        .refused(sessionID: sessionID, window: window, code: .unavailable, message: "the gateway cannot store ratings now: nothing was taken; send it again")
    }

    /// The answer to `pad` in the decisions of its `.rate` (and the records they made, with
    /// their ids); nil when they hold none.
    public init?(_ result: (decisions: [Decision], records: [RatingRecord]), pad: PadID, window: String?) {
        for d in result.decisions {
            switch d {
            case let .screenAckedBefore(p, sid, recordID) where p == pad:
                self = .acked(sessionID: sid, recordID: recordID)
                return
            case let .screenRated(p, sid) where p == pad:
                guard let r = result.records.first(where: { $0.draft.sessionID == sid && $0.draft.outcome == .rated }) else { continue }
                self = .acked(sessionID: sid, recordID: r.recordID)
                return
            case let .screenRefused(p, sid, code, message) where p == pad:
                self = .refused(sessionID: sid, window: window, code: code, message: message)
                return
            default: continue
            }
        }
        return nil
    }
}
