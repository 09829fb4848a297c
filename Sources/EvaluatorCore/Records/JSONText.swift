/// Canonical JSON text written by hand, byte for byte what `JSONEncoder` with
/// `[.sortedKeys, .withoutEscapingSlashes]` writes (the tests compare the two), without its
/// cost: encoding a record with JSONEncoder was half of the daemon's CPU time under load
/// (issue 6, perf profile of the 64-pad ingest).
public enum JSONText {
    /// `s` as a JSON string literal: `"`, `\` and control characters escaped, the rest raw UTF-8.
    public static func quote(_ s: String) -> String {
        var out: [UInt8] = [0x22]
        appendQuoted(s, to: &out)
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            for (i, b) in utf8.enumerated() where b < 0x20 || b == 0x22 || b == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                start = i + 1
                out.append(0x5C)
                switch b {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default: out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
    }

    /// Writes one JSON object into a byte buffer; keys must be given in sorted order
    /// (checked in debug builds).
    public struct Object {
        private var bytes: [UInt8] = [0x7B]
        private var lastKey: String?

        public init() { bytes.reserveCapacity(640) }

        private mutating func key(_ k: String) {
            if let lastKey {
                assert(lastKey.utf8.lexicographicallyPrecedes(k.utf8), "keys out of order: \(lastKey) then \(k)")
                bytes.append(0x2C)
            }
            lastKey = k
            bytes.append(0x22)
            bytes.append(contentsOf: k.utf8)
            bytes.append(0x22)
            bytes.append(0x3A)
        }

        private mutating func literal(_ text: StaticString) {
            bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        public mutating func string(_ k: String, _ v: String?) {
            key(k)
            if let v {
                bytes.append(0x22)
                JSONText.appendQuoted(v, to: &bytes)
                bytes.append(0x22)
            } else {
                literal("null")
            }
        }

        public mutating func int(_ k: String, _ v: Int?) {
            key(k)
            if let v { bytes.append(contentsOf: String(v).utf8) } else { literal("null") }
        }

        public mutating func bool(_ k: String, _ v: Bool) {
            key(k)
            literal(v ? "true" : "false")
        }

        public mutating func strings(_ k: String, _ v: [String]) {
            key(k)
            bytes.append(0x5B)
            for (i, s) in v.enumerated() {
                if i > 0 { bytes.append(0x2C) }
                bytes.append(0x22)
                JSONText.appendQuoted(s, to: &bytes)
                bytes.append(0x22)
            }
            bytes.append(0x5D)
        }

        /// An object of strings with its keys in byte order, or null.
        public mutating func stringMap(_ k: String, _ v: [String: String]?) {
            key(k)
            guard let v else { return literal("null") }
            bytes.append(0x7B)
            for (i, name) in v.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { bytes.append(0x2C) }
                bytes.append(0x22)
                JSONText.appendQuoted(name, to: &bytes)
                bytes.append(contentsOf: [0x22, 0x3A, 0x22])
                JSONText.appendQuoted(v[name]!, to: &bytes)
                bytes.append(0x22)
            }
            bytes.append(0x7D)
        }

        /// An array of objects each written by `write` (keys in order, as here), or null.
        public mutating func objects<T>(_ k: String, _ v: [T]?, _ write: (inout Object, T) -> Void) {
            key(k)
            guard let v else { return literal("null") }
            bytes.append(0x5B)
            for (i, item) in v.enumerated() {
                if i > 0 { bytes.append(0x2C) }
                var inner = Object()
                write(&inner, item)
                bytes.append(contentsOf: inner.finishBytes())
            }
            bytes.append(0x5D)
        }

        /// Bytes written so far (an offset for a later fill-in).
        public var count: Int { bytes.count }

        /// Leaves out key `k` (checked for order like any other) and returns the offset where
        /// `,"k":value` would go.
        public mutating func skip(_ k: String) -> Int {
            if let lastKey { assert(lastKey.utf8.lexicographicallyPrecedes(k.utf8), "keys out of order: \(lastKey) then \(k)") }
            lastKey = k
            return bytes.count
        }

        public mutating func finish() -> String {
            String(decoding: finishBytes(), as: UTF8.self)
        }

        public mutating func finishBytes() -> [UInt8] {
            bytes.append(0x7D)
            return bytes
        }
    }
}

/// A JSON value with a writer that sorts keys (the canonical form of docs/CHAIN.md), so bodies
/// are byte-for-byte reproducible.
public indirect enum JSONValue: Sendable, Hashable, Decodable {
    case string(String), int(Int), bool(Bool), null, array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public var text: String {
        switch self {
        case let .string(s): return Self.quote(s)
        case let .int(i): return String(i)
        case let .bool(b): return b ? "true" : "false"
        case .null: return "null"
        case let .array(a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case let .object(o): return "{" + o.keys.sorted().map { Self.quote($0) + ":" + o[$0]!.text }.joined(separator: ",") + "}"
        }
    }

    public static func quote(_ s: String) -> String { JSONText.quote(s) }
}


/// Reading fields of a stored record object (migrations, salvage): one place for the unwrapping.
extension Dictionary where Key == String, Value == JSONValue {
    public func string(_ k: String) -> String? { if case let .string(s)? = self[k] { s } else { nil } }
    public func int(_ k: String) -> Int? { if case let .int(i)? = self[k] { i } else { nil } }
    public func bool(_ k: String) -> Bool { if case .bool(true)? = self[k] { true } else { false } }
    public func strings(_ k: String) -> [String] {
        guard case let .array(a)? = self[k] else { return [] }
        return a.compactMap { if case let .string(s) = $0 { s } else { nil } }
    }
}
