import FluentKit
import SQLKit

/// The five roles as rows, so that `users.role` is a foreign key and a typo cannot create a sixth.
struct M0002_CreateRoles: NumberedMigration {
    static let roles: [(name: String, description: String)] = [
        ("patient", "answers questionnaires and the recovery diary; sees own progress"),
        ("coordinator", "intake, scheduling, invitations, worklists"),
        ("clinician", "everything clinical for patients of granted sites; signs decisions and procedures"),
        ("researcher", "de-identified registry analytics and exports only"),
        ("admin", "users, sites, instruments, rulesets; reads the audit log; no clinical data"),
    ]

    func prepare(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.create(table: "roles")
            .column("name", type: .text, .primaryKey(autoIncrement: false))
            .column("description", type: .text, .notNull)
            .run()
        var insert = sql.insert(into: "roles").columns("name", "description")
        for role in Self.roles { insert = insert.values(SQLBind(role.name), SQLBind(role.description)) }
        try await insert.run()
    }

    func revert(on database: any Database) async throws {
        try await database.sqlDatabase().drop(table: "roles").run()
    }
}
