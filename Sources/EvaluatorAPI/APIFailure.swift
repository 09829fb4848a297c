import EvaluatorCore
import EvaluatorWire

/// An API failure: HTTP status, a stable code and a message that says what is wrong.
public struct APIFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// The one place where a rejection becomes an HTTP status and a stable code.
    public init(_ r: Rejection) {
        let (status, code) = Self.http[r.code] ?? (500, r.code.name)
        self.init(status: status, code: code, message: r.message)
    }

    /// Each rejection's HTTP status and the API's code for it (README "HTTP API").
    static let http: [ErrorCode<Rejection>: (Int, String)] = [
        .unknownWindow: (404, "unknown_window"),
        .alreadyRated: (409, "already_rated"),
        .caseOpenElsewhere: (409, "case_open_elsewhere"),
        .nothingToCancel: (404, "no_open_evaluation"),
        .storeUnavailable: (503, "store_unavailable"),
        .batchTooLarge: (400, "batch_too_large"),
        .invalidQuery: (400, "bad_request"),
        .invalidImport: (400, "invalid_import"),
        .staffChanged: (409, "staff_changed"),
        .noScreenPad: (404, "not_found"),
        .pairingRefused: (403, "pairing_refused"),
    ]
}

extension PairingCodeView {
    /// The view with its URL drawn as a QR code.
    static func drawn(_ c: PairingCode) -> PairingCodeView { PairingCodeView(c, qrSVG: QRCode.svg(c.url) ?? "") }
}
