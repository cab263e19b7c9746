import Foundation
import Logging
import OssaCore
@testable import OssaStore
import Testing

/// Authentication runs before every request and reuses recently checked credentials (`CredentialCache`): these
/// tests hold it to its promise that changes made through the store apply to the very next request, and that
/// another process's changes are seen within the cache's lifetime.
@Suite("Credential look-ups")
struct CredentialTests {
    @Test("token changes made through the store apply to the next request, cached or not", arguments: Engine.available)
    func tokenChangesApplyAtOnce(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            let now = Date()
            let token = try await store.apiTokens.create(f.admin, user: coordinator.userID, name: "lab feed", token: "secret-1", now: now)

            let first = try #require(try await store.apiTokens.authenticate(token: "secret-1", now: now, address: "10.1.1.1"))
            #expect(first.user.userID == coordinator.userID && first.user.role == .coordinator)
            #expect(first.user.siteIDs == [f.siteA.id])
            #expect(first.user.address == "10.1.1.1")
            // A second request from elsewhere: same account, but its own address goes to the audit log.
            let second = try #require(try await store.apiTokens.authenticate(token: "secret-1", now: now, address: "10.2.2.2"))
            #expect(second.user.address == "10.2.2.2" && second.token.id == token.id)

            try await store.users.grantSite(f.admin, user: coordinator.userID, site: f.siteB.id)
            #expect(try await store.apiTokens.authenticate(token: "secret-1", now: now, address: nil)?.user.siteIDs == [f.siteA.id, f.siteB.id])
            try await store.users.revokeSite(f.admin, user: coordinator.userID, site: f.siteA.id)
            #expect(try await store.apiTokens.authenticate(token: "secret-1", now: now, address: nil)?.user.siteIDs == [f.siteB.id])
            _ = try await store.users.update(f.admin, coordinator.userID, UserChanges(role: .clinician))
            #expect(try await store.apiTokens.authenticate(token: "secret-1", now: now, address: nil)?.user.role == .clinician)

            _ = try await store.apiTokens.revoke(f.admin, token.id, now: now)
            #expect(try await store.apiTokens.authenticate(token: "secret-1", now: now, address: nil) == nil)
            // Issued and revoked: audited under the token's own record type and id (never the secret).
            let trail = try await auditEntries(store).filter { $0.recordType == "api-token" }
            #expect(trail.map(\.action) == ["create", "revoke"])
            #expect(trail.allSatisfy { $0.recordID == token.id.uuidString.lowercased() && $0.actorUserID?.lowercased() == f.admin.userID.uuidString.lowercased() })
            #expect(try await store.apiTokens.authenticate(token: "never-issued", now: now, address: nil) == nil)
        }
    }

    @Test("an expired token is refused even while it is cached", arguments: Engine.available)
    func expiryIsCheckedOnEveryRequest(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let now = Date()
            _ = try await store.apiTokens.create(f.admin, user: clinician.userID, name: "short", token: "secret-2", now: now,
                                                 expiresAt: now.addingTimeInterval(30))
            #expect(try await store.apiTokens.authenticate(token: "secret-2", now: now, address: nil) != nil)
            #expect(try await store.apiTokens.authenticate(token: "secret-2", now: now.addingTimeInterval(31), address: nil) == nil)
        }
    }

    @Test("a disabled account's sessions stop working at once; sign-out ends the session", arguments: Engine.available)
    func sessionChangesApplyAtOnce(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let researcher = try #require(f.actors[.researcher])
            let now = Date()
            for (user, token) in [(clinician, "cookie-1"), (researcher, "cookie-2")] {
                _ = try await store.sessions.create(userID: user.userID, token: token, csrfToken: "csrf-\(token)", address: nil,
                                                    now: now, expiresAt: now.addingTimeInterval(3600))
                #expect(try await store.sessions.authenticate(token: token, now: now, idleTimeout: 600, address: nil)?.user.userID == user.userID)
            }
            _ = try await store.users.update(f.admin, clinician.userID, UserChanges(disabled: true))
            #expect(try await store.sessions.authenticate(token: "cookie-1", now: now, idleTimeout: 600, address: nil) == nil)

            try await store.sessions.delete(token: "cookie-2")
            #expect(try await store.sessions.authenticate(token: "cookie-2", now: now, idleTimeout: 600, address: nil) == nil)
        }
    }

    @Test("a session idle past its timeout is refused even while it is cached", arguments: Engine.available)
    func idleTimeoutIsCheckedOnEveryRequest(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let now = Date()
            _ = try await store.sessions.create(userID: clinician.userID, token: "cookie-3", csrfToken: "csrf", address: nil,
                                                now: now, expiresAt: now.addingTimeInterval(3600))
            #expect(try await store.sessions.authenticate(token: "cookie-3", now: now, idleTimeout: 600, address: nil) != nil)
            #expect(try await store.sessions.authenticate(token: "cookie-3", now: now.addingTimeInterval(601), idleTimeout: 600,
                                                          address: nil) == nil)
        }
    }

    @Test("another process's revocation is seen once the cache lifetime has passed; with no cache, at once")
    func otherProcessesChangesAreSeenWithinTheLifetime() async throws {
        var logger = Logger(label: "ossa.store.test")
        logger.logLevel = .warning
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-credential-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ossa.sqlite").path
        // `server` plays `ossa serve`, `cli` plays `ossa user …` run beside it on the same file.
        let server = try await OssaDatabase.open(.sqlite(path: path), logger: logger, credentialCacheLifetime: .milliseconds(300))
        let uncached = try await OssaDatabase.open(.sqlite(path: path), logger: logger, credentialCacheLifetime: .zero)
        let cli = try await OssaDatabase.open(.sqlite(path: path), logger: logger)
        do {
            try await server.migrate()
            let f = try await Fixture.make(OssaStore(database: server))
            let coordinator = try #require(f.actors[.coordinator])
            let now = Date()
            let token = try await OssaStore(database: cli).apiTokens.create(f.admin, user: coordinator.userID, name: "feed",
                                                                             token: "secret-4", now: now)
            let serverTokens = OssaStore(database: server).apiTokens
            let uncachedTokens = OssaStore(database: uncached).apiTokens
            #expect(try await serverTokens.authenticate(token: "secret-4", now: now, address: nil) != nil)
            #expect(try await uncachedTokens.authenticate(token: "secret-4", now: now, address: nil) != nil)

            let start = ContinuousClock.now
            _ = try await OssaStore(database: cli).apiTokens.revoke(f.admin, token.id, now: now)
            #expect(try await uncachedTokens.authenticate(token: "secret-4", now: now, address: nil) == nil)
            try await Task.sleep(until: start + .milliseconds(350))
            #expect(try await serverTokens.authenticate(token: "secret-4", now: now, address: nil) == nil)
        } catch {
            await server.shutdown(); await uncached.shutdown(); await cli.shutdown()
            throw error
        }
        await server.shutdown(); await uncached.shutdown(); await cli.shutdown()
    }
}
