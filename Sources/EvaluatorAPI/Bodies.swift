import EvaluatorCore
import EvaluatorWire
import Foundation

/// What is wrong with a request body, in words for the caller.
public struct RequestError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Request bodies: pure (bytes in, values or an error naming the field out), so they are tested
/// without a server and fuzzed (`make fuzz`, target api-body). Every string has a byte cap
/// (ids 128 bytes, names 256, in UTF-8); ids are compared and stored in Unicode NFC and may not
/// hold control characters (Cc), format characters (Cf: zero-width, bidi controls) or
/// line/paragraph separators — a `\n` in a case id would forge a log line.
public enum JSONBody {
    public static let idBytes = 128
    public static let nameBytes = 256

    /// Decodes a JSON object whose fields are all in `allowed`: an array, another value or an
    /// unknown field is refused, naming it.
    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, allowed: [String]) throws(RequestError) -> T {
        let top: Any
        do {
            top = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw RequestError("body is not valid JSON")
        }
        guard let object = top as? [String: Any] else {
            throw RequestError(top is [Any] ? "body must be a JSON object {…}, not an array" : "body must be a JSON object {…}")
        }
        let unknown = object.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw RequestError("unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map(quoted).joined(separator: ", ")) (expected: \(allowed.joined(separator: ", ")))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.typeMismatch(type, ctx) {
            throw RequestError("field \(path(ctx)) must be \(type == String.self ? "a string" : type == Int.self ? "an integer" : "\(type)")")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw RequestError(ctx.codingPath.isEmpty ? "body is not valid JSON" : "field \(path(ctx)) is malformed")
        } catch {
            throw RequestError("body is not a JSON object: \(error)")
        }
    }

    /// An id: trimmed, NFC, not empty, at most `idBytes` UTF-8 bytes, no control or format
    /// characters.
    public static func id(_ raw: String, field: String) throws(RequestError) -> String {
        let s = raw.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping
        guard !s.isEmpty else { throw RequestError("field \(field) must not be empty") }
        try check(s, field: field, maxBytes: idBytes)
        return s
    }

    /// A name (a matter's name): NFC, at most `nameBytes` UTF-8 bytes, no control characters.
    public static func name(_ raw: String, field: String) throws(RequestError) -> String {
        let s = raw.precomposedStringWithCanonicalMapping
        try check(s, field: field, maxBytes: nameBytes)
        return s
    }

    private static func check(_ s: String, field: String, maxBytes: Int) throws(RequestError) {
        guard s.utf8.count <= maxBytes else { throw RequestError("field \(field) is longer than \(maxBytes) bytes (UTF-8)") }
        if let bad = s.unicodeScalars.first(where: forbidden) {
            throw RequestError("field \(field) contains a control or invisible formatting character (U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(4)))")
        }
    }

    static func forbidden(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    static func quoted(_ s: String) -> String {
        let safe = String(String.UnicodeScalarView(s.unicodeScalars.prefix(64).filter { !forbidden($0) }))
        return "\"\(safe)\""
    }

    static func path(_ ctx: DecodingError.Context) -> String {
        ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// The body of `POST /v1/windows/{window}/evaluations`.
public enum OpenBody {
    struct Fields: Decodable {
        var case_id: String?
        var batch_case_ids: [String]?
        var matter_code: String?
        var matter_name: String?
        var staff_id: String?
        var timeout_s: Int?
        var stage: String?
    }

    static let fields = ["case_id", "batch_case_ids", "matter_code", "matter_name", "staff_id", "timeout_s", "stage"]

    public static func parse(_ data: Data) throws(RequestError) -> EvaluationRequest {
        let body = try JSONBody.decode(Fields.self, data, allowed: fields)
        guard let caseID = body.case_id else { throw RequestError("field case_id is required") }
        let batch = body.batch_case_ids ?? []
        guard batch.count <= 1000 else { throw RequestError("field batch_case_ids has more than 1000 cases") }
        var batchIDs: [String] = []
        for (i, b) in batch.enumerated() { batchIDs.append(try JSONBody.id(b, field: "batch_case_ids[\(i)]")) }
        if let t = body.timeout_s, !(1...3600).contains(t) {
            throw RequestError("field timeout_s must be between 1 and 3600, got \(t)")
        }
        return EvaluationRequest(
            caseID: try JSONBody.id(caseID, field: "case_id"), batchCaseIDs: batchIDs,
            matterCode: try body.matter_code.map { v throws(RequestError) in try JSONBody.id(v, field: "matter_code") },
            matterName: try body.matter_name.map { v throws(RequestError) in try JSONBody.name(v, field: "matter_name") },
            staffID: try body.staff_id.map { v throws(RequestError) in try JSONBody.id(v, field: "staff_id") },
            timeoutMs: body.timeout_s.map { Int64($0) * 1000 },
            // One of `[session] stages` (the policy checks which, issue 22); absent: the first.
            stage: try body.stage.map { v throws(RequestError) in try JSONBody.name(v, field: "stage") }
        )
    }
}

/// `PUT /v1/windows/{window}/staff`: `{"staff_id", "name", "title"?, "photo"?}`. `photo` is a
/// file name (in `[screen] photo_dir`), never a path.
public enum StaffBody {
    struct Fields: Decodable {
        var staff_id: String?
        var name: String?
        var title: String?
        var photo: String?
    }

    public static func parse(_ data: Data) throws(RequestError) -> StaffMember {
        let body = try JSONBody.decode(Fields.self, data, allowed: ["staff_id", "name", "title", "photo"])
        guard let id = body.staff_id else { throw RequestError("field staff_id is required") }
        guard let name = body.name else { throw RequestError("field name is required") }
        var photo: String?
        if let p = body.photo {
            guard !p.isEmpty, p.utf8.count <= 128, !p.hasPrefix("."),
                  p.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) }) else {
                throw RequestError("field photo must be a file name (letters, digits, '.', '_', '-'; at most 128 bytes; no '/'), got \"\(p.prefix(40))\"")
            }
            photo = p
        }
        return StaffMember(staffID: try JSONBody.id(id, field: "staff_id"), name: try JSONBody.name(name, field: "name"),
                           title: try body.title.map { v throws(RequestError) in try JSONBody.name(v, field: "title") }, photo: photo)
    }
}

/// The body of `POST /v1/records/resend`: `{"record_ids": [...]}`; empty or absent: every
/// quarantined record.
public enum ResendBody {
    struct Fields: Decodable {
        var record_ids: [String]?
    }

    public static func parse(_ data: Data) throws(RequestError) -> [String]? {
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        let ids = try JSONBody.decode(Fields.self, data, allowed: ["record_ids"]).record_ids ?? []
        guard ids.count <= 10_000 else { throw RequestError("field record_ids has more than 10000 ids") }
        var out: [String] = []
        for (i, id) in ids.enumerated() { out.append(try JSONBody.id(id, field: "record_ids[\(i)]")) }
        return out.isEmpty ? nil : out
    }
}

/// `POST /v1/pads/{window}/pair` (admin): `{"address"?: "host[:port]"}` — where the tablet
/// reaches the API (default: the address this request came to). Empty body: the default.
public enum PairBody {
    struct Fields: Decodable {
        var address: String?
    }

    public static func parse(_ data: Data) throws(RequestError) -> String? {
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        guard let a = try JSONBody.decode(Fields.self, data, allowed: ["address"]).address else { return nil }
        guard !a.isEmpty, a.utf8.count <= 255,
              a.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || ".-:[]".unicodeScalars.contains($0) }) else {
            throw RequestError("field address must be a host name or address with an optional port, such as 192.168.1.20:8080")
        }
        return a
    }
}

/// `POST /pad/{window}/pair` (the tablet, no token): `{"code": "12345678"}`.
public enum PairExchangeBody {
    struct Fields: Decodable {
        var code: String?
    }

    public static func parse(_ data: Data) throws(RequestError) -> String {
        guard let code = try JSONBody.decode(Fields.self, data, allowed: ["code"]).code else { throw RequestError("field code is required") }
        guard code.utf8.count == 8, code.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw RequestError("field code must be the 8 digits evaluatorctl pair printed")
        }
        return code
    }
}

/// `POST /v1/records/import` (`evaluatorctl salvage` while the daemon runs):
/// `{"records": [<stored record object>…], "rated_cases": [{"case_id", "record_id"}…]}`.
/// Records go back in as their canonical JSON; each must carry a `record_id`.
public enum ImportBody {
    struct Case: Decodable {
        var case_id: String
        var record_id: String
    }

    struct Fields: Decodable {
        var records: [JSONValue]?
        var known: [JSONValue]?
        var rated_cases: [Case]?
    }

    /// `records`: the damaged store's unsent records, to import; `known`: its sent ones, only
    /// verified (issue 20: a rated case must name a record of the request); `rated_cases`.
    public static func parse(_ data: Data) throws(RequestError) -> ImportRequest {
        let f = try JSONBody.decode(Fields.self, data, allowed: ["records", "known", "rated_cases"])
        guard (f.records ?? []).count + (f.known ?? []).count <= 10_000, (f.rated_cases ?? []).count <= 100_000 else {
            throw RequestError("at most 10000 records and known and 100000 rated_cases per request")
        }
        func bodies(_ list: [JSONValue]?, _ name: String) throws(RequestError) -> [String] {
            var out: [String] = []
            for (i, r) in (list ?? []).enumerated() {
                guard case let .object(o) = r, case let .string(id)? = o["record_id"] else {
                    throw RequestError("\(name)[\(i)] must be a record object with a record_id")
                }
                _ = try JSONBody.id(id, field: "\(name)[\(i)].record_id")
                out.append(r.text)
            }
            return out
        }
        var cases: [(caseID: String, recordID: String)] = []
        for (i, c) in (f.rated_cases ?? []).enumerated() {
            cases.append((try JSONBody.id(c.case_id, field: "rated_cases[\(i)].case_id"), try JSONBody.id(c.record_id, field: "rated_cases[\(i)].record_id")))
        }
        return ImportRequest(records: try bodies(f.records, "records"), known: try bodies(f.known, "known"), ratedCases: cases)
    }
}

/// `POST /v1/records/import` parsed: record bodies as sent (canonical JSON).
public struct ImportRequest: Sendable {
    public var records: [String]
    public var known: [String]
    public var ratedCases: [(caseID: String, recordID: String)]

    public init(records: [String], known: [String] = [], ratedCases: [(caseID: String, recordID: String)]) {
        self.records = records
        self.known = known
        self.ratedCases = ratedCases
    }
}
