// libFuzzer target: the hidraw boot-report decoder (make fuzz).
// Properties: no crash; chunking does not change the presses; a press is a non-zero usage;
// reports one per read: only 8- and 9-byte reports press keys.
@_cdecl("LLVMFuzzerTestOneInput")
public func hidrawFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = HidrawDecoder()
    let usages = whole.decode(bytes)
    precondition(!usages.contains(0))
    var oneByOne = HidrawDecoder()
    var again: [UInt8] = []
    for b in bytes { again += oneByOne.decode([b]) }
    precondition(again == usages)
    for u in usages { _ = HidrawDecoder.keyCode(forUsage: u) }
    // One report per read(2), of any length (each report's length is taken from the input).
    var reports = HidrawDecoder()
    var i = 0
    while i < bytes.count {
        let n = Int(bytes[i] % 18)
        let report = bytes[(i + 1)..<min(bytes.count, i + 1 + n)]
        let pressed = reports.decodeReport(report)
        precondition(!pressed.contains(0))
        precondition(report.count == 8 || report.count == 9 || pressed.isEmpty, "a report of another length pressed a key")
        i += 1 + n
    }
    return 0
}
