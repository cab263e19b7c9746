import FluentKit

struct M0010_CreateFollowUp: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("follow_up_timepoints")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("code", .string, .required)
            .field("protocol_id", .string, .required)
            .field("due_date", .string, .required)
            .field("window_start", .string, .required)
            .field("window_end", .string, .required)
            .field("status", .string, .required)
            .field("completed_at", .datetime)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "episode_id", "code", name: "uq_follow_up_timepoints_episode_code")
            .create()
        // Worklists: due / overdue / missed per site.
        try await database.createIndex("ix_follow_up_timepoints_site_status_window", on: "follow_up_timepoints",
                                       ["site_id", "status", "window_end"])

        try await database.schema("questionnaire_responses")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("timepoint_id", .uuid, .references("follow_up_timepoints", "id", onDelete: .restrict))
            .field("instrument_id", .string, .required)
            .field("instrument_version", .string, .required)
            .field("answers_json", .string, .required)
            .field("scores_json", .string, .required)
            .field("scoring_version", .string, .required)
            .field("source", .string, .required)
            .field("completed_at", .datetime, .required)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_questionnaire_responses_episode_instrument", on: "questionnaire_responses",
                                       ["episode_id", "instrument_id"])
        try await database.createIndex("ix_questionnaire_responses_timepoint", on: "questionnaire_responses", ["timepoint_id"])
        try await database.createIndex("ix_questionnaire_responses_site_instrument", on: "questionnaire_responses",
                                       ["site_id", "instrument_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("questionnaire_responses").delete()
        try await database.schema("follow_up_timepoints").delete()
    }
}
