import Foundation
import Logging
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// The engines the suite runs on: SQLite always; PostgreSQL when `OSSA_TEST_POSTGRES_URL` names a server.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static var available: [Engine] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["OSSA_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    var testDescription: String { rawValue }
}

/// Opens a fresh, migrated database on `engine`, runs `body`, and removes it again.
/// SQLite: a new file in a new temporary directory. PostgreSQL: a new schema, set as the connection's search path.
func withStore<T: Sendable>(_ engine: Engine, migrate: Bool = true,
                            _ body: @Sendable (OssaStore) async throws -> T) async throws -> T {
    var logger = Logger(label: "ossa.store.test")
    logger.logLevel = .warning
    switch engine {
    case .sqlite:
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-store-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await OssaDatabase.open(.sqlite(path: dir.appendingPathComponent("ossa.sqlite").path), logger: logger)
        do {
            if migrate { try await database.migrate() }
            let result = try await body(OssaStore(database: database))
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    case .postgres:
        let url = try #require(Engine.postgresURL)
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try await OssaDatabase.open(.postgres(url: url), logger: logger, postgresConnections: 1)
        try await admin.sql().raw("CREATE SCHEMA \(ident: schema)").run()
        do {
            let database = try await OssaDatabase.open(.postgres(url: url), logger: logger, postgresSearchPath: [schema],
                                                      postgresConnections: 2)
            do {
                if migrate { try await database.migrate() }
                let result = try await body(OssaStore(database: database))
                await database.shutdown()
                try await admin.sql().raw("DROP SCHEMA \(ident: schema) CASCADE").run()
                await admin.shutdown()
                return result
            } catch {
                await database.shutdown()
                throw error
            }
        } catch {
            // PostgresNIO hides details from `description`; show them in the test log.
            print("postgres test error: \(String(reflecting: error))")
            try? await admin.sql().raw("DROP SCHEMA \(ident: schema) CASCADE").run()
            await admin.shutdown()
            throw error
        }
    }
}

/// Two sites, one user of each role (staff granted site A only), patients and episodes at both sites.
struct Fixture: Sendable {
    let store: OssaStore
    let admin: ActingUser
    /// Granted sites A and B; used to seed both.
    let seeder: ActingUser
    let siteA: SiteRecord
    let siteB: SiteRecord
    let patientA: PatientRecord
    let patientA2: PatientRecord
    let patientB: PatientRecord
    let episodeA: EpisodeRecord
    let episodeB: EpisodeRecord
    let actors: [Role: ActingUser]

    static func make(_ store: OssaStore) async throws -> Fixture {
        let adminRecord = try await store.users.createFirstAdmin(email: "admin@example.org", displayName: "Admin")
        let admin = try await store.users.actingUser(adminRecord.id, from: "127.0.0.1")
        let siteA = try await store.sites.create(admin, code: "A", name: "Site A")
        let siteB = try await store.sites.create(admin, code: "B", name: "Site B")

        let seederRecord = try await store.users.create(admin, NewUser(email: "seed@example.org", displayName: "Seeder", role: .clinician))
        try await store.users.grantSite(admin, user: seederRecord.id, site: siteA.id)
        try await store.users.grantSite(admin, user: seederRecord.id, site: siteB.id)
        let seeder = try await store.users.actingUser(seederRecord.id, from: "127.0.0.1")

        let patientA = try await store.patients.create(seeder, NewPatient(siteID: siteA.id, mrn: "A-1", familyName: "Müller",
                                                                          givenName: "Anna", birthDate: date("1961-04-03"), sex: .female))
        let patientA2 = try await store.patients.create(seeder, NewPatient(siteID: siteA.id, mrn: "A-2", familyName: "Novak",
                                                                           givenName: "Petr", birthDate: date("1955-11-20"), sex: .male))
        let patientB = try await store.patients.create(seeder, NewPatient(siteID: siteB.id, mrn: "B-1", familyName: "Rossi",
                                                                          givenName: "Marco", birthDate: date("1970-01-31")))
        let episodeA = try await store.episodes.create(seeder, NewEpisode(patientID: patientA.id, joint: .knee, side: .left,
                                                                          diagnosis: .boneMarrowLesion))
        let episodeB = try await store.episodes.create(seeder, NewEpisode(patientID: patientB.id, joint: .hip, side: .right,
                                                                          diagnosis: .boneMarrowEdemaSyndrome))

        var actors: [Role: ActingUser] = [.admin: admin]
        for role in [Role.coordinator, .clinician, .researcher] {
            let user = try await store.users.create(admin, NewUser(email: "\(role.rawValue)@example.org", displayName: role.rawValue, role: role))
            try await store.users.grantSite(admin, user: user.id, site: siteA.id)
            actors[role] = try await store.users.actingUser(user.id, from: "10.0.0.\(Role.allCases.firstIndex(of: role)!)")
        }
        let patientUser = try await store.users.create(admin, NewUser(email: "anna@example.org", displayName: "Anna Müller",
                                                                      role: .patient, patientID: patientA.id))
        actors[.patient] = try await store.users.actingUser(patientUser.id, from: "192.0.2.7")
        return Fixture(store: store, admin: admin, seeder: seeder, siteA: siteA, siteB: siteB, patientA: patientA,
                       patientA2: patientA2, patientB: patientB, episodeA: episodeA, episodeB: episodeB, actors: actors)
    }
}

func date(_ iso: String) -> CalendarDate {
    try! CalendarDate(iso: iso)
}

func auditEntries(_ store: OssaStore) async throws -> [AuditEntry] {
    try await AuditLog.readEntries(on: store.database.sql(), after: 0, limit: 100_000)
}

/// Removes the append-only triggers, as someone with direct write access to the database could.
func dropAuditTriggers(_ store: OssaStore) async throws {
    let sql = try store.database.sql()
    switch store.database.engine {
    case .sqlite:
        try await sql.raw("DROP TRIGGER audit_log_no_update").run()
        try await sql.raw("DROP TRIGGER audit_log_no_delete").run()
    case .postgres:
        try await sql.raw("DROP TRIGGER audit_log_no_update_delete ON audit_log").run()
        try await sql.raw("DROP TRIGGER audit_log_no_truncate ON audit_log").run()
    }
}
