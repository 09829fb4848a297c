import EvaluatorCore
import Foundation
import EvaluatorStore
import Logging
import Synchronization

/// Log lines kept in memory, so tests can assert what operators would read.
public final class LogCapture: Sendable {
    public init() {}
    public let lines = Mutex<[String]>([])

    public var logger: Logger {
        var l = Logger(label: "evaluatord-test") { _ in CapturingHandler(capture: self) }
        l.logLevel = .debug
        return l
    }

    public func contains(_ text: String) -> Bool { lines.withLock { $0.contains { $0.contains(text) } } }
}

struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let meta = (event.metadata ?? [:]).merging(metadata) { a, _ in a }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        capture.lines.withLock { $0.append("\(event.level) \(event.message) \(meta)") }
    }
}

/// A temporary folder per test.
public func temporaryFolder() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evaluatord-e2e-\(UUID().uuidString.prefix(8))").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Polls `condition` until it holds or `seconds` pass.
public func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

public func makeRecords(_ n: Int, prefix: String = "r", bad: Set<Int> = []) -> [RatingRecord] {
    (0..<n).map { i in
        RatingRecord(recordID: "\(prefix)\(i)", gatewayID: "gw", region: "370211", recordedAt: Millis(Int64(i)),
                     draft: RecordDraft(windowID: "W01", caseID: "C\(i)", outcome: .rated, level: bad.contains(i) ? .dissatisfied : .satisfied, score: 8))
    }
}

public func newStore() throws -> Store { try Store(path: temporaryFolder() + "/evaluatord.sqlite") }


extension Store {
    /// One change committed on its own (the tests' shorthand for `commit([StoreChange(…)])`).
    public func commit(records: [RatingRecord], saveSessions: [Session] = [], removeSessions: [String] = []) async throws(StoreError) {
        try await commit([StoreChange(records: records, saveSessions: saveSessions, removeSessions: removeSessions)])
    }
}

/// The checkout's root folder.
public let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

public let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

/// Runs a command; its exit status and merged output.
public func runCommand(_ path: String, _ args: [String], cwd: String? = nil) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs the stand-alone chain verifier (scripts/verify_chain.py): exit status and output.
public func runChainVerifier(_ args: [String]) throws -> (Int32, String) {
    try runCommand("/usr/bin/python3", [repoRoot.appendingPathComponent("scripts/verify_chain.py").path] + args)
}
