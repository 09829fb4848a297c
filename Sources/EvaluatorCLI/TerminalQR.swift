import CQREncode

/// A QR code for a terminal (libqrencode, as the status page's SVG): two modules per character
/// with Unicode half blocks, dark on light, a 2-module quiet zone — `evaluatorctl pair` prints
/// it so a tablet scans the pairing address (issue 20).
enum TerminalQR {
    static func text(_ text: String) -> String? {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let border = 2
        let size = width + 2 * border
        func dark(_ x: Int, _ y: Int) -> Bool {
            let (mx, my) = (x - border, y - border)
            guard mx >= 0, my >= 0, mx < width, my < width else { return false }
            return code.pointee.data[my * width + mx] & 1 == 1
        }
        // Light modules print as blocks, dark as spaces: scanners read a dark terminal's inverse.
        var lines: [String] = []
        for y in stride(from: 0, to: size, by: 2) {
            var line = ""
            for x in 0..<size {
                switch (dark(x, y), dark(x, y + 1)) {
                case (false, false): line += "█"
                case (false, true): line += "▀"
                case (true, false): line += "▄"
                case (true, true): line += " "
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
