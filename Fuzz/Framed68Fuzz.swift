// libFuzzer target: the framed-68 streaming decoder (make fuzz).
// Properties: no crash or hang; every accepted frame is valid and stands in the input as sent;
// decoding byte by byte gives the same frames as decoding at once; encode(decode(x)) == x.
@_cdecl("LLVMFuzzerTestOneInput")
public func framed68Fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = Framed68Decoder()
    let frames = whole.decode(bytes)
    var oneByOne = Framed68Decoder()
    var again: [Framed68Frame] = []
    for b in bytes { again += oneByOne.decode([b]) }
    precondition(again == frames, "chunking changed the frames")
    for f in frames {
        let wire = Array(f.encoded().dropFirst()) // without the optional 0xFF
        precondition(wire.count <= 4 + Framed68Decoder.maxLength + 2)
        precondition(contains(bytes, wire), "accepted a frame that is not in the input")
        var d = Framed68Decoder()
        precondition(d.decode(f.encoded()) == [f], "encode(decode(x)) != x")
    }
    return 0
}

func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= hay.count else { return false }
    for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return true }
    return false
}
