import FluentKit
import SQLKit

/// The hash-chained audit log (see `AuditLog` for the canonical entry and the chain).
///
/// Append-only twice over: triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on `audit_log`, so no code
/// path can change an entry by mistake; and the hash chain lets `AuditVerifier` detect a change made by someone
/// who drops the triggers or edits the file directly.
struct M0014_CreateAuditLog: NumberedMigration {
    func prepare(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.create(table: "audit_log")
            .column("seq", type: .bigint, .primaryKey(autoIncrement: false))
            .column("at_us", type: .bigint, .notNull)
            .column("actor_user_id", type: .text)
            .column("actor_role", type: .text, .notNull)
            .column("action", type: .text, .notNull)
            .column("outcome", type: .text, .notNull)
            .column("record_type", type: .text, .notNull)
            .column("record_id", type: .text)
            .column("from_address", type: .text)
            .column("prev_hash", type: .text, .notNull)
            .column("hash", type: .text, .notNull)
            .run()
        try await database.createIndex("ix_audit_log_record", on: "audit_log", ["record_type", "record_id"])
        try await database.createIndex("ix_audit_log_actor", on: "audit_log", ["actor_user_id", "at_us"])
        for statement in Self.appendOnlyTriggers(dialect: sql.dialect.name) {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.drop(table: "audit_log").run()
        if sql.dialect.name == "postgresql" {
            try await sql.raw("DROP FUNCTION IF EXISTS ossa_audit_log_append_only()").run()
        }
    }

    static func appendOnlyTriggers(dialect: String) -> [String] {
        if dialect == "postgresql" {
            return [
                """
                CREATE FUNCTION ossa_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$
                """,
                """
                CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION ossa_audit_log_append_only()
                """,
                """
                CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION ossa_audit_log_append_only()
                """,
            ]
        }
        return [
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        ]
    }
}
