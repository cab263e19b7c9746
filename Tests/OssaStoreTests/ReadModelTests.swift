import Foundation
import Logging
import NIOConcurrencyHelpers
import OssaCore
@testable import OssaStore
import Testing

/// Counts the SQL statements the drivers log ("Executing query" at trace level) while a read model runs.
final class StatementCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    private let counting = NIOLockedValueBox(false)

    var logger: Logger {
        var logger = Logger(label: "ossa.statements") { _ in Handler(counter: self) }
        logger.logLevel = .trace
        return logger
    }

    /// The statements `body` issues.
    func statements(_ body: () async throws -> Void) async rethrows -> Int {
        count.withLockedValue { $0 = 0 }
        counting.withLockedValue { $0 = true }
        defer { counting.withLockedValue { $0 = false } }
        try await body()
        return count.withLockedValue { $0 }
    }

    fileprivate func record(_ message: String, sql: String) {
        // The background WAL checkpoint (`PRAGMA wal_checkpoint`, every 100 ms on its own connection) is not the page's.
        guard counting.withLockedValue({ $0 }), message == "Executing query", !sql.hasPrefix("PRAGMA") else { return }
        count.withLockedValue { $0 += 1 }
    }

    private struct Handler: LogHandler {
        let counter: StatementCounter
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let sql = event.metadata?["sql"].map { "\($0)" } ?? ""
            counter.record(event.message.description, sql: sql)
        }
    }
}

@Suite("Read models: one transaction, a fixed number of statements, one audit batch")
struct ReadModelTests {
    /// A SQLite store whose every statement is counted. The statement counts here are the read models' own, so
    /// pages are not kept between views unless `cacheEntries` says so (`ReadModelCacheTests`).
    func withCountedStore(cacheEntries: Int = 0, _ body: @Sendable (OssaStore, StatementCounter) async throws -> Void) async throws {
        let counter = StatementCounter()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-readmodel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await OssaDatabase.open(.sqlite(path: dir.appendingPathComponent("ossa.sqlite").path), logger: counter.logger,
                                                   readModelCacheEntries: cacheEntries)
        do {
            try await database.migrate()
            try await body(OssaStore(database: database), counter)
            await database.shutdown()
        } catch {
            await database.shutdown()
            throw error
        }
    }

    func addPatients(_ count: Int, to f: Fixture, prefix: String) async throws {
        for index in 0..<count {
            let patient = try await f.store.patients.create(f.seeder, NewPatient(
                siteID: f.siteA.id, mrn: "\(prefix)-\(index)", familyName: "\(prefix)\(index)", givenName: "Test", birthDate: date("1960-01-01")))
            for side in [Side.left, .right] {
                _ = try await f.store.episodes.create(f.seeder, NewEpisode(patientID: patient.id, joint: .knee, side: side,
                                                                           diagnosis: .boneMarrowLesion))
            }
        }
    }

    @Test("the patient list's statement count does not grow with the number of patients shown")
    func patientListStatements() async throws {
        try await withCountedStore { store, counter in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            try await addPatients(1, to: f, prefix: "Few")
            let few = try await counter.statements {
                let view = try await store.readModels.patientList(clinician, PageRequest(limit: 25), site: nil)
                #expect(view.patients.items.count == 3)
            }
            try await addPatients(20, to: f, prefix: "Many")
            let auditBefore = try await auditEntries(store).count
            var shown: ReadModels.PatientList?
            let many = try await counter.statements {
                shown = try await store.readModels.patientList(clinician, PageRequest(limit: 25), site: nil)
            }
            let view = try #require(shown)
            #expect(view.patients.items.count == 23)
            #expect(view.patients.items.allSatisfy { view.episodes[$0.id]?.allSatisfy { $0.patientID != f.patientB.id } ?? true })
            #expect(view.episodes.values.reduce(0) { $0 + $1.count } == 1 + 2 + 40)
            #expect(view.viewer.role == .clinician && view.sites.map(\.id) == [f.siteA.id])
            #expect(few == many, "statements: \(few) for 3 patients, \(many) for 23")
            #expect(many > 0, "the counter sees the driver's statements")
            #expect(many <= 13, "\(many) statements")  // with the write-revision probe
            // One batched audit append: the list of patients and the list of their episodes.
            let entries = try await auditEntries(store).dropFirst(auditBefore)
            #expect(entries.map(\.recordType) == ["patient", "episode"])
            #expect(entries.allSatisfy { $0.action == "list" && $0.actorUserID == clinician.userID.lowerString })
        }
    }

    @Test("the episode page is one read of a fixed size, with every record of the episode; other sites' episodes are not found")
    func episodePageStatements() async throws {
        try await withCountedStore { store, counter in
            let c = try await ClinicalFixture.make(store)
            let f = c.base
            let clinician = try #require(f.actors[.clinician])
            // An episode with nothing recorded, then the fixture's episode with a decision, an MRI and its findings, a
            // procedure and its injections, a schedule, a questionnaire and an outcome event: the same statements.
            let bare = try await store.episodes.create(f.seeder, NewEpisode(patientID: f.patientA.id, joint: .hip, side: .left, diagnosis: .boneMarrowLesion))
            let empty = try await counter.statements {
                let view = try await store.readModels.episodePage(clinician, episodeID: bare.id)
                #expect(view.screeningDecisions.isEmpty && view.timepoints.isEmpty)
            }
            let auditBefore = try await auditEntries(store).count
            var page: ReadModels.EpisodePage?
            let full = try await counter.statements {
                page = try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id, focus: (.procedure, c.procedures[0]))
            }
            let view = try #require(page)
            #expect(view.patient.id == f.patientA.id && view.site?.id == f.siteA.id)
            #expect(view.screeningDecisions.map(\.id) == [c.screening[0]] && view.imagingStudies.map(\.id) == [c.imaging[0]])
            #expect(view.imagingStudies[0].mri?.bml.isEmpty == false, "findings are loaded")
            #expect(view.procedures.map(\.id) == [c.procedures[0]] && view.procedures[0].record.injections.isEmpty == false)
            #expect(view.timepoints.map(\.id) == c.timepoints[0].map(\.id))
            #expect(view.responses.map(\.id) == [c.responses[0]] && view.outcomeEvents.map(\.id) == [c.outcomes[0]])
            #expect(view.otherEpisodes.map(\.id).contains(bare.id))
            // One audit batch: the chart read, each list shown, and the record in focus.
            let entries = try await auditEntries(store).dropFirst(auditBefore)
            #expect(entries.map(\.recordType) == ["episode", "patient", "screening-decision", "imaging-study", "procedure",
                                                  "follow-up-timepoint", "questionnaire-response", "outcome-event", "procedure-plan",
                                                  "adjunct-session", "red-flag", "procedure"])
            #expect(entries.last?.action == "read" && entries.last?.recordID == c.procedures[0].lowerString)
            await #expect(throws: StoreError.notFound(recordType: "episode", id: f.episodeB.id.lowerString)) {
                _ = try await store.readModels.episodePage(clinician, episodeID: f.episodeB.id)
            }
            // More records of every kind: still the same statements (lists are read whole, never one query per row).
            _ = try await store.imaging.create(f.seeder, NewImagingStudy(episodeID: f.episodeA.id, timing: .followUp, mri: try exampleScreeningInput("knee-bml-recommended").mri!))
            _ = try await store.procedures.create(f.seeder, NewProcedure(episodeID: f.episodeA.id, record: kneeProcedure()))
            let more = try await counter.statements { _ = try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id) }
            #expect(empty <= full && full == more, "statements: \(empty) empty, \(full) full with a focus, \(more) with more records")
            #expect(full <= 26, "\(full) statements")  // with the write-revision probe
            // A coordinator sees the same chart (procedures included: staff read them).
            let coordinator = try #require(f.actors[.coordinator])
            #expect(try await store.readModels.episodePage(coordinator, episodeID: f.episodeA.id).procedures.count == 2)
            let researcher = try #require(f.actors[.researcher])
            await #expect(throws: AccessDenied.self) {
                _ = try await store.readModels.episodePage(researcher, episodeID: f.episodeA.id)
            }
        }
    }

    @Test("the worklist is one read of a fixed size over the viewer's sites only")
    func worklistStatements() async throws {
        try await withCountedStore { store, counter in
            let c = try await ClinicalFixture.make(store)
            let f = c.base
            let clinician = try #require(f.actors[.clinician])
            let day = try CalendarDate(iso: "2026-03-11")
            var first: Worklist?
            let few = try await counter.statements { first = try await store.readModels.worklist(clinician, today: day) }
            let list = try #require(first)
            // Site A's unsigned decision and procedure; site B's are not listed.
            #expect(list.decisionsAwaitingSignature.items.map(\.recordID) == [c.screening[0]])
            #expect(list.decisionsAwaitingSignature.items.first?.patientName == "\(f.patientA.familyName), \(f.patientA.givenName)")
            #expect(list.proceduresAwaitingSignature.items.map(\.recordID) == [c.procedures[0]])
            #expect(list.questionnairesDue.items.allSatisfy { $0.episodeID == f.episodeA.id })
            let input = try exampleScreeningInput("knee-bml-recommended")
            for episode in 0..<12 {
                let e = try await store.episodes.create(f.seeder, NewEpisode(patientID: f.patientA.id, joint: input.joint, side: input.side,
                                                                             diagnosis: input.diagnosis))
                _ = try await store.screening.evaluate(f.seeder, episodeID: e.id, input)
                _ = try await store.timepoints.generate(f.seeder, episodeID: e.id, indexDate: try CalendarDate(iso: "2026-03-0\(1 + episode % 9)"))
            }
            var second: Worklist?
            let many = try await counter.statements { second = try await store.readModels.worklist(clinician, today: day) }
            let more = try #require(second)
            #expect(more.decisionsAwaitingSignature.total == 13 && more.decisionsAwaitingSignature.items.count == ReadModels.worklistRows)
            #expect(few == many && many <= 14, "statements: \(few), then \(many)")  // with the write-revision probe
            let patient = try #require(f.actors[.patient])
            await #expect(throws: AccessDenied.self) { _ = try await store.readModels.worklist(patient, today: day) }
        }
    }

    @Test("the worklist's lists are the timepoint worklists, first rows in order, totals of all, on both engines",
          arguments: Engine.available)
    func worklistMatchesTheLists(engine: Engine) async throws {
        try await withStore(engine) { store in
            let c = try await ClinicalFixture.make(store)
            let f = c.base
            let clinician = try #require(f.actors[.clinician])
            let input = try exampleScreeningInput("knee-bml-recommended")
            // Fourteen schedules on site A, a day apart: every list has rows, the closed one more than its ten, and
            // ties on the due day are broken by code and id.
            for episode in 0..<14 {
                let e = try await store.episodes.create(f.seeder, NewEpisode(patientID: f.patientA.id, joint: input.joint, side: input.side,
                                                                             diagnosis: input.diagnosis))
                _ = try await store.timepoints.generate(f.seeder, episodeID: e.id, indexDate: try CalendarDate(iso: "2026-02-01").adding(days: episode))
            }
            let day = try CalendarDate(iso: "2026-02-20")
            let page = try await store.readModels.worklist(clinician, today: day)
            for (kind, section) in [(TimepointWorklist.due, page.questionnairesDue), (.overdue, page.questionnairesOverdue), (.closed, page.questionnairesClosed)] {
                let all = try await store.timepoints.list(clinician, TimepointFilter(worklist: kind, on: day), PageRequest(limit: 100))
                #expect(all.total > (kind == .closed ? ReadModels.worklistRows : 0), "\(kind): \(all.total)")
                #expect(section.total == all.total, "\(kind)")
                #expect(section.items.map(\.recordID) == all.items.prefix(ReadModels.worklistRows).map(\.id), "\(kind)")
                #expect(section.items.map(\.detail) == all.items.prefix(ReadModels.worklistRows).map(\.code), "\(kind)")
                #expect(section.items.allSatisfy { $0.patientName == "\(f.patientA.familyName), \(f.patientA.givenName)" && $0.episode?.siteID == f.siteA.id })
            }
            #expect(page.decisionsAwaitingSignature.items.map(\.recordID) == [c.screening[0]])
            #expect(page.proceduresAwaitingSignature.items.map(\.recordID) == [c.procedures[0]])
        }
    }

    @Test("concurrent page reads commit their audit entries together; a refused read writes none and does not affect the others",
          arguments: Engine.available)
    func batchedReads(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let before = try await auditEntries(store).count
            // 40 reads at once: 30 of a visible episode, 10 of another site's (refused as not found).
            // Each read's error, if any (nil: answered), so that an unexpected one is named in the failure.
            let outcomes = await withTaskGroup(of: String?.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let id = index % 4 == 0 ? f.episodeB.id : f.episodeA.id
                        do {
                            _ = try await store.readModels.episodePage(clinician, episodeID: id)
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                var results: [String?] = []
                for await error in group { results.append(error) }
                return results
            }
            let refused = StoreError.notFound(recordType: "episode", id: f.episodeB.id.lowerString)
            #expect(outcomes.filter { $0 == nil }.count == 30 && outcomes.filter { $0 == "\(refused)" }.count == 10,
                    "\(Set(outcomes.compactMap { $0 }))")
            let entries = try await auditEntries(store).dropFirst(before)
            let reads = entries.filter { $0.action == "read" && $0.recordType == "episode" }
            #expect(reads.count == 30 && reads.allSatisfy { $0.recordID == f.episodeA.id.lowerString },
                    "one chart read per answered page, none for the refused ones")
            #expect(try await AuditVerifier.verify(store.database).isIntact)
        }
    }
}
