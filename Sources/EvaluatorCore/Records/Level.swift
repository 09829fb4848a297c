import EvaluatorProtocol

/// The five rating levels (R1). Raw values are the names used everywhere: config, API, records.
public enum Level: String, CaseIterable, Codable, Sendable, Hashable {
    case verySatisfied = "very_satisfied"
    case satisfied = "satisfied"
    case basic = "basic"
    case dissatisfied = "dissatisfied"
    case veryDissatisfied = "very_dissatisfied"

    /// 不满意 and 非常不满意 are bad ratings (R1); each must be followed up (R13) and carry a
    /// reason (R2).
    public var isBad: Bool { self == .dissatisfied || self == .veryDissatisfied }

    public var chineseName: String {
        switch self {
        case .verySatisfied: "非常满意"
        case .satisfied: "满意"
        case .basic: "基本满意"
        case .dissatisfied: "不满意"
        case .veryDissatisfied: "非常不满意"
        }
    }

    public static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Points per level (R1). Configurable; defaults 10/8/6/3/0.
public struct ScoreTable: Sendable, Hashable {
    public var points: [Level: Int]

    public init(points: [Level: Int]) { self.points = points }

    public static let standard = ScoreTable(points: [
        .verySatisfied: 10, .satisfied: 8, .basic: 6, .dissatisfied: 3, .veryDissatisfied: 0,
    ])

    public func score(_ level: Level) -> Int { points[level] ?? Self.standard.points[level]! }
}

/// Maps a pad's key codes to levels and, for pads with reason keys, to reason codes (R2).
/// Codes are the "68" key index for serial pads and Linux key codes (KEY_*) for USB HID pads;
/// hidraw usages are translated to key codes first, so one map serves evdev and hidraw.
public struct KeyMap: Sendable, Hashable {
    public var name: String
    public var levels: [Int: Level]
    /// Key code → reason code (e.g. "207" for a 不满意 reason item).
    public var reasons: [Int: String]

    public init(name: String, levels: [Int: Level], reasons: [Int: String] = [:]) {
        self.name = name
        self.levels = levels
        self.reasons = reasons
    }

    public func level(forKey key: Int) -> Level? { levels[key] }
    public func reason(forKey key: Int) -> String? { reasons[key] }
    public var hasReasonKeys: Bool { !reasons.isEmpty }

    /// The 4-key "68" evaluator: 0 = 不满意, 1 = 基本满意 (middle key), 2 = 满意, 3 = 非常满意.
    public static let framed68FourKey = KeyMap(name: "framed68-4key", levels: [
        0: .dissatisfied, 1: .basic, 2: .satisfied, 3: .verySatisfied,
    ])

    /// A 5-key "68" evaluator in ascending order: 0 = 非常不满意 … 4 = 非常满意.
    public static let framed68FiveKey = KeyMap(name: "framed68-5key", levels: [
        0: .veryDissatisfied, 1: .dissatisfied, 2: .basic, 3: .satisfied, 4: .verySatisfied,
    ])

    /// A USB keypad with five keys: KP1 (usage 0x59) = 非常不满意 … KP5 (0x5D) = 非常满意.
    public static let keypadFive = KeyMap(name: "keypad-5", levels: [
        KeyNames.kp1: .veryDissatisfied, KeyNames.kp2: .dissatisfied, KeyNames.kp3: .basic,
        KeyNames.kp4: .satisfied, KeyNames.kp5: .verySatisfied,
    ])

    /// A USB keypad with four keys: KP1 = 不满意, KP2 = 基本满意, KP3 = 满意, KP4 = 非常满意.
    public static let keypadFour = KeyMap(name: "keypad-4", levels: [
        KeyNames.kp1: .dissatisfied, KeyNames.kp2: .basic, KeyNames.kp3: .satisfied, KeyNames.kp4: .verySatisfied,
    ])

    public static let builtIn: [String: KeyMap] = [
        framed68FourKey.name: framed68FourKey,
        framed68FiveKey.name: framed68FiveKey,
        keypadFive.name: keypadFive,
        keypadFour.name: keypadFour,
    ]
}

/// Linux key names (as in linux/input-event-codes.h) for the keys pads use.
public enum KeyNames {
    public static let kp1 = 79, kp2 = 80, kp3 = 81, kp4 = 75, kp5 = 76

    /// `KEY_<name>` → code, from the one key-code table.
    public static let codes: [String: Int] = Dictionary(
        KeyCodes.table.map { ("KEY_" + $0.name, Int($0.code)) }, uniquingKeysWith: { a, _ in a }
    )

    /// A key written in a key map: a number (the code itself) or a name such as `KEY_KP1`
    /// or `KP1`.
    public static func code(_ text: String) -> Int? {
        if let n = Int(text) { return (0...767).contains(n) ? n : nil }
        let upper = text.uppercased()
        return codes[upper] ?? codes["KEY_" + upper]
    }

    public static func name(_ code: Int) -> String {
        codes.filter { $0.value == code }.map(\.key).sorted().first ?? "\(code)"
    }
}

extension ScoreTable {
    /// What is wrong with a salvaged record's rating fields, or nil (issue 20): a known outcome,
    /// a known level, a score that is one of the configured scores (or the standard ones, for
    /// records made before a change of `[scores]`), `bad` as its level says. Bounds every
    /// number that reaches the statistics.
    public func salvageProblem(_ o: [String: JSONValue]) -> String? {
        guard let outcome = o.string("outcome"), Outcome(rawValue: outcome) != nil else { return "outcome is not one of the record format's" }
        if let l = o["level"], l != .null {
            guard case let .string(text) = l, let level = Level(rawValue: text) else { return "level is not one of the five levels" }
            if o.bool("bad") != level.isBad { return "bad does not agree with level \(text)" }
        }
        if let s = o["score"], s != .null {
            guard case let .int(score) = s, Set(points.values).union(Self.standard.points.values).contains(score) else {
                return "score is not one of the configured scores"
            }
        }
        if let c = o["count"], c != .null {
            guard case let .int(n) = c, (0...1_000_000).contains(n) else { return "count is out of range" }
        }
        guard o.string("recorded_at").flatMap(Millis.parseRFC3339) != nil else { return "recorded_at is not an RFC 3339 time" }
        return nil
    }
}
