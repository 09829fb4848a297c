/// `evaluatorctl export --format csv|jsonl` (issue 13): records as a spreadsheet or as JSON
/// lines. Pure: a stored record object in, a line out. Records hold no rater data (R10); the
/// export adds only whether the centre has accepted each one.
public enum RecordExport {
    public enum Format: String, CaseIterable, Sendable { case csv, jsonl }

    /// The CSV columns, in order: the record's fields, then `sent` (accepted upstream).
    public static let columns = ["record_id", "recorded_at", "gateway_id", "region", "window_id", "department", "staff_id", "case_id",
                                 "batch_case_ids", "matter_code", "matter_name", "outcome", "level", "score", "bad", "reason", "flags",
                                 "pad", "prompted_at", "pressed_at", "opened_by", "ended_by", "count", "detail", "chain_id", "seq", "sent"]

    public static var csvHeader: String { columns.joined(separator: ",") }

    /// One CSV row (RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled).
    /// Lists (`batch_case_ids`, `flags`) are joined with `;`. A text field that a spreadsheet
    /// would run as a formula (starting with = + - @, a tab or a carriage return) gets a leading
    /// `'` — a case id must never become a formula on a hall PC.
    public static func csvRow(_ o: [String: JSONValue], sent: Bool) -> String {
        columns.map { c -> String in
            if c == "sent" { return sent ? "true" : "false" }
            switch o[c] {
            case let .string(s)?: return quote(defuse(s))
            case let .int(i)?: return String(i)
            case let .bool(b)?: return b ? "true" : "false"
            case let .array(a)?: return quote(defuse(a.map { if case let .string(s) = $0 { s } else { $0.text } }.joined(separator: ";")))
            case let .object(x)?: return quote(JSONValue.object(x).text)
            case .null?, nil: return ""
            }
        }.joined(separator: ",")
    }

    /// One JSON line: the stored record object with `"sent"` added.
    public static func jsonLine(_ o: [String: JSONValue], sent: Bool) -> String {
        var o = o
        o["sent"] = .bool(sent)
        return JSONValue.object(o).text
    }

    static func defuse(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return s }
        return "'" + s
    }

    static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
