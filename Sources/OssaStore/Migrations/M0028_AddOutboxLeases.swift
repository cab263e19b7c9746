import FluentKit
import SQLKit

/// The delivery worker's lease on the messages it sends (issue #10): a message being sent names the server that
/// claimed it and until when. Another server on the same PostgreSQL database neither claims it nor records a
/// result for it while the lease holds; once it has expired (the server died mid-delivery), the message is
/// claimed again, so that no queued message is lost to a crash. Each message also keeps the Message-ID it was
/// first sent with, so that a retry or a takeover repeats it (receivers drop the duplicate).
struct M0028_AddOutboxLeases: NumberedMigration {
    static let statements: [String] = [
        "CREATE UNIQUE INDEX uq_outbox_messages_message_id ON outbox_messages (message_id)",
        // Expired leases are looked up by time among the (few) messages being sent.
        "CREATE INDEX ix_outbox_messages_sending_lease ON outbox_messages (lease_until) WHERE status = 'sending'",
    ]

    func prepare(on database: any Database) async throws {
        // Fluent's types, so that the lease time compares with bound dates as `not_before` does on both engines.
        // SQLite adds one column per ALTER TABLE.
        try await database.schema("outbox_messages").field("message_id", .string).update()
        try await database.schema("outbox_messages").field("lease_owner", .string).update()
        try await database.schema("outbox_messages").field("lease_until", .datetime).update()
        let sql = try database.sqlDatabase()
        // Fixed DDL (no input), written out so that this migration means the same thing forever.
        for statement in Self.statements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.raw("DROP INDEX ix_outbox_messages_sending_lease").run()
        try await sql.raw("DROP INDEX uq_outbox_messages_message_id").run()
        for column in ["lease_until", "lease_owner", "message_id"] {
            try await sql.raw("ALTER TABLE outbox_messages DROP COLUMN \(ident: column)").run()
        }
    }
}
