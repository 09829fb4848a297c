import EvaluatorCore
import EvaluatorStore
import EvaluatorSupport
import EvaluatorUplink
import Foundation
import Logging
import Synchronization
import EvaluatorTestSupport
import Testing

/// Runs the real UplinkService against `server` until `done()` or `seconds` pass.
func runUplink(store: Store, server: ScriptedServer, batchMax: Int = 500, requestTimeoutMs: Int64 = 2000, backoffMaxMs: Int64 = 300,
               profile: UpstreamProfile = .genericJSON, signingKey: [UInt8]? = nil, gzip: Bool = false, maxInFlight: Int = 1,
               clock: @escaping @Sendable () -> Millis = { Millis(date: Date()) },
               sleep: (@Sendable (Int64) async -> Void)? = nil, logs: LogCapture = LogCapture(),
               url: String? = nil, connectTimeoutMs: Int64 = 1000,
               seconds: Double = 20, until done: @escaping () -> Bool) async -> Bool {
    var config = UplinkConfig(url: url ?? server.url, batchMax: batchMax, flushIntervalMs: 50, backoffInitialMs: 20, backoffMaxMs: backoffMaxMs,
                              requestTimeoutMs: requestTimeoutMs, connectTimeoutMs: connectTimeoutMs, profile: profile, signingKey: signingKey)
    config.gzip = gzip
    config.maxInFlight = maxInFlight
    let service = UplinkService(config: config, gatewayID: "gw", store: store, logger: logs.logger, wake: WakeSignal(), monitor: UplinkMonitor(),
                                clock: clock, sleep: sleep ?? { try? await Task.sleep(for: .milliseconds($0)) })
    let task = Task { try await service.run() }
    let ok = await eventually(seconds) { done() }
    task.cancel()
    _ = try? await task.value
    return ok
}

@Suite("uplink against a scripted loopback central store (R13 R16)", .serialized)
struct UplinkTests {
    @Test("503 with Retry-After: the next try waits at least that long, then the batch goes once")
    func retryAfter() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(3))
        let server = try ScriptedServer { _, i in i == 0 ? .answer(503, headers: ["Retry-After": "1"], commit: false) : .answer(200, commit: true) }
        defer { server.stop() }
        // Done once the server has the records and the store has marked them sent (the 200
        // reaches the store a moment after the server counted the records).
        #expect(await runUplink(store: store, server: server) { server.committed.withLock { $0.count } == 3 && (try? store.backlogCount()) == 0 })
        let r = server.requests.withLock { $0 }
        #expect(r.count == 2)
        #expect(r[1].at.timeIntervalSince(r[0].at) >= 0.95)
        #expect(r[0].key == r[1].key, "the retry carries the same Idempotency-Key")
        #expect(try store.backlogCount() == 0)
    }

    @Test("429, a burst of 500s, a reset before and in the middle of the answer's body, and a hang past the timeout are all retried; each record arrives once")
    func transientFailures() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(10))
        let server = try ScriptedServer { _, i in
            switch i {
            case 0: .answer(429, commit: false)
            case 1...5: .answer(500, commit: false)
            case 6: .reset
            case 7: .resetMidBody
            case 8: .hang(ms: 1500)
            default: .answer(200, commit: true)
            }
        }
        defer { server.stop() }
        #expect(await runUplink(store: store, server: server, requestTimeoutMs: 400) { (try? store.backlogCount()) == 0 })
        let ids = server.committed.withLock { $0 }
        // The hung request may have committed after our timeout: its key is the same, so the
        // server recognises the re-send and does not commit twice.
        #expect(Set(ids).count == 10)
        #expect(ids.count == 10)
        #expect(Set(server.requests.withLock { $0.map(\.key) }).count == 1, "one batch, one key, however many tries")
    }

    @Test("a server that commits but answers 500: the re-send has the same key and is recognised as a duplicate")
    func commitThen500() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(5))
        let server = try ScriptedServer { _, i in i == 0 ? .answer(500, commit: true) : .answer(200, commit: true) }
        defer { server.stop() }
        #expect(await runUplink(store: store, server: server) { (try? store.backlogCount()) == 0 })
        let keys = server.requests.withLock { $0.map(\.key) }
        #expect(keys.count == 2 && keys[0] == keys[1])
        #expect(server.committed.withLock { $0 }.count == 5)
    }

    @Test("a 400 for one record in a batch of 100: bisection delivers 99 and quarantines 1, which can be re-sent")
    func poisonRecord() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(100))
        let refuse = Mutex(true)
        let server = try ScriptedServer { req, _ in
            req.recordIDs.contains("r37") && refuse.withLock({ $0 }) ? .answer(400, commit: false) : .answer(200, commit: true)
        }
        defer { server.stop() }
        let logs = LogCapture()
        #expect(await runUplink(store: store, server: server, logs: logs) {
            server.committed.withLock { $0.count } == 99 && (try? store.quarantinedCount()) == 1 && (try? store.backlogCount()) == 0
        })
        #expect(server.count("r37") == 0)
        #expect(Set(server.committed.withLock { $0 }).count == 99)
        let q = try store.pending(quarantined: true, limit: 10)
        #expect(q.map(\.recordID) == ["r37"])
        #expect(q.first?.quarantineReason?.hasPrefix("HTTP 400") == true)
        #expect(try store.backlogCount() == 0)
        #expect(logs.contains("quarantined"))
        let requests = server.requests.withLock { $0.count }
        #expect(requests <= 16, "bisection of 100 takes about 2·log2(100) requests, took \(requests)")

        // The central store is fixed; the operator re-sends.
        refuse.withLock { $0 = false }
        #expect(try await store.resend().requeued == ["r37"])
        #expect(await runUplink(store: store, server: server) { server.count("r37") == 1 })
        #expect(try store.quarantinedCount() == 0)
    }

    @Test("bad ratings skip the queue: they go in the first batch however old the backlog")
    func badFirst() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(30, bad: [25, 29]))
        let server = try ScriptedServer { _, _ in .answer(200, commit: true) }
        defer { server.stop() }
        #expect(await runUplink(store: store, server: server, batchMax: 10) { server.committed.withLock { $0.count } == 30 })
        #expect(server.requests.withLock { $0[0].recordIDs.prefix(2) } == ["r25", "r29"])
    }

    @Test("a simulated 24-hour outage (virtual clock): every record arrives, each record_id exactly once")
    func dayLongOutage() async throws {
        let store = try newStore()
        let virtualNow = Mutex<Int64>(0)
        let day: Int64 = 24 * 3600 * 1000
        let server = try ScriptedServer { _, _ in
            virtualNow.withLock { $0 } < day ? .answer(503, commit: false) : .answer(200, commit: true)
        }
        defer { server.stop() }
        // Presses keep coming during the outage: 10 records every virtual hour.
        let added = Mutex(0)
        try await store.commit(records: makeRecords(10, prefix: "h0-"))
        added.withLock { $0 = 10 }
        let sleep: @Sendable (Int64) async -> Void = { ms in
            let (before, after) = virtualNow.withLock { v -> (Int64, Int64) in
                let b = v
                v += ms
                return (b, v)
            }
            for hour in (before / 3_600_000 + 1)...max(before / 3_600_000 + 1, after / 3_600_000) where hour * 3_600_000 <= after && hour <= 24 {
                try? await store.commit(records: makeRecords(10, prefix: "h\(hour)-"))
                added.withLock { $0 += 10 }
            }
            await Task.yield()
        }
        let ok = await runUplink(store: store, server: server, backoffMaxMs: 300_000, clock: { Millis(virtualNow.withLock { $0 }) },
                                 sleep: sleep, seconds: 60) {
            added.withLock { $0 } == 250 && server.committed.withLock { $0.count } == 250
        }
        #expect(ok)
        let ids = server.committed.withLock { $0 }
        #expect(Set(ids).count == ids.count, "no duplicates")
        #expect(ids.count == 250)
        let attempts = server.requests.withLock { $0.count }
        // Backoff doubles to its 5-minute cap and retries all day: about one try every
        // 2.5–5 minutes, never given up, never hammering.
        print("measured: a 24-hour outage took \(attempts) tries (backoff cap 5 min, full jitter)")
        #expect((24 * 60 / 5)...(24 * 60 / 2 + 40) ~= attempts, "\(attempts) tries in 24 h")
    }

    @Test("a signing profile: the server gets the profile's body and a valid HMAC-SHA256 signature")
    func signed() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(4, bad: [2]))
        let server = try ScriptedServer { _, _ in .answer(200, commit: true) }
        defer { server.stop() }
        let profile = try shippedProfile("reversed-signed")
        let key = Array("s3cret".utf8)
        #expect(await runUplink(store: store, server: server, profile: profile, signingKey: key) { (try? store.backlogCount()) == 0 })
        let req = try #require(server.requests.withLock { $0.first })
        #expect(req.recordIDs == ["r2", "r0", "r1", "r3"], "bad rating first, records as a bare array")
        #expect(req.body.contains("\"pjdj\":\"2\""), "不满意 is 2 in the reversed coding")
        #expect(req.signature == ProfileRenderer(profile: profile, gatewayID: "gw", signingKey: key).signature(of: req.body)?.value)
    }

    @Test("gzip: the body arrives compressed and inflates to the same records")
    func gzipBodies() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(200))
        let server = try ScriptedServer { _, _ in .answer(200, commit: true) }
        defer { server.stop() }
        #expect(await runUplink(store: store, server: server, gzip: true) { (try? store.backlogCount()) == 0 })
        let req = try #require(server.requests.withLock { $0.first })
        #expect(req.gzipped)
        #expect(req.recordIDs.count == 200)
        #expect(Set(server.committed.withLock { $0 }).count == 200)
    }

    @Test("several batches in flight drain a backlog together, each record once")
    func inFlight() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(1000))
        let server = try ScriptedServer { _, _ in .hang(ms: 200) }
        defer { server.stop() }
        let start = Date()
        #expect(await runUplink(store: store, server: server, batchMax: 50, maxInFlight: 4) { (try? store.backlogCount()) == 0 })
        let elapsed = Date().timeIntervalSince(start)
        let ids = server.committed.withLock { $0 }
        #expect(ids.count == 1000 && Set(ids).count == 1000)
        let times = server.requests.withLock { $0.map(\.at) }.sorted()
        let overlapping = zip(times, times.dropFirst()).filter { $1.timeIntervalSince($0) < 0.1 }.count
        #expect(overlapping >= 10, "requests overlap: \(overlapping) of \(times.count) started < 100 ms after another")
        #expect(elapsed < 3.5, "20 batches × 200 ms in 4 lanes took \(elapsed) s")
    }

    // MARK: No answer from the far side may lose, leak or crash (issue 11)

    @Test("a 302 whose target answers the GET with 200 is a failed attempt: the batch is POSTed again and arrives")
    func redirectNotFollowed() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(3))
        let logs = LogCapture()
        let server = try ScriptedServer { r, i in
            if r.method != "POST" { return .answer(200, commit: false) } // the GET a followed redirect would send
            return i == 0 ? .answer(302, headers: ["Location": "http://127.0.0.1:1/elsewhere"], commit: false) : .answer(200, commit: true)
        }
        defer { server.stop() }
        #expect(await runUplink(store: store, server: server, logs: logs) { server.committed.withLock { $0.count } == 3 && (try? store.backlogCount()) == 0 })
        #expect(server.requests.withLock { $0.allSatisfy { $0.method == "POST" } }, "no GET: the redirect was not followed")
        #expect(logs.contains("HTTP 302 redirect to 127.0.0.1 not followed"))
    }

    @Test("a 307 to a second server: that server receives nothing; the configured store gets the batch")
    func redirectToAnotherServer() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(2))
        let other = try ScriptedServer { _, _ in .answer(200, commit: true) }
        defer { other.stop() }
        let server = try ScriptedServer { _, i in i == 0 ? .answer(307, headers: ["Location": other.url], commit: false) : .answer(200, commit: true) }
        defer { server.stop() }
        #expect(await runUplink(store: store, server: server) { server.committed.withLock { $0.count } == 2 && (try? store.backlogCount()) == 0 })
        #expect(other.requests.withLock { $0.isEmpty }, "ratings never go to a host the config does not name")
    }

    @Test("Retry-After: 99999999999999999 is clamped to the hour cap; the daemon lives and delivers")
    func absurdRetryAfter() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(2))
        let server = try ScriptedServer { _, i in
            i == 0 ? .answer(503, headers: ["Retry-After": "99999999999999999"], commit: false) : .answer(200, commit: true)
        }
        defer { server.stop() }
        let waits = Mutex<[Int64]>([])
        #expect(await runUplink(store: store, server: server, sleep: { ms in waits.withLock { $0.append(ms) } }) {
            server.committed.withLock { $0.count } == 2 && (try? store.backlogCount()) == 0
        })
        #expect(waits.withLock { $0.first } == HTTPSink.retryAfterCapMs)
        #expect(HTTPSink.parseRetryAfter("99999999999999999999999", now: Millis(0)) == HTTPSink.retryAfterCapMs)
        #expect(HTTPSink.parseRetryAfter("-5", now: Millis(0)) == 0)
    }

    @Test("a 200 with a 100 KiB body is accepted once, never re-sent")
    func bigAcceptedBody() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(4))
        let server = try ScriptedServer { _, _ in .answerBody(200, body: String(repeating: "x", count: 100 * 1024), commit: true) }
        defer { server.stop() }
        #expect(await runUplink(store: store, server: server) { (try? store.backlogCount()) == 0 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(server.requests.withLock { $0.count } == 1)
    }

    @Test("a profile's response rule: 200 with code 500 refuses the content (quarantine); code 0 accepts; another code retries")
    func profileResponseRule() async throws {
        let profile = try UpstreamProfile.parse("""
            name = "coded"
            [response]
            field = "code"
            accepted = ["0", 200]
            refused = ["500"]
            """, source: "coded.toml")
        let refusing = try newStore()
        try await refusing.commit(records: makeRecords(1))
        let server = try ScriptedServer { _, _ in .answerBody(200, body: #"{"code": "500", "msg": "字段错误"}"#, commit: false) }
        defer { server.stop() }
        #expect(await runUplink(store: refusing, server: server, profile: profile) { (try? refusing.quarantinedCount()) == 1 })
        #expect(try refusing.pending(quarantined: true, limit: 5).first?.quarantineReason?.contains("code = 500") == true)

        let accepting = try newStore()
        try await accepting.commit(records: makeRecords(3))
        let ok = try ScriptedServer { _, i in .answerBody(200, body: i == 0 ? #"{"code": 7}"# : #"{"code": 0}"#, commit: i > 0) }
        defer { ok.stop() }
        #expect(await runUplink(store: accepting, server: ok, profile: profile) { (try? accepting.backlogCount()) == 0 })
        #expect(ok.requests.withLock { $0.count } == 2, "code 7 is neither: retried; code 0 (a number) is accepted")
        #expect(ResponseRule(field: "code", accepted: ["0"], refused: []).judge("<html>") == .unknown(nil))
    }

    @Test("one deadline covers the whole exchange: a server dribbling a byte every 100 ms cannot hold the sender")
    func dribblingServer() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(2))
        let logs = LogCapture()
        let server = try ScriptedServer { _, i in i == 0 ? .dribble(ms: 100) : .answer(200, commit: true) }
        defer { server.stop() }
        let start = Date()
        #expect(await runUplink(store: store, server: server, requestTimeoutMs: 800, logs: logs) { (try? store.backlogCount()) == 0 })
        #expect(Date().timeIntervalSince(start) < 5, "the dribble would have taken 100 s")
        #expect(logs.contains("no complete answer within 800 ms"))
    }

    @Test("a refused port fails at once and says connection refused")
    func refusedPort() async throws {
        let store = try newStore()
        try await store.commit(records: makeRecords(1))
        let closed = try ScriptedServer { _, _ in .answer(200, commit: true) }
        let url = closed.url
        closed.stop()
        let logs = LogCapture()
        let start = Date()
        let seen = await runUplink(store: store, server: closed, logs: logs, url: url, connectTimeoutMs: 5000, seconds: 10) {
            logs.contains("connection refused")
        }
        #expect(seen)
        #expect(Date().timeIntervalSince(start) < 2.5, "the first attempt did not wait out the 5 s connect timeout")
    }

    @Test("Retry-After as seconds or an HTTP date; status classes", arguments: [
        ("120", Int64(120_000)), ("0", 0), ("Thu, 01 Jan 1970 00:02:00 GMT", 60_000), ("garbage", nil),
    ])
    func retryAfterParsing(value: String, expected: Int64?) {
        #expect(HTTPSink.parseRetryAfter(value, now: Millis(60_000)) == expected)
    }

    @Test("which answers retry, which bisect")
    func verdicts() {
        #expect(HTTPSink.verdict(status: 201, body: "", now: Millis(0)) == .accepted)
        for s in [400, 413, 422] {
            if case .reject = HTTPSink.verdict(status: s, body: "", now: Millis(0)) {} else { Issue.record("\(s) should bisect") }
        }
        for s in [401, 403, 404, 408, 425, 429, 500, 502, 503, 504] {
            if case .retry = HTTPSink.verdict(status: s, body: "", now: Millis(0)) {} else { Issue.record("\(s) should retry") }
        }
    }
}
