/// Random (version 4) UUIDs in lowercase text, for record, session and batch ids. Foundation's
/// `UUID()` opened /dev/urandom once per id on this platform (strace: one open per stored
/// record under load); the system generator uses getrandom(2) and opens nothing.
public enum RandomID {
    public static func uuid() -> String {
        var rng = SystemRandomNumberGenerator()
        var hi = rng.next() as UInt64
        var lo = rng.next() as UInt64
        hi = (hi & ~0xF000) | 0x4000                       // version 4
        lo = (lo & ~(0xC000 << 48)) | (0x8000 << 48)       // variant 10xx
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
