import FluentKit

struct M0011_CreateInvitationsAndOutbox: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("invitations")
            .id()
            .field("patient_id", .uuid, .required, .references("patients", "id", onDelete: .restrict))
            .field("timepoint_id", .uuid, .required, .references("follow_up_timepoints", "id", onDelete: .restrict))
            .field("token_hash", .string, .required)
            .field("channel", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            .field("revoked_at", .datetime)
            .field("created_at", .datetime)
            .unique(on: "token_hash", name: "uq_invitations_token_hash")
            .create()
        try await database.createIndex("ix_invitations_timepoint", on: "invitations", ["timepoint_id"])
        try await database.createIndex("ix_invitations_patient", on: "invitations", ["patient_id"])

        try await database.schema("outbox_messages")
            .id()
            .field("invitation_id", .uuid, .references("invitations", "id", onDelete: .restrict))
            .field("kind", .string, .required)
            .field("channel", .string, .required)
            .field("recipient", .string, .required)
            .field("subject", .string)
            .field("body", .string, .required)
            .field("status", .string, .required)
            .field("not_before", .datetime, .required)
            .field("not_after", .datetime)
            .field("attempts", .int, .required)
            .field("last_error", .string)
            .field("sent_at", .datetime)
            .field("created_at", .datetime)
            .create()
        // The sender polls queued messages whose time has come; completion cancels an invitation's reminders.
        try await database.createIndex("ix_outbox_messages_status_not_before", on: "outbox_messages", ["status", "not_before"])
        try await database.createIndex("ix_outbox_messages_invitation", on: "outbox_messages", ["invitation_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("outbox_messages").delete()
        try await database.schema("invitations").delete()
    }
}
