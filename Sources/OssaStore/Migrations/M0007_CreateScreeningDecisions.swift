import FluentKit

struct M0007_CreateScreeningDecisions: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("screening_decisions")
            .id()
            .field("episode_id", .uuid, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("ruleset_id", .string, .required)
            .field("ruleset_version", .string, .required)
            .field("category", .string, .required)
            .field("excluded", .bool, .required)
            .field("evaluation_date", .string, .required)
            .field("input_snapshot", .string, .required)
            .field("decision_json", .string, .required)
            .field("signed_by", .uuid, .references("users", "id", onDelete: .restrict))
            .field("signed_at", .datetime)
            .field("override_category", .string)
            .field("override_reason", .string)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_screening_decisions_episode", on: "screening_decisions", ["episode_id"])
        try await database.createIndex("ix_screening_decisions_site_category", on: "screening_decisions", ["site_id", "category"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("screening_decisions").delete()
    }
}
