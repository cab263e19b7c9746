import FluentKit
import SQLKit

/// Patients' consents (issue #12): treatment, registry follow-up and research use, permit or deny, with the day,
/// who recorded it and where the signed form is. A partial index on the audit log's consent writes lets registry
/// analytics see, in one probe, that a research-use decision changed who researchers may count.
struct M0035_CreateConsents: NumberedMigration {
    static let consentWrites = "action = 'create' AND record_type = 'consent'"

    func prepare(on database: any Database) async throws {
        try await database.schema("consents")
            .id()
            .field("patient_id", .uuid, .required, .references("patients", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("kind", .string, .required)
            .field("decision", .string, .required)
            .field("consent_date", .string, .required)
            .field("recorded_by", .uuid, .required, .references("users", "id", onDelete: .restrict))
            .field("recorded_at", .datetime, .required)
            .field("form_reference", .string)
            .create()
        let sql = try database.sqlDatabase()
        try await sql.raw("CREATE INDEX ix_consents_patient ON consents (patient_id, kind)").run()
        try await sql.raw(SQLQueryString("CREATE INDEX ix_audit_log_consent_writes ON audit_log (seq) WHERE " + Self.consentWrites)).run()
    }

    func revert(on database: any Database) async throws {
        try await database.sqlDatabase().raw("DROP INDEX ix_audit_log_consent_writes").run()
        try await database.schema("consents").delete()
    }
}
