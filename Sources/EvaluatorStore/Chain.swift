import Crypto
import EvaluatorCore
import Foundation

/// The tamper-evident chain's byte rules, in one place: sealing a record when it is stored, and
/// reading the chain fields back out of the stored bytes when it is verified. Verification
/// hashes the stored bytes themselves (no parse and re-encode), so what is checked is exactly
/// what is kept and sent.
public enum Chain {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex SHA-256.
    public static func sha256Hex<D: DataProtocol>(_ bytes: D) -> String {
        Hex(digest: SHA256.hash(data: bytes)).text
    }

    /// The record's stored body in its chain, and its hash: SHA-256 over the canonical JSON
    /// without the `hash` member, then that member put in its sorted place.
    public static func seal(_ record: RatingRecord, link: ChainLink) -> (body: String, hash: String) {
        seal(record.template(chainID: link.chainID), link: link)
    }

    /// Seals a record from its template (made off the writer): the seq's digits and prev_hash
    /// filled in, then hashed. Byte for byte what `seal(_:link:)` makes (ChainTests).
    public static func seal(_ t: ChainTemplate, link: ChainLink) -> (body: String, hash: String) {
        var bytes = t.bytes
        bytes.replaceSubrange(t.seqAt..<(t.seqAt + 1), with: String(link.seq).utf8)
        bytes.replaceSubrange(t.prevAt..<(t.prevAt + 64), with: link.prevHash.utf8)
        let hash = sha256Hex(bytes)
        bytes.insert(contentsOf: Array(",\"hash\":\"\(hash)\"".utf8), at: t.hashAt)
        return (String(decoding: bytes, as: UTF8.self), hash)
    }

    /// Seals any canonical record object (a JSON object of the record format): used to chain
    /// records stored before the chain existed, whose Swift form is not kept.
    public static func seal(object: [String: JSONValue], link: ChainLink) -> (body: String, hash: String) {
        var o = object
        o["chain_id"] = .string(link.chainID)
        o["seq"] = .int(Int(link.seq))
        o["prev_hash"] = .string(link.prevHash)
        o["hash"] = nil
        for field in ["prompt_to_press_ms", "detail"] where o[field] == nil { o[field] = .null }
        let unhashed = JSONValue.object(o).text
        let hash = sha256Hex(Array(unhashed.utf8))
        o["hash"] = .string(hash)
        return (JSONValue.object(o).text, hash)
    }

    public enum ReadError: Error, Equatable {
        case missing(String)
    }

    /// 64 lower-case hex digits as one vector value (no allocation, one unaligned load, one
    /// compare): what the walk compares. Per-byte element stores cost the walk a fifth of its
    /// time on 10,000,000 records (perf).
    public struct Hex: Equatable, Sendable {
        var v: SIMD64<UInt8>

        public init(_ text: String) {
            var t = text
            v = t.withUTF8 { u in
                u.count >= 64 ? UnsafeRawBufferPointer(u).loadUnaligned(as: SIMD64<UInt8>.self) : SIMD64<UInt8>()
            }
        }

        init(_ raw: UnsafeRawBufferPointer, at offset: Int) {
            v = raw.loadUnaligned(fromByteOffset: offset, as: SIMD64<UInt8>.self)
        }

        init(digest: SHA256.Digest) {
            v = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { out in
                digest.withUnsafeBytes { d in
                    for i in 0..<32 {
                        out[2 * i] = hexDigits[Int(d[i] >> 4)]
                        out[2 * i + 1] = hexDigits[Int(d[i] & 0xF)]
                    }
                }
                return UnsafeRawBufferPointer(out).loadUnaligned(as: SIMD64<UInt8>.self)
            }
        }

        public var text: String { String(decoding: (0..<64).map { v[$0] }, as: UTF8.self) }
    }

    /// A stored body checked in place: its seq, prev_hash, the hash it states and the hash its
    /// bytes (without the `hash` member) have.
    public struct Checked {
        public var seq: Int64
        public var prev: Hex
        public var stated: Hex
        public var actual: Hex
    }

    /// Reads `seq`, `prev_hash` and `hash` out of a stored body, on the bytes in place, and
    /// hashes the two parts around the `hash` member without joining them. A member is found
    /// as `,"name":` — a quote inside a JSON string is always escaped, so that byte sequence
    /// can only be a member — scanning backward: these keys sort after every member whose value
    /// could be an object, so the last is the top-level one, and `hash` < `prev_hash` < `seq`,
    /// so one backward scan finds `seq`, then `prev_hash` before it, then `hash` before that.
    public static func check(_ raw: UnsafeRawBufferPointer) throws(ReadError) -> Checked {
        let n = raw.count
        guard let s = lastIndex(of: seqKey, in: raw, before: n) else { throw .missing("seq") }
        guard let p = lastIndex(of: prevKey, in: raw, before: s), p + prevKey.count + 64 <= n else { throw .missing("prev_hash") }
        guard let h = lastIndex(of: hashKey, in: raw, before: p), h + hashKey.count + 65 <= n, raw[h + hashKey.count + 64] == 0x22 else {
            throw .missing("hash")
        }
        var seq: Int64 = 0, i = s + seqKey.count, digits = 0
        while i < n, raw[i] >= 0x30, raw[i] <= 0x39, digits < 18 {
            seq = seq * 10 + Int64(raw[i] - 0x30)
            i += 1
            digits += 1
        }
        guard digits > 0 else { throw .missing("seq") }
        var sha = SHA256()
        sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[..<h]))
        sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[(h + hashKey.count + 65)...]))
        return Checked(seq: seq, prev: Hex(raw, at: p + prevKey.count), stated: Hex(raw, at: h + hashKey.count), actual: Hex(digest: sha.finalize()))
    }

    /// The last `needle` that ends at or before `end`.
    static func lastIndex(of needle: [UInt8], in hay: UnsafeRawBufferPointer, before end: Int) -> Int? {
        guard end >= needle.count else { return nil }
        var i = end - needle.count
        let first = needle[0]
        while i >= 0 {
            if hay[i] == first {
                var j = 1
                while j < needle.count && hay[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i -= 1
        }
        return nil
    }


    private static let hashKey = Array(",\"hash\":\"".utf8)
    private static let prevKey = Array(",\"prev_hash\":\"".utf8)
    private static let seqKey = Array(",\"seq\":".utf8)

}

/// What walking the chain found (`evaluatorctl verify`, the start-up check of the tail).
public enum ChainVerdict: Sendable, Hashable {
    /// Every record links to the one before and hashes to its `hash`. `first`…`last` are the
    /// seqs present (after the pruned checkpoint); `head` the last hash.
    case ok(records: Int64, first: Int64, last: Int64, head: String)
    /// The first break: the seq where it is and what is wrong there.
    case broken(seq: Int64, what: String)
}
