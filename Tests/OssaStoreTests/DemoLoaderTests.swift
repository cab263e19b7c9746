import Foundation
import OssaCore
import OssaDemo
@testable import OssaStore
import SQLKit
import Testing

@Suite("Demo loader")
struct DemoLoaderTests {
    static let start = try! CalendarDate(iso: "2021-06-01")

    /// What the generator produced for patients 0..<n, counted independently of the loader.
    struct Expected: Equatable {
        var patients = 0, episodes = 0, screenings = 0, studies = 0, findings = 0, procedures = 0, injections = 0
        var timepoints = 0, responses = 0, outcomes = 0
        init(_ records: [DemoPatientRecord]) {
            patients = records.count
            for record in records {
                for demo in record.episodes {
                    episodes += 1
                    screenings += demo.screenings.count
                    studies += demo.episode.imaging.count
                    findings += demo.episode.imaging.reduce(0) { $0 + $1.bml.count }
                    procedures += demo.episode.procedures.count
                    injections += demo.episode.procedures.reduce(0) { $0 + $1.injections.count }
                    timepoints += demo.schedule?.timepoints.count ?? 0
                    responses += demo.responses.count
                    outcomes += demo.episode.outcomes.count
                }
            }
        }
    }

    func counts(_ store: OssaStore) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for table in ["sites", "users", "site_grants", "patients", "episodes", "screening_decisions", "imaging_studies", "subregion_findings",
                      "procedures", "injections", "follow_up_timepoints", "questionnaire_responses", "outcome_events"] {
            out[table] = try await count(table, in: store)
        }
        return out
    }

    @Test(arguments: Engine.available)
    func loadsTheGeneratedRegistry(engine: Engine) async throws {
        try await withStore(engine) { store in
            let registry = try DemoRegistry(seed: 11, startDate: Self.start)
            let expected = Expected(try registry.patients(0..<30))
            let steps = StepRecorder()
            var loader = store.demoLoader
            loader.chunkSize = 12
            let summary = try await loader.load(registry, patients: 30) { done, total in steps.append(done, total) }
            #expect(steps.values == [[12, 30], [24, 30], [30, 30]])
            let c = try await counts(store)
            #expect(c["sites"] == registry.sites.count && c["users"] == registry.users.count)
            #expect(c["site_grants"] == registry.users.reduce(0) { $0 + $1.siteIds.count })
            #expect(c["patients"] == 30 && c["episodes"] == expected.episodes)
            #expect(c["screening_decisions"] == expected.screenings && c["imaging_studies"] == expected.studies)
            #expect(c["subregion_findings"] == expected.findings && c["procedures"] == expected.procedures)
            #expect(c["injections"] == expected.injections && c["follow_up_timepoints"] == expected.timepoints)
            #expect(c["questionnaire_responses"] == expected.responses && c["outcome_events"] == expected.outcomes)
            #expect(expected.responses > 0 && expected.procedures > 0 && expected.findings > 0)
            #expect(summary.rows == c.values.reduce(0, +))
            #expect(summary.patients == 30 && summary.questionnaireResponses == expected.responses)

            // One audit entry for sites and users, one per chunk; the chain verifies.
            let entries = try await auditEntries(store)
            #expect(entries.map(\.recordType) == Array(repeating: "bulk-insert", count: 4))
            #expect(entries.allSatisfy { $0.actorUserID == summary.adminUserID.lowerString && $0.actorRole == "admin" })
            #expect(try await AuditVerifier.verify(store.database).isIntact)

            // The generator's latent truth is not stored anywhere.
            for table in ["episodes", "screening_decisions", "imaging_studies", "questionnaire_responses"] {
                let rows = try await store.database.sql().raw("SELECT * FROM \(ident: table)").all()
                for row in rows.prefix(50) {
                    for column in row.allColumns {
                        if let text = try? row.decode(column: column, as: String.self) {
                            #expect(!text.contains("replacementHazardRatio") && !text.contains("\"responder\""), "\(table).\(column)")
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: Engine.available)
    func loadedDataReadsBackThroughTheRepositories(engine: Engine) async throws {
        try await withStore(engine) { store in
            let registry = try DemoRegistry(seed: 5, startDate: Self.start)
            let summary = try await store.demoLoader.load(registry, patients: 12)
            // Users have no password; a clinician sees the patients of their one site.
            let clinicianInfo = try #require(summary.loadedUsers.first { $0.role == .clinician })
            #expect(clinicianInfo.siteIDs.count == 1)
            let admin = try await store.users.actingUser(summary.adminUserID, from: nil)
            #expect(try await store.users.get(admin, clinicianInfo.id).hasPassword == false)
            let clinician = try await store.users.actingUser(clinicianInfo.id, from: "127.0.0.1")
            let records = try registry.patients(0..<12)
            let siteCode = try #require(registry.sites.first { DemoLoader.uuid(seed: 5, $0.id) == clinicianInfo.siteIDs[0] })
            let mine = records.filter { $0.patient.siteId == siteCode.id }
            let page = try await store.patients.list(clinician, PageRequest(limit: 100))
            #expect(Set(page.items.map(\.mrn)) == Set(mine.map { Optional($0.patient.mrn) }))
            #expect(page.items.allSatisfy { $0.siteID == clinicianInfo.siteIDs[0] })

            // A response's stored scores are the instrument's scores of the generated answers.
            let responses = try await store.questionnaires.list(clinician, QuestionnaireFilter(instrumentID: "koos"), PageRequest(limit: 500))
            let response = try #require(responses.items.first)
            let expected = try InstrumentLibrary.builtIn().require(id: "koos").score(response.answers)
            #expect(response.scores.map(\.value) == expected.scores.map(\.value))
            #expect(response.source == .import)
            // Completed timepoints carry their response.
            if let tp = response.timepointID { #expect(try await store.timepoints.get(clinician, tp).status == .completed) }
            // Episodes were opened when the clinic first saw them, not when the demo was loaded.
            let episodes = try await store.episodes.list(clinician, PageRequest(limit: 500)).items
            let mineEpisodes = mine.flatMap(\.episodes)
            #expect(episodes.count == mineEpisodes.count)
            let firstSeen = Set(mineEpisodes.compactMap { demo in
                (demo.screenings.map(\.decision.evaluationDate) + demo.episode.imaging.map(\.date) + demo.episode.procedures.map(\.date)).min()?.iso
            })
            for episode in episodes {
                let opened = try #require(episode.createdAt)
                #expect(firstSeen.contains(String(opened.formatted(.iso8601).prefix(10))), "episode opened \(opened)")
                #expect(opened < Date().addingTimeInterval(-86_400))
            }
            // Procedures read back with their injections and operator.
            let procedures = try await store.procedures.list(clinician, ProcedureFilter(), PageRequest(limit: 500))
            if let procedure = procedures.items.first {
                #expect(!procedure.record.injections.isEmpty && procedure.signedBy != nil)
                #expect(summary.loadedUsers.contains { $0.displayName == procedure.record.operator_ })
            }
        }
    }

    @Test(arguments: Engine.available)
    func refusesANonEmptyDatabase(engine: Engine) async throws {
        try await withStore(engine) { store in
            let registry = try DemoRegistry(seed: 3, startDate: Self.start)
            _ = try await store.demoLoader.load(registry, patients: 5)
            let before = try await counts(store)
            do {
                _ = try await store.demoLoader.load(registry, patients: 5)
                Issue.record("a second load was accepted")
            } catch let error as DemoLoadError {
                #expect(error.description.contains("loads only into an empty database"))
            }
            #expect(try await counts(store) == before)
        }
    }

    @Test(arguments: Engine.available)
    func aFailureMidwayLeavesNothingInOneTransaction(engine: Engine) async throws {
        try await withStore(engine) { store in
            var loader = store.demoLoader
            loader.chunkSize = 4
            loader.failAfterChunks = 2
            let registry = try DemoRegistry(seed: 9, startDate: Self.start)
            let configured = loader
            await #expect(throws: DemoInjectedFailure.self) {
                _ = try await configured.load(registry, patients: 12)
            }
            let after = try await counts(store)
            #expect(after.values.allSatisfy { $0 == 0 })
            let entries = try await auditEntries(store)
            #expect(entries.isEmpty)
            let verification = try await AuditVerifier.verify(store.database)
            #expect(verification.isIntact)
        }
    }

    @Test(arguments: Engine.available)
    func aFailureMidwayOfAChunkedLoadIsRemovedAgain(engine: Engine) async throws {
        try await withStore(engine) { store in
            var loader = store.demoLoader
            loader.chunkSize = 4
            loader.singleTransactionLimit = 0
            loader.failAfterChunks = 2
            do {
                _ = try await loader.load(try DemoRegistry(seed: 9, startDate: Self.start), patients: 12)
                Issue.record("the injected failure did not surface")
            } catch let DemoLoadError.failed(_, removed) {
                #expect(removed)
            }
            #expect(try await counts(store).values.allSatisfy { $0 == 0 })
            // Committed chunks stay in the (append-only) log, followed by the removal.
            let entries = try await auditEntries(store)
            #expect(entries.map(\.action) == ["create", "create", "create", "delete"])
            #expect(try await AuditVerifier.verify(store.database).isIntact)
            // The database is empty again, so a new load is accepted.
            let summary = try await store.demoLoader.load(try DemoRegistry(seed: 9, startDate: Self.start), patients: 6)
            #expect(summary.patients == 6)
        }
    }

    @Test func demoIDsAreStableAndDistinct() {
        let a = DemoLoader.uuid(seed: 1, "site-lis"), b = DemoLoader.uuid(seed: 1, "site-lis"), c = DemoLoader.uuid(seed: 2, "site-lis")
        #expect(a == b)
        #expect(a != c)
        #expect(Array(a.uuidString)[14] == "8")
    }
}

/// Collects progress callbacks (called from the loader's task).
final class StepRecorder: Sendable {
    private let box = LockedBox<[[Int]]>([])
    func append(_ done: Int, _ total: Int) { box.mutate { $0.append([done, total]) } }
    var values: [[Int]] { box.value }
}

final class LockedBox<T: Sendable>: @unchecked Sendable {
    private var stored: T
    private let lock = NSLock()
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ body: (inout T) -> Void) { lock.lock(); defer { lock.unlock() }; body(&stored) }
}
