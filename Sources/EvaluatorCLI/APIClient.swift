import AsyncHTTPClient
import EvaluatorCore
import Foundation
import NIOCore
import NIOHTTP1

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

    public func send(_ method: HTTPMethod, path: String, body: Data? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: try url(path))
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
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
