import FluentKit

/// API tokens for machine clients (`Authorization: Bearer …`). Only the SHA-256 of a token is stored, so a copy
/// of the database does not yield usable credentials. Revocation keeps the row (for the audit trail).
struct M0020_CreateAPITokens: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("api_tokens")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("name", .string, .required)
            .field("token_hash", .string, .required)
            .field("created_by", .uuid, .required)
            .field("created_at", .datetime)
            .field("last_used_at", .datetime)
            .field("expires_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "token_hash", name: "uq_api_tokens_token_hash")
            .create()
        try await database.createIndex("ix_api_tokens_user", on: "api_tokens", ["user_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("api_tokens").delete()
    }
}
