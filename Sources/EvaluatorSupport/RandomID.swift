/// UUIDs in lowercase text: random (version 4) for session and batch ids, time-ordered (version 7) for record ids. Foundation's
/// `UUID()` opened /dev/urandom once per id on this platform (strace: one open per stored
/// record under load); the system generator uses getrandom(2) and opens nothing.
public enum RandomID {
    public static func uuid() -> String {
        var rng = SystemRandomNumberGenerator()
        let hi = ((rng.next() as UInt64) & ~0xF000) | 0x4000 // version 4
        return format(hi: hi, lo: rng.next())
    }

    /// A time-ordered UUID (RFC 9562 version 7: 48 bits of Unix milliseconds, then random).
    /// Record ids are these (issue 21): the `record_id` UNIQUE index is then appended to at its
    /// right edge instead of at a random leaf per record. Measured in the 8 × 8 hot-path loop
    /// (2026-12-07): random v4 ids made 4.7 pwrite(2) per press (a WAL frame for almost every
    /// record's own index leaf); see docs/BENCHMARKS.md for the figure with v7.
    public static func uuidV7(unixMillis: Int64) -> String {
        var rng = SystemRandomNumberGenerator()
        let hi = (UInt64(UInt64(bitPattern: unixMillis) & 0xFFFF_FFFF_FFFF) << 16) | 0x7000 | ((rng.next() as UInt64) & 0x0FFF)
        return format(hi: hi, lo: rng.next())
    }

    /// `hi`'s version nibble is set; the variant is set here.
    private static func format(hi: UInt64, lo: UInt64) -> String {
        let lo = (lo & ~(0xC000 << 48)) | (0x8000 << 48)   // variant 10xx
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 36) { buf in
            var i = 0
            func put(_ v: UInt64, _ nibbles: Int) {
                for n in stride(from: nibbles - 1, through: 0, by: -1) {
                    buf[i] = hex[Int((v >> UInt64(n * 4)) & 0xF)]
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
