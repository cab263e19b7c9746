import Foundation
import Logging
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

@Suite("Backup and restore")
struct BackupTests {
    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-backup-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func roundTripOnSQLite() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let backup = dir.appendingPathComponent("backups/ossa-1.sqlite").path
        let (patients, head) = try await withStore(.sqlite) { store in
            let c = try await ClinicalFixture.make(store)
            let info = try await store.database.backup(to: backup)
            #expect(info.auditIntact)
            #expect(info.migrations == OssaMigrations.all.map(\.name))
            #expect(info.auditHead == (try await store.audit.head()))
            // A second backup to the same file is refused.
            await #expect(throws: BackupError.targetExists(backup)) { try await store.database.backup(to: backup) }
            // Writes after the backup are not in it.
            _ = try await store.patients.create(c.base.seeder, NewPatient(siteID: c.base.siteA.id, familyName: "After", givenName: "Backup",
                                                                          birthDate: date("1990-01-01")))
            let names = try await store.patients.list(c.base.seeder, PageRequest(limit: 100)).items.map(\.familyName)
            return (names.filter { $0 != "After" }, info.auditHead)
        }

        // Restore over an existing database: the old file is kept aside, the backup's content is served.
        let target = dir.appendingPathComponent("data/ossa.sqlite").path
        let existing = try await OssaDatabase.open(.sqlite(path: target))
        try await existing.migrate()
        await existing.shutdown()
        let (info, previous) = try await OssaDatabase.restore(from: backup, to: .sqlite(path: target))
        #expect(info.auditHead == head)
        #expect(previous.map { FileManager.default.fileExists(atPath: $0) } == true)
        let restored = try await OssaDatabase.open(.sqlite(path: target))
        try await restored.migrate()
        let store = OssaStore(database: restored)
        #expect(try await AuditVerifier.verify(restored).isIntact)
        #expect(try await store.audit.head() == head)
        let restoredNames = try await restored.sql().select().column("family_name").from("patients").all()
            .map { try $0.decode(column: "family_name", as: String.self) }
        #expect(restoredNames.sorted() == patients.sorted())
        #expect(try await count("questionnaire_responses", in: store) == 2)
        #expect(try await restored.sqlitePragmas().journalMode == "wal")
        await restored.shutdown()
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("data").path)
            .filter { $0.contains("restore-") && !$0.contains("before-restore") }
        #expect(leftovers.isEmpty)
    }

    @Test func restoreRefusesBadFilesAndLeavesTheTargetAlone() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("ossa.sqlite").path
        let database = try await OssaDatabase.open(.sqlite(path: target))
        try await database.migrate()
        await database.shutdown()
        let before = try Data(contentsOf: URL(fileURLWithPath: target))

        // Not SQLite at all.
        let garbage = dir.appendingPathComponent("garbage.sqlite")
        try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: garbage)
        await #expect(throws: BackupError.self) { try await OssaDatabase.restore(from: garbage.path, to: .sqlite(path: target)) }
        // SQLite, but not an Ossa database.
        let other = dir.appendingPathComponent("other.sqlite").path
        let foreign = try await OssaDatabase.open(.sqlite(path: other))
        try await foreign.sql().raw("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").run()
        await foreign.shutdown()
        do {
            try await OssaDatabase.restore(from: other, to: .sqlite(path: target))
            Issue.record("a non-Ossa database was restored")
        } catch let BackupError.invalid(_, reason) {
            #expect(reason.contains("not an Ossa database"))
        }
        // An Ossa database from a newer version.
        let newer = dir.appendingPathComponent("newer.sqlite").path
        let future = try await OssaDatabase.open(.sqlite(path: newer))
        try await future.migrate()
        try await future.sql().raw("INSERT INTO _fluent_migrations (id, name, batch) VALUES (\(bind: UUID()), 'M0999_FromTheFuture', 99)").run()
        await future.shutdown()
        do {
            try await OssaDatabase.restore(from: newer, to: .sqlite(path: target))
            Issue.record("a backup with an unknown migration was restored")
        } catch let BackupError.invalid(_, reason) {
            #expect(reason.contains("M0999_FromTheFuture"))
        }
        await #expect(throws: BackupError.missing(dir.appendingPathComponent("none.sqlite").path)) {
            try await OssaDatabase.restore(from: dir.appendingPathComponent("none.sqlite").path, to: .sqlite(path: target))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test func postgresSaysToUsePgDump() async throws {
        guard Engine.postgresURL != nil else { return }
        try await withStore(.postgres) { store in
            do {
                try await store.database.backup(to: "/tmp/never-\(UUID().uuidString).sqlite")
                Issue.record("backup on PostgreSQL did not refuse")
            } catch let error as BackupError {
                #expect(error.description.contains("pg_dump"))
            }
        }
        await #expect(throws: BackupError.self) {
            try await OssaDatabase.restore(from: "/tmp/x.sqlite", to: .postgres(url: try #require(Engine.postgresURL)))
        }
    }
}
