import EvaluatorCore
import Foundation

/// The screen pad protocol (docs/SCREEN-PAD.md): JSON text messages over one WebSocket per pad.
/// Pure: what the gateway says is computed from the window's snapshot, what a pad says is parsed
/// and bounded here; the WebSocket service only moves the text.
public enum ScreenProtocol {
    /// The largest message a pad may send (a rate with every dimension and 200 characters of text
    /// is under 2 KiB).
    public static let maxPadMessageBytes = 8 * 1024

    public struct WindowInfoView: Encodable, Sendable, Hashable {
        public var id: String
        public var name: String
        public var department: String
    }

    public struct StaffInfoView: Encodable, Sendable, Hashable {
        public var staff_id: String
        public var name: String
        public var title: String?
        /// Where the page loads the photo from (add `?token=`), or null.
        public var photo_url: String?

        init(_ s: StaffMember, window: String, photos: Bool) {
            staff_id = s.staffID
            name = s.name
            title = s.title
            photo_url = s.photo != nil && photos ? "/pad/\(window)/photo" : nil
        }
    }

    public struct LevelView: Encodable, Sendable, Hashable {
        public var level: String
        public var text: String
    }

    /// What the gateway says to a pad.
    public enum ServerMessage: Sendable, Hashable {
        case state(State)
        case prompt(Prompt)
        case ack(sessionID: String, recordID: String)
        case refused(sessionID: String?, code: ScreenRefusal, message: String)
        case ping
        case replaced

        public var text: String {
            switch self {
            case let .state(s): encode(s)
            case let .prompt(p): encode(p)
            case let .ack(sid, rid): encode(["type": "ack", "session_id": sid, "record_id": rid])
            case let .refused(sid, code, message):
                encode(Refused(session_id: sid, code: code.rawValue, message: message))
            case .ping: #"{"type":"ping"}"#
            case .replaced: #"{"type":"replaced"}"#
            }
        }
    }

    public struct State: Encodable, Sendable, Hashable {
        public var type = "state"
        /// `idle` or `paused`.
        public var state: String
        public var window: WindowInfoView
        public var staff: StaffInfoView?

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(type, forKey: .type)
            try c.encode(state, forKey: .state)
            try c.encode(window, forKey: .window)
            try c.encode(staff, forKey: .staff) // null when nobody is signed in
        }

        enum Keys: String, CodingKey { case type, state, window, staff }
    }

    public struct Prompt: Encodable, Sendable, Hashable {
        public var type = "prompt"
        public var session_id: String
        public var case_id_masked: String
        public var matter_name: String?
        public var staff: StaffInfoView?
        public var window: WindowInfoView
        /// RFC 3339; `expires_in_ms` says the same without trusting the tablet's clock.
        public var expires_at: String
        public var expires_in_ms: Int64
        public var levels: [LevelView]
        public var reasons: [String: [ReasonItem]]
        public var dimensions: [DimensionItem]

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(type, forKey: .type)
            try c.encode(session_id, forKey: .session_id)
            try c.encode(case_id_masked, forKey: .case_id_masked)
            try c.encode(matter_name, forKey: .matter_name)
            try c.encode(staff, forKey: .staff)
            try c.encode(window, forKey: .window)
            try c.encode(expires_at, forKey: .expires_at)
            try c.encode(expires_in_ms, forKey: .expires_in_ms)
            try c.encode(levels, forKey: .levels)
            try c.encode(reasons, forKey: .reasons)
            try c.encode(dimensions, forKey: .dimensions)
        }

        enum Keys: String, CodingKey {
            case type, session_id, case_id_masked, matter_name, staff, window, expires_at, expires_in_ms, levels, reasons, dimensions
        }
    }

    struct Refused: Encodable {
        var type = "refused"
        var session_id: String?
        var code: String
        var message: String

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(type, forKey: .type)
            try c.encode(session_id, forKey: .session_id)
            try c.encode(code, forKey: .code)
            try c.encode(message, forKey: .message)
        }

        enum Keys: String, CodingKey { case type, session_id, code, message }
    }

    static func encode<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// What the pad of `window` should show now: the prompt of an open, unrated evaluation (even
    /// at a paused window: it is still rated), else paused or idle.
    public static func view(of window: WindowSnapshot, options: ScreenOptions, now: Millis) -> ServerMessage {
        let info = WindowInfoView(id: window.id, name: window.name, department: window.department)
        let staff = window.state.staff.map { StaffInfoView($0, window: window.id, photos: options.photoDir != nil) }
        if let s = window.session, s.ratedAt == nil, s.pending == nil, now < s.expiresAt {
            return .prompt(Prompt(
                session_id: s.sessionID, case_id_masked: ScreenText.maskCase(s.request.caseID), matter_name: s.request.matterName,
                staff: staff, window: info, expires_at: s.expiresAt.rfc3339, expires_in_ms: s.expiresAt.value - now.value,
                levels: Level.allCases.map { LevelView(level: $0.rawValue, text: $0.chineseName) },
                reasons: Dictionary(uniqueKeysWithValues: options.reasons.map { ($0.key.rawValue, $0.value) }),
                dimensions: options.dimensions
            ))
        }
        return .state(State(state: window.state.paused ? "paused" : "idle", window: info, staff: staff))
    }

    /// What a pad says.
    public enum PadMessage: Sendable, Hashable {
        case rate(ScreenRating)
        case pong
    }

    /// Parses one message from a pad; the error says what is wrong, in words for the pad's log.
    public static func parse(_ text: String) -> Result<PadMessage, ParseError> {
        guard text.utf8.count <= maxPadMessageBytes else { return .failure(ParseError(sessionID: nil, message: "message larger than \(maxPadMessageBytes) bytes")) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return .failure(ParseError(sessionID: nil, message: "not a JSON object"))
        }
        let sid = object["session_id"] as? String
        func fail(_ m: String) -> Result<PadMessage, ParseError> { .failure(ParseError(sessionID: sid, message: m)) }
        switch object["type"] as? String {
        case "pong": return .success(.pong)
        case "rate":
            guard let sid, !sid.isEmpty, sid.utf8.count <= 128 else { return fail("rate: session_id must be a string of 1 to 128 bytes") }
            guard let name = object["level"] as? String, let level = Level(rawValue: name) else {
                return fail("rate: level must be one of \(Level.allNames)")
            }
            var r = ScreenRating(sessionID: sid, level: level)
            for key in ["reason", "reason_text"] {
                guard let v = object[key], !(v is NSNull) else { continue }
                guard let s = v as? String else { return fail("rate: \(key) must be a string") }
                let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
                if t.isEmpty { continue }
                if key == "reason" { r.reason = t } else { r.reasonText = t }
            }
            if let v = object["dimensions"], !(v is NSNull) {
                guard let d = v as? [String: Any] else { return fail("rate: dimensions must be an object of id: level") }
                var dims: [String: Level] = [:]
                for (id, lv) in d {
                    guard let n = lv as? String, let l = Level(rawValue: n) else { return fail("rate: dimensions.\(id) must be one of \(Level.allNames)") }
                    dims[id] = l
                }
                if !dims.isEmpty { r.dimensions = dims }
            }
            return .success(.rate(r))
        case let other?: return fail("unknown message type \"\(other)\" (rate, pong)")
        case nil: return fail("a message needs a \"type\"")
        }
    }

    public struct ParseError: Error, Sendable, Hashable {
        public var sessionID: String?
        public var message: String
    }
}

extension ScreenAnswer {
    /// The answer as the screen protocol writes it.
    public var message: ScreenProtocol.ServerMessage {
        switch self {
        case let .acked(sid, recordID): return .ack(sessionID: sid, recordID: recordID)
        case let .refused(sid, _, code, message): return .refused(sessionID: sid, code: code, message: message)
        }
    }
}
