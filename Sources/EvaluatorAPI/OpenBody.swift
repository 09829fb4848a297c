import EvaluatorCore
import Foundation

/// What is wrong with a request body, in words for the caller.
public struct RequestError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// The open-evaluation body: pure (bytes in, request or error out), so it is tested without a
/// server and fuzzed (`make fuzz`, target api-body).
public enum OpenBody {
    /// The JSON body of `POST /v1/windows/{window}/evaluations`.
    struct Fields: Decodable {
        var case_id: String?
        var batch_case_ids: [String]?
        var matter_code: String?
        var matter_name: String?
        var staff_id: String?
        var timeout_s: Int?
    }

    /// Validates an open-evaluation body.
    public static func parse(_ data: Data) throws(RequestError) -> EvaluationRequest {
        let body: Fields
        do {
            body = try JSONDecoder().decode(Fields.self, from: data)
        } catch let DecodingError.typeMismatch(type, ctx) {
            throw RequestError("field \(path(ctx)) must be \(type == String.self ? "a string" : type == Int.self ? "an integer" : "\(type)")")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw RequestError(ctx.codingPath.isEmpty ? "body is not valid JSON" : "field \(path(ctx)) is malformed")
        } catch {
            throw RequestError("body is not a JSON object: \(error)")
        }
        guard let caseID = body.case_id else { throw RequestError("field case_id is required") }
        let trimmed = caseID.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw RequestError("field case_id must not be empty") }
        guard trimmed.count <= 128 else { throw RequestError("field case_id is longer than 128 characters") }
        let batch = body.batch_case_ids ?? []
        guard batch.count <= 1000 else { throw RequestError("field batch_case_ids has more than 1000 cases") }
        if let empty = batch.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw RequestError("field batch_case_ids[\(empty)] must not be empty")
        }
        if let t = body.timeout_s, !(1...3600).contains(t) {
            throw RequestError("field timeout_s must be between 1 and 3600, got \(t)")
        }
        return EvaluationRequest(
            caseID: trimmed, batchCaseIDs: batch, matterCode: body.matter_code, matterName: body.matter_name,
            staffID: body.staff_id, timeoutMs: body.timeout_s.map { Int64($0) * 1000 }
        )
    }

    static func path(_ ctx: DecodingError.Context) -> String {
        ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
}
