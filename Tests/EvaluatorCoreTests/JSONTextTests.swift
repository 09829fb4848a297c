import EvaluatorCore
import Foundation
import Testing

/// The hand-written record JSON and timestamps must be byte for byte what JSONEncoder and
/// gmtime_r give: stored bodies and uploads must not change shape (issue 6 speed work).
@Suite("canonical JSON and RFC 3339 written by hand")
struct JSONTextTests {
    @Test("rfc3339 equals gmtime_r for edges and 200,000 random instants, before 1970 too")
    func rfc3339() {
        var rng = SystemRandomNumberGenerator()
        var values: [Int64] = [0, -1, 1, 999, 1000, -999, -1000, -1001, 86_399_999, 86_400_000,
                               951_782_400_000, 951_868_799_999, 1_709_164_800_000, 4_107_542_400_000, 253_402_300_799_999,
                               -62_135_596_800_000, 1_795_394_400_123]
        for _ in 0..<200_000 { values.append(Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &rng)) }
        for v in values {
            #expect(Millis(v).rfc3339 == Millis(v).rfc3339ViaGmtime, "\(v)")
        }
    }

    @Test("quote equals JSONEncoder for every ASCII and control character, CJK, emoji and separators")
    func quote() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var samples = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }
        samples += ["", "不动产登记1号窗", "a/b\\c\"d", "😀\u{2028}\u{2029}\u{7F}\u{FEFF}", "line\nnext\ttab\r\u{0}", "é\u{301}"]
        for s in samples {
            #expect(JSONText.quote(s) == String(decoding: try encoder.encode(s), as: UTF8.self), "\(Array(s.unicodeScalars.map(\.value)))")
        }
    }

    @Test("record JSON equals JSONEncoder with sorted keys, for 2,000 random records")
    func records() {
        var rng = SystemRandomNumberGenerator()
        let texts = ["", "C-1", "不动产\"登记\"", "a/b\\c", "tab\there\n", "😀", "\u{1}\u{1F}"]
        func text() -> String { texts.randomElement(using: &rng)! }
        func maybe() -> String? { Bool.random(using: &rng) ? nil : text() }
        func when() -> Millis? { Bool.random(using: &rng) ? nil : Millis(Int64.random(in: -10_000_000_000_000...10_000_000_000_000, using: &rng)) }
        for _ in 0..<2000 {
            var draft = RecordDraft(
                windowID: maybe(), department: maybe(), staffID: maybe(), caseID: maybe(),
                batchCaseIDs: (0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }, matterCode: maybe(), matterName: maybe(),
                sessionID: maybe(), outcome: Outcome.allCases.randomElement(using: &rng)!, level: Bool.random(using: &rng) ? nil : Level.allCases.randomElement(using: &rng),
                score: Bool.random(using: &rng) ? nil : Int.random(in: -100...100, using: &rng), pad: maybe().map { PadID.screen(name: $0) },
                key: Bool.random(using: &rng) ? nil : Int.random(in: 0...300, using: &rng), promptedAt: when(), pressedAt: when(), reason: maybe(),
                flags: (0..<Int.random(in: 0...3, using: &rng)).map { _ in RecordFlag.allCases.randomElement(using: &rng)! }
            )
            if Bool.random(using: &rng) {
                draft.edits = (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                    SessionEdit(by: text(), at: when() ?? Millis(0), field: text(), from: maybe(), to: maybe())
                }
            }
            let r = RatingRecord(recordID: UUID().uuidString.lowercased(), gatewayID: text(), region: text(),
                                 recordedAt: when() ?? Millis(0), draft: draft)
            #expect(r.jsonString() == r.encodedWithJSONEncoder())
        }
    }

    @Test("the record's field table is declared in byte order of its names: the canonical order the chain hashes (issue 21)")
    func fieldTableOrder() {
        let names = RecordField.allCases.map(\.rawValue)
        #expect(names == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(RatingRecord.fieldNames.count == names.count)
        #expect(RecordField.allCases.filter(\.isTime).map(\.rawValue) == ["pressed_at", "prompted_at", "recorded_at"])
    }
}

// The references the hand-written forms are tested against.
extension Millis {
    var rfc3339ViaGmtime: String {
        var t = time_t(value >= 0 ? value / 1000 : (value - 999) / 1000)
        let ms = Int(((value % 1000) + 1000) % 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), ms
        )
    }
}

extension RatingRecord {
    func encodedWithJSONEncoder() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}
