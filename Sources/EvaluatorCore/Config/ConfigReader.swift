import Foundation
import TOMLKit

/// Reads typed values out of a TOML table, naming the key path and line on every error.
struct ConfigReader {
    let source: String
    let lines: [String]
    var files: ConfigFiles
    /// The errors found so far: a section or a `[[bus]]`/`[[window]]` entry with an error is
    /// recorded here and the reader goes on, so check-config reports every error in the file.
    let errors = ErrorList()

    final class ErrorList {
        var list: [ConfigError] = []
    }

    /// Runs `body`; an error is recorded and nil returned.
    func attempt<T>(_ body: () throws(ConfigError) -> T) -> T? {
        do { return try body() } catch {
            errors.list.append(error)
            return nil
        }
    }

    func fail(_ code: ConfigError.Code, _ path: [String], _ message: String) -> ConfigError {
        ConfigError(code: code, file: source, line: line(of: path), key: path.joined(separator: "."), message: message)
    }

    /// Best-effort line of a key path such as ["window[2]", "pad"]: the section header, then the
    /// first `key =` line inside it.
    func line(of path: [String]) -> Int? {
        guard let first = path.first else { return nil }
        // A dotted table header such as [record.fields] or [keymap.my-5key], then the key.
        if path.count >= 3 || (path.count == 2 && !first.contains("[")) {
            for split in stride(from: path.count - 1, through: 1, by: -1) {
                let header = "[" + path[0..<split].joined(separator: ".") + "]"
                guard let h = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == header }) else { continue }
                let key = path[split]
                var i = h + 1
                while i < lines.count {
                    let l = lines[i].trimmingCharacters(in: .whitespaces)
                    if l.hasPrefix("[") { break }
                    if l.hasPrefix(key + " ") || l.hasPrefix(key + "=") || l.hasPrefix("\"\(key)\"") { return i + 1 }
                    i += 1
                }
                return h + 1
            }
        }
        var section = first
        var wantedIndex = 0
        if let open = first.firstIndex(of: "["), let idx = Int(first[first.index(after: open)...].dropLast()) {
            section = String(first[..<open])
            wantedIndex = idx - 1
        }
        var seen = 0
        var headerLine: Int?
        for (i, raw) in lines.enumerated() {
            let l = raw.trimmingCharacters(in: .whitespaces)
            if l == "[\(section)]" || l.hasPrefix("[\(section)]") && !l.hasPrefix("[[") {
                headerLine = i + 1
            } else if l.hasPrefix("[[\(section)]]") {
                if seen == wantedIndex { headerLine = i + 1 }
                seen += 1
            }
            if headerLine != nil { break }
        }
        guard let header = headerLine else {
            // A top-level key.
            return lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(first) ") || $0.hasPrefix("\(first)=") }.map { $0 + 1 }
        }
        guard path.count > 1 else { return header }
        let key = path[1]
        var i = header
        while i < lines.count {
            let l = lines[i].trimmingCharacters(in: .whitespaces)
            if l.hasPrefix("[") { break }
            if l.hasPrefix(key + " ") || l.hasPrefix(key + "=") { return i + 1 }
            i += 1
        }
        return header
    }

    func table(_ t: TOMLTable, _ key: String, _ path: [String]) throws(ConfigError) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let tt = v.table else { throw fail(.invalid, path + [key], "must be a table") }
        return tt
    }

    func string(_ t: TOMLTable, _ key: String, _ path: [String], required: Bool = false) throws(ConfigError) -> String? {
        guard let v = t[key] else {
            if required { throw fail(.missing, path + [key], "is required") }
            return nil
        }
        guard let s = v.string else { throw fail(.invalid, path + [key], "must be a string, got \(v.type)") }
        if required && s.trimmingCharacters(in: .whitespaces).isEmpty {
            throw fail(.invalid, path + [key], "must not be empty")
        }
        return s
    }

    /// An array of strings, each at most `maxLength` and at most `maxCount` of them.
    func strings(_ t: TOMLTable, _ key: String, _ path: [String], maxCount: Int = 64, maxLength: Int = 255) throws(ConfigError) -> [String]? {
        guard let v = t[key] else { return nil }
        guard let a = v.array else { throw fail(.invalid, path + [key], "must be an array of strings") }
        guard a.count <= maxCount else { throw fail(.invalid, path + [key], "has \(a.count) entries; at most \(maxCount)") }
        var out: [String] = []
        for (i, e) in a.enumerated() {
            guard let s = e.string, !s.isEmpty, s.count <= maxLength else {
                throw fail(.invalid, path + [key], "entry \(i + 1) must be a non-empty string of at most \(maxLength) characters")
            }
            out.append(s)
        }
        return out
    }

    func int(_ t: TOMLTable, _ key: String, _ path: [String], range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let v = t[key] else { return nil }
        guard let i = v.int else { throw fail(.invalid, path + [key], "must be an integer, got \(v.type)") }
        guard range.contains(i) else {
            throw fail(.invalid, path + [key], "\(i) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return i
    }

    func onlyKeys(_ t: TOMLTable, _ allowed: Set<String>, _ path: [String]) throws(ConfigError) {
        for key in t.keys.sorted() where !allowed.contains(key) {
            throw fail(.unknownKey, path + [key], "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func absolute(_ p: String, _ base: String) -> String {
        p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p)
    }

}
