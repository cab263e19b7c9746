import FluentKit
import SQLKit

/// What the administration pages manage beyond accounts and sites:
/// - `rulesets`: every uploaded version of a screening ruleset, its JSON exactly as uploaded (checked by
///   `Ruleset.decode` first), its title for the list, who uploaded it and when, and whether it is the one new
///   evaluations use. Unique on (`ruleset_id`, `version`), so a decision's ruleset id and version name one set of
///   rules; at most one row is active (a partial unique index). No active row means the bundled default ruleset.
/// - `instrument_wordings`: a clinic's licensed wording for one built-in instrument, as a JSON object of item code →
///   text, who uploaded it and when; one row per instrument. `instrument_id` is a closed set (the built-in
///   instruments, written out here as M0022 writes its sets) enforced like M0022's: a CHECK on PostgreSQL, triggers
///   on SQLite.
struct M0024_CreateRulesetsAndWordings: NumberedMigration {
    static let instrumentIDs = M0022_CheckClosedSets.Rule(
        table: "instrument_wordings", column: "instrument_id",
        values: ["koos", "hoos", "koos-jr", "hoos-jr", "nrs-pain", "pga", "tegner", "ucla", "events"])

    func prepare(on database: any Database) async throws {
        try await database.schema("rulesets")
            .id()
            .field("ruleset_id", .string, .required)
            .field("version", .string, .required)
            .field("title", .string, .required)
            .field("json", .string, .required)
            .field("uploaded_by", .uuid, .required, .references("users", "id", onDelete: .restrict))
            .field("uploaded_at", .datetime, .required)
            .field("active", .bool, .required)
            .unique(on: "ruleset_id", "version", name: "uq_rulesets_ruleset_version")
            .create()
        let sql = try database.sqlDatabase()
        // At most one active version (both engines support partial indexes; `active` is 1/0 on SQLite).
        try await sql.raw("CREATE UNIQUE INDEX uq_rulesets_one_active ON rulesets (active) WHERE active").run()

        try await database.schema("instrument_wordings")
            .id()
            .field("instrument_id", .string, .required)
            .field("json", .string, .required)
            .field("uploaded_by", .uuid, .required, .references("users", "id", onDelete: .restrict))
            .field("uploaded_at", .datetime, .required)
            .unique(on: "instrument_id", name: "uq_instrument_wordings_instrument")
            .create()
        for statement in M0022_CheckClosedSets.statements(Self.instrumentIDs, dialect: sql.dialect.name) {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    func revert(on database: any Database) async throws {
        // The index, the CHECK constraint and the SQLite triggers go with their tables.
        try await database.schema("instrument_wordings").delete()
        try await database.schema("rulesets").delete()
    }
}
