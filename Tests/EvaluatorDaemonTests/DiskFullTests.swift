import EvaluatorCLI
import EvaluatorCore
import EvaluatorDaemon
import EvaluatorProtocol
import EvaluatorTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs as the state folder, so the store really runs out of space.
func mountSmallTmpfs(_ dir: String, size: String) -> Bool {
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return mount("tmpfs", dir, "tmpfs", 0, "size=\(size)") == 0
}

/// Fills the file system until ENOSPC; returns the filler's path.
func fill(_ dir: String) -> String {
    let path = dir + "/filler"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let block = [UInt8](repeating: 0xAB, count: 4096)
    while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    close(fd)
    return path
}

/// True where a tmpfs can be mounted (root, or CAP_SYS_ADMIN): CI runs as root.
let canMountTmpfs: Bool = {
    let dir = temporaryFolder() + "/probe"
    guard mountSmallTmpfs(dir, size: "64k") else { return false }
    umount2(dir, Int32(MNT_DETACH))
    return true
}()

@Suite("disk full: no ack without a durable write, recovery after", .serialized,
       .enabled(if: canMountTmpfs, "cannot mount a tmpfs here (needs CAP_SYS_ADMIN); the no-ack-on-failed-commit path is still covered by the store tests"))
struct DiskFullTests {
    @Test("a full store: the press is not acked and the log says why; freed space: the retransmit is acked and counted once")
    func diskFull() async throws {
        let dir = temporaryFolder()
        try #require(mountSmallTmpfs(dir + "/state", size: "2m"))
        defer { umount2(dir + "/state", Int32(MNT_DETACH)) }
        let pad = try plugPad(dir: dir)
        let logs = LogCapture()
        let daemon = try await RunningDaemon(config: try testConfig(dir: dir, receiverPort: nil), logger: logs.logger)
        #expect(await eventually { logs.contains("bus attached") })
        #expect(try await daemon.request(.POST, "/v1/windows/W01/evaluations", json: #"{"case_id": "F-1"}"#).0 == 201)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .startRating(address: 3))

        let filler = fill(dir + "/state")
        // Presses until one fails to commit (the WAL may have room for a few more frames).
        var failed = false
        for i in 0..<40 where !failed {
            pad.press(address: 4, key: UInt8(i % 4))
            if await pad.nextFrame(timeoutMs: 600) == nil { failed = true }
            try await Task.sleep(for: .milliseconds(1600)) // outside the retransmit window
            if i > 3 && !failed { break }
        }
        if !failed {
            print("note: the store's WAL still had room; pressing the rating key while full")
        }
        pad.press(address: 3, key: 2)
        let during = await pad.nextFrame(timeoutMs: 1500)
        #expect(during == nil, "no ack while the store cannot write")
        #expect(logs.contains("store cannot write; nothing acknowledged"))
        #expect(logs.lines.withLock { $0.contains { $0.contains("store cannot write") && ($0.contains("full") || $0.contains("FULL")) } },
                "the log names the cause")
        let (failing, health) = try await daemon.request(.GET, "/healthz")
        #expect(failing == 503, "the gateway cannot take ratings: health says so")
        #expect(health["status"] as? String == "failing")
        #expect((health["problems"] as? [[String: Any]])?.first?["code"] as? String == "store_unwritable")

        // Space comes back; the pad retransmits its unacknowledged press.
        try FileManager.default.removeItem(atPath: filler)
        pad.press(address: 3, key: 2)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 2))
        pad.press(address: 3, key: 2)
        #expect(await pad.nextFrame(timeoutMs: 10_000) == .ack(address: 3, key: 2))
        #expect(try await daemon.request(.GET, "/healthz").0 == 200, "a commit succeeded: no longer failing")
        let rated = try daemon.daemon.store.recentRecords(limit: 100).filter { $0.caseID == "F-1" && $0.outcome != "service" }
        #expect(rated.map(\.outcome) == ["rated"], "rated once")
        #expect(rated.first?.level == "satisfied")
        await daemon.stop()
        pad.close()
    }
}
