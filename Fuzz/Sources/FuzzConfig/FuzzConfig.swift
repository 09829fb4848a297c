import EvaluatorCore

/// The config loader on arbitrary text: it must never crash or hang, and every refusal must
/// name the file (`check-config` shows these messages to hall IT staff).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let config = try GatewayConfig.parse(text, source: "fuzz.toml")
        // Accepted configs are self-consistent: every window id is unique.
        precondition(Set(config.windows.map(\.id)).count == config.windows.count, "duplicate window ids accepted")
    } catch {
        precondition("\(error)".contains("fuzz.toml"), "error does not name the file: \(error)")
    }
    return 0
}
