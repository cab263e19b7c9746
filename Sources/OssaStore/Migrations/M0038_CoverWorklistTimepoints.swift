import FluentKit
import SQLKit

/// The worklist's three lists of pending timepoints (due, overdue, closed) read from one index alone. M0027's index
/// in the lists' order lacked `episode_id` and `status` (SQLite counts a partial index's own WHERE column as not
/// held), so every listed row was fetched from the table, one random page each. Measured on the 20,000-patient demo
/// registry, a lead granted every site: the worklist statement 8.3 -> 4.2 ms, and it touched 6.8 MB of the database
/// file instead of 75.6 MB — with the file read through the memory map, those pages stayed in the server's resident
/// memory (most of its peak in the `$export` benchmark). This index holds M0027's columns and more, so it replaces it.
struct M0038_CoverWorklistTimepoints: NumberedMigration {
    static let statements: [String] = [
        "CREATE INDEX ix_follow_up_timepoints_pending_worklist ON follow_up_timepoints "
            + "(site_id, due_date, code, id, episode_id, window_start, window_end, status) WHERE status = 'pending'",
        "DROP INDEX ix_follow_up_timepoints_pending_due",
    ]

    func prepare(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        // Fixed DDL (no input), written out so that this migration means the same thing forever.
        for statement in Self.statements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.raw("CREATE INDEX ix_follow_up_timepoints_pending_due ON follow_up_timepoints (site_id, due_date, code, id, window_start, window_end) WHERE status = 'pending'").run()
        try await sql.raw("DROP INDEX ix_follow_up_timepoints_pending_worklist").run()
    }
}
