import EvaluatorAPI
import EvaluatorCore
import Foundation
import Testing

@Suite("API: the open-evaluation body and how rejections become HTTP answers")
struct APITests {
    @Test("a valid body becomes a request; timeout_s in ms; the case id trimmed")
    func validBody() throws {
        let r = try OpenBody.parse(Data(#"{"case_id": " C1 ", "batch_case_ids": ["C2"], "staff_id": "S9", "timeout_s": 20}"#.utf8))
        #expect(r == EvaluationRequest(caseID: "C1", batchCaseIDs: ["C2"], staffID: "S9", timeoutMs: 20_000))
    }

    @Test("bad bodies are refused with a message naming the field", arguments: [
        (#"{}"#, "field case_id is required"),
        (#"{"case_id": ""}"#, "field case_id must not be empty"),
        (#"{"case_id": 5}"#, "field case_id must be a string"),
        (#"{"case_id": "C", "timeout_s": 0}"#, "field timeout_s must be between 1 and 3600, got 0"),
        (#"{"case_id": "C", "batch_case_ids": [" "]}"#, "field batch_case_ids[0] must not be empty"),
        ("not json", "body is not valid JSON"),
    ])
    func badBodies(body: String, message: String) {
        #expect(throws: RequestError(message)) { try OpenBody.parse(Data(body.utf8)) }
    }

    @Test("each rejection maps to one status and a stable code")
    func rejections() {
        let table: [(Rejection, Int, String)] = [
            (.unknownWindow("W9"), 404, "unknown_window"),
            (.alreadyRated(caseID: "C1"), 409, "already_rated"),
            (.caseOpenElsewhere(caseID: "C1", windowID: "W02"), 409, "case_open_elsewhere"),
            (.nothingToCancel(windowID: "W01"), 404, "no_open_evaluation"),
            (.storeUnavailable("disk I/O error"), 503, "store_unavailable"),
        ]
        for (r, status, code) in table {
            let f = APIFailure(r)
            #expect(f.status == status && f.code == code && f.message == r.message)
        }
        #expect(APIFailure(.alreadyRated(caseID: "C1")).message == #"case "C1" has already been rated (one rating per case, R3)"#)
    }
}
