import Foundation
import Hummingbird
import HummingbirdTesting
import OssaCore
import OssaStore
@testable import OssaWeb
import Testing

/// The staff pages kept between writes (the store's read models and their HTML, `PageRenderer.html(cachedAs:…)`):
/// what a clinician sees is always the newest, every view is audited, and one session's page never carries another's
/// CSRF token.
@Suite("Pages answered again between writes")
struct PageCacheTests {
    func readsOfEpisode(_ server: TestServer) async throws -> Int {
        let id = server.fixture.episodeA.id.lowercasedID
        return try await server.fixture.store.audit.entries(as: server.fixture.admin, limit: 10_000).filter {
            $0.action == "read" && $0.recordType == "episode" && $0.recordID == id
        }.count
    }

    @Test("a page opened again is the same page, audited again; another session's page has its own CSRF token")
    func sessionsAndAudit() async throws {
        try await withServer { server, client in
            let one = try await signIn(client, "clinician@example.org")
            let two = try await signIn(client, "clinician@example.org", address: "198.51.100.2")
            #expect(one.csrf != two.csrf)
            let uri = "/episodes/\(server.fixture.episodeA.id.lowercasedID)"
            let before = try await readsOfEpisode(server)
            let first = try await getPage(client, one, uri)
            let again = try await getPage(client, one, uri)
            #expect(first.status == .ok && again.status == .ok)
            #expect(first.text == again.text)
            #expect(first.text.contains("value=\"\(one.csrf)\""))
            let other = try await getPage(client, two, uri)
            #expect(other.text.contains("value=\"\(two.csrf)\"") && !other.text.contains(one.csrf))
            #expect(try await readsOfEpisode(server) == before + 3, "every view is an audited read")
            for path in ["/", "/patients?q=M%C3%BCl"] {
                let a = try await getPage(client, one, path)
                let b = try await getPage(client, two, path)
                #expect(a.status == .ok && b.status == .ok)
                #expect(a.text.contains(one.csrf) && !a.text.contains(two.csrf), "\(path)")
                #expect(b.text.contains(two.csrf) && !b.text.contains(one.csrf), "\(path)")
            }
        }
    }

    @Test("a kept page's CSRF placeholders are each filled with the session's token, the rest byte for byte")
    func placeholders() {
        let p = PageRenderer.csrfPlaceholder
        for html in ["<p>\(p)</p><form>\(p)</form>", "\(p)é", "no token here", "", "\(p)"] {
            let filled = KeptHTML(html, placeholder: p).filled(with: "tok-EN_1")
            #expect(String(buffer: filled) == html.replacingOccurrences(of: p, with: "tok-EN_1"), "\(html)")
        }
    }

    @Test("a change saved through a form shows on the episode page, the patient list and the worklist at once")
    func writesShow() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let episode = server.fixture.episodeA.id.lowercasedID
            let uri = "/episodes/\(episode)"
            #expect(try await getPage(client, session, uri).text.contains("Last contact"))
            let page = try await getPage(client, session, uri).text
            #expect(!page.contains("2026-02-14"))
            let saved = try await postForm(client, session, "/episodes/\(episode)/edit", [
                ("_submission", UUID().uuidString.lowercased()), ("lastContactDate", "2026-02-14"), ("status", "open"),
            ])
            #expect(saved.status == .seeOther)
            #expect(try await getPage(client, session, uri).text.contains("2026-02-14"))

            let list = try await getPage(client, session, "/patients?q=Zorn").text
            #expect(list.contains("No patients found."))
            let created = try await postForm(client, session, "/patients/new", [
                ("_submission", UUID().uuidString.lowercased()), ("siteID", server.fixture.siteA.id.lowercasedID), ("mrn", "A-55"),
                ("familyName", "Zorn"), ("givenName", "Ida"), ("birthDate", "1951-03-04"), ("sex", "female"),
            ])
            #expect(created.status == .seeOther, "\(created.text)")
            #expect(try await getPage(client, session, "/patients?q=Zorn").text.contains("Zorn, Ida"))
        }
    }
}
