import Foundation
import Hummingbird
import HummingbirdTesting
@testable import OssaStore
@testable import OssaWeb
import Testing

@Suite("Sign-in, sessions, CSRF and throttling")
struct AuthTests {
    @Test("sign-in sets an HttpOnly, SameSite session cookie and a new id each time", arguments: Engine.available)
    func loginSuccess(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let response = try await postLogin(client, email: "clinician@example.org", password: testPassword)
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/")
            let header = try #require(response.setCookies.first { $0.hasPrefix("ossa_session=") })
            #expect(header.contains("HttpOnly"))
            #expect(header.contains("SameSite=Lax"))
            #expect(header.contains("Path=/"))
            #expect(header.contains("Max-Age=43200"))
            #expect(!header.contains("Secure"))
            let first = try #require(response.cookie(named: "ossa_session"))
            // The database holds only the hash of the cookie value.
            let sessions = try await SessionModel.query(on: server.fixture.store.database.fluent()).all()
            #expect(sessions.count == 1)
            #expect(sessions[0].tokenHash == SessionRepository.hash(first))
            #expect(sessions[0].tokenHash != first)

            let again = try await postLogin(client, email: "clinician@example.org", password: testPassword)
            #expect(try #require(again.cookie(named: "ossa_session")) != first)

            let page = try await client.execute(uri: "/patients", method: .get, headers: [.cookie: "ossa_session=\(first)"])
            #expect(page.status == .ok)
        }
    }

    @Test("behind TLS the cookie is Secure with the __Host- prefix and HSTS is sent")
    func secureCookie() async throws {
        try await withServer(configuration: testConfiguration { $0.behindTLS = true }) { _, client in
            let response = try await postLogin(client, email: "clinician@example.org", password: testPassword,
                                               loginCookieName: "__Host-ossa_login")
            #expect(response.status == .seeOther)
            let header = try #require(response.setCookies.first { $0.hasPrefix("__Host-ossa_session=") })
            #expect(header.contains("Secure"))
            #expect(header.contains("HttpOnly"))
            #expect(response.headers[.strictTransportSecurity] != nil)
        }
    }

    @Test("a wrong password, an unknown account and a disabled account all fail alike")
    func loginFailure() async throws {
        try await withServer { server, client in
            for (email, password) in [("clinician@example.org", "wrong password!!"), ("nobody@example.org", testPassword)] {
                let response = try await postLogin(client, email: email, password: password)
                #expect(response.status == .unauthorized)
                #expect(response.text.contains("The e-mail address or password is not correct."))
                #expect(response.cookie(named: "ossa_session") == nil)
            }
            try await Accounts.disableUser(store: server.fixture.store, actor: server.fixture.admin,
                                           userID: try #require(server.fixture.userIDs[.coordinator]))
            let disabled = try await postLogin(client, email: "coordinator@example.org", password: testPassword)
            #expect(disabled.status == .unauthorized)
        }
    }

    @Test("a sign-in form with a field left empty comes back 422 with the error summary, inline errors and the e-mail kept")
    func loginFormRefused() async throws {
        try await withServer { _, client in
            let form = try await client.execute(uri: "/login", method: .get)
            let token = try #require(form.cookie(named: "ossa_login"))
            var headers = formHeaders
            headers[.cookie] = "ossa_login=\(token)"
            let empty = try await client.execute(uri: "/login", method: .post, headers: headers,
                                                 body: formBody([("_csrf", token), ("email", "clinician@example.org"), ("password", "")]))
            #expect(empty.status == .unprocessableContent)
            #expect(empty.text.contains("<title>Error: Sign in · Ossa</title>"))
            #expect(empty.text.contains(##"<a href="#password">Enter your password</a>"##))
            #expect(empty.text.contains(#"id="password-error""#))
            #expect(empty.text.contains(#"value="clinician@example.org""#))
            #expect(empty.cookie(named: "ossa_session") == nil)
            // A field sent twice is refused, not "the last one wins".
            let token2 = try #require(empty.cookie(named: "ossa_login"))
            headers[.cookie] = "ossa_login=\(token2)"
            let twice = try await client.execute(uri: "/login", method: .post, headers: headers, body: formBody([
                ("_csrf", token2), ("email", "nobody@example.org"), ("email", "clinician@example.org"), ("password", testPassword)]))
            #expect(twice.status == .unprocessableContent)
            #expect(twice.text.contains("email was sent more than once"))
            #expect(twice.cookie(named: "ossa_session") == nil)
        }
    }

    @Test("the login form refuses a post without its CSRF token")
    func loginCSRF() async throws {
        try await withServer { _, client in
            let response = try await client.execute(uri: "/login", method: .post, headers: formHeaders,
                                                    body: formBody([("email", "clinician@example.org"), ("password", testPassword)]))
            #expect(response.status == .forbidden)
            #expect(response.cookie(named: "ossa_session") == nil)
        }
    }

    @Test("five failures lock the account for 15 minutes with 429 and Retry-After, even for the right password")
    func throttlePerAccount() async throws {
        try await withServer { server, client in
            for attempt in 1...5 {
                let response = try await postLogin(client, email: "clinician@example.org", password: "wrong password \(attempt)",
                                                   address: "198.51.100.\(attempt)")
                #expect(response.status == .unauthorized)
            }
            let blocked = try await postLogin(client, email: "clinician@example.org", password: testPassword, address: "198.51.100.9")
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.headers[.retryAfter] == "900")
            #expect(blocked.text.contains("Too many failed sign-in attempts"))
            #expect(blocked.text.contains("try again in 15 minute(s)"))
            // Another account is not affected.
            #expect(try await postLogin(client, email: "coordinator@example.org", password: testPassword).status == .seeOther)
            server.clock.advance(15 * 60 + 1)
            #expect(try await postLogin(client, email: "clinician@example.org", password: testPassword).status == .seeOther)
        }
    }

    @Test("failures from one address across accounts are throttled per address")
    func throttlePerAddress() async throws {
        let configuration = testConfiguration { $0.loginThrottle = LoginThrottlePolicy(maxFailuresPerAccount: 5, maxFailuresPerAddress: 5) }
        try await withServer(configuration: configuration) { _, client in
            for attempt in 1...5 {
                let response = try await postLogin(client, email: "user\(attempt)@example.org", password: "wrong password x",
                                                   address: "203.0.113.7")
                #expect(response.status == .unauthorized)
            }
            let blocked = try await postLogin(client, email: "clinician@example.org", password: testPassword, address: "203.0.113.7")
            #expect(blocked.status == .tooManyRequests)
            #expect(try await postLogin(client, email: "clinician@example.org", password: testPassword, address: "203.0.113.8").status == .seeOther)
        }
    }

    @Test("logout needs the CSRF token, deletes the session and clears the cookie", arguments: Engine.available)
    func logout(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let session = try await signIn(client, "clinician@example.org")
            var headers = session.headers
            headers[.contentType] = "application/x-www-form-urlencoded"
            let refused = try await client.execute(uri: "/logout", method: .post, headers: headers, body: formBody([("_csrf", "forged")]))
            #expect(refused.status == .forbidden)

            let response = try await client.execute(uri: "/logout", method: .post, headers: headers, body: formBody([("_csrf", session.csrf)]))
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/login")
            #expect(response.setCookies.contains { $0.hasPrefix("ossa_session=;") && $0.contains("Max-Age=0") })
            let userID = try #require(server.fixture.userIDs[.clinician])
            #expect(try await server.fixture.store.sessions.count(userID: userID) == 0)
            let after = try await client.execute(uri: "/patients", method: .get, headers: session.headers)
            #expect(after.status == .seeOther)
            #expect(after.headers[.location] == "/login")

            // Sign-in and sign-out are in the audit log: who, as what, which session.
            let entries = try await server.fixture.store.audit.entries(as: server.fixture.admin, limit: 10_000)
                .filter { $0.recordType == "session" && $0.actorUserID == userID.lowercasedID }
            #expect(entries.map(\.action) == ["sign-in", "sign-out"])
            #expect(entries.allSatisfy { $0.actorRole == "clinician" })
            #expect(entries.first?.recordID != nil && entries.first?.recordID == entries.last?.recordID)
        }
    }

    @Test("a session ends after the idle timeout")
    func idleTimeout() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            server.clock.advance(29 * 60)
            #expect(try await client.execute(uri: "/patients", method: .get, headers: session.headers).status == .ok)
            server.clock.advance(29 * 60)  // active 29 minutes ago: still alive
            #expect(try await client.execute(uri: "/patients", method: .get, headers: session.headers).status == .ok)
            server.clock.advance(31 * 60)
            let expired = try await client.execute(uri: "/patients", method: .get, headers: session.headers)
            #expect(expired.status == .seeOther)
            let api = try await client.execute(uri: "/api/v1/me", method: .get, headers: session.headers)
            #expect(api.status == .unauthorized)
        }
    }

    @Test("a session ends at the absolute timeout however active it is")
    func absoluteTimeout() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            for _ in 0..<35 {  // 35 × 20 minutes = 11 h 40 min of activity
                server.clock.advance(20 * 60)
                #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: session.headers).status == .ok)
            }
            server.clock.advance(21 * 60)
            #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: session.headers).status == .unauthorized)
        }
    }

    @Test("periodic clean-up removes dead sessions and old login failures only", arguments: Engine.available)
    func purge(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let store = server.fixture.store
            let clinician = try #require(server.fixture.userIDs[.clinician])
            _ = try await signIn(client, "clinician@example.org")
            _ = try await postLogin(client, email: "clinician@example.org", password: "wrong password 1")
            server.clock.advance(20 * 60)
            _ = try await signIn(client, "clinician@example.org")
            let idle = server.configuration.sessionIdleTimeout
            #expect(try await store.sessions.purgeExpired(now: server.clock.now, idleTimeout: idle) == 0)
            server.clock.advance(15 * 60)  // the first session is now idle for 35 minutes, the second for 15
            #expect(try await store.sessions.purgeExpired(now: server.clock.now, idleTimeout: idle) == 1)
            #expect(try await store.sessions.count(userID: clinician) == 1)
            try await store.loginThrottle.purge(now: server.clock.now, policy: server.configuration.loginThrottle)
            let failures = try await LoginFailureModel.query(on: store.database.fluent()).count()
            #expect(failures == 0)
        }
    }

    @Test("cookie-authenticated API writes need X-CSRF-Token; token-authenticated ones do not")
    func apiCSRF() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let body = #"{"siteId": "\#(server.fixture.siteA.id.uuidString)", "familyName": "Berg", "givenName": "Eva", "birthDate": "1966-02-14"}"#
            var headers = session.headers
            headers[.contentType] = "application/json"
            let refused = try await client.execute(uri: "/api/v1/patients", method: .post, headers: headers, body: jsonBody(body))
            #expect(refused.status == .forbidden)
            #expect(refused.json["type"] as? String == "/problems/csrf")
            headers[.init("X-CSRF-Token")!] = "wrong"
            #expect(try await client.execute(uri: "/api/v1/patients", method: .post, headers: headers, body: jsonBody(body)).status == .forbidden)
            headers[.init("X-CSRF-Token")!] = session.csrf
            #expect(try await client.execute(uri: "/api/v1/patients", method: .post, headers: headers, body: jsonBody(body)).status == .created)

            let token = try await apiToken(client, session)
            var tokenHeaders = bearer(token)
            tokenHeaders[.contentType] = "application/json"
            let viaToken = try await client.execute(uri: "/api/v1/patients", method: .post, headers: tokenHeaders,
                                                    body: jsonBody(body.replacingOccurrences(of: "Eva", with: "Ida")))
            #expect(viaToken.status == .created)
        }
    }

    @Test("account functions for the command line: add, passwd, disable")
    func accountFunctions() async throws {
        try await withServer { server, client in
            let store = server.fixture.store
            #expect(throws: Accounts.PasswordError.self) {
                _ = try Accounts.hashPassword("short", cost: 4)
            }
            let user = try await Accounts.addUser(store: store, actor: server.fixture.admin, email: "New.User@Example.org",
                                                  displayName: "New User", role: .coordinator, password: "first password 1",
                                                  sites: [server.fixture.siteA.id], cost: 4)
            #expect(try await Accounts.findUser(store: store, actor: server.fixture.admin, email: "new.user@example.org")?.id == user.id)
            let session = try await signIn(client, "new.user@example.org", password: "first password 1")
            try await Accounts.setPassword(store: store, actor: server.fixture.admin, userID: user.id, password: "second password 2", cost: 4)
            // The password change signed the user out everywhere.
            #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: session.headers).status == .unauthorized)
            #expect(try await postLogin(client, email: "new.user@example.org", password: "first password 1").status == .unauthorized)
            let again = try await signIn(client, "new.user@example.org", password: "second password 2")
            let token = try await apiToken(client, again)
            #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(token)).status == .ok)

            try await Accounts.disableUser(store: store, actor: server.fixture.admin, userID: user.id)
            #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: again.headers).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(token)).status == .unauthorized)
            #expect(try await postLogin(client, email: "new.user@example.org", password: "second password 2").status == .unauthorized)
        }
    }
}
