import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// `RecordBatchRepository.apply`, which an import's thousands of creates go through: runs of patients and episodes
/// are written in multi-row inserts, and each record is still audited, linked and checked as a single create is.
@Suite("Record batches")
struct RecordBatchTests {
    static func patient(_ site: UUID, _ n: Int, mrn: String? = nil) -> RecordBatchRepository.Operation {
        .createPatient(NewPatient(siteID: site, mrn: mrn ?? "BATCH-\(n)", familyName: "Family \(n)", givenName: "Given",
                                  birthDate: date("1950-03-04"), sex: n.isMultiple(of: 2) ? .female : .male), ifNoneExist: nil)
    }

    static func episode(of operation: Int) -> RecordBatchRepository.Operation {
        .createEpisode(patient: .operation(operation), joint: .knee, side: .right, diagnosis: .boneMarrowLesion)
    }

    static func count(_ table: String, _ store: OssaStore) async throws -> Int {
        try await store.database.sql().raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()!.decode(column: "n", as: Int.self)
    }

    @Test(arguments: Engine.available)
    func manyPatientsAndEpisodesAreWrittenLinkedAndAuditedOneByOne(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let auditBefore = try await auditEntries(store).count
            // Patients then their episodes (as an import orders them), at two sites, more rows than one statement takes.
            let n = 1_200
            var operations = (0..<n).map { Self.patient($0.isMultiple(of: 3) ? f.siteB.id : f.siteA.id, $0) }
            operations += (0..<n).map { Self.episode(of: $0) }
            let outcomes = try await store.batch.apply(f.seeder, operations)
            #expect(outcomes.count == 2 * n)
            #expect(Set(outcomes.map(\.id)).count == 2 * n)

            // Every episode is its patient's, at the patient's site.
            let rows = try await store.database.sql().raw("""
                SELECT e.id AS episode, e.patient_id AS patient, e.site_id AS episode_site, p.site_id AS patient_site, p.mrn AS mrn
                FROM episodes e JOIN patients p ON p.id = e.patient_id WHERE p.mrn LIKE 'BATCH-%'
                """).all()
            #expect(rows.count == n)
            var patientOfEpisode: [UUID: UUID] = [:]
            for row in rows {
                let (episode, patient) = (try row.decode(column: "episode", as: UUID.self), try row.decode(column: "patient", as: UUID.self))
                patientOfEpisode[episode] = patient
                #expect(try row.decode(column: "episode_site", as: UUID.self) == row.decode(column: "patient_site", as: UUID.self))
            }
            for i in 0..<n {
                #expect(patientOfEpisode[outcomes[n + i].id] == outcomes[i].id, "episode \(i) is of patient \(i)")
            }
            let mrnOf = try await store.patients.get(f.seeder, outcomes[7].id)
            #expect(mrnOf.mrn == "BATCH-7" && mrnOf.familyName == "Family 7" && mrnOf.siteID == f.siteA.id && mrnOf.sex == .male)

            // One create entry per record, in the batch's order, and the chain intact.
            let entries = try await auditEntries(store)
            let created = entries.dropFirst(auditBefore).filter { $0.action == "create" }
            #expect(created.map(\.recordID) == outcomes.map { $0.id.uuidString.lowercased() })
            #expect(created.map(\.recordType) == Array(repeating: "patient", count: n) + Array(repeating: "episode", count: n))
            #expect(try await AuditVerifier.verify(store.database).isIntact)
        }
    }

    @Test(arguments: Engine.available)
    func aDuplicateRecordNumberNamesItsOperationAndWritesNothing(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let (patients, episodes, audit) = (try await Self.count("patients", store), try await Self.count("episodes", store),
                                               try await auditEntries(store).count)
            // The 41st patient repeats the 3rd's record number at its site; then another repeats one already stored.
            for (duplicate, operations) in [
                (40, (0..<40).map { Self.patient(f.siteA.id, $0) } + [Self.patient(f.siteA.id, 40, mrn: "BATCH-2")] + [Self.episode(of: 0)]),
                (5, (0..<5).map { Self.patient(f.siteA.id, $0) } + [Self.patient(f.siteA.id, 5, mrn: "A-1")] + (0..<5).map { Self.episode(of: $0) }),
            ] {
                do {
                    _ = try await store.batch.apply(f.seeder, operations)
                    Issue.record("a duplicate record number was accepted")
                } catch let failure as RecordBatchRepository.Failure {
                    #expect(failure.index == duplicate)
                    #expect(failure.error as? StoreError == StoreError.conflict(PatientRepository.duplicateMRN(
                        NewPatient(siteID: f.siteA.id, mrn: duplicate == 40 ? "BATCH-2" : "A-1", familyName: "", givenName: "", birthDate: date("1950-03-04")))))
                }
            }
            #expect(try await Self.count("patients", store) == patients)
            #expect(try await Self.count("episodes", store) == episodes)
            #expect(try await auditEntries(store).count == audit)
        }
    }

    @Test(arguments: Engine.available)
    func aDryRunWritesNothingAndAnswersAsTheWriteWould(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let (patients, audit) = (try await Self.count("patients", store), try await auditEntries(store).count)
            let operations = (0..<30).map { Self.patient(f.siteA.id, $0) } + (0..<30).map { Self.episode(of: $0) }
            let outcomes = try await store.batch.apply(f.seeder, operations, dryRun: true)
            #expect(outcomes.count == 60 && outcomes.allSatisfy { if case .created = $0 { true } else { false } })
            #expect(try await Self.count("patients", store) == patients)
            #expect(try await auditEntries(store).count == audit)
        }
    }

    @Test(arguments: Engine.available)
    func anEpisodeOfAPatientAtASiteNotGrantedIsRefused(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            // The clinician has site A only: a patient at B is refused before anything is written.
            let clinician = try #require(f.actors[.clinician])
            let operations = [Self.patient(f.siteA.id, 0), Self.patient(f.siteB.id, 1), Self.episode(of: 0), Self.episode(of: 1)]
            await #expect(throws: RecordBatchRepository.Failure.self) { _ = try await store.batch.apply(clinician, operations) }
            #expect(try await Self.count("patients", store) == 3)
        }
    }
}

/// The ASCII path of `foldForSearch` (names are folded on every patient write) gives what Foundation's folding does.
@Suite("Search folding")
struct SearchFoldingTests {
    static func foundation(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
            .lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    @Test func asciiNamesFoldAsFoundationFoldsThem() {
        var state: UInt64 = 12
        let alphabet = Array("aZ  \t\n\r\u{0B}\u{0C}\u{1F}-'.0Mq".unicodeScalars)
        for _ in 0..<2_000 {
            var text = ""
            state = state &* 6364136223846793005 &+ 1442695040888963407
            for k in 0..<Int(state >> 60) { text.unicodeScalars.append(alphabet[Int((state >> UInt64(k * 4)) & 0xF) % alphabet.count]) }
            #expect(foldForSearch(text) == Self.foundation(text), "\(text.debugDescription)")
        }
        for text in ["O'Brien  Mary", " van der  Berg\tAnna ", "DOE JOHN", "", "   ", "Müller Anna", "Ｆｕｌｌ width"] {
            #expect(foldForSearch(text) == Self.foundation(text), "\(text.debugDescription)")
        }
    }
}

@Suite("UUID text")
struct UUIDTextTests {
    @Test func theFastFormsAreFoundationsForms() {
        for id in (0..<500).map({ _ in UUID() }) + [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
                                                    UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))] {
            #expect(id.uppercasedString == id.uuidString)
            #expect(id.lowercasedString == id.uuidString.lowercased())
        }
    }
}
