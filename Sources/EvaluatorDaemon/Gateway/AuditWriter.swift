import EvaluatorCore
import EvaluatorStore
import EvaluatorSupport
import Logging

/// `audit` records — evidence about the gateway itself (docs/CHAIN.md): problems found at
/// start, admin actions, a replaced store. Each is committed on its own, outside the group
/// commit of presses, and wakes the uplink. Off the actor: it reads only the board.
public struct AuditWriter: Sendable {
    let store: Store
    let board: HallBoard
    let logger: Logger
    let uplinkWake: WakeSignal
    let clock: @Sendable () -> Millis
    let makeID: @Sendable () -> String

    /// Stores an `audit` record for each problem found at start (a broken chain tail, a foreign
    /// object in the store), logs it as an error and keeps it for status. Rating goes on: a
    /// hall must never stop rating because of it (R8, R17).
    public func audit(_ found: [Problem]) async {
        guard !found.isEmpty else { return }
        let records = found.map { record("\($0.code): \($0.message)") }
        for (p, r) in zip(found, records) {
            logger.error("store check: \(p.message)", metadata: ["problem": "\(p.code)", "record_id": "\(r.recordID)", "store.path": "\(store.path)"])
        }
        board.update { $0.problems += found }
        await commit(records, failure: "cannot store the audit record", [:])
    }

    /// The store file is damaged: it is moved aside, a new store (a new chain) takes over, and
    /// its first record is the `audit` record naming the moved file and the old chain's last
    /// readable head; the open evaluations, flood counts and window states of `policy` are
    /// saved into it. Health is degraded from now on. Rating goes on.
    func replaceDamaged(_ reason: String, carrying policy: WindowSessions) async {
        let damage: StoreDamage
        do {
            damage = try store.replaceDamaged(reason: reason, now: clock())
        } catch {
            board.update { $0.commitFailure = "the damaged store could not be replaced: \(error)" }
            logger.critical("store damaged and cannot be replaced; nothing can be stored", metadata: ["error": "\(error)", "store.path": "\(store.path)"])
            return
        }
        logger.error("store damaged: moved aside, a new store takes over; rating goes on", metadata: [
            "store.moved_to": "\(damage.movedTo)", "sqlite": "\(reason)", "previous_chain": "\(damage.previousChain?.chainID ?? "-")",
        ])
        board.update { $0.problems.append(.storeReplaced(damage.message)) }
        do {
            try await store.commit([StoreChange(records: [record(damage.detail)], saveSessions: Array(policy.sessions.values),
                                                saveFloods: Array(policy.floods.values), saveWindowStates: policy.windowStates)])
            uplinkWake.fire()
        } catch {
            logger.error("cannot write the new store's first record", metadata: ["error": "\(error)"])
        }
    }

    /// An admin action (issue 20: import, resend, reload, pairing) as an `audit` record: who
    /// (`opened_by`), what and the counts (`detail`), chained like every record, so the
    /// evidence of who changed stored records or the configuration reaches the centre.
    func adminAudit(caller: String, _ what: String) async {
        var r = record("admin: \(what)")
        r.draft.openedBy = caller
        await commit([r], failure: "cannot store the audit record of an admin action", ["caller": "\(caller)", "action": "\(what)"])
    }

    private func commit(_ records: [RatingRecord], failure: String, _ metadata: Logger.Metadata) async {
        do {
            try await store.commit([StoreChange(records: records)])
            uplinkWake.fire()
        } catch {
            logger.error("\(failure)", metadata: metadata.merging(["error": "\(error)"]) { a, _ in a })
        }
    }

    private func record(_ detail: String) -> RatingRecord {
        let config = board.current.config
        return RatingRecord(recordID: makeID(), gatewayID: config.gatewayID, region: config.region, recordedAt: clock(),
                            draft: RecordDraft(windowID: nil, outcome: .audit, detail: detail))
    }
}
