import EvaluatorCore
import EvaluatorStore

/// The two translations around a group commit, pure so the gateway actor only orders (issue 21):
/// one event's decisions into what the store must write (records stamped with their id and
/// time), and a durable group's decisions into what pads, statistics, metrics and the log are
/// told (`AfterDurable`).
extension StoreChange {
    /// The store's part of one event's decisions; the records are stamped here, at `now`.
    init(_ decisions: [Decision], stamp: RecordStamp, chainID: String?) {
        var records: [RatingRecord] = []
        var saves: [Session] = []
        var removes: [String] = []
        var floods: [Flood] = []
        var floodsEnded: [PadID] = []
        var windowStates: [String: WindowState] = [:]
        for d in decisions {
            switch d {
            case let .record(draft): records.append(stamp.record(draft))
            case let .saveSession(s): saves.append(s)
            case let .removeSession(id): removes.append(id)
            case let .saveFlood(f): floods.append(f)
            case let .removeFlood(pad): floodsEnded.append(pad)
            case let .saveWindowState(w, state): windowStates[w] = state
            default: break
            }
        }
        self.init(records: records, saveSessions: saves, removeSessions: removes, saveFloods: floods, removeFloods: floodsEnded,
                  saveWindowStates: windowStates, chainID: records.isEmpty ? nil : chainID)
    }
}

/// What the gateway adds to a policy's draft to make it a record: its id, the gateway and the time.
struct RecordStamp {
    var gatewayID: String
    var region: String
    var at: Millis
    var makeID: () -> String

    func record(_ draft: RecordDraft) -> RatingRecord {
        RatingRecord(recordID: makeID(), gatewayID: gatewayID, region: region, recordedAt: at, draft: draft)
    }
}

/// What a durable group's decisions ask of the world outside the store: the pad commands (in
/// decision order, then the screens to refresh), the decisions the log names, the pads that
/// start flooding, and each press (its window, and whether it was acked).
struct AfterDurable {
    struct Press {
        var pad: PadID
        var window: String?
        var at: Millis
        var acked: Bool
    }

    var commands: [PadCommand] = []
    var logged: [Decision] = []
    var flooding: [(pad: PadID, until: Millis)] = []
    var presses: [Press] = []

    init(_ group: GroupCommit.Group, pads: PadDirectory) {
        for a in group.after {
            var acked = false
            for d in a.decisions {
                switch d {
                case let .prompt(pad, until): commands.append(.prompt(pad, until: until))
                case let .ack(pad, key, repeated):
                    commands.append(.ack(pad, key: key))
                    if !repeated { acked = true }
                case .screenRated: acked = true // the screen service sends the ack (it waits for this commit)
                case let .flooding(pad, _, until):
                    flooding.append((pad, until))
                    logged.append(d)
                case .unknownKey, .strayReason: logged.append(d)
                default: break
                }
            }
            if let pad = a.pad { presses.append(Press(pad: pad, window: pads.entry(for: pad)?.windowID, at: a.at, acked: acked)) }
        }
        commands += PadCommand.screenRefreshes(group.changes, pads: pads)
    }

    /// Tells the log, the pad statistics and the metrics what the durable group did.
    func report(_ changes: [StoreChange], log: DecisionLog, stats: PadStats, metrics: DaemonMetrics, pads: PadDirectory, now: Millis) {
        for r in changes.lazy.flatMap(\.records) {
            log.stored(r)
            metrics.record(outcome: r.draft.outcome.rawValue, level: r.draft.level?.rawValue)
        }
        for d in logged { log.decided(d, pads: pads) }
        for f in flooding { stats.flooding(f.pad, until: f.until) }
        for p in presses {
            metrics.press(window: p.window)
            guard p.acked else { continue }
            stats.countPress(p.pad, at: p.at)
            metrics.pressToAck(ms: now.value - p.at.value)
        }
    }
}
