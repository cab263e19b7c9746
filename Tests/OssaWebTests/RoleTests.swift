import OssaCore
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import OssaStore
@testable import OssaWeb
import Testing

@Suite("What each role sees through the API and pages")
struct RoleTests {
    @Test("staff see exactly their sites' patients; researchers and admins get 403; a patient sees only themself",
          arguments: Engine.available)
    func patientList(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            for role in [Role.clinician, .coordinator] {
                let token = try await apiToken(client, try await signIn(client, try #require(f.emails[role])))
                let list = try await client.execute(uri: "/api/v1/patients", method: .get, headers: bearer(token))
                #expect(list.status == .ok)
                let items = try #require(list.json["items"] as? [[String: Any]])
                #expect(Set(items.compactMap { $0["id"] as? String }) == [f.patientA.id.lowercasedID, f.patientA2.id.lowercasedID])
                #expect(list.json["total"] as? Int == 2)
                #expect(list.json["limit"] as? Int == 50)
                #expect(list.json["offset"] as? Int == 0)
                // Another site's patient and episode do not exist for them.
                #expect(try await client.execute(uri: "/api/v1/patients/\(f.patientB.id.lowercasedID)", method: .get, headers: bearer(token)).status == .notFound)
                #expect(try await client.execute(uri: "/api/v1/episodes/\(f.episodeB.id.lowercasedID)", method: .get, headers: bearer(token)).status == .notFound)
                #expect(try await client.execute(uri: "/api/v1/patients/\(f.patientB.id.lowercasedID)/episodes", method: .get, headers: bearer(token)).status == .notFound)
                #expect(try await client.execute(uri: "/api/v1/patients/\(f.patientA.id.lowercasedID)", method: .get, headers: bearer(token)).status == .ok)
                #expect(try await client.execute(uri: "/api/v1/episodes/\(f.episodeA.id.lowercasedID)", method: .get, headers: bearer(token)).status == .ok)
                let sites = try await client.execute(uri: "/api/v1/sites", method: .get, headers: bearer(token))
                #expect((sites.json["items"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["VIE-1"])
            }
            for role in [Role.researcher, .admin] {
                let session = try await signIn(client, try #require(f.emails[role]))
                let list = try await client.execute(uri: "/api/v1/patients", method: .get, headers: session.headers)
                #expect(list.status == .forbidden)
                #expect(list.headers[.contentType] == "application/problem+json")
                #expect(try await client.execute(uri: "/api/v1/patients/\(f.patientA.id.lowercasedID)", method: .get, headers: session.headers).status == .forbidden)
                #expect(try await client.execute(uri: "/api/v1/episodes/\(f.episodeA.id.lowercasedID)", method: .get, headers: session.headers).status == .forbidden)
                let page = try await client.execute(uri: "/patients", method: .get, headers: session.headers)
                #expect(page.status == .forbidden)
                #expect(page.text.contains("<h1>Forbidden</h1>"))
                #expect(page.text.contains("Sign out"))  // the refusal keeps the signed-in layout
                let home = try await client.execute(uri: "/", method: .get, headers: session.headers)
                if role == .researcher {
                    // Researchers start on registry analytics (de-identified aggregates).
                    #expect(home.status == .seeOther)
                    #expect(home.headers[.location] == "/analytics")
                } else {
                    #expect(home.status == .ok)
                    #expect(!home.text.contains("href=\"/patients\""))
                }
                #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: session.headers).status == .ok)
            }
            let patient = try await signIn(client, try #require(f.emails[.patient]))
            let own = try await client.execute(uri: "/api/v1/patients", method: .get, headers: patient.headers)
            #expect(own.status == .ok)
            #expect((own.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [f.patientA.id.lowercasedID])
            #expect(try await client.execute(uri: "/api/v1/patients/\(f.patientA2.id.lowercasedID)", method: .get, headers: patient.headers).status == .notFound)
        }
    }

    @Test("writes: staff create and change within their sites; only clinicians change episodes")
    func writes() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let clinician = try await apiToken(client, try await signIn(client, "clinician@example.org"))
            let coordinator = try await apiToken(client, try await signIn(client, "coordinator@example.org"))
            func send(_ method: HTTPRequest.Method, _ uri: String, _ token: String, _ body: String) async throws -> TestResponse {
                var headers = bearer(token)
                headers[.contentType] = "application/json"
                return try await client.execute(uri: uri, method: method, headers: headers, body: jsonBody(body))
            }
            // Creating at a site without a grant is refused.
            let otherSite = try await send(.post, "/api/v1/patients", coordinator,
                                           #"{"siteId": "\#(f.siteB.id.lowercasedID)", "familyName": "X", "givenName": "Y", "birthDate": "1970-01-01"}"#)
            #expect(otherSite.status == .forbidden)
            let created = try await send(.post, "/api/v1/patients", coordinator,
                                         #"{"siteId": "\#(f.siteA.id.lowercasedID)", "familyName": "Berg", "givenName": "Eva", "birthDate": "1966-02-14", "sex": "female"}"#)
            #expect(created.status == .created)
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location] == "/api/v1/patients/\(id)")
            let patched = try await send(.patch, "/api/v1/patients/\(id)", coordinator, #"{"givenName": "Eva Maria"}"#)
            #expect(patched.status == .ok)
            #expect(patched.json["givenName"] as? String == "Eva Maria")
            #expect(patched.json["familyName"] as? String == "Berg")

            let episode = try await send(.post, "/api/v1/patients/\(id)/episodes", coordinator,
                                         #"{"joint": "hip", "side": "left", "diagnosis": {"type": "avascular-necrosis", "arco": "II"}}"#)
            #expect(episode.status == .created)
            let episodeID = try #require(episode.json["id"] as? String)
            #expect((episode.json["diagnosis"] as? [String: Any])?["arco"] as? String == "II")
            #expect(try await send(.patch, "/api/v1/episodes/\(episodeID)", coordinator, #"{"status": "closed"}"#).status == .forbidden)
            let closed = try await send(.patch, "/api/v1/episodes/\(episodeID)", clinician, #"{"status": "closed", "lastContactDate": "2026-11-01"}"#)
            #expect(closed.status == .ok)
            #expect(closed.json["status"] as? String == "closed")
            let list = try await client.execute(uri: "/api/v1/patients/\(id)/episodes", method: .get, headers: bearer(clinician))
            #expect(list.json["total"] as? Int == 1)
            // Other-site records cannot be changed either.
            #expect(try await send(.patch, "/api/v1/patients/\(f.patientB.id.lowercasedID)", clinician, #"{"givenName": "Z"}"#).status == .notFound)
        }
    }

    @Test("search, site filter and paging on the patient list")
    func search() async throws {
        try await withServer { server, client in
            let token = try await apiToken(client, try await signIn(client, "clinician@example.org"))
            let found = try await client.execute(uri: "/api/v1/patients?q=muller", method: .get, headers: bearer(token))
            #expect((found.json["items"] as? [[String: Any]])?.compactMap { $0["familyName"] as? String } == ["Müller"])
            let paged = try await client.execute(uri: "/api/v1/patients?limit=1&offset=1", method: .get, headers: bearer(token))
            #expect(paged.json["total"] as? Int == 2)
            #expect((paged.json["items"] as? [[String: Any]])?.compactMap { $0["familyName"] as? String } == ["Novak"])
            let site = try await client.execute(uri: "/api/v1/patients?site=\(server.fixture.siteB.id.lowercasedID)", method: .get, headers: bearer(token))
            #expect(site.json["total"] as? Int == 0)
        }
    }

    @Test("API tokens: own tokens only, admins for anyone, revocation takes effect at once")
    func tokens() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let session = try await signIn(client, "clinician@example.org")
            let token = try await apiToken(client, session, name: "lab import")
            let me = try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(token))
            #expect(me.json["authenticatedBy"] as? String == "api-token")
            #expect(me.json["csrfToken"] == nil)
            let list = try await client.execute(uri: "/api/v1/tokens", method: .get, headers: bearer(token))
            let items = try #require(list.json["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(!list.text.contains(token))
            // Stored hashed.
            let stored = try await APITokenModel.query(on: f.store.database.fluent()).all()
            #expect(stored.map(\.tokenHash) == [SessionRepository.hash(token)])

            var json = bearer(token)
            json[.contentType] = "application/json"
            let forOther = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: json,
                                                    body: jsonBody(#"{"name": "x", "userId": "\#(try #require(f.userIDs[.coordinator]).lowercasedID)"}"#))
            #expect(forOther.status == .forbidden)
            let admin = try await apiToken(client, try await signIn(client, "admin@example.org"))
            var adminJSON = bearer(admin)
            adminJSON[.contentType] = "application/json"
            let byAdmin = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: adminJSON,
                                                   body: jsonBody(#"{"name": "sync", "userId": "\#(try #require(f.userIDs[.coordinator]).lowercasedID)"}"#))
            #expect(byAdmin.status == .created)

            let id = try #require(items.first?["id"] as? String)
            let revoked = try await client.execute(uri: "/api/v1/tokens/\(id)", method: .delete, headers: bearer(token))
            #expect(revoked.status == .ok)
            #expect(revoked.json["revokedAt"] is String)
            let after = try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(token))
            #expect(after.status == .unauthorized)
            #expect(after.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer("ossa_made-up")).status == .unauthorized)
        }
    }

    @Test("pages: clinicians see their patients with episode links and the episode page; other sites are 404")
    func pages() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let session = try await signIn(client, "clinician@example.org")
            let list = try await client.execute(uri: "/patients?q=nov", method: .get, headers: session.headers)
            #expect(list.status == .ok)
            #expect(list.text.contains("Novak, Petr"))
            #expect(!list.text.contains("Müller"))
            let page = try await client.execute(uri: "/episodes/\(f.episodeA.id.lowercasedID)", method: .get, headers: session.headers)
            #expect(page.status == .ok)
            #expect(page.text.contains("osteoarthritis (KL 3, Ahlbäck II)"))
            let other = try await client.execute(uri: "/episodes/\(f.episodeB.id.lowercasedID)", method: .get, headers: session.headers)
            #expect(other.status == .notFound)
            #expect(other.headers[.contentType] == "text/html; charset=utf-8")
            #expect(!other.text.contains("Rossi"))
            // Staff start on their worklist.
            let home = try await client.execute(uri: "/", method: .get, headers: session.headers)
            #expect(home.status == .ok)
            #expect(home.text.contains("<h1>Worklist</h1>"))
            let anonymous = try await client.execute(uri: "/patients", method: .get)
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/login")
        }
    }
}
