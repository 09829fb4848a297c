/// API tokens (R10, R11): who may do what through the local API. Read from `[api] tokens_file`,
/// one token per line: `NAME SCOPE TOKEN` (`#` comments). The NAME is what logs and records
/// show (`opened_by`, `ended_by`); the TOKEN itself is never printed.
public struct APIToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Scope: Sendable, Hashable, CustomStringConvertible {
        /// Hall IT (issue 20): everything `api` may do, and what changes stored records or the
        /// configuration: import/salvage, resend, reload, pads' links and pairing.
        case admin
        /// The business / queue system: evaluations, staff, pause — the party a rating judges,
        /// so never what creates, re-sends or hides a record.
        case api
        /// Status, windows, devices, stats, `/metrics`, the hall status page.
        case read
        /// One screen pad: its own window only.
        case pad(window: String)

        public var description: String {
            switch self {
            case .admin: "admin"
            case .api: "api"
            case .read: "read"
            case let .pad(w): "pad:\(w)"
            }
        }
    }

    public var name: String
    public var scope: Scope
    public var secret: String
    /// A screen pad's pairing secret standing in for a `pad:WINDOW` line (issue 20).
    public var paired: Bool

    public init(name: String, scope: Scope, secret: String, paired: Bool = false) {
        self.name = name
        self.scope = scope
        self.secret = secret
        self.paired = paired
    }

    public var description: String { "\(name) \(scope) ***" }
    public var debugDescription: String { description }
    public static let minimumLength = 32
    /// The name of the token read from the admin token file (`[api] admin_token_file`): what
    /// logs and records show for hall IT's actions. A tokens-file line may not take it.
    public static let adminName = "admin"

    /// The token of an admin token file: its one line, at least `minimumLength` printable
    /// ASCII characters. Errors name the file, never the token.
    public static func admin(fileText text: String, source: String) throws(ConfigError) -> APIToken {
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        func fail(_ m: String) -> ConfigError { ConfigError(code: .invalid, file: source, line: 1, key: "", message: m) }
        if let problem = secretProblem(secret, of: "the admin token") {
            throw fail(problem + (secret.count < minimumLength ? " (evaluatorctl admin-token init makes one)" : ""))
        }
        return APIToken(name: adminName, scope: .admin, secret: secret)
    }

    /// What is wrong with a token's secret (nil: nothing), for every source of tokens.
    static func secretProblem(_ secret: String, of what: String) -> String? {
        guard secret.count >= minimumLength else { return "\(what) is shorter than \(minimumLength) characters" }
        guard secret.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { return "\(what) must be printable ASCII" }
        return nil
    }
}

public struct TokenSet: Sendable, Hashable {
    public var tokens: [APIToken]

    public init(tokens: [APIToken]) { self.tokens = tokens }

    /// The token with this secret. Compared in constant time for each configured token, so the
    /// time an answer takes says nothing about how much of a guess was right.
    public func find(_ secret: String) -> APIToken? {
        let given = Array(secret.utf8)
        var found: APIToken?
        for t in tokens {
            let want = Array(t.secret.utf8)
            var diff = UInt8(want.count == given.count ? 0 : 1)
            for i in 0..<want.count { diff |= want[i] ^ (i < given.count ? given[i] : 0) }
            if diff == 0 && found == nil { found = t }
        }
        return found
    }

    /// Parses a tokens file. Errors name the file and line, never the token.
    public static func parse(_ text: String, source: String, windows: Set<String>) throws(ConfigError) -> TokenSet {
        var tokens: [APIToken] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ message: String) -> ConfigError {
                ConfigError(code: .invalid, file: source, line: i + 1, key: "", message: message)
            }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard parts.count == 3 else { throw fail("expected NAME SCOPE TOKEN (3 fields), got \(parts.count)") }
            let (name, scopeText, secret) = (parts[0], parts[1], parts[2])
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) }) else {
                throw fail("name \"\(name)\" may hold only A-Z a-z 0-9 _ . -")
            }
            let scope: APIToken.Scope
            switch scopeText {
            case "admin": scope = .admin
            case "api": scope = .api
            case "read": scope = .read
            case let s where s.hasPrefix("pad:"):
                let w = String(s.dropFirst(4))
                guard windows.contains(w) else { throw fail("scope \(s): no window \"\(w)\" is configured") }
                scope = .pad(window: w)
            default: throw fail("scope \"\(scopeText)\" is not admin, api, read or pad:WINDOW")
            }
            if let problem = APIToken.secretProblem(secret, of: "the token of \(name)") { throw fail(problem) }
            if name == APIToken.adminName { throw fail("the name \(name) is the admin token file's ([api] admin_token_file); choose another") }
            if tokens.contains(where: { $0.name == name }) { throw fail("name \(name) is used twice") }
            if tokens.contains(where: { $0.secret == secret }) { throw fail("the token of \(name) is the same as another one's") }
            tokens.append(APIToken(name: name, scope: scope, secret: secret))
        }
        return TokenSet(tokens: tokens)
    }
}
