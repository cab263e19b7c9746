import FluentKit
import SQLKit

/// Indexes for the staff start page and the patient list on a large registry, so that their counts read only
/// the rows that are in the lists (not every decision, procedure or timepoint of the site):
/// - unsigned screening decisions and unsigned procedures, by site and date (partial indexes: signed rows, the
///   vast majority, are not in them);
/// - pending timepoints by site and window start (the due, overdue and closed lists all have a window that has
///   started), covering the window and due dates;
/// - patients by site with the folded name and the record number, which the search reads.
struct M0026_AddWorklistIndexes: NumberedMigration {
    static let statements: [(name: String, sql: String)] = [
        ("ix_screening_decisions_unsigned",
         "CREATE INDEX ix_screening_decisions_unsigned ON screening_decisions (site_id, evaluation_date) WHERE signed_by IS NULL"),
        ("ix_procedures_unsigned",
         "CREATE INDEX ix_procedures_unsigned ON procedures (site_id, procedure_date) WHERE signed_by IS NULL"),
        // Covering: the counts read the index alone, never the table's rows (a random page read each, on a large file).
        ("ix_follow_up_timepoints_pending_start",
         "CREATE INDEX ix_follow_up_timepoints_pending_start ON follow_up_timepoints (site_id, window_start, window_end, due_date) WHERE status = 'pending'"),
        // The patient search (a substring of the folded name, or of the record number) reads the index, not the rows.
        ("ix_patients_site_search", "CREATE INDEX ix_patients_site_search ON patients (site_id, name_search, mrn)"),
    ]

    func prepare(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        // Fixed DDL (no input), written out so that this migration means the same thing forever.
        for statement in Self.statements { try await sql.raw(SQLQueryString(statement.sql)).run() }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        for statement in Self.statements.reversed() { try await sql.drop(index: statement.name).run() }
    }
}
