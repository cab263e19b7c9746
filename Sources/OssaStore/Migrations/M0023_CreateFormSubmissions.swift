import FluentKit

/// What the browser pages need beyond the API:
/// - `form_submissions`: one row per one-time key a form carried, with where its result is. A form sent twice (a
///   double click, a reload after a slow answer) finds the first result instead of writing a second record.
/// - `follow_up_timepoints.status_reason`: why a timepoint was marked missed or not applicable.
struct M0023_CreateFormSubmissions: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("form_submissions")
            .field("key", .string, .identifier(auto: false))
            .field("user_id", .uuid, .required, .references("users", "id"))
            // Empty while the write is under way.
            .field("result_url", .string)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema("follow_up_timepoints").field("status_reason", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("follow_up_timepoints").deleteField("status_reason").update()
        try await database.schema("form_submissions").delete()
    }
}
