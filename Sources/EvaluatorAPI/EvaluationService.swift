import EvaluatorCore
import EvaluatorWire

/// What the API needs from the gateway. The daemon's `Gateway` actor implements it. Every
/// answer is a domain value — a session, a rejection with its reason, a snapshot; only this
/// module turns them into HTTP status codes and JSON views (`Views.swift`).
public protocol EvaluationService: Sendable {
    /// Opens (or, for a repeated request, returns again — `updated` when its details changed)
    /// the evaluation of a case at a window, once it is durable. `caller`: the token's name.
    func openEvaluation(windowID: String, request: EvaluationRequest, caller: String) async throws(Rejection) -> OpenedEvaluation
    /// Withdraws the window's open, unrated evaluation (a `cancelled` record), once durable.
    func cancelEvaluation(windowID: String, caller: String) async throws(Rejection) -> Session
    func windows() async -> [WindowSnapshot]
    func status() async throws(Rejection) -> StatusSnapshot
    func devices() async -> DevicesSnapshot
    /// Puts quarantined records (all, or those named) back in the queue; they are sent at once.
    func resend(recordIDs: [String]?, caller: String) async throws(Rejection) -> ResendResult
    /// Participation and results statistics (R14, R15); `since`/`until`/`by` as given in the
    /// query string (`StatsQuery.parse`); an invalid one is `.invalidQuery`.
    func stats(since: String?, until: String?, by: String?) async throws(Rejection) -> StatsReport
    /// Whether the gateway can take ratings, and what needs a look.
    func health() async -> HealthSnapshot
    /// Records salvaged from a damaged store (`evaluatorctl salvage`): imported with their ids;
    /// records not of this gateway's damaged stores are `.invalidImport` (issue 20).
    func importSalvaged(_ request: ImportRequest, caller: String) async throws(Rejection) -> ImportResult
    /// Signs a member of staff in at a window (nil: signs them out); once durable.
    func setStaff(windowID: String, staff: StaffMember?, caller: String) async throws(Rejection) -> WindowSnapshot
    /// The screen pad of a window (nil: the window has none, or no such window).
    func screenPad(ofWindow windowID: String) async -> PadID?
    /// The file of the photo of the staff signed in at a window, if there is one.
    func staffPhoto(windowID: String) async -> String?
    /// A one-time pairing code for the window's screen pad (admin, issue 20); `address` is the
    /// host (and port) the tablet reaches the API at, for the page's URL.
    func pairPad(windowID: String, address: String, caller: String) async throws(Rejection) -> PairingCode
    /// The tablet's side of pairing: the code for the pad's new secret (the old one is revoked).
    func exchangePairing(windowID: String, code: String, remote: String) async throws(Rejection) -> String
    /// When the window's screen pad was paired (nil: never).
    func pairedAt(windowID: String) async -> String?
    /// Pauses (暂停服务) or resumes a window; an evaluation already open stays open.
    func setPaused(windowID: String, paused: Bool, caller: String) async throws(Rejection) -> WindowSnapshot
}
