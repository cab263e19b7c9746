import FluentKit
import SQLKit

/// Consult requests from the public self-screen (issue #11).
///
/// - `consult_requests`: a member of the public who ran the self-screen and asked to be contacted: the name and
///   e-mail and/or phone they gave, their consent to be contacted (the row's `created_at` is its time), the
///   preferred site (nullable: "no preference"), the anonymous answers and the evaluated result as JSON (with the
///   ruleset's and the self-screen definition's versions), the outcome, and where the request stands: `new` until a
///   coordinator converts it into a patient and episode (`patient_id`, `episode_id`) or closes it with a reason
///   (`handled_at`, `handled_by`, `close_reason`).
/// - `address_hash`: the SHA-256 of the client address, only for the rate limit (requests per address per hour);
///   nullable because it is cleared once the limit's window has passed. The address itself is never stored.
///
/// Indexes: the coordinators' list (a site's open requests, newest first) and the rate limit (one address's recent
/// requests).
struct M0030_CreateConsultRequests: NumberedMigration {
    static let statements: [String] = [
        "CREATE INDEX ix_consult_requests_site_status ON consult_requests (site_id, status, created_at)",
        "CREATE INDEX ix_consult_requests_address ON consult_requests (address_hash, created_at)",
    ]

    static let closedSets: [M0022_CheckClosedSets.Rule] = [
        .init(table: "consult_requests", column: "status", values: ["new", "converted", "closed"]),
        .init(table: "consult_requests", column: "outcome",
              values: ["consult-worthwhile", "consult-may-help", "consult-unlikely-to-help", "see-doctor-first"]),
    ]

    func prepare(on database: any Database) async throws {
        try await database.schema("consult_requests")
            .id()
            .field("site_id", .uuid, .references("sites", "id", onDelete: .restrict))
            .field("name", .string, .required)
            .field("email", .string)
            .field("phone", .string)
            .field("consent", .bool, .required)
            .field("answers_json", .string, .required)
            .field("result_json", .string, .required)
            .field("outcome", .string, .required)
            .field("status", .string, .required)
            .field("address_hash", .string)
            .field("created_at", .datetime, .required)
            .field("handled_at", .datetime)
            .field("handled_by", .uuid, .references("users", "id", onDelete: .restrict))
            .field("patient_id", .uuid, .references("patients", "id", onDelete: .restrict))
            .field("episode_id", .uuid, .references("episodes", "id", onDelete: .restrict))
            .field("close_reason", .string)
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
        let sql = try database.sqlDatabase()
        if sql.dialect.name != "postgresql" {
            for rule in Self.closedSets {
                let name = M0022_CheckClosedSets.name(rule)
                try await sql.raw("DROP TRIGGER IF EXISTS \(ident: name + "_insert")").run()
                try await sql.raw("DROP TRIGGER IF EXISTS \(ident: name + "_update")").run()
            }
        }
        // Dropping the table drops its indexes and (PostgreSQL) its constraints.
        try await database.schema("consult_requests").delete()
    }
}
