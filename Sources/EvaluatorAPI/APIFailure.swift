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
        switch r {
        case .unknownWindow: self.init(status: 404, code: "unknown_window", message: r.message)
        case .alreadyRated: self.init(status: 409, code: "already_rated", message: r.message)
        case .caseOpenElsewhere: self.init(status: 409, code: "case_open_elsewhere", message: r.message)
        case .nothingToCancel: self.init(status: 404, code: "no_open_evaluation", message: r.message)
        case .storeUnavailable: self.init(status: 503, code: "store_unavailable", message: r.message)
        case .batchTooLarge: self.init(status: 400, code: "batch_too_large", message: r.message)
        case .invalidQuery: self.init(status: 400, code: "bad_request", message: r.message)
        case .invalidImport: self.init(status: 400, code: "invalid_import", message: r.message)
        case .staffChanged: self.init(status: 409, code: "staff_changed", message: r.message)
        case .noScreenPad: self.init(status: 404, code: "not_found", message: r.message)
        case .pairingRefused: self.init(status: 403, code: "pairing_refused", message: r.message)
        }
    }
}

extension PairingCodeView {
    /// The view with its URL drawn as a QR code.
    static func drawn(_ c: PairingCode) -> PairingCodeView { PairingCodeView(c, qrSVG: QRCode.svg(c.url) ?? "") }
}
