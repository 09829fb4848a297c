/// Canonical JSON text written by hand, byte for byte what `JSONEncoder` with
/// `[.sortedKeys, .withoutEscapingSlashes]` writes (the tests compare the two), without its
/// cost: encoding a record with JSONEncoder was half of the daemon's CPU time under load
/// (issue 6, perf profile of the 64-pad ingest).
public enum JSONText {
    /// `s` as a JSON string literal: `"`, `\` and control characters escaped, the rest raw UTF-8.
    public static func quote(_ s: String) -> String {
        var out = "\""
        appendQuoted(s, to: &out)
        out.append("\"")
        return out
    }

    static func appendQuoted(_ s: String, to out: inout String) {
        var needsEscape = false
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C {
            needsEscape = true
            break
        }
        if !needsEscape {
            out.append(s)
            return
        }
        let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out.append("\\\"")
            case 0x5C: out.append("\\\\")
            case 0x08: out.append("\\b")
            case 0x0C: out.append("\\f")
            case 0x0A: out.append("\\n")
            case 0x0D: out.append("\\r")
            case 0x09: out.append("\\t")
            case 0..<0x20:
                out.append("\\u00")
                out.append(hex[Int(scalar.value >> 4)])
                out.append(hex[Int(scalar.value & 0xF)])
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    /// Writes one JSON object; keys must be given in sorted order (checked in debug builds).
    public struct Object {
        public private(set) var text = "{"
        private var lastKey: String?

        public init() { text.reserveCapacity(640) }

        private mutating func key(_ k: String) {
            assert(lastKey.map { $0 < k } ?? true, "keys out of order: \(lastKey ?? "") then \(k)")
            if lastKey != nil { text.append(",") }
            lastKey = k
            text.append("\"")
            text.append(k)
            text.append("\":")
        }

        public mutating func string(_ k: String, _ v: String?) {
            key(k)
            if let v {
                text.append("\"")
                JSONText.appendQuoted(v, to: &text)
                text.append("\"")
            } else {
                text.append("null")
            }
        }

        public mutating func int(_ k: String, _ v: Int?) {
            key(k)
            text.append(v.map(String.init) ?? "null")
        }

        public mutating func bool(_ k: String, _ v: Bool) {
            key(k)
            text.append(v ? "true" : "false")
        }

        public mutating func strings(_ k: String, _ v: [String]) {
            key(k)
            text.append("[")
            for (i, s) in v.enumerated() {
                if i > 0 { text.append(",") }
                text.append("\"")
                JSONText.appendQuoted(s, to: &text)
                text.append("\"")
            }
            text.append("]")
        }

        public mutating func finish() -> String {
            text.append("}")
            return text
        }
    }
}
