// libFuzzer target: the evdev record decoder and key tracker (make fuzz).
// Properties: no crash; chunking does not change the events; encode(decode(x)) == x; a press
// is only reported for a key-down event or a resync.
@_cdecl("LLVMFuzzerTestOneInput")
public func evdevFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = EvdevDecoder()
    let events = whole.decode(bytes)
    precondition(events.count == bytes.count / InputEvent.size)
    precondition(events.flatMap { $0.encoded() } == Array(bytes.prefix(events.count * InputEvent.size)))
    var chunked = EvdevDecoder()
    var again: [InputEvent] = []
    var i = 0
    let step = max(1, Int(bytes.first ?? 7) % 29)
    while i < bytes.count {
        again += chunked.decode(bytes[i..<min(bytes.count, i + step)])
        i += step
    }
    precondition(again == events)
    var tracker = EvdevKeyTracker()
    for e in events {
        for out in tracker.handle(e) {
            if case let .press(code) = out { precondition(e.type == InputEvent.evKey && e.value == 1 && e.code == code) }
            if case .resyncNeeded = out { _ = tracker.resync(held: []) }
        }
    }
    return 0
}
