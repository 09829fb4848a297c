import EvaluatorCore
import FuzzDriver

/// The config loader on arbitrary text: it must never crash or hang, and every refusal must
/// name the file it is about (`check-config` shows these messages to hall IT staff).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let config = try GatewayConfig.parse(text, source: "fuzz.toml", files: .none)
        // Accepted configs are self-consistent: every window id is unique.
        precondition(Set(config.windows.map(\.id)).count == config.windows.count, "duplicate window ids accepted")
    } catch {
        // The error names the config file, or — for a syntax error inside a profile file the
        // config points at — that file.
        let named = error.file == "fuzz.toml" || (!error.file.isEmpty && text.contains(error.file.split(separator: "/").last.map(String.init) ?? "\u{0}"))
        precondition(named && "\(error)".hasPrefix(error.file), "error does not name the file: \(error)")
    }
    return 0
}

@_cdecl("FuzzConfig_main")
public func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzConfig)
}
