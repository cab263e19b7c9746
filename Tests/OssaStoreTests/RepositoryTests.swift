import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

@Suite("Repositories")
struct RepositoryTests {
    @Test(arguments: Engine.available)
    func nameSearchIgnoresCaseAndAccentsAndEscapesWildcards(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            for (family, given) in [("Müller-Lüdenscheidt", "Ida"), ("MULLER", "Otto"), ("100% Fake", "Under_Score")] {
                _ = try await store.patients.create(clinician, NewPatient(siteID: f.siteA.id, familyName: family, givenName: given,
                                                                          birthDate: date("1960-06-06")))
            }
            func names(_ term: String) async throws -> [String] {
                try await store.patients.list(clinician, PageRequest(search: term)).items.map { "\($0.familyName) \($0.givenName)" }
            }
            #expect(try await names("muller") == ["MULLER Otto", "Müller Anna", "Müller-Lüdenscheidt Ida"])
            #expect(try await names("  MÜLLER   anna ") == ["Müller Anna"])
            #expect(try await names("%") == ["100% Fake Under_Score"])
            #expect(try await names("e_u").isEmpty) // "_" is literal: "fake under" does not match
            #expect(try await names("under_") == ["100% Fake Under_Score"])
            // The other site's Rossi is never found by a site-A user.
            #expect(try await names("rossi").isEmpty)
            #expect(try await store.patients.list(f.seeder, PageRequest(search: "rossi")).items.map(\.id) == [f.patientB.id])
        }
    }

    @Test(arguments: Engine.available)
    func pagingIsStableAndCounted(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            for i in 0..<23 {
                _ = try await store.patients.create(clinician, NewPatient(siteID: f.siteA.id, familyName: String(format: "Page%02d", i),
                                                                          givenName: "P", birthDate: date("1950-01-01")))
            }
            var seen: [UUID] = []
            var offset = 0
            while true {
                let page = try await store.patients.list(clinician, PageRequest(limit: 10, offset: offset, search: "page"))
                #expect(page.total == 23)
                seen += page.items.map(\.id)
                if page.items.count < 10 { break }
                offset += 10
            }
            #expect(seen.count == 23 && Set(seen).count == 23)
            await #expect(throws: StoreError.invalid(field: "limit", message: "0 is not 1–500")) {
                _ = try await store.patients.list(clinician, PageRequest(limit: 0))
            }
            await #expect(throws: StoreError.invalid(field: "offset", message: "-1 is negative")) {
                _ = try await store.patients.list(clinician, PageRequest(offset: -1))
            }
        }
    }

    @Test(arguments: Engine.available)
    func patientAndEpisodeRoundTrip(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let patient = try await store.patients.update(clinician, f.patientA.id,
                                                          PatientChanges(familyName: "Meier", birthDate: date("1962-04-03"), email: "a@example.org"))
            #expect(patient.familyName == "Meier" && patient.givenName == "Anna" && patient.birthDate == date("1962-04-03"))
            #expect(try await store.patients.list(clinician, PageRequest(search: "meier")).items.map(\.id) == [f.patientA.id])

            let diagnosis = Diagnosis.osteoarthritis(OAGrading(kellgrenLawrence: .grade3))
            let episode = try await store.episodes.update(clinician, f.episodeA.id,
                                                          EpisodeChanges(diagnosis: diagnosis, status: .closed, lastContactDate: date("2026-05-01")))
            let read = try await store.episodes.get(clinician, f.episodeA.id)
            #expect(read.id == episode.id && read.diagnosis == episode.diagnosis && read.lastContactDate == episode.lastContactDate)
            #expect(read.diagnosis == diagnosis && read.status == .closed && read.joint == .knee && read.side == .left)
            #expect(try await store.episodes.list(clinician, patient: f.patientA.id).items.map(\.id) == [f.episodeA.id])
        }
    }

    @Test(arguments: Engine.available)
    func badInputIsRefusedByField(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            await #expect(throws: StoreError.invalid(field: "familyName", message: "must not be empty")) {
                _ = try await store.patients.create(clinician, NewPatient(siteID: f.siteA.id, familyName: "  ", givenName: "X",
                                                                          birthDate: date("1960-01-01")))
            }
            await #expect(throws: StoreError.conflict("a patient with MRN A-1 already exists at this site")) {
                _ = try await store.patients.create(clinician, NewPatient(siteID: f.siteA.id, mrn: "A-1", familyName: "Y", givenName: "X",
                                                                          birthDate: date("1960-01-01")))
            }
            // Ahlbäck grading is for the knee: a hip episode refuses it, naming the field.
            await #expect(throws: StoreError.self) {
                _ = try await store.episodes.create(clinician, NewEpisode(patientID: f.patientA.id, joint: .hip, side: .left,
                                                                          diagnosis: .osteoarthritis(OAGrading(ahlback: .III))))
            }
            await #expect(throws: StoreError.invalid(field: "email", message: "\"not-an-address\" is not an e-mail address")) {
                _ = try await store.users.create(f.admin, NewUser(email: "not-an-address", displayName: "X", role: .clinician))
            }
            await #expect(throws: StoreError.self) {
                _ = try await store.users.create(f.admin, NewUser(email: "p@example.org", displayName: "P", role: .patient))
            }
            await #expect(throws: StoreError.self) {
                _ = try await store.users.create(f.admin, NewUser(email: "h@example.org", displayName: "H", role: .clinician,
                                                                 passwordHash: "plaintext"))
            }
            let bcrypt = "$2b$12$" + String(repeating: "a", count: 53)
            let user = try await store.users.create(f.admin, NewUser(email: "H@Example.org", displayName: "H", role: .clinician, passwordHash: bcrypt))
            #expect(user.email == "h@example.org" && user.hasPassword)
            await #expect(throws: StoreError.conflict("a user with e-mail h@example.org already exists")) {
                _ = try await store.users.create(f.admin, NewUser(email: "h@example.org", displayName: "H2", role: .coordinator))
            }
            await #expect(throws: StoreError.self) {
                _ = try await store.users.createFirstAdmin(email: "second@example.org", displayName: "Second")
            }
        }
    }

    @Test(arguments: Engine.available)
    func bulkInsertCommitsChunkByChunk(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let before = try await auditEntries(store).count
            let now = Date()
            let rows: [[any Encodable & Sendable]] = (0..<1234).map { i in [UUID(), "S\(i)", "Bulk site \(i)", now] }
            let bulk = BulkInsert(into: "sites", columns: ["id", "code", "name", "created_at"], chunkSize: 500)
            #expect(try await bulk.run(rows, as: f.admin, on: store.database) == 1234)
            #expect(try await store.sites.list(f.admin, PageRequest(limit: 1)).total == 1236)
            // Fluent reads what SQLKit wrote.
            #expect(try await store.sites.list(f.admin, PageRequest(search: "bulk site 1233")).items.map(\.code) == ["S1233"])
            let entries = try await auditEntries(store).dropFirst(before)
            #expect(entries.map(\.recordID) == ["sites:500", "sites:500", "sites:234"])

            // A duplicate code in the second chunk: the first chunk stays, the second rolls back whole.
            let more: [[any Encodable & Sendable]] = (0..<20).map { i in [UUID(), i == 15 ? "S0" : "T\(i)", "More \(i)", now] }
            do {
                try await BulkInsert(into: "sites", columns: ["id", "code", "name", "created_at"], chunkSize: 10)
                    .run(more, as: f.admin, on: store.database)
                Issue.record("duplicate code accepted")
            } catch let error as BulkInsertError {
                #expect(error.committedRows == 10 && error.failedChunkStart == 10)
            }
            #expect(try await store.sites.list(f.admin, PageRequest(limit: 1)).total == 1246)
            #expect(try await AuditVerifier.verify(store.database).isIntact)
        }
    }
}
