// libFuzzer target: the hidraw boot-report decoder (make fuzz).
// Properties: no crash; chunking does not change the presses; a press is a non-zero usage.
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
    return 0
}
