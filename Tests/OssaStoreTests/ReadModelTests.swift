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
    /// A SQLite store whose every statement is counted.
    func withCountedStore(_ body: @Sendable (OssaStore, StatementCounter) async throws -> Void) async throws {
        let counter = StatementCounter()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-readmodel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await OssaDatabase.open(.sqlite(path: dir.appendingPathComponent("ossa.sqlite").path), logger: counter.logger)
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
            #expect(many <= 10, "\(many) statements")
            // One batched audit append: the list of patients and the list of their episodes.
            let entries = try await auditEntries(store).dropFirst(auditBefore)
            #expect(entries.map(\.recordType) == ["patient", "episode"])
            #expect(entries.allSatisfy { $0.action == "list" && $0.actorUserID == clinician.userID.lowerString })
        }
    }

    @Test("the episode page is one read of a fixed size; other sites' episodes are not found")
    func episodePageStatements() async throws {
        try await withCountedStore { store, counter in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            var page: ReadModels.EpisodePage?
            let statements = try await counter.statements {
                page = try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id)
            }
            #expect(page?.patient.id == f.patientA.id && page?.site?.id == f.siteA.id)
            #expect(statements > 0 && statements <= 10, "\(statements) statements")
            await #expect(throws: StoreError.notFound(recordType: "episode", id: f.episodeB.id.lowerString)) {
                _ = try await store.readModels.episodePage(clinician, episodeID: f.episodeB.id)
            }
            let researcher = try #require(f.actors[.researcher])
            await #expect(throws: AccessDenied.self) {
                _ = try await store.readModels.episodePage(researcher, episodeID: f.episodeA.id)
            }
        }
    }
}
