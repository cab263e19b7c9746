import FluentKit
import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// Migrations run one transaction each: a failing one leaves no trace and the next start succeeds. Closed sets
/// are enforced by the database, and a stored value outside its set is an error, never a default.
@Suite("Migrations and closed sets")
struct MigrationTests {
    /// Creates a table, fills it, then fails: a multi-step migration that used to half-apply.
    struct FailingMigration: AsyncMigration {
        var name: String { "M9001_TestHalfway" }
        let fail: Bool
        func prepare(on database: any Database) async throws {
            let sql = try OssaDatabase.sql(database)
            try await sql.create(table: "test_halfway").column("id", type: .int, .primaryKey(autoIncrement: false)).run()
            try await sql.insert(into: "test_halfway").columns("id").values(SQLBind(1)).run()
            struct Boom: Error {}
            if fail { throw Boom() }
        }
        func revert(on database: any Database) async throws {}
    }

    func tableExists(_ name: String, in store: OssaStore) async -> Bool {
        (try? await store.database.sql().raw("SELECT COUNT(*) AS n FROM \(ident: name)").first()) != nil
    }

    @Test(arguments: Engine.available)
    func aFailingMigrationLeavesNoTraceAndTheNextStartSucceeds(engine: Engine) async throws {
        try await withStore(engine, migrate: false) { store in
            await #expect(throws: (any Error).self) {
                try await store.database.migrate(OssaMigrations.all + [FailingMigration(fail: true)])
            }
            // Everything before it applied; nothing of it did: no table, no log row.
            #expect(try await store.database.appliedMigrations().count == OssaMigrations.all.count)
            #expect(await tableExists("test_halfway", in: store) == false)
            #expect(!(try await store.database.appliedMigrations()).contains("M9001_TestHalfway"))

            // The next start (with the migration fixed) applies it from the beginning.
            try await store.database.migrate(OssaMigrations.all + [FailingMigration(fail: false)])
            #expect(try await store.database.appliedMigrations().contains("M9001_TestHalfway"))
            #expect(await tableExists("test_halfway", in: store))
            // And again is a no-op.
            try await store.database.migrate(OssaMigrations.all + [FailingMigration(fail: false)])
            #expect(try await store.database.appliedMigrations().count == OssaMigrations.all.count + 1)
        }
    }

    @Test(arguments: Engine.available)
    func theDatabaseRefusesValuesOutsideAClosedSet(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let sql = try store.database.sql()
            let id = f.episodeA.id
            for (column, value) in [("status", "archived"), ("joint", "elbow"), ("side", "both")] {
                await #expect(throws: (any Error).self, "episodes.\(column) = \(value)") {
                    try await sql.update("episodes").set(SQLIdentifier(column), to: SQLBind(value)).where("id", .equal, SQLBind(id)).run()
                }
            }
            await #expect(throws: (any Error).self) {
                try await sql.update("patients").set("sex", to: SQLBind("unspecified")).where("id", .equal, SQLBind(f.patientA.id)).run()
            }
            // Values inside the set, and NULL in an optional column, pass.
            try await sql.update("episodes").set("status", to: SQLBind("closed")).where("id", .equal, SQLBind(id)).run()
            try await sql.update("patients").set("sex", to: SQLLiteral.null).where("id", .equal, SQLBind(f.patientA.id)).run()
            #expect(try await store.episodes.get(f.seeder, id).status == .closed)
        }
    }

    /// M0039 rewrites SQLite's closed-set triggers from `NOT IN (…)` to a chain of `<>`: every one of them, each still
    /// refusing a value outside its set (inserts and updates) and letting its values and NULL through.
    @Test func theClosedSetTriggersTestEachValueAndStillRefuse() async throws {
        try await withStore(.sqlite) { store in
            let sql = try store.database.sql()
            let triggers = try await sql.raw("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ck\\_%' ESCAPE '\\'").all()
                .map { (try $0.decode(column: "name", as: String.self), try $0.decode(column: "sql", as: String.self)) }
            // One insert and one update trigger per closed set of every migration (M0022's 19 sets and those after).
            #expect(triggers.count >= 2 * M0022_CheckClosedSets.rules.count)
            for (name, text) in triggers {
                #expect(!text.contains(" NOT IN ("), "\(name)")
                let trigger = try #require(M0039_CheaperClosedSetTriggers.Trigger(text), "\(name)")
                #expect(text == trigger.chainForm)
                // The two forms read back as the same trigger.
                #expect(M0039_CheaperClosedSetTriggers.Trigger(trigger.inForm) == trigger)
            }
            let episodes = try #require(triggers.first { $0.0 == "ck_episodes_diagnosis_type_insert" }?.1)
            #expect(episodes.contains("WHEN NEW.diagnosis_type IS NOT NULL AND NEW.diagnosis_type <> 'osteoarthritis' AND NEW.diagnosis_type <> 'bone-marrow-lesion'"))

            let f = try await Fixture.make(store)
            await #expect(throws: (any Error).self) {
                try await sql.raw("INSERT INTO episodes (id, patient_id, site_id, joint, side, diagnosis_type, diagnosis_json, status) VALUES (\(bind: UUID()), \(bind: f.patientA.id), \(bind: f.siteA.id), 'knee', 'left', 'gout', '{}', 'open')").run()
            }
            await #expect(throws: (any Error).self) {
                try await sql.update("episodes").set("side", to: SQLBind("both")).where("id", .equal, SQLBind(f.episodeA.id)).run()
            }
            try await sql.raw("INSERT INTO episodes (id, patient_id, site_id, joint, side, diagnosis_type, diagnosis_json, status) VALUES (\(bind: UUID()), \(bind: f.patientA.id), \(bind: f.siteA.id), 'hip', 'right', 'avascular-necrosis', '{}', 'closed')").run()

            // Reverted, the IN form is back, trigger for trigger.
            try await M0039_CheaperClosedSetTriggers().revert(on: store.database.fluent())
            let reverted = try await sql.raw("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ck\\_%' ESCAPE '\\'").all()
                .map { try $0.decode(column: "sql", as: String.self) }
            #expect(reverted.count == triggers.count && reverted.allSatisfy { $0.contains(" NOT IN (") })
        }
    }

    @Test(arguments: Engine.available)
    func aMigrationRefusesStoredValuesOutsideTheSet(engine: Engine) async throws {
        try await withStore(engine, migrate: false) { store in
            // Everything before the migration that adds the constraints.
            let before = Array(OssaMigrations.all.prefix { $0.name != "M0022_CheckClosedSets" })
            try await store.database.migrate(before)
            // Rows written as the schema stood then (today's models hold columns added later).
            let sql = try store.database.sql()
            let (site, patient) = (UUID(), UUID())
            try await sql.insert(into: "sites").columns("id", "code", "name").values(SQLBind(site), SQLBind("OLD"), SQLBind("Old site")).run()
            try await sql.insert(into: "patients").columns("id", "site_id", "family_name", "given_name", "name_search", "birth_date")
                .values(SQLBind(patient), SQLBind(site), SQLBind("Old"), SQLBind("Record"), SQLBind("old record"), SQLBind("1950-01-01")).run()
            try await sql.insert(into: "episodes")
                .columns("id", "patient_id", "site_id", "joint", "side", "diagnosis_type", "diagnosis_json", "status")
                .values(SQLBind(UUID()), SQLBind(patient), SQLBind(site), SQLBind("knee"), SQLBind("left"), SQLBind("osteoarthritis"),
                        SQLBind("{}"), SQLBind("archived")).run()
            do {
                try await store.database.migrate(OssaMigrations.all)
                Issue.record("the constraint migration must refuse a stored value outside its set")
            } catch {
                #expect("\(error)".contains("episodes.status: 1 stored row(s) hold a value outside open, closed"), "\(error)")
            }
            #expect(try await store.database.appliedMigrations().count == before.count)
        }
    }

    @Test("a stored severity or kind outside its set is an error naming the field, never a default")
    func unreadableStoredValues() throws {
        func event(kind: String, severity: String? = nil, replacement: String? = nil) -> OutcomeEventModel {
            let model = OutcomeEventModel()
            model.id = UUID()
            model.$episode.id = UUID()
            model.$site.id = UUID()
            model.kind = kind
            model.eventDate = "2026-03-01"
            model.severity = severity
            model.replacementKind = replacement
            model.eventDescription = "fever"
            return model
        }
        #expect(throws: StoreError.unreadable(field: "severity", value: "catastrophic")) {
            _ = try OutcomeEventRecord(event(kind: "adverse-event", severity: "catastrophic"))
        }
        #expect(throws: StoreError.unreadable(field: "severity", value: "NULL")) {
            _ = try OutcomeEventRecord(event(kind: "adverse-event"))
        }
        #expect(throws: StoreError.unreadable(field: "replacementKind", value: "hip")) {
            _ = try OutcomeEventRecord(event(kind: "joint-replacement", replacement: "hip"))
        }
        #expect(throws: StoreError.unreadable(field: "kind", value: "relapse")) {
            _ = try OutcomeEventRecord(event(kind: "relapse"))
        }
        let ok = try OutcomeEventRecord(event(kind: "adverse-event", severity: "moderate"))
        #expect(ok.event == .adverseEvent(description: "fever", severity: .moderate, date: date("2026-03-01")))
    }
}
