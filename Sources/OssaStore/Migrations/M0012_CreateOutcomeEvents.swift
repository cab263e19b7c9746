import FluentKit

struct M0012_CreateOutcomeEvents: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("outcome_events")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("kind", .string, .required)
            .field("event_date", .string, .required)
            .field("replacement_kind", .string)
            .field("severity", .string)
            .field("description", .string)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_outcome_events_episode_date", on: "outcome_events", ["episode_id", "event_date"])
        try await database.createIndex("ix_outcome_events_site_kind", on: "outcome_events", ["site_id", "kind"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("outcome_events").delete()
    }
}
