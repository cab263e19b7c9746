import FluentKit
import SQLKit

/// The recovery diary and red flags (issue #10).
///
/// - `diary_entries`: one day's answers (days 1–7 after the procedure), as the patient gave them, with the diary
///   protocol's version; the day's pain is also stored as a pain NRS response of the timepoint.
/// - `red_flags`: what needs a clinician's attention at once — a diary answer that fired a rule of the diary protocol
///   (fever, spreading redness, pain rising…), or a questionnaire link locked after wrong dates of birth — until a
///   clinician or coordinator resolves it with a note.
struct M0031_CreateDiaryAndRedFlags: NumberedMigration {
    static let statements: [String] = [
        "CREATE INDEX ix_diary_entries_episode ON diary_entries (episode_id, day)",
        "CREATE UNIQUE INDEX uq_diary_entries_timepoint ON diary_entries (timepoint_id)",
        // The worklist lists a site's open flags, newest first.
        "CREATE INDEX ix_red_flags_site_open ON red_flags (site_id, raised_at) WHERE resolved_at IS NULL",
        "CREATE INDEX ix_red_flags_episode ON red_flags (episode_id)",
    ]

    static let closedSets: [M0022_CheckClosedSets.Rule] = [
        .init(table: "red_flags", column: "severity", values: ["urgent", "review"]),
        .init(table: "red_flags", column: "source", values: ["diary", "link"]),
    ]

    func prepare(on database: any Database) async throws {
        try await database.schema("diary_entries")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("timepoint_id", .uuid, .required, .references("follow_up_timepoints", "id", onDelete: .restrict))
            .field("day", .int, .required)
            .field("entry_json", .string, .required)
            .field("protocol_id", .string, .required)
            .field("protocol_version", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema("red_flags")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("timepoint_id", .uuid, .references("follow_up_timepoints", "id", onDelete: .restrict))
            .field("diary_entry_id", .uuid, .references("diary_entries", "id", onDelete: .restrict))
            .field("source", .string, .required)
            .field("rule_id", .string, .required)
            .field("severity", .string, .required)
            .field("message", .string, .required)
            .field("protocol_version", .string)
            .field("raised_at", .datetime, .required)
            .field("resolved_at", .datetime)
            .field("resolved_by", .uuid)
            .field("resolution", .string)
            .create()
        let sql = try database.sqlDatabase()
        // Fixed DDL (no input), written out so that this migration means the same thing forever.
        for statement in Self.statements { try await sql.raw(SQLQueryString(statement)).run() }
        for rule in Self.closedSets {
            for statement in M0022_CheckClosedSets.statements(rule, dialect: sql.dialect.name) {
                try await sql.raw(SQLQueryString(statement)).run()
            }
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema("red_flags").delete()
        try await database.schema("diary_entries").delete()
    }
}
