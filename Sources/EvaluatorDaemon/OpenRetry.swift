/// How a device reader retries opening its node: a delay doubling from `initialMs` to
/// `maxMs`, and each distinct failure logged once (not once per retry). Shared by the serial
/// bus and the USB pad readers.
struct OpenRetry {
    let initialMs: Int64
    let maxMs: Int64
    private(set) var delayMs: Int64
    private var lastError: String?

    init(initialMs: Int64, maxMs: Int64) {
        self.initialMs = initialMs
        self.maxMs = maxMs
        delayMs = initialMs
    }

    /// Records a failure; true when it differs from the last one and should be logged.
    mutating func failed(_ error: any Error) -> Bool {
        let text = "\(error)"
        defer { lastError = text }
        return text != lastError
    }

    /// Waits the current delay, then doubles it up to the cap.
    mutating func wait() async {
        try? await Task.sleep(for: .milliseconds(delayMs))
        delayMs = min(delayMs * 2, maxMs)
    }

    mutating func succeeded() {
        lastError = nil
        delayMs = initialMs
    }
}
