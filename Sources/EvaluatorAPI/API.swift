import EvaluatorCore
import Foundation
import Hummingbird
import Logging

/// The local HTTP API for the business / queue system (see README "API"). Thin: it parses and
/// validates requests, calls the `EvaluationService`, and answers JSON. Every error is JSON
/// `{"error": {"code", "message"}}` naming what is wrong; nothing stored is touched on errors.
public enum EvaluatorAPI {
    /// The JSON body of `POST /v1/windows/{window}/evaluations`.
    struct OpenBody: Decodable {
        var case_id: String?
        var batch_case_ids: [String]?
        var matter_code: String?
        var matter_name: String?
        var staff_id: String?
        var timeout_s: Int?
    }

    public static func router(service: any EvaluationService, maxBodyBytes: Int) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in
            json(200, ["status": "ok"])
        }
        router.get("/v1/status") { _, _ in
            await respond { () async throws(APIFailure) in try await service.statusView() }
        }
        router.get("/v1/devices") { _, _ in
            json(200, await service.devicesView())
        }
        router.get("/v1/windows") { _, _ in
            json(200, ["windows": await service.windowViews()])
        }
        router.post("/v1/windows/:window/evaluations") { request, context in
            let windowID = context.parameters.get("window") ?? ""
            var request = request
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: maxBodyBytes)
            } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
                return failure(APIFailure(status: 413, code: "body_too_large", message: "request body is larger than \(maxBodyBytes) bytes"))
            } catch {
                return failure(APIFailure(status: 400, code: "bad_body", message: "cannot read the request body: \(error)"))
            }
            let parsed: EvaluationRequest
            do throws(APIFailure) {
                parsed = try parseOpen(Data(buffer: buffer))
            } catch {
                return failure(error)
            }
            return await respond(status: 201) { () async throws(APIFailure) in
                let (session, reused) = try await service.openEvaluation(windowID: windowID, request: parsed)
                return OpenedEvaluationView(session, reused: reused)
            }
        }
        router.delete("/v1/windows/:window/evaluations/current") { _, context in
            let windowID = context.parameters.get("window") ?? ""
            return await respond { () async throws(APIFailure) in
                CancelledEvaluationView(try await service.cancelEvaluation(windowID: windowID))
            }
        }
        return router
    }

    /// Validates an open-evaluation body. Pure, so it is tested without a server.
    public static func parseOpen(_ data: Data) throws(APIFailure) -> EvaluationRequest {
        let body: OpenBody
        do {
            body = try JSONDecoder().decode(OpenBody.self, from: data)
        } catch let DecodingError.typeMismatch(type, ctx) {
            throw bad("field \(path(ctx)) must be \(type == String.self ? "a string" : type == Int.self ? "an integer" : "\(type)")")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw bad(ctx.codingPath.isEmpty ? "body is not valid JSON" : "field \(path(ctx)) is malformed")
        } catch {
            throw bad("body is not a JSON object: \(error)")
        }
        guard let caseID = body.case_id else { throw bad("field case_id is required") }
        let trimmed = caseID.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw bad("field case_id must not be empty") }
        guard trimmed.count <= 128 else { throw bad("field case_id is longer than 128 characters") }
        let batch = body.batch_case_ids ?? []
        guard batch.count <= 1000 else { throw bad("field batch_case_ids has more than 1000 cases") }
        if let empty = batch.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw bad("field batch_case_ids[\(empty)] must not be empty")
        }
        if let t = body.timeout_s, !(1...3600).contains(t) {
            throw bad("field timeout_s must be between 1 and 3600, got \(t)")
        }
        return EvaluationRequest(
            caseID: trimmed, batchCaseIDs: batch, matterCode: body.matter_code, matterName: body.matter_name,
            staffID: body.staff_id, timeoutMs: body.timeout_s.map { Int64($0) * 1000 }
        )
    }

    static func bad(_ message: String) -> APIFailure {
        APIFailure(status: 400, code: "bad_request", message: message)
    }

    static func path(_ ctx: DecodingError.Context) -> String {
        ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    static func respond<T: Encodable>(status: Int = 200, _ body: () async throws(APIFailure) -> T) async -> Response {
        do {
            return json(status, try await body())
        } catch {
            return failure(error)
        }
    }

    static func failure(_ f: APIFailure) -> Response {
        json(f.status, ["error": ["code": f.code, "message": f.message]])
    }

    static func json<T: Encodable>(_ status: Int, _ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: .init(code: status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
