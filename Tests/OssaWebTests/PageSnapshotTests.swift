import Foundation
import Hummingbird
import HummingbirdTesting
@testable import OssaWeb
import SnapshotTesting
import Testing

/// Whole pages as HTML text. Tokens come from the test's token sequence; database ids (random UUIDs) are replaced
/// by `<id-1>`, `<id-2>`, … in order of appearance, the wall-clock "opened" day by `<day>` and the stylesheet's
/// content hash by `<hash>`.
@Suite("Page snapshots")
struct PageSnapshotTests {
    func normalized(_ html: String) throws -> String {
        var text = html
        let uuid = try Regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        var seen: [String: String] = [:]
        for match in html.matches(of: uuid) {
            let id = String(html[match.range])
            if seen[id] == nil { seen[id] = "<id-\(seen.count + 1)>" }
        }
        for (id, label) in seen { text = text.replacingOccurrences(of: id, with: label) }
        // The stylesheet's URL carries its content hash, which changes with every edit of the CSS.
        text = text.replacing(try Regex(#"/static/ossa\.[0-9a-f]{12}\.css"#), with: "/static/ossa.<hash>.css")
        return text.replacing(try Regex(#"<dt>Opened</dt><dd>\d{4}-\d{2}-\d{2}</dd>"#), with: "<dt>Opened</dt><dd><day></dd>")
    }

    @Test("sign-in page: empty, after a failure, throttled")
    func login() async throws {
        try await withServer { _, client in
            let empty = try await client.execute(uri: "/login", method: .get)
            assertSnapshot(of: try normalized(empty.text), as: .lines, named: "empty")
            let failed = try await postLogin(client, email: "clinician@example.org", password: "not the password")
            assertSnapshot(of: try normalized(failed.text), as: .lines, named: "failed")
            for _ in 0..<4 { _ = try await postLogin(client, email: "clinician@example.org", password: "not the password") }
            let throttled = try await postLogin(client, email: "clinician@example.org", password: testPassword)
            #expect(throttled.status == .tooManyRequests)
            assertSnapshot(of: try normalized(throttled.text), as: .lines, named: "throttled")
        }
    }

    @Test("patient list: all, searched, nothing found")
    func patients() async throws {
        try await withServer { _, client in
            let session = try await signIn(client, "clinician@example.org")
            let all = try await client.execute(uri: "/patients", method: .get, headers: session.headers)
            assertSnapshot(of: try normalized(all.text), as: .lines, named: "all")
            let searched = try await client.execute(uri: "/patients?q=M%C3%BCller", method: .get, headers: session.headers)
            assertSnapshot(of: try normalized(searched.text), as: .lines, named: "searched")
            let none = try await client.execute(uri: "/patients?q=%3Cscript%3E", method: .get, headers: session.headers)
            // The search term is shown escaped, never as markup.
            #expect(none.text.contains("&lt;script&gt;"))
            assertSnapshot(of: try normalized(none.text), as: .lines, named: "none")
        }
    }

    @Test("start page and refusal page of a role without patient records")
    func researcher() async throws {
        try await withServer { _, client in
            let session = try await signIn(client, "researcher@example.org")
            let home = try await client.execute(uri: "/", method: .get, headers: session.headers)
            assertSnapshot(of: try normalized(home.text), as: .lines, named: "home")
            let refused = try await client.execute(uri: "/patients", method: .get, headers: session.headers)
            #expect(refused.status == .forbidden)
            assertSnapshot(of: try normalized(refused.text), as: .lines, named: "forbidden")
        }
    }

    @Test("episode page and a not-found page")
    func episode() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let page = try await client.execute(uri: "/episodes/\(server.fixture.episodeA.id.lowercasedID)", method: .get, headers: session.headers)
            #expect(page.status == .ok)
            assertSnapshot(of: try normalized(page.text), as: .lines, named: "episode")
            let missing = try await client.execute(uri: "/episodes/\(server.fixture.episodeB.id.lowercasedID)", method: .get, headers: session.headers)
            #expect(missing.status == .notFound)
            assertSnapshot(of: try normalized(missing.text), as: .lines, named: "not-found")
        }
    }

    /// Every page of the application, from the catalog's samples (the real engine, protocol and instruments on one
    /// made-up pathway): a change to any page's markup shows up here as a diff to review.
    @Test("every page, full page, from its catalog sample")
    func catalog() async throws {
        let renderer = try await PageRenderer.load()
        var names = Set<String>()
        for (name, page) in PageCatalog.named {
            #expect(names.insert(name).inserted, "sample \(name) named twice")
            assertSnapshot(of: try normalized(try renderer.render(page)), as: .lines, named: name)
        }
    }
}
