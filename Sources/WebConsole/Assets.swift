import Foundation

/// The console's stylesheet and script, compiled into the binary (Resources/): one binary, no
/// build step for the page, nothing fetched from elsewhere.
enum Assets {
    static func response(_ name: String) -> ConsoleResponse {
        switch name {
        case "console.css": asset(PackageResources.console_css, type: "text/css; charset=utf-8")
        case "console.js": asset(PackageResources.console_js, type: "text/javascript; charset=utf-8")
        default: .text("no asset \(name)", status: 404)
        }
    }

    static func asset(_ bytes: [UInt8], type: String) -> ConsoleResponse {
        ConsoleResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache")], body: .bytes(bytes))
    }

    /// On every answer: our own files only (no inline script, no other origin), no framing, no
    /// type sniffing.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]
}
