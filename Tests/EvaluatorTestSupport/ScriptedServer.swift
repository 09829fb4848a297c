import EvaluatorUplink
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small HTTP/1.1 server on 127.0.0.1 whose every answer a test scripts:
/// status and headers, a connection reset after reading the request, or a hang. It plays the
/// central store and keeps what it committed, so tests can count each record_id.
public final class ScriptedServer: @unchecked Sendable {
    public enum Action: Sendable {
        /// Answer `status`; when `commit`, keep the batch's records first (a server that commits
        /// and then fails to answer well is `commit: true` with a 5xx).
        case answer(Int, headers: [String: String] = [:], commit: Bool)
        /// Read the request, then reset the connection (RST) without answering.
        case reset
        /// Start a 200 answer, send half of its body, then reset the connection.
        case resetMidBody
        /// Wait this long before answering 200 (and committing).
        case hang(ms: Int)
        /// Answer `status` with this body.
        case answerBody(Int, headers: [String: String] = [:], body: String, commit: Bool)
        /// Send a 200's head promising 1,000 bytes, then one byte every `ms`, until the client leaves.
        case dribble(ms: Int)
    }

    public struct Request: Sendable {
        public var method = "POST"
        public var key: String
        public var recordIDs: [String]
        public var at: Date
        public var body: String = ""
        public var signature: String?
        public var gzipped = false
    }

    public let port: Int
    private let listenFD: Int32
    private let script: @Sendable (Request, Int) -> Action
    public let requests = Mutex<[Request]>([])
    /// Record ids committed, in order, with repeats if the server committed one twice.
    public let committed = Mutex<[String]>([])
    /// Keys whose batch was committed: a re-sent key is recognised and not committed again.
    public let committedKeys = Mutex<Set<String>>([])
    private let stopped = Mutex(false)

    /// `script(request, index)` decides each answer; index counts requests from 0.
    public init(script: @escaping @Sendable (Request, Int) -> Action) throws {
        self.script = script
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 16)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listenFD = fd
        let t = Thread { [unowned self] in self.serve() }
        t.start()
    }

    public func stop() {
        stopped.withLock { $0 = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    public var url: String { "http://127.0.0.1:\(port)/ratings" }

    public func count(_ recordID: String) -> Int { committed.withLock { $0.filter { $0 == recordID }.count } }

    private func serve() {
        while !stopped.withLock({ $0 }) {
            let c = accept(listenFD, nil, nil)
            if c < 0 { if stopped.withLock({ $0 }) { return } else { continue } }
            Thread { [self] in self.handle(c) }.start()
        }
    }

    private func handle(_ c: Int32) {
        defer { close(c) }
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = read(c, &buf, buf.count)
            if n <= 0 { return }
            data += buf[0..<n]
            if headerEnd == nil, let r = find(data, [13, 10, 13, 10]) {
                headerEnd = r + 4
                let head = String(decoding: data[0..<r], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let h = headerEnd, data.count >= h + contentLength { break }
        }
        let head = String(decoding: data[0..<headerEnd!], as: UTF8.self)
        let key = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("idempotency-key:") }
            .map { String($0.dropFirst(16)).trimmingCharacters(in: .whitespaces) } ?? ""
        let signature = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-signature:") }
            .map { String($0.dropFirst(12)).trimmingCharacters(in: .whitespaces) }
        var body = Data(data[headerEnd!...])
        let gzipped = head.lowercased().contains("content-encoding: gzip")
        if gzipped, let plain = try? Gzip.decompress([UInt8](body)) { body = Data(plain) }
        let parsed = try? JSONSerialization.jsonObject(with: body)
        let records = (parsed as? [String: Any])?["records"] as? [[String: Any]] ?? (parsed as? [[String: Any]]) ?? []
        let ids = records.compactMap { ($0["record_id"] ?? $0["id"]) as? String }
        let request = Request(method: String(head.prefix { $0 != " " }), key: key, recordIDs: ids, at: Date(),
                              body: String(decoding: body, as: UTF8.self), signature: signature, gzipped: gzipped)
        let index = requests.withLock { r -> Int in
            r.append(request)
            return r.count - 1
        }
        func commit() {
            let fresh = committedKeys.withLock { $0.insert(key).inserted }
            if fresh { committed.withLock { $0 += ids } }
        }
        func answer(_ status: Int, _ headers: [String: String], body: String = "") {
            var text = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
            for (k, v) in headers { text += "\(k): \(v)\r\n" }
            text += "\r\n" + body
            let bytes = Array(text.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                off += n
            }
        }
        switch script(request, index) {
        case let .answer(status, headers, doCommit):
            if doCommit { commit() }
            answer(status, headers)
        case .resetMidBody:
            let text = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"accepted\": tr"
            _ = text.utf8CString.withUnsafeBufferPointer { write(c, $0.baseAddress, $0.count - 1) }
            usleep(50_000)
            var l = linger(l_onoff: 1, l_linger: 0)
            setsockopt(c, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        case .reset:
            var l = linger(l_onoff: 1, l_linger: 0)
            setsockopt(c, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        case let .hang(ms):
            usleep(UInt32(ms) * 1000)
            commit()
            answer(200, [:])
        case let .answerBody(status, headers, text, doCommit):
            if doCommit { commit() }
            answer(status, headers, body: text)
        case let .dribble(ms):
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
            _ = head.utf8CString.withUnsafeBufferPointer { write(c, $0.baseAddress, $0.count - 1) }
            var one: UInt8 = 0x20
            for _ in 0..<1000 {
                usleep(UInt32(ms) * 1000)
                if send(c, &one, 1, Int32(MSG_NOSIGNAL)) <= 0 { return }
            }
        }
    }

    private func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where Array(hay[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}
