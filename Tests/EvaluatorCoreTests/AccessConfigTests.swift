import Foundation
import Testing
@testable import EvaluatorCore

/// Config files handed to the parser from memory: name → (text, mode).
func memoryFiles(_ files: [String: (String, UInt32)], credentials: [String: String] = [:]) -> ConfigFiles {
    var f = ConfigFiles(read: { path in
        files[path].map { .success(Data($0.0.utf8)) } ?? .failure(ConfigFileError(message: "no such file"))
    }, permissions: { files[$0]?.1 })
    f.exists = { files[$0] != nil }
    f.credential = { credentials[$0].map { Data($0.utf8) } }
    return f
}

let tokensText = """
# NAME SCOPE TOKEN
queue api 0123456789abcdef0123456789abcdef
hall-it read fedcba9876543210fedcba9876543210

"""

func accessConfig(_ api: String) -> String {
    "[gateway]\nid = \"g\"\nregion = \"370211\"\n[api]\n\(api)\n[[window]]\nid = \"W01\"\ndepartment = \"d\"\n"
}

@Suite("config: API access (issue 11)")
struct AccessConfigTests {
    @Test("a tokens file: names and scopes read, secrets never in the description; the listen may then leave loopback")
    func tokens() throws {
        let files = memoryFiles(["/etc/evaluatord/tokens": (tokensText + "tablet pad:W01 abcdefabcdefabcdefabcdefabcdefabcdef\n", 0o640)])
        let c = try GatewayConfig.parse(accessConfig("listen = \"0.0.0.0:8740\"\ntokens_file = \"/etc/evaluatord/tokens\""), source: "t", files: files)
        let tokens = try #require(c.apiAccess.tokens)
        #expect(tokens.tokens.map(\.name) == ["queue", "hall-it", "tablet"])
        #expect(tokens.tokens.map(\.scope) == [.api, .read, .pad(window: "W01")])
        #expect(tokens.find("0123456789abcdef0123456789abcdef")?.name == "queue")
        #expect(tokens.find("0123456789abcdef0123456789abcde") == nil)
        #expect(!"\(c)".contains("0123456789abcdef0123456789abcdef"), "a printed config never shows a token")
    }

    @Test("refused: a non-loopback listen without tokens, a tokens file others may read, bad lines — each named")
    func refusals() {
        func error(_ api: String, _ files: [String: (String, UInt32)] = [:]) -> String {
            do {
                _ = try GatewayConfig.parse(accessConfig(api), source: "t", files: memoryFiles(files))
                return ""
            } catch {
                return error.description
            }
        }
        #expect(error("listen = \"0.0.0.0:8740\"").contains("api.listen: 0.0.0.0:8740 is reachable from other machines"))
        #expect(error("listen = \"[::]:8740\"").contains("reachable from other machines"))
        #expect(error("listen = \"127.0.0.1:8740\"") == "")
        #expect(error("listen = \"unix:/run/e/api.sock\"") == "")
        #expect(error("tokens_file = \"/t\"", ["/t": (tokensText, 0o644)]).contains("others may read or write it (mode 644)"))
        #expect(error("tokens_file = \"/t\"", ["/t": ("queue api short\n", 0o600)]).contains("/t:1: the token of queue is shorter than 32 characters"))
        #expect(error("tokens_file = \"/t\"", ["/t": ("queue root 0123456789abcdef0123456789abcdef\n", 0o600)]).contains("scope \"root\" is not admin, api, read or pad:WINDOW"))
        #expect(error("tokens_file = \"/t\"", ["/t": ("t pad:W09 0123456789abcdef0123456789abcdef\n", 0o600)]).contains("no window \"W09\""))
        #expect(error("tokens_file = \"/t\"", ["/t": ("a api 0123456789abcdef0123456789abcdef\nb read 0123456789abcdef0123456789abcdef\n", 0o600)])
            .contains("the same as another one's"))
        let message = error("tokens_file = \"/t\"", ["/t": ("bad name! api 0123456789abcdef0123456789abcdef\n", 0o600)])
        #expect(message.contains("/t:1") && !message.contains("0123456789abcdef"), "errors never print a token: \(message)")
        #expect(error("socket_mode = \"0666\"").contains("others may not have access"))
        // Issue 20: a secret owned by anyone but root or the service user is refused (they could swap it).
        var files = memoryFiles(["/t": (tokensText, 0o600)])
        files.owner = { _ in 4242 }
        do {
            _ = try GatewayConfig.parse(accessConfig("tokens_file = \"/t\""), source: "t", files: files)
            Issue.record("a tokens file owned by uid 4242 was accepted")
        } catch {
            #expect(error.description.contains("owned by uid 4242, not by root or the service user"), "\(error)")
        }
        files.owner = { _ in 0 }
        #expect(throws: Never.self) { try GatewayConfig.parse(accessConfig("tokens_file = \"/t\""), source: "t", files: files) }
    }

    @Test("the HMAC key is read as bytes: a binary key is not mangled; a text key loses only its line ending")
    func keyBytes() {
        #expect(ConfigReader.keyBytes(Data("s3cret\n".utf8)) == Array("s3cret".utf8))
        #expect(ConfigReader.keyBytes(Data("s3cret\r\n".utf8)) == Array("s3cret".utf8))
        let binary: [UInt8] = [0x00, 0xFF, 0x20, 0x0A]
        #expect(ConfigReader.keyBytes(Data(binary)) == binary)
        #expect(ConfigReader.keyBytes(Data(" key with spaces ".utf8)) == Array(" key with spaces ".utf8))
    }

    @Test("plaintext to another host needs allow_plaintext; a URL's password and query never appear in errors")
    func plaintext() {
        let base = "[gateway]\nid = \"g\"\nregion = \"370211\"\n[uplink]\n"
        #expect(throws: ConfigError.self) { try GatewayConfig.parse(base + "url = \"http://10.1.2.3/r\"\n", source: "t", files: .system) }
        #expect((try? GatewayConfig.parse(base + "url = \"http://10.1.2.3/r\"\nallow_plaintext = true\n", source: "t", files: .system)) != nil)
        #expect((try? GatewayConfig.parse(base + "url = \"https://10.1.2.3/r\"\n", source: "t", files: .system)) != nil)
        #expect((try? GatewayConfig.parse(base + "url = \"http://localhost:9/r\"\n", source: "t", files: .system)) != nil)
        do {
            _ = try GatewayConfig.parse(base + "url = \"ftp://u:PASSWD@h/r?key=QUERY\"\n", source: "t", files: .system)
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("PASSWD") && !error.description.contains("QUERY"))
        }
        #expect(Redact.url("https://u:pw@h:8/p?k=v") == "https://u:***@h:8/p?***")
    }

    @Test("issue 20: the admin token file beside the tokens file (or admin_token_file, or systemd's credential) gives the admin token; missing is a warning, others-readable an error; the name admin is reserved")
    func adminToken() throws {
        let admin = "adminadminadminadminadminadmin0123456789"
        let base = ["/etc/evaluatord/tokens": (tokensText, UInt32(0o640))]
        let cfg = accessConfig("tokens_file = \"/etc/evaluatord/tokens\"")
        var files = base
        files["/etc/evaluatord/admin.token"] = (admin + "\n", 0o600)
        let c = try GatewayConfig.parse(cfg, source: "t", files: memoryFiles(files))
        #expect(c.apiAccess.adminTokenFile == "/etc/evaluatord/admin.token")
        #expect(c.apiAccess.adminToken == APIToken(name: "admin", scope: .admin, secret: admin))
        #expect(c.apiAccess.tokens?.find(admin)?.scope == .admin)
        #expect(!ConfigWarnings.of(c).contains { $0.contains("admin_token_file") })
        // Missing (or not readable by the service user): no admin token, a warning naming the file.
        let none = try GatewayConfig.parse(cfg, source: "t", files: memoryFiles(base))
        #expect(none.apiAccess.adminToken == nil && none.apiAccess.tokens?.tokens.count == 2)
        #expect(ConfigWarnings.of(none).contains { $0.contains("api.admin_token_file = /etc/evaluatord/admin.token: not there or not readable") })
        // systemd's credential (LoadCredential=admin.token:…) comes first.
        let cred = try GatewayConfig.parse(cfg, source: "t", files: memoryFiles(base, credentials: ["admin.token": admin + "\n"]))
        #expect(cred.apiAccess.adminToken?.secret == admin)
        // An explicit file.
        var other = base
        other["/srv/a"] = (admin, 0o600)
        let explicit = try GatewayConfig.parse(accessConfig("tokens_file = \"/etc/evaluatord/tokens\"\nadmin_token_file = \"/srv/a\""), source: "t", files: memoryFiles(other))
        #expect(explicit.apiAccess.adminToken?.secret == admin)
        func error(_ api: String, _ f: [String: (String, UInt32)]) -> String {
            do { _ = try GatewayConfig.parse(accessConfig(api), source: "t", files: memoryFiles(f)); return "" } catch { return error.description }
        }
        var loose = base
        loose["/etc/evaluatord/admin.token"] = (admin, 0o644)
        #expect(error("tokens_file = \"/etc/evaluatord/tokens\"", loose).contains("others may read or write it (mode 644)"))
        var short = base
        short["/etc/evaluatord/admin.token"] = ("short", 0o600)
        let shortError = error("tokens_file = \"/etc/evaluatord/tokens\"", short)
        #expect(shortError.contains("/etc/evaluatord/admin.token:1: the admin token is shorter than 32 characters") && !shortError.contains("short\""), "\(shortError)")
        #expect(error("tokens_file = \"/t\"", ["/t": ("admin api 0123456789abcdef0123456789abcdef\n", 0o600)]).contains("the name admin is the admin token file's"))
        #expect(error("admin_token_file = \"/srv/a\"", other).contains("api.admin_token_file: an admin token needs [api] tokens_file"))
    }
}
