import Foundation

/// A reason a citizen can pick on a screen pad after a bad level (R2): the province's code (the
/// same string a key map's `"reason:207"` gives) and the text on the button.
public struct ReasonItem: Sendable, Hashable, Codable {
    public var code: String
    public var text: String

    public init(code: String, text: String) {
        self.code = code
        self.text = text
    }
}

/// A rating dimension (R12: attitude, efficiency …), each rated on the five levels.
public struct DimensionItem: Sendable, Hashable, Codable {
    public var id: String
    public var text: String

    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
}

/// Which kind of pad a rating came from; profiles map it to the province's channel code
/// (`[channels] keys = 5, screen = 4`: 政务大厅其他终端 / 政务大厅平板电脑).
public enum RatingChannel: String, Sendable, CaseIterable, Codable {
    case keys, screen

    public init(_ pad: PadID) { self = pad.kind == "screen" ? .screen : .keys }
}

/// What screen pads offer beyond the five levels, from `[screen]`, `[reasons.*]` and
/// `[[dimension]]` (issue 14). Pure data; `problem(with:)` is the one check of a rating.
public struct ScreenOptions: Sendable, Hashable {
    public enum Defaults {
        /// `[screen] heartbeat_s`: the gateway pings each screen pad this often; a pad that has
        /// said nothing for two periods is detached.
        public static let heartbeatS = 15
    }

    /// At most this many characters of free text with a reason (a bound on every input).
    public static let maxReasonTextLength = 200
    /// At most this many UTF-8 bytes (200 CJK characters are 600).
    public static let maxReasonTextBytes = 800

    /// The reasons offered per bad level, in the order shown.
    public var reasons: [Level: [ReasonItem]] = [:]
    public var dimensions: [DimensionItem] = []
    /// `[screen] photo_dir`: staff photos (`photo` of a sign-in names a file here).
    public var photoDir: String?
    public var heartbeatS = Defaults.heartbeatS

    public init() {}

    /// The staff photo types a screen shows, by file name extension.
    public static let photoTypes = ["jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"]

    /// The MIME type of a photo file name, nil for a type screens do not show.
    public static func photoType(_ name: String) -> String? { photoTypes[(name as NSString).pathExtension.lowercased()] }

    /// Where the photo `name` is (nil without a `photo_dir`).
    public func photoPath(_ name: String) -> String? { photoDir.map { ($0 as NSString).appendingPathComponent(name) } }

    /// Why a rating from a screen pad cannot be taken as sent, or nil when it can.
    public func problem(with r: ScreenRating) -> String? {
        if let reason = r.reason {
            guard r.level.isBad else { return "a reason goes with a bad level only (\(Level.dissatisfied.rawValue), \(Level.veryDissatisfied.rawValue)); got \(r.level.rawValue)" }
            let offered = reasons[r.level] ?? []
            guard offered.contains(where: { $0.code == reason }) else {
                return "reason \"\(reason)\" is not offered for \(r.level.rawValue) (offered: \(offered.map(\.code).joined(separator: ", ")))"
            }
        }
        if let text = r.reasonText {
            guard r.level.isBad else { return "reason_text goes with a bad level only" }
            guard text.count <= Self.maxReasonTextLength else { return "reason_text is longer than \(Self.maxReasonTextLength) characters" }
            // Bytes too (issue 20): 200 characters of combining marks are not 200 bytes.
            guard text.utf8.count <= Self.maxReasonTextBytes else { return "reason_text is longer than \(Self.maxReasonTextBytes) bytes" }
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) else {
                return "reason_text holds a control or format character"
            }
        }
        if let dims = r.dimensions {
            let known = Set(dimensions.map(\.id))
            if let unknown = dims.keys.sorted().first(where: { !known.contains($0) }) {
                return "dimension \"\(unknown)\" is not configured (configured: \(dimensions.map(\.id).joined(separator: ", ")))"
            }
        }
        return nil
    }
}

/// A rating sent by a screen pad for one evaluation (`{"type": "rate", …}`).
public struct ScreenRating: Sendable, Hashable {
    public var sessionID: String
    public var level: Level
    public var reason: String?
    public var reasonText: String?
    public var dimensions: [String: Level]?

    public init(sessionID: String, level: Level, reason: String? = nil, reasonText: String? = nil, dimensions: [String: Level]? = nil) {
        self.sessionID = sessionID
        self.level = level
        self.reason = reason
        self.reasonText = reasonText
        self.dimensions = dimensions
    }
}

/// Why a screen pad's rating was not taken (`{"type": "refused", "code": …}`).
public enum ScreenRefusal: String, Sendable, Hashable {
    /// The evaluation's time ran out before the rating came.
    case expired
    /// The evaluation was already rated (by a key, or by this pad under another id).
    case alreadyRated = "already_rated"
    /// No such evaluation is open at the pad's window (cancelled, superseded, unknown).
    case notOpen = "not_open"
    /// The message breaks the protocol or names a reason or dimension not configured.
    case invalid
    /// The store cannot write now: nothing was taken; send again later.
    case unavailable
}

public enum ScreenText {
    /// A case number as the citizen's screen shows it: every character but the last 4 masked
    /// (a screen faces the hall; the whole number is not for everyone to read).
    public static func maskCase(_ id: String) -> String {
        let chars = Array(id)
        guard chars.count > 4 else { return id }
        return String(repeating: "*", count: chars.count - 4) + String(chars.suffix(4))
    }
}

/// A one-time code that pairs a window's screen pad (issue 20): 8 digits, single use, for
/// `PadPairings.codeLifetimeMs`; `url` is the page the tablet opens with it.
public struct PairingCode: Sendable, Hashable {
    public var windowID: String
    public var code: String
    public var expiresAt: Millis
    public var url: String

    public init(windowID: String, code: String, expiresAt: Millis, url: String) {
        self.windowID = windowID
        self.code = code
        self.expiresAt = expiresAt
        self.url = url
    }
}
