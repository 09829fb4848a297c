import EvaluatorCore
import EvaluatorWire
import Foundation
import Hummingbird
import Logging

/// The local HTTP API for the business / queue system (see README "API"). Thin: it parses and
/// validates requests, calls the `EvaluationService`, and answers JSON. Every error is JSON
/// `{"error": {"code", "message"}}` naming what is wrong; nothing stored is touched on errors.
public enum EvaluatorAPI {
    /// - Parameter reload: re-reads the configuration (`POST /v1/reload`); its argument is the caller.
    /// - Parameter browser: on a TCP listener, the rule that keeps web pages from driving the
    ///   API while it has no tokens (issue 20).
    public static func router(service: any EvaluationService, maxBodyBytes: Int, tokens: TokenBox = TokenBox(nil),
                              pairedPad: (@Sendable (String) -> APIToken?)? = nil,
                              browser: BrowserGuard? = nil,
                              reload: (@Sendable (String) async -> ReloadResult)? = nil,
                              metrics: (@Sendable () async -> String)? = nil) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: AccessMiddleware(tokens: tokens, browser: browser, pairedPad: pairedPad))
        let limit = maxBodyBytes
        if let metrics {
            // Prometheus text exposition format 0.0.4; a `read` token when tokens are on.
            router.get("/metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: await metrics())))
            }
        }
        if let reload {
            router.post("/v1/reload") { _, context in
                let result = await reload(context.caller)
                if result.outcome == .refused {
                    return failure(APIFailure(status: 409, code: "reload_refused", message: result.message))
                }
                return json(200, ReloadView(result))
            }
        }
        router.get("/healthz") { _, _ in
            let h = await service.health()
            return json(h.status == .failing ? 503 : 200, HealthView(h))
        }
        router.get("/v1/status") { _, _ in
            await respond { () async throws(Rejection) in StatusView(try await service.status()) }
        }
        router.get("/v1/stats") { request, _ in
            let q = request.uri.queryParameters
            return await respond { () async throws(Rejection) in
                try await service.stats(since: q.get("since"), until: q.get("until"), by: q.get("by"))
            }
        }
        router.get("/v1/devices") { _, _ in
            json(200, DevicesView(await service.devices()))
        }
        windowRoutes(router.group("/v1/windows"), service: service, maxBodyBytes: limit)

        let records = router.group("/v1/records")
        records.post("resend") { request, context in
            await withBody(request, limit, ResendBody.parse) { ids in
                await respond { () async throws(Rejection) in ResendView(try await service.resend(recordIDs: ids, caller: context.caller)) }
            }
        }
        records.post("import") { request, context in
            await withBody(request, limit, ImportBody.parse) { parsed in
                await respond { () async throws(Rejection) in ImportView(try await service.importSalvaged(parsed, caller: context.caller)) }
            }
        }
        padRoutes(router, service: service, maxBodyBytes: limit)
        pageRoutes(router, service: service, tokens: tokens)
        return router
    }

    /// `/v1/windows`: the list, and per window its evaluation, staff and pause.
    static func windowRoutes(_ windows: RouterGroup<APIRequestContext>, service: any EvaluationService, maxBodyBytes limit: Int) {
        windows.get { _, _ in
            json(200, ["windows": await service.windows().map(WindowView.init)])
        }
        let window = windows.group(":window")
        window.post("evaluations") { request, context in
            let windowID = try context.parameters.require("window")
            return await withBody(request, limit, OpenBody.parse) { parsed in
                await respond(status: 201) { () async throws(Rejection) in
                    OpenedEvaluationView(try await service.openEvaluation(windowID: windowID, request: parsed, caller: context.caller))
                }
            }
        }
        window.delete("evaluations/current") { _, context in
            let windowID = try context.parameters.require("window")
            return await respond { () async throws(Rejection) in
                CancelledEvaluationView(try await service.cancelEvaluation(windowID: windowID, caller: context.caller))
            }
        }
        window.put("staff") { request, context in
            let windowID = try context.parameters.require("window")
            return await withBody(request, limit, StaffBody.parse) { staff in
                await respond { () async throws(Rejection) in
                    WindowView(try await service.setStaff(windowID: windowID, staff: staff, caller: context.caller))
                }
            }
        }
        window.delete("staff") { _, context in
            let windowID = try context.parameters.require("window")
            return await respond { () async throws(Rejection) in
                WindowView(try await service.setStaff(windowID: windowID, staff: nil, caller: context.caller))
            }
        }
        for (verb, paused) in [("pause", true), ("resume", false)] {
            window.post(RouterPath(verb)) { _, context in
                let windowID = try context.parameters.require("window")
                return await respond { () async throws(Rejection) in
                    WindowView(try await service.setPaused(windowID: windowID, paused: paused, caller: context.caller))
                }
            }
        }
    }

    /// Screen pads (issue 14, 20): the page, the staff photo, pairing, the WebSocket's plain-GET answer.
    static func padRoutes(_ router: Router<APIRequestContext>, service: any EvaluationService, maxBodyBytes limit: Int) {
        let page = router.group("/pad/:window")
        page.get { request, context in
            let windowID = try context.parameters.require("window")
            guard await service.screenPad(ofWindow: windowID) != nil else {
                return failure(APIFailure(status: 404, code: "not_found", message: "window \"\(windowID)\" has no screen pad (pad = { screen = \"NAME\" })"))
            }
            return Self.page(Pages.pad, host: request.head.authority)
        }
        page.get("photo") { _, context in
            let windowID = try context.parameters.require("window")
            guard let path = await service.staffPhoto(windowID: windowID) else {
                return failure(APIFailure(status: 404, code: "not_found", message: "no photo for the staff signed in at window \"\(windowID)\""))
            }
            return photo(path)
        }
        // The tablet trades its pairing code for its secret.
        page.post("pair") { request, context in
            let windowID = try context.parameters.require("window")
            return await withBody(request, limit, PairExchangeBody.parse) { code in
                await respond { () async throws(Rejection) in
                    ["secret": try await service.exchangePairing(windowID: windowID, code: code, remote: context.remote)]
                }
            }
        }
        let pad = router.group("/v1/pads/:window")
        pad.get("ws") { _, context in
            failure(APIFailure(status: 426, code: "upgrade_required", message: "GET /v1/pads/\(try context.parameters.require("window"))/ws is a WebSocket: connect with the pad's token (docs/SCREEN-PAD.md)"))
        }
        // Admin asks for a pairing code.
        pad.post("pair") { request, context in
            let windowID = try context.parameters.require("window")
            return await withBody(request, limit, PairBody.parse) { address in
                let host = address ?? request.head.authority ?? "127.0.0.1"
                return await respond(status: 201) { () async throws(Rejection) in
                    PairingCodeView.drawn(try await service.pairPad(windowID: windowID, address: host, caller: context.caller))
                }
            }
        }
    }

    /// The hall status page, its page files and the screen pads' QR codes.
    static func pageRoutes(_ router: Router<APIRequestContext>, service: any EvaluationService, tokens: TokenBox) {
        router.get("/ui") { request, _ in page(Pages.hall, host: request.head.authority) }
        router.get("/assets/:name") { _, context in
            guard let file = Pages.asset(try context.parameters.require("name")) else {
                return failure(APIFailure(status: 404, code: "not_found", message: "no such page file"))
            }
            return Response(status: .ok, headers: [.contentType: file.type, .cacheControl: "no-cache", .init("X-Content-Type-Options")!: "nosniff"],
                            body: .init(byteBuffer: ByteBuffer(string: file.text)))
        }
        router.get("/ui/pads") { request, _ in
            // The hall status page's QR codes: each screen pad's page with its own token, at the
            // address this page was opened with (the tablet is on the same hall LAN).
            let host = request.head.authority ?? "127.0.0.1"
            let scheme = request.uri.scheme?.rawValue ?? "http"
            var pads: [ScreenPadLink] = []
            for w in await service.windows() {
                guard case let .screen(name)? = w.pad else { continue }
                let pairedAt = await service.pairedAt(windowID: w.id)
                guard let token = tokens.current?.tokens.first(where: { $0.name == name && $0.scope == .pad(window: w.id) }) else {
                    // A paired (or unpaired) pad: its secret is never shown; pairing makes a new one.
                    pads.append(ScreenPadLink(window_id: w.id, window_name: w.name, pad: w.pad?.description ?? "", url: "", qr_svg: "",
                                              paired_at: pairedAt, pair_with: "evaluatorctl pair \(w.id)"))
                    continue
                }
                let url = "\(scheme)://\(host)/pad/\(w.id)?token=\(token.secret.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "+", "="])) ?? token.secret)"
                pads.append(ScreenPadLink(window_id: w.id, window_name: w.name, pad: w.pad?.description ?? "", url: url, qr_svg: QRCode.svg(url) ?? "",
                                          paired_at: pairedAt, pair_with: "evaluatorctl pair \(w.id)"))
            }
            return json(200, ["pads": pads])
        }
    }

    /// Reads and parses the body, then answers with `then`; a body that cannot be read or
    /// parsed is the answer itself (413 or 400), and `then` is not called.
    static func withBody<T>(_ request: Request, _ maxBodyBytes: Int, _ parse: (Data) throws(RequestError) -> T,
                            _ then: (T) async -> Response) async -> Response {
        switch await body(request, maxBodyBytes, parse) {
        case let .success(value): return await then(value)
        case let .failure(f): return failure(f)
        }
    }

    /// Reads a request body (at most `maxBodyBytes`) and parses it; a failure is the answer.
    static func body<T>(_ request: Request, _ maxBodyBytes: Int, _ parse: (Data) throws(RequestError) -> T) async -> Result<T, APIFailure> {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            return .failure(APIFailure(status: 413, code: "body_too_large", message: "request body is larger than \(maxBodyBytes) bytes"))
        } catch {
            return .failure(APIFailure(status: 400, code: "bad_body", message: "cannot read the request body: \(error)"))
        }
        do {
            return .success(try parse(Data(buffer: buffer)))
        } catch {
            return .failure(APIFailure(status: 400, code: "bad_request", message: error.message))
        }
    }

    /// Answers the service's value as JSON, or its rejection as the mapped error.
    static func respond<T: Encodable>(status: Int = 200, _ body: () async throws(Rejection) -> T) async -> Response {
        do {
            return json(status, try await body())
        } catch {
            return failure(APIFailure(error))
        }
    }

    /// A page of ours: HTML with a policy that lets it load nothing from elsewhere, connect only
    /// to its own origin (its WebSocket too: `ws://` / `wss://` of the host it was opened at,
    /// issue 20), never be framed, and send no referrer.
    static func page(_ html: String, host: String?) -> Response {
        Response(status: .ok, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: contentSecurityPolicy(host: host),
            .init("Referrer-Policy")!: "no-referrer",
            .init("X-Content-Type-Options")!: "nosniff",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The pages' policy. A host with anything but a host name's or address's characters gets
    /// `'self'` alone (no WebSocket), never echoed into the header.
    public static func contentSecurityPolicy(host: String?) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        let own = host.flatMap { h in !h.isEmpty && h.count <= 255 && h.allSatisfy(allowed.contains) ? " ws://\(h) wss://\(h)" : nil } ?? ""
        return "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'\(own); frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    }

    /// A staff photo (at most 2 MiB; JPEG, PNG or WebP by its name).
    static func photo(_ path: String) -> Response {
        guard let type = ScreenOptions.photoType(path) else {
            return failure(APIFailure(status: 415, code: "unsupported_photo", message: "a staff photo is .jpg, .jpeg, .png or .webp"))
        }
        // Never through a symlink, only a regular file (issue 20): the photo folder is not a
        // way to read other files.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        var st = stat()
        guard fd >= 0 else { return failure(APIFailure(status: 404, code: "not_found", message: "the photo file cannot be read (or is a symlink)")) }
        defer { close(fd) }
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size <= 2 << 20 else {
            return failure(APIFailure(status: 404, code: "not_found", message: "the photo is not a regular file of at most 2 MiB"))
        }
        let data = FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile()
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func failure(_ f: APIFailure) -> Response {
        json(f.status, ErrorView(code: f.code, message: f.message))
    }

    static func json<T: Encodable>(_ status: Int, _ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: .init(code: status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
