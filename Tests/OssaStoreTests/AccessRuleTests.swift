import Foundation
import OssaCore
@testable import OssaStore
import Testing

/// The store, not the routes, answers "not found" for what the caller may not see, and account operations are
/// single transactions.
@Suite("Access rules in the store")
struct AccessRuleTests {
    @Test("lists of one episode's or one patient's records are 404 for an episode or patient the caller may not see",
          arguments: Engine.available)
    func listsOfInvisibleParents(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let notFound = StoreError.notFound(recordType: "episode", id: f.episodeB.id.lowerString)
            await #expect(throws: notFound) { _ = try await store.screening.list(clinician, ScreeningFilter(episodeID: f.episodeB.id)) }
            await #expect(throws: notFound) { _ = try await store.imaging.list(clinician, ImagingFilter(episodeID: f.episodeB.id)) }
            await #expect(throws: notFound) { _ = try await store.procedures.list(clinician, ProcedureFilter(episodeID: f.episodeB.id)) }
            await #expect(throws: notFound) { _ = try await store.timepoints.list(clinician, TimepointFilter(episodeID: f.episodeB.id)) }
            await #expect(throws: notFound) { _ = try await store.outcomes.list(clinician, OutcomeFilter(episodeID: f.episodeB.id)) }
            await #expect(throws: notFound) {
                _ = try await store.questionnaires.list(clinician, QuestionnaireFilter(episodeID: f.episodeB.id))
            }
            await #expect(throws: StoreError.notFound(recordType: "patient", id: f.patientB.id.lowerString)) {
                _ = try await store.episodes.list(clinician, patient: f.patientB.id)
            }
            // A visible episode with no records is an empty list, not a 404.
            #expect(try await store.screening.list(clinician, ScreeningFilter(episodeID: f.episodeA.id)).total == 0)
            #expect(try await store.episodes.list(clinician, patient: f.patientA2.id).total == 0)
        }
    }

    @Test("creating a user with site grants is one transaction: a bad grant leaves no user", arguments: Engine.available)
    func createUserWithGrants(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let before = try await count("users", in: store)
            let grantsBefore = try await count("site_grants", in: store)
            await #expect(throws: StoreError.notFound(recordType: "site", id: "00000000-0000-0000-0000-000000000001")) {
                _ = try await store.users.create(f.admin, NewUser(email: "new@example.org", displayName: "New", role: .clinician),
                                                 sites: [f.siteA.id, UUID(uuidString: "00000000-0000-0000-0000-000000000001")!])
            }
            #expect(try await count("users", in: store) == before)
            #expect(try await count("site_grants", in: store) == grantsBefore)
            let user = try await store.users.create(f.admin, NewUser(email: "new@example.org", displayName: "New", role: .clinician),
                                                    sites: [f.siteA.id, f.siteB.id])
            #expect(try await store.users.actingUser(user.id, from: nil).siteIDs == [f.siteA.id, f.siteB.id])
        }
    }

    @Test("a new password ends the user's sessions, and disabling also revokes tokens, each in one transaction",
          arguments: Engine.available)
    func passwordAndDisable(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let now = Date()
            _ = try await store.sessions.create(userID: clinician.userID, token: "session-one", csrfToken: "c1", address: nil,
                                                now: now, expiresAt: now.addingTimeInterval(3600))
            let bcrypt = "$2b$12$" + String(repeating: "a", count: 53)
            try await store.users.setPassword(f.admin, clinician.userID, passwordHash: bcrypt)
            #expect(try await store.sessions.count(userID: clinician.userID) == 0)
            // A refused hash changes nothing.
            await #expect(throws: StoreError.self) { try await store.users.setPassword(f.admin, clinician.userID, passwordHash: "plain") }

            _ = try await store.sessions.create(userID: clinician.userID, token: "session-two", csrfToken: "c2", address: nil,
                                                now: now, expiresAt: now.addingTimeInterval(3600))
            _ = try await store.apiTokens.create(clinician, user: clinician.userID, name: "script", token: "api-token-1", now: now)
            try await store.users.disable(f.admin, clinician.userID, now: now)
            #expect(try await store.sessions.count(userID: clinician.userID) == 0)
            #expect(try await store.apiTokens.list(f.admin, user: clinician.userID).allSatisfy { $0.revokedAt != nil })
            #expect(try await store.apiTokens.authenticate(token: "api-token-1", now: now, address: nil) == nil)
            // Only admins manage accounts.
            await #expect(throws: AccessDenied.self) { try await store.users.disable(clinician, f.admin.userID, now: now) }
        }
    }
}
