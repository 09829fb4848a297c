/// Exponential backoff with a cap — the one retry schedule of the daemon: the uplink between
/// failed batches (R16: retry forever, never drop) and the device readers between failed opens.
///
/// `jitter`: full jitter, each delay uniform in [0, ceiling], so many gateways coming back
/// after one outage do not retry in step (the uplink). Without it the delay is the ceiling
/// itself (device readers: a pad is retried on a predictable schedule).
/// `failed(_:)` also says whether a failure differs from the previous one, so a reader logs
/// each distinct failure once instead of once per retry.
public struct Backoff: Sendable {
    public let initialMs: Int64
    public let maxMs: Int64
    public let jitter: Bool
    public private(set) var failures = 0
    private var lastError: String?

    public init(initialMs: Int64, maxMs: Int64, jitter: Bool = true) {
        self.initialMs = initialMs
        self.maxMs = maxMs
        self.jitter = jitter
    }

    /// The ceiling for the next delay: initial × 2^failures, capped.
    public var ceilingMs: Int64 {
        let shift = min(failures, 30)
        return min(maxMs, initialMs << shift)
    }

    /// Records a failure and returns the delay to wait before the next attempt.
    public mutating func nextDelay<R: RandomNumberGenerator>(using rng: inout R) -> Int64 {
        let ceiling = ceilingMs
        failures += 1
        return jitter ? Int64.random(in: 0...ceiling, using: &rng) : ceiling
    }

    public mutating func nextDelay() -> Int64 {
        var rng = SystemRandomNumberGenerator()
        return nextDelay(using: &rng)
    }

    /// Records a failure; true when it differs from the last one and should be logged.
    public mutating func failed(_ error: any Error) -> Bool {
        let text = "\(error)"
        defer { lastError = text }
        return text != lastError
    }

    /// Sleeps the next delay (a failure is counted).
    public mutating func wait() async {
        try? await Task.sleep(for: .milliseconds(nextDelay()))
    }

    /// The last attempt worked: start again from `initialMs`.
    public mutating func reset() {
        failures = 0
        lastError = nil
    }
}
