import CQREncode

/// A QR code as SVG, made by libqrencode (Debian's libqrencode4): the hall status page shows
/// each screen pad's address with its token so a kiosk tablet is set up without typing.
public enum QRCode {
    /// The SVG of `text` (8-bit mode, error correction M), one `<path>` of dark modules with a
    /// 4-module quiet zone; nil if the text does not fit a QR code.
    public static func svg(_ text: String, moduleSize: Int = 4) -> String? {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let border = 4
        let size = (width + 2 * border) * moduleSize
        var path = ""
        path.reserveCapacity(width * width * 8)
        for y in 0..<width {
            for x in 0..<width where code.pointee.data[y * width + x] & 1 == 1 {
                path += "M\((x + border) * moduleSize) \((y + border) * moduleSize)h\(moduleSize)v\(moduleSize)h-\(moduleSize)z"
            }
        }
        return ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(size)" height="\##(size)" viewBox="0 0 \##(size) \##(size)" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="\##(path)"/></svg>"##
    }
}
