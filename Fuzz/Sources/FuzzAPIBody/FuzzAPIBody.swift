import EvaluatorAPI
import FuzzDriver
import Foundation

/// The open-evaluation body parser on arbitrary bytes: no crash or hang; what it accepts obeys
/// the documented limits; what it refuses comes with a message.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAPIBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        let r = try OpenBody.parse(Data(bytes: data, count: size))
        precondition(!r.caseID.isEmpty && r.caseID.count <= 128, "case_id outside its limits accepted")
        precondition(r.caseID == r.caseID.trimmingCharacters(in: .whitespacesAndNewlines), "case_id not trimmed")
        precondition(r.batchCaseIDs.count <= 1000, "too many batch cases accepted")
        precondition(r.timeoutMs.map { (1000...3_600_000).contains($0) } ?? true, "timeout outside 1…3600 s accepted")
    } catch {
        precondition(!error.message.isEmpty, "refusal without a message")
    }
    return 0
}

@_cdecl("FuzzAPIBody_main")
public func fuzzAPIBodyMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzAPIBody)
}
