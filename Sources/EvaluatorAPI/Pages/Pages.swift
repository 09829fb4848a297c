/// The two pages (issue 14), as real files in `Pages/assets` compiled into the binary by the
/// `EmbedAssetsPlugin` (issue 21): the HTML at its route, its CSS and JavaScript under
/// `/assets/`, so the pages' policy needs no `'unsafe-inline'`.
///
/// - `hall.*`: the hall status page (`GET /ui?token=…`) for hall IT staff: every window with its
///   pad, staff, open evaluation, today's figures and a bar of today's levels; backlog and
///   uplink; problems first; each screen pad's address (admin only) as a QR code. It reads the
///   same JSON the API gives (`/v1/status`, `/v1/windows`, `/v1/stats`, `/ui/pads`) with the
///   token from its address, and refreshes itself every 5 s. Hooks: `[data-window="<id>"]`.
/// - `pad.*`: the screen pad's page (`GET /pad/{window}`; protocol in docs/SCREEN-PAD.md) for a
///   kiosk browser in full screen. The state is in `body[data-state]`; the hooks (`data-level`,
///   `data-reason`, `#staff-name` …) are stable for tests and for halls that restyle it. It
///   never shows thanks for a rating the gateway did not ack; an unacked rating is sent again
///   after a reconnect.
enum Pages {
    static var hall: String { Assets.files["hall.html"]!.text }
    static var pad: String { Assets.files["pad.html"]!.text }

    /// A page's CSS or JavaScript by its file name (nil: no such file).
    static func asset(_ name: String) -> Assets.File? {
        name.hasSuffix(".html") ? nil : Assets.files[name]
    }
}
