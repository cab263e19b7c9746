import FluentKit

/// Failed sign-in attempts, per account and per client address, for login throttling. Kept in the database
/// (not in memory) so that several `ossa serve` processes sharing one PostgreSQL database throttle together.
struct M0021_CreateLoginFailures: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("login_failures")
            .id()
            // `account` (key: folded e-mail) or `address` (key: client address).
            .field("kind", .string, .required)
            .field("key", .string, .required)
            .field("at", .datetime, .required)
            .create()
        try await database.createIndex("ix_login_failures_key", on: "login_failures", ["kind", "key", "at"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("login_failures").delete()
    }
}
