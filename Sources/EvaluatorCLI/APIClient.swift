import AsyncHTTPClient
import EvaluatorCore
import EvaluatorWire
import Foundation
import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's local API as `evaluatorctl` reaches it: over TCP or its unix socket, with a
/// bearer token when the daemon has a tokens file.
public struct APIClient: Sendable {
    public let listen: APIListen
    public let token: String?

    /// The daemon did not answer at all (not running, or another address).
    public struct Unreachable: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "the daemon's API does not answer: \(reason)" }
    }

    public init(listen: APIListen, token: String?) {
        self.listen = listen
        self.token = token
    }

    func url(_ path: String) throws -> String {
        switch listen {
        case let .tcp(host, port):
            return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)"
        case let .unix(socket):
            guard let u = URL(httpURLWithSocketPath: socket, uri: path) else {
                throw ConfigError(code: .invalid, file: "", line: nil, key: "api.listen", message: "bad socket path")
            }
            return u.absoluteString
        }
    }

    /// Connects once, plainly, before a request: AsyncHTTPClient retries a refused connection
    /// until the request's deadline (10 s of waiting for a daemon that is not running), and
    /// names the failure in NIO's words. Refused or absent is said at once, in one phrase.
    func probe() throws(Unreachable) {
        var hints = addrinfo()
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        var rc: Int32 = 0
        switch listen {
        case let .tcp(host, port):
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var res: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, "\(port)", &hints, &res) == 0, let ai = res else { throw Unreachable(reason: "\(host) does not resolve") }
            defer { freeaddrinfo(res) }
            fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            rc = connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
        case let .unix(path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw Unreachable(reason: "the socket path is too long") }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        }
        if rc != 0 { throw Unreachable(reason: String(cString: strerror(errno)).lowercased()) }
    }

    public func send(_ method: HTTPMethod, path: String, body: Data? = nil) async throws -> (Int, String) {
        try probe()
        var request = HTTPClientRequest(url: try url(path))
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        // Every write says JSON: without tokens the daemon refuses any other (issue 20, CSRF).
        if method != .GET { request.headers.add(name: "Content-Type", value: "application/json") }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        } catch {
            throw Unreachable(reason: "\(error)")
        }
        let text = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: text))
    }
}
