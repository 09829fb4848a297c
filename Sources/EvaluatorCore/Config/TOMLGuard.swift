import TOMLKit

/// Finds the table headers that would crash the TOML parser before it sees them.
///
/// toml++ (inside TOMLKit) asserts — aborting the process — when a table header's first key
/// starts with a character that is neither a bare-key character nor a quote: `[窗口]`,
/// `[ é ]`, `[.a]`, `[=]` (found by `make fuzz`, target config; a hall IT typo would have
/// crashed evaluatord and `evaluatorctl check-config` instead of naming the line). This scan
/// tracks strings, comments and open brackets well enough to know where table headers stand
/// and refuses those, with the line. Everything else is left to the parser.
public enum TOMLGuard {
    /// The one way config and profile text becomes a TOML table: the header check first, then
    /// TOMLKit; every syntax error names the file and, where known, the line.
    static func table(_ text: String, source: String) throws(ConfigError) -> TOMLTable {
        if let bad = badTableHeader(in: text) {
            throw ConfigError(code: .syntax, file: source, line: bad.line, key: "", message: "TOML syntax error: \(bad.message)")
        }
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(code: .syntax, file: source, line: error.source.begin.line, key: "",
                              message: "TOML syntax error: \(error.description)")
        } catch {
            throw ConfigError(code: .syntax, file: source, line: nil, key: "", message: "TOML syntax error: \(error)")
        }
    }

    /// nil when the text has no such header; else the 1-based line and what is wrong.
    public static func badTableHeader(in text: String) -> (line: Int, message: String)? {
        var depth = 0                 // open [ and { of values (multi-line arrays)
        var multiline: [UInt8]?       // inside a """ or ''' string
        var lineNo = 0
        // Split on the byte: as Characters, "\r\n" is one grapheme and never equals "\n".
        for line in Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNo += 1
            let b = Array(line)
            var i = 0
            if multiline == nil && depth == 0 {
                while i < b.count && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
                if i < b.count && b[i] == UInt8(ascii: "[") {
                    var j = i + 1
                    if j < b.count && b[j] == UInt8(ascii: "[") { j += 1 }
                    while j < b.count && (b[j] == 0x20 || b[j] == 0x09) { j += 1 }
                    if j == b.count || !startsKey(b[j]) {
                        return (lineNo, "a table name must start with a letter, a digit, _ or - (or be quoted, like [\"名称\"])")
                    }
                }
            }
            // Update the state: strings, comments, brackets.
            while i < b.count {
                if let delim = multiline {
                    if b[i...].starts(with: delim) {
                        multiline = nil
                        i += 3
                    } else {
                        i += (delim[0] == UInt8(ascii: "\"") && b[i] == UInt8(ascii: "\\")) ? 2 : 1
                    }
                    continue
                }
                let c = b[i]
                if c == UInt8(ascii: "#") { break }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    let triple = [c, c, c]
                    if b[i...].starts(with: triple) {
                        multiline = triple
                        i += 3
                        continue
                    }
                    i += 1
                    while i < b.count && b[i] != c {
                        i += (c == UInt8(ascii: "\"") && b[i] == UInt8(ascii: "\\")) ? 2 : 1
                    }
                    i += 1
                    continue
                }
                if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth += 1 }
                if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") { depth = max(0, depth - 1) }
                i += 1
            }
        }
        return nil
    }

    private static func startsKey(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }
}
