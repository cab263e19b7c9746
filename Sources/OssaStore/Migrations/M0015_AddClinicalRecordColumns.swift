import FluentKit

/// Columns the clinical repositories need beyond M0007–M0009:
/// - `screening_decisions.decided_by`: who ran the evaluation; `overridden_by` / `overridden_at`: who changed the
///   category and when (the override reason and category are in M0007).
/// - `imaging_studies.timing`: `baseline` or `follow-up` (a follow-up MRI is compared with the baseline).
/// - `procedures.operator_name`: the operator as written on the record (`operator_id` links a user when known).
///
/// SQLite adds one column per `ALTER TABLE`; the user columns carry no foreign-key constraint for the same
/// reason (SQLite cannot add one to an existing table), and the repositories only ever write the acting user's id.
struct M0015_AddClinicalRecordColumns: NumberedMigration {
    static let columns: [(table: String, column: String, type: DatabaseSchema.DataType)] = [
        ("screening_decisions", "decided_by", .uuid),
        ("screening_decisions", "overridden_by", .uuid),
        ("screening_decisions", "overridden_at", .datetime),
        ("imaging_studies", "timing", .string),
        ("procedures", "operator_name", .string),
    ]

    func prepare(on database: any Database) async throws {
        for (table, column, type) in Self.columns {
            try await database.schema(table).field(.string(column), type).update()
        }
        try await database.createIndex("ix_questionnaire_responses_episode_completed", on: "questionnaire_responses",
                                       ["episode_id", "completed_at"])
        try await database.createIndex("ix_follow_up_timepoints_episode_due", on: "follow_up_timepoints", ["episode_id", "due_date"])
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.drop(index: "ix_follow_up_timepoints_episode_due").run()
        try await sql.drop(index: "ix_questionnaire_responses_episode_completed").run()
        for (table, column, _) in Self.columns.reversed() {
            try await database.schema(table).deleteField(.string(column)).update()
        }
    }
}
