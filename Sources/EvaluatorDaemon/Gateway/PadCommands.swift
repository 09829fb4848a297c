import EvaluatorCore
import EvaluatorStore
import Synchronization

/// What the gateway tells a pad once the records before it are durable (R7).
public enum PadCommand: Sendable, Hashable {
    /// Show the rating prompt, for an evaluation open until `until`: a bus that is not attached
    /// holds it and writes it when it attaches, if the evaluation is still open by then.
    case prompt(PadID, until: Millis? = nil)
    /// The press of `key` is stored.
    case ack(PadID, key: Int)
    /// A screen pad shows its window's state again (an evaluation opened, rated, ended; staff
    /// signed in; paused): the screen service asks the gateway what to show.
    case refresh(PadID)

    public var pad: PadID {
        switch self {
        case let .prompt(p, _), let .ack(p, _), let .refresh(p): p
        }
    }

    /// Screen pads show the evaluation itself: after a commit, the screens of the windows whose
    /// sessions were saved or that got a record are told to show their window again (the screen
    /// service writes only what changed). A rated session that ends at its deadline makes no
    /// record, and needs none: its screen already shows idle.
    static func screenRefreshes(_ changes: [StoreChange], pads: PadDirectory) -> [PadCommand] {
        var windows: Set<String> = []
        for c in changes {
            for s in c.saveSessions { windows.insert(s.windowID) }
            windows.formUnion(c.saveWindowStates.keys)
            for r in c.records { if let w = r.draft.windowID { windows.insert(w) } }
        }
        return windows.sorted().compactMap { w in
            pads.pad(ofWindow: w).flatMap { pad -> PadCommand? in
                if case .screen = pad { return .refresh(pad) }
                return nil
            }
        }
    }
}

/// Hands pad commands to the device service that owns each pad's port, without waiting: the
/// service writes them (a slow port stalls only its own writer, never the gateway). The
/// commands of one group commit reach each bus as one array, written with one write(2).
/// Commands for pads with no channel back (USB HID keypads) are dropped here.
public final class PadCommandRouter: Sendable {
    private let outlets = Mutex<[String: AsyncStream<[PadCommand]>.Continuation]>([:])

    public init() {}

    /// The commands for the pads of one serial bus; its service reads them.
    public func commands(forBus bus: String) -> AsyncStream<[PadCommand]> {
        let (stream, continuation) = AsyncStream<[PadCommand]>.makeStream()
        outlets.withLock { $0[bus] = continuation }
        return stream
    }

    /// The commands for screen pads (prompts and refreshes); the screen service reads them.
    public static let screenOutlet = "#screens"

    public func send(_ commands: [PadCommand]) {
        guard !commands.isEmpty else { return }
        var byBus: [String: [PadCommand]] = [:]
        for c in commands {
            if case .screen = c.pad {
                byBus[Self.screenOutlet, default: []].append(c)
                continue
            }
            guard let bus = c.pad.bus else { continue }
            byBus[bus, default: []].append(c)
        }
        guard !byBus.isEmpty else { return }
        let outlets = outlets.withLock { $0 }
        for (bus, list) in byBus.sorted(by: { $0.key < $1.key }) {
            outlets[bus]?.yield(list)
        }
    }
}
