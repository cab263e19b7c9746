import FluentKit
import SQLKit

/// - `procedure_plans`: an episode's injection plan (one per episode; saving replaces it), drafted from a signed
///   screening decision (`decision_id`).
/// - `adjunct_sessions`: focal shockwave courses and intra-articular injections beside the IO procedures.
/// - `procedure_addenda`: corrections to a signed (locked) procedure record, each with its reason and author.
/// - `outcome_events.relatedness`: how likely an adverse event was caused by the procedure.
///
/// Plans and sessions are JSON documents of their OssaCore types (`InjectionPlan`, `AdjunctSession`) with the
/// columns queries need (episode, site, dates, kind) beside them.
struct M0025_CreatePlansAdjunctsAndAddenda: NumberedMigration {
    static let rules = [
        M0022_CheckClosedSets.Rule(table: "adjunct_sessions", column: "kind", values: ["shockwave", "intra-articular"]),
        M0022_CheckClosedSets.Rule(table: "outcome_events", column: "relatedness", values: ["unrelated", "unlikely", "possible", "probable", "definite"]),
    ]

    func prepare(on database: any Database) async throws {
        try await database.schema("procedure_plans")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id"))
            .field("site_id", .uuid, .required, .references("sites", "id"))
            .field("decision_id", .uuid)
            .field("planned_date", .string)
            .field("plan_json", .string, .required)
            .field("updated_by", .uuid, .required, .references("users", "id"))
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "episode_id")
            .create()
        try await database.createIndex("ix_procedure_plans_site_date", on: "procedure_plans", ["site_id", "planned_date"])
        try await database.schema("adjunct_sessions")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id"))
            .field("site_id", .uuid, .required, .references("sites", "id"))
            .field("kind", .string, .required)
            .field("session_date", .string, .required)
            .field("session_json", .string, .required)
            .field("created_by", .uuid, .required, .references("users", "id"))
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_adjunct_sessions_episode", on: "adjunct_sessions", ["episode_id", "session_date"])
        try await database.schema("procedure_addenda")
            .id()
            .field("procedure_id", .uuid, .required, .references("procedures", "id"))
            .field("site_id", .uuid, .required, .references("sites", "id"))
            .field("text", .string, .required)
            .field("reason", .string, .required)
            .field("author_id", .uuid, .required, .references("users", "id"))
            .field("created_at", .datetime, .required)
            .create()
        try await database.createIndex("ix_procedure_addenda_procedure", on: "procedure_addenda", ["procedure_id", "created_at"])
        try await database.schema("outcome_events").field("relatedness", .string).update()
        // Closed sets, enforced as M0022 does (CHECK on PostgreSQL, triggers on SQLite).
        let sql = try database.sqlDatabase()
        for rule in Self.rules {
            for statement in M0022_CheckClosedSets.statements(rule, dialect: sql.dialect.name) {
                try await sql.raw(SQLQueryString(statement)).run()
            }
        }
    }

    func revert(on database: any Database) async throws {
        // Dropping a table drops its constraint and triggers; the column's are dropped first.
        let sql = try database.sqlDatabase()
        let rule = Self.rules[1]
        if sql.dialect.name == "postgresql" {
            try await sql.raw("ALTER TABLE \(ident: rule.table) DROP CONSTRAINT IF EXISTS \(ident: M0022_CheckClosedSets.name(rule))").run()
        } else {
            try await sql.raw("DROP TRIGGER IF EXISTS \(ident: M0022_CheckClosedSets.name(rule) + "_insert")").run()
            try await sql.raw("DROP TRIGGER IF EXISTS \(ident: M0022_CheckClosedSets.name(rule) + "_update")").run()
        }
        try await database.schema("outcome_events").deleteField("relatedness").update()
        try await database.schema("procedure_addenda").delete()
        try await database.schema("adjunct_sessions").delete()
        try await database.schema("procedure_plans").delete()
    }
}
