import Foundation
import OssaCore
@testable import OssaStore
import Testing

/// What a call should do.
enum Expected: String, Sendable, CustomStringConvertible {
    /// Carried out; one `ok` audit entry appended.
    case allowed
    /// `AccessDenied`; one `denied` audit entry appended.
    case denied
    /// `StoreError.notFound` (the record is outside the actor's sites); nothing appended.
    case notFound
    var description: String { rawValue }
}

enum Operation: String, CaseIterable, Sendable {
    case createPatient, readPatient, listPatients, updatePatient
    case createEpisode, readEpisode, listEpisodes, updateEpisode
}

enum Target: String, CaseIterable, Sendable {
    /// Site A (the actor's granted site; for a patient login, their own record).
    case ownSite
    /// Site B (not granted).
    case otherSite
}

/// role × operation × own/other site → expected result (AccessPolicy's table).
func expectation(_ role: Role, _ operation: Operation, _ target: Target) -> Expected {
    let own = target == .ownSite
    switch role {
    case .researcher, .admin:
        return .denied
    case .patient:
        switch operation {
        case .readPatient, .readEpisode: return own ? .allowed : .notFound
        case .listPatients, .listEpisodes: return .allowed
        case .createPatient, .updatePatient, .createEpisode, .updateEpisode: return .denied
        }
    case .coordinator, .clinician:
        switch operation {
        case .createPatient: return own ? .allowed : .denied
        case .readPatient, .updatePatient, .createEpisode, .readEpisode: return own ? .allowed : .notFound
        case .listPatients, .listEpisodes: return .allowed
        case .updateEpisode:
            if role == .coordinator { return .denied }
            return own ? .allowed : .notFound
        }
    }
}

@Suite("Access matrix: role × operation × own site / other site")
struct AccessMatrixTests {
    @Test(arguments: Engine.available, Role.allCases)
    func matrix(engine: Engine, role: Role) async throws {
        try await withStore(engine) { store in
            let fixture = try await Fixture.make(store)
            let actor = try #require(fixture.actors[role])
            for operation in Operation.allCases {
                for target in Target.allCases {
                    let expected = expectation(role, operation, target)
                    let before = try await auditEntries(store).count
                    let outcome = await run(operation, target, actor: actor, fixture: fixture)
                    let after = try await auditEntries(store)
                    let label = "\(engine) \(role) \(operation) \(target)"
                    #expect(outcome.result == expected, "\(label): expected \(expected), got \(outcome.result) \(outcome.detail)")
                    switch expected {
                    case .allowed, .denied:
                        #expect(after.count == before + 1, "\(label): expected one audit entry")
                        if let last = after.last {
                            #expect(last.actorUserID == actor.userID.uuidString.lowercased(), "\(label)")
                            #expect(last.actorRole == role.rawValue, "\(label)")
                            #expect(last.outcome == (expected == .allowed ? "ok" : "denied"), "\(label)")
                            #expect(last.fromAddress == actor.address, "\(label)")
                        }
                    case .notFound:
                        #expect(after.count == before, "\(label): nothing should be audited")
                    }
                    // Lists never show another site's records.
                    if outcome.result == .allowed, operation == .listPatients || operation == .listEpisodes {
                        #expect(outcome.siteIDs.allSatisfy { $0 == fixture.siteA.id }, "\(label): saw another site's records")
                        #expect(!outcome.siteIDs.isEmpty, "\(label): saw nothing")
                    }
                }
            }
        }
    }

    struct Outcome {
        var result: Expected
        var detail = ""
        var siteIDs: [UUID] = []
    }

    func run(_ operation: Operation, _ target: Target, actor: ActingUser, fixture f: Fixture) async -> Outcome {
        let own = target == .ownSite
        let site = own ? f.siteA : f.siteB
        let patient = own ? f.patientA : f.patientB
        let episode = own ? f.episodeA : f.episodeB
        do {
            switch operation {
            case .createPatient:
                let created = try await f.store.patients.create(actor, NewPatient(siteID: site.id, familyName: "New", givenName: "Person",
                                                                                  birthDate: date("1980-02-02")))
                return Outcome(result: created.siteID == site.id ? .allowed : .notFound, detail: "created at wrong site")
            case .readPatient:
                let read = try await f.store.patients.get(actor, patient.id)
                let same = read.id == patient.id && read.familyName == patient.familyName && read.birthDate == patient.birthDate
                    && read.siteID == patient.siteID && read.mrn == patient.mrn
                return Outcome(result: same ? .allowed : .notFound, detail: "read back differs: \(read) vs \(patient)")
            case .listPatients:
                let page = try await f.store.patients.list(actor, PageRequest(limit: 100))
                return Outcome(result: .allowed, siteIDs: page.items.map(\.siteID))
            case .updatePatient:
                let updated = try await f.store.patients.update(actor, patient.id, PatientChanges(phone: "+43 1 234"))
                return Outcome(result: updated.phone == "+43 1 234" ? .allowed : .notFound, detail: "not updated")
            case .createEpisode:
                let created = try await f.store.episodes.create(actor, NewEpisode(patientID: patient.id, joint: .knee, side: .right,
                                                                                  diagnosis: .osteoarthritis(OAGrading())))
                return Outcome(result: created.siteID == patient.siteID ? .allowed : .notFound, detail: "episode site differs")
            case .readEpisode:
                let read = try await f.store.episodes.get(actor, episode.id)
                return Outcome(result: read.id == episode.id ? .allowed : .notFound)
            case .listEpisodes:
                let page = try await f.store.episodes.list(actor)
                return Outcome(result: .allowed, siteIDs: page.items.map(\.siteID))
            case .updateEpisode:
                let updated = try await f.store.episodes.update(actor, episode.id, EpisodeChanges(lastContactDate: date("2026-03-01")))
                return Outcome(result: updated.lastContactDate == date("2026-03-01") ? .allowed : .notFound)
            }
        } catch is AccessDenied {
            return Outcome(result: .denied)
        } catch let error as StoreError {
            if case .notFound = error { return Outcome(result: .notFound) }
            return Outcome(result: .denied, detail: "unexpected \(error)")
        } catch {
            return Outcome(result: .denied, detail: "unexpected \(error)")
        }
    }

    @Test(arguments: Engine.available)
    func patientLoginSeesOnlyOwnRecordEvenAtOwnSite(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let patient = try #require(f.actors[.patient])
            await #expect(throws: StoreError.notFound(recordType: "patient", id: f.patientA2.id.uuidString.lowercased())) {
                _ = try await store.patients.get(patient, f.patientA2.id)
            }
            let page = try await store.patients.list(patient)
            #expect(page.items.map(\.id) == [f.patientA.id])
            let episodes = try await store.episodes.list(patient)
            #expect(episodes.items.map(\.id) == [f.episodeA.id])
        }
    }

    @Test(arguments: Engine.available)
    func refusalsSayWhy(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            do {
                _ = try await store.patients.get(try #require(f.actors[.researcher]), f.patientA.id)
                Issue.record("researcher read an identified chart")
            } catch let denied as AccessDenied {
                #expect(denied.description.contains("de-identified"))
            }
            do {
                _ = try await store.episodes.list(f.admin)
                Issue.record("admin listed clinical data")
            } catch let denied as AccessDenied {
                #expect(denied.description.contains("no access to clinical data"))
            }
        }
    }

    @Test(arguments: Engine.available)
    func revokingAGrantHidesTheSiteAtOnce(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            _ = try await store.patients.get(clinician, f.patientA.id)
            try await store.users.revokeSite(f.admin, user: clinician.userID, site: f.siteA.id)
            let reloaded = try await store.users.actingUser(clinician.userID, from: nil)
            #expect(reloaded.siteIDs.isEmpty)
            await #expect(throws: StoreError.self) { _ = try await store.patients.get(reloaded, f.patientA.id) }
            #expect(try await store.patients.list(reloaded).total == 0)
        }
    }

    @Test(arguments: Engine.available)
    func onlyAdminsManageSitesAndUsers(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            for role in [Role.patient, .coordinator, .clinician, .researcher] {
                let actor = try #require(f.actors[role])
                await #expect(throws: AccessDenied.self) { _ = try await store.sites.create(actor, code: "X\(role)", name: "X") }
                await #expect(throws: AccessDenied.self) {
                    _ = try await store.users.create(actor, NewUser(email: "x-\(role)@example.org", displayName: "X", role: .clinician))
                }
                await #expect(throws: AccessDenied.self) { try await store.users.grantSite(actor, user: actor.userID, site: f.siteB.id) }
                await #expect(throws: AccessDenied.self) { _ = try await store.audit.entries(as: actor) }
                // Everyone reads their own account, nobody else's.
                #expect(try await store.users.get(actor, actor.userID).id == actor.userID)
                await #expect(throws: AccessDenied.self) { _ = try await store.users.get(actor, f.admin.userID) }
            }
            // Staff see only their granted sites; admins see all.
            let coordinator = try #require(f.actors[.coordinator])
            #expect(try await store.sites.list(coordinator).items.map(\.id) == [f.siteA.id])
            await #expect(throws: StoreError.self) { _ = try await store.sites.get(coordinator, f.siteB.id) }
            #expect(try await store.sites.list(f.admin).total == 2)
            #expect(try await store.audit.entries(as: f.admin).count > 0)
        }
    }
}
