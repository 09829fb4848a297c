/// The one table printer of `evaluatorctl` (issue 21): columns as wide as their widest cell in
/// terminal columns (`displayWidth`: a window name such as 综合受理3号窗 takes 13, not 7), two
/// spaces between columns, numbers right-aligned where asked. The last column is not padded.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (counts, shares).
    var rightAligned: Set<Int> = []
    /// Draw a rule of dashes before the last row (a total).
    var ruleBeforeLast = false

    init(_ header: [String], rightAligned: Set<Int> = [], ruleBeforeLast: Bool = false) {
        self.header = header
        self.rightAligned = rightAligned
        self.ruleBeforeLast = ruleBeforeLast
    }

    mutating func add(_ cells: [String]) { rows.append(cells) }

    var lines: [String] {
        let all = [header] + rows
        var widths = header.map(displayWidth)
        for cells in all { for (i, c) in cells.enumerated() where i < widths.count { widths[i] = max(widths[i], displayWidth(c)) } }
        var out: [String] = []
        for (n, cells) in all.enumerated() {
            if ruleBeforeLast && n == all.count - 1 && n > 0 { out.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
            let line = cells.enumerated().map { i, c -> String in
                let fill = String(repeating: " ", count: max(0, (i < widths.count ? widths[i] : 0) - displayWidth(c)))
                if rightAligned.contains(i) { return fill + c }
                return i == cells.count - 1 ? c : c + fill
            }.joined(separator: "  ")
            out.append(String(line.reversed().drop(while: { $0 == " " }).reversed())) // an empty last cell leaves no spaces
        }
        return out
    }
}

/// Columns a text takes on a terminal: CJK and full-width characters take two (a department
/// name such as 自然资源局 is ten columns wide, not five).
func displayWidth(_ s: String) -> Int {
    s.unicodeScalars.reduce(0) { w, u in
        let v = u.value
        let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x20000...0x3FFFD).contains(v)
        return w + (wide ? 2 : 1)
    }
}
