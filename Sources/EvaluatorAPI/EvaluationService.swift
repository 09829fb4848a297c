import EvaluatorCore

/// What the API needs from the gateway. The daemon's `Gateway` actor implements it. Every
/// answer is a domain value — a session, a rejection with its reason, a snapshot; only this
/// module turns them into HTTP status codes and JSON views (`Views.swift`).
public protocol EvaluationService: Sendable {
    /// Opens (or, for a repeated request, returns again) the evaluation of a case at a window,
    /// once it is durable.
    func openEvaluation(windowID: String, request: EvaluationRequest) async throws(Rejection) -> (Session, reused: Bool)
    /// Withdraws the window's open, unrated evaluation (a `cancelled` record), once durable.
    func cancelEvaluation(windowID: String) async throws(Rejection) -> Session
    func windows() async -> [WindowSnapshot]
    func status() async throws(Rejection) -> StatusSnapshot
    func devices() async -> DevicesSnapshot
}
