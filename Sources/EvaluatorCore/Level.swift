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

/// Maps a pad's key codes to levels. Built-in maps have names; custom maps come from config.
public struct KeyMap: Sendable, Hashable {
    public var name: String
    public var levels: [Int: Level]

    public init(name: String, levels: [Int: Level]) {
        self.name = name
        self.levels = levels
    }

    public func level(forKey key: Int) -> Level? { levels[key] }

    /// The 4-key "68" evaluator: 0 = 不满意, 1 = 基本满意 (middle key), 2 = 满意, 3 = 非常满意.
    public static let framed68FourKey = KeyMap(name: "framed68-4key", levels: [
        0: .dissatisfied, 1: .basic, 2: .satisfied, 3: .verySatisfied,
    ])

    /// A 5-key "68" evaluator in ascending order: 0 = 非常不满意 … 4 = 非常满意.
    public static let framed68FiveKey = KeyMap(name: "framed68-5key", levels: [
        0: .veryDissatisfied, 1: .dissatisfied, 2: .basic, 3: .satisfied, 4: .verySatisfied,
    ])

    public static let builtIn: [String: KeyMap] = [
        framed68FourKey.name: framed68FourKey,
        framed68FiveKey.name: framed68FiveKey,
    ]
}
