import FluentKit
import SQLKit

/// A partial index on the audit log's writes, whose newest sequence number is the store's write revision
/// (`OssaDatabase.writeRevision`): one index probe tells a page read model whether anything changed since it was
/// read. Every write is audited in its own transaction, so no write can change the data without moving it.
struct M0036_AddWriteRevisionIndex: NumberedMigration {
    /// Kept word for word in the revision query, for the planner to use the partial index. A refused write
    /// (outcome `denied`) changed nothing, so it does not count.
    static let writes = "action IN ('create', 'update', 'delete', 'grant', 'revoke') AND outcome = 'ok'"

    func prepare(on database: any Database) async throws {
        try await database.sqlDatabase().raw(SQLQueryString("CREATE INDEX ix_audit_log_writes ON audit_log (seq) WHERE " + Self.writes)).run()
    }

    func revert(on database: any Database) async throws {
        try await database.sqlDatabase().raw("DROP INDEX ix_audit_log_writes").run()
    }
}
