// Makes a large store for `make bench` (the lifetime figures, issue 12): N records spread over
// a year, written through the store's own commit path (chained, rolled up, exactly as the daemon
// writes them) in transactions of 10,000, then all but the last 1,000 marked sent.
//
//   bench-storegen STATE_DIR [RECORDS] [WINDOWS]
//
// Deterministic (a fixed seed): the same arguments make the same store.
import EvaluatorCore
import EvaluatorStore
import Foundation

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write(Data("usage: bench-storegen STATE_DIR [RECORDS=10000000] [WINDOWS=50]\n".utf8))
    exit(64)
}
let dir = args[1]
let total = args.count > 2 ? Int(args[2]) ?? 10_000_000 : 10_000_000
let windows = args.count > 3 ? Int(args[3]) ?? 50 : 50
let store = try Store(path: (dir as NSString).appendingPathComponent("evaluatord.sqlite"))

/// SplitMix64: fast, and the same sequence everywhere.
struct Rng {
    var state: UInt64 = 0x5EED
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

var rng = Rng()
let yearMs: Int64 = 365 * 86_400_000
let end = Millis(date: Date()).value
let start = end - yearMs
let step = yearMs / Int64(total)
let departments = ["自然资源局", "市场监督管理局", "税务局", "人力资源和社会保障局", "公安局", "卫生健康委员会", "住房和城乡建设局", "民政局", "交通运输局", "医疗保障局"]
let levels = Level.allCases
let began = Date()
var made = 0
while made < total {
    let n = min(10_000, total - made)
    var records: [RatingRecord] = []
    records.reserveCapacity(n)
    for i in 0..<n {
        let seq = made + i
        let at = start + Int64(seq) * step
        let w = rng.below(windows)
        let roll = rng.below(100)
        let outcome: Outcome = roll < 70 ? .rated : roll < 85 ? .unrated : roll < 90 ? .cancelled : .noCase
        var d = RecordDraft(windowID: "W\(w)", department: departments[w % departments.count], staffID: outcome == .noCase ? nil : "S\(w * 4 + rng.below(4))",
                            caseID: outcome == .noCase ? nil : "2026-BENCH-\(seq)", matterCode: "370211-BDC-001", matterName: "不动产登记",
                            sessionID: outcome == .noCase ? nil : "s\(seq)", outcome: outcome, pad: .serial(bus: "bus1", address: UInt8(w % 32)),
                            promptedAt: Millis(at - 20_000))
        if outcome == .rated || outcome == .noCase {
            let level = levels[[0, 0, 0, 0, 0, 1, 1, 2, 3, 4][rng.below(10)]]
            d.level = level
            d.score = ScoreTable.standard.score(level)
            d.key = 3
            d.pressedAt = Millis(at - 1_000)
            if level.isBad { d.flags.append(.needsReason) }
        }
        if outcome == .cancelled { d.endedBy = "queue-system" }
        d.openedBy = outcome == .noCase ? nil : "queue-system"
        records.append(RatingRecord(recordID: "bench-\(seq)", gatewayID: "bench", region: "370211", recordedAt: Millis(at), draft: d))
    }
    try await store.commit([StoreChange(records: records)])
    made += n
    if made % 1_000_000 == 0 || made == total {
        let s = Date().timeIntervalSince(began)
        FileHandle.standardError.write(Data("\(made) records in \(Int(s)) s (\(Int(Double(made) / max(s, 0.001))) per s)\n".utf8))
    }
}
try await store.markAllSentForBench(keepUnsent: 1_000)
print("made \(total) records over a year in \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
