/// UUIDs in lowercase text: random (version 4) for session and batch ids, time-ordered (version 7) for record ids. Foundation's
/// `UUID()` opened /dev/urandom once per id on this platform (strace: one open per stored
/// record under load); the system generator uses getrandom(2) and opens nothing.
public enum RandomID {
    public static func uuid() -> String {
        let (r0, r1) = random128()
        return format(hi: (r0 & ~0xF000) | 0x4000, lo: r1) // version 4
    }

    /// A time-ordered UUID (RFC 9562 version 7: 48 bits of Unix milliseconds, then random).
    /// Record ids are these (issue 21): the `record_id` UNIQUE index is then appended to at its
    /// right edge instead of at a random leaf per record. Measured in the 8 × 8 hot-path loop
    /// (2026-12-07): random v4 ids made 4.7 pwrite(2) per press (a WAL frame for almost every
    /// record's own index leaf); see docs/BENCHMARKS.md for the figure with v7.
    public static func uuidV7(unixMillis: Int64) -> String {
        let (r0, r1) = random128()
        let hi = (UInt64(bitPattern: unixMillis) & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | (r0 & 0x0FFF)
        return format(hi: hi, lo: r1)
    }

    /// `bytes` random bytes as lowercase hex (tokens).
    public static func hex(bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let b = UInt8.random(in: 0...255, using: &rng)
            return String(b >> 4, radix: 16) + String(b & 0xF, radix: 16)
        }.joined()
    }

    /// 128 bits from the system generator (getrandom(2), twice: Glibc's module does not
    /// export getrandom itself, and two calls cost ~0.7 µs a record in the hot-path loop).
    private static func random128() -> (UInt64, UInt64) {
        var rng = SystemRandomNumberGenerator()
        return (rng.next(), rng.next())
    }

    /// `hi`'s version nibble is set; the variant is set here.
    private static func format(hi: UInt64, lo: UInt64) -> String {
        let lo = (lo & ~(0xC000 << 48)) | (0x8000 << 48)   // variant 10xx
        return String(unsafeUninitializedCapacity: 36) { buf in
            var i = 0
            func put(_ v: UInt64, _ nibbles: Int) {
                for n in stride(from: nibbles - 1, through: 0, by: -1) {
                    let d = UInt8((v >> UInt64(n * 4)) & 0xF)
                    buf[i] = d < 10 ? 0x30 + d : 0x57 + d // 0-9, a-f
                    i += 1
                }
            }
            func dash() { buf[i] = 0x2D; i += 1 }
            put(hi >> 32, 8); dash(); put((hi >> 16) & 0xFFFF, 4); dash(); put(hi & 0xFFFF, 4); dash()
            put(lo >> 48, 4); dash(); put(lo & 0xFFFF_FFFF_FFFF, 12)
            return 36
        }
    }
}
