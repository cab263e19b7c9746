import FluentKit

struct M0013_CreateSessions: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("sessions")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("csrf_token", .string, .required)
            .field("last_seen_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("remote_address", .string)
            .field("created_at", .datetime)
            .unique(on: "token_hash", name: "uq_sessions_token_hash")
            .create()
        try await database.createIndex("ix_sessions_user", on: "sessions", ["user_id"])
        try await database.createIndex("ix_sessions_expires", on: "sessions", ["expires_at"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("sessions").delete()
    }
}
