import FluentKit
import SQLKit

/// Registry analytics (issue #11): saved cohorts, and a partial index on the audit log's registry writes, whose
/// newest sequence number tells the analytics cache in one index probe whether the registry changed.
struct M0033_AddAnalytics: NumberedMigration {
    /// The writes that change what analytics reads. Kept equal to `AnalyticsRepository.revisionPredicate`, which
    /// must repeat it word for word for the planner to use the partial index.
    static let registryWrites = """
        action IN ('create', 'update', 'delete') AND record_type IN ('patient', 'episode', 'screening-decision', \
        'imaging-study', 'procedure', 'questionnaire-response', 'follow-up-timepoint', 'outcome-event', 'bulk-insert', \
        'procedure-addendum', 'site')
        """

    func prepare(on database: any Database) async throws {
        try await database.schema("saved_cohorts")
            .id()
            .field("name", .string, .required)
            .field("definition_json", .string, .required)
            .field("created_by", .uuid, .required, .references("users", "id", onDelete: .restrict))
            .field("created_at", .datetime, .required)
            .unique(on: "name", name: "uq_saved_cohorts_name")
            .create()
        let sql = try database.sqlDatabase()
        let statement = "CREATE INDEX ix_audit_log_registry_writes ON audit_log (seq) WHERE " + Self.registryWrites
        try await sql.raw(SQLQueryString(statement)).run()
    }

    func revert(on database: any Database) async throws {
        try await database.sqlDatabase().raw("DROP INDEX ix_audit_log_registry_writes").run()
        try await database.schema("saved_cohorts").delete()
    }
}
