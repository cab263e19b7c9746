import FluentKit
import SQLKit

/// The patient portal (issue #10): what a personal questionnaire link needs, and what the reminder rules record.
///
/// - Each timepoint records when it was invited, opened and started (completion is `completed_at`): opening or
///   starting a questionnaire is not completion, and the worklists tell them apart.
/// - An invitation records who issued it (`staff` or `automatic`, when the window opened), when its link was
///   first opened and the date of birth confirmed, and its failed date-of-birth tries; after a few it is locked
///   (and shown to the coordinators).
/// - `link_sessions`: a browser that confirmed the date of birth holds a random cookie, stored hashed, valid for
///   that one invitation until it expires.
/// - `questionnaire_drafts`: the answers saved page by page, so that the patient resumes from the same link.
/// - An outbox message names its timepoint, site and place in the sequence (0 = the invitation, 1… = reminders),
///   so that the worklist shows failed deliveries per site and a changed schedule finds the messages to re-plan;
///   an e-mail may carry an HTML alternative (removed with the text once sent).
/// - A site has a time zone, quiet hours and the contact a patient is given on a closed link.
/// - A patient's opt-out per channel (the time it was given).
struct M0029_AddPatientPortal: NumberedMigration {
    static let statements: [String] = [
        "CREATE INDEX ix_outbox_messages_timepoint ON outbox_messages (timepoint_id)",
        "CREATE INDEX ix_outbox_messages_site_status ON outbox_messages (site_id, status)",
        "CREATE UNIQUE INDEX uq_link_sessions_token_hash ON link_sessions (token_hash)",
        "CREATE INDEX ix_link_sessions_invitation ON link_sessions (invitation_id)",
        "CREATE UNIQUE INDEX uq_questionnaire_drafts_invitation ON questionnaire_drafts (invitation_id)",
    ]

    static let closedSets: [M0022_CheckClosedSets.Rule] = [
        .init(table: "invitations", column: "origin", values: ["staff", "automatic"]),
    ]

    func prepare(on database: any Database) async throws {
        // SQLite adds one column per ALTER TABLE.
        for column in ["invited_at", "opened_at", "started_at"] {
            try await database.schema("follow_up_timepoints").field(.string(column), .datetime).update()
        }
        try await database.schema("invitations").field("origin", .string).update()
        try await database.schema("invitations").field("opened_at", .datetime).update()
        try await database.schema("invitations").field("confirmed_at", .datetime).update()
        try await database.schema("invitations").field("dob_failures", .int).update()
        try await database.schema("invitations").field("locked_at", .datetime).update()
        try await database.schema("outbox_messages").field("timepoint_id", .uuid).update()
        try await database.schema("outbox_messages").field("site_id", .uuid).update()
        try await database.schema("outbox_messages").field("sequence", .int).update()
        try await database.schema("outbox_messages").field("html_body", .string).update()
        try await database.schema("sites").field("time_zone", .string).update()
        try await database.schema("sites").field("quiet_hours_start", .string).update()
        try await database.schema("sites").field("quiet_hours_end", .string).update()
        try await database.schema("sites").field("contact_phone", .string).update()
        try await database.schema("sites").field("contact_email", .string).update()
        try await database.schema("patients").field("email_opt_out_at", .datetime).update()
        try await database.schema("patients").field("sms_opt_out_at", .datetime).update()

        try await database.schema("link_sessions")
            .id()
            .field("invitation_id", .uuid, .required, .references("invitations", "id", onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .create()
        try await database.schema("questionnaire_drafts")
            .id()
            .field("invitation_id", .uuid, .required, .references("invitations", "id", onDelete: .cascade))
            .field("answers_json", .string, .required)
            .field("updated_at", .datetime, .required)
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
        for rule in Self.closedSets {
            let name = M0022_CheckClosedSets.name(rule)
            if sql.dialect.name == "postgresql" {
                try await sql.raw("ALTER TABLE \(ident: rule.table) DROP CONSTRAINT IF EXISTS \(ident: name)").run()
            } else {
                try await sql.raw("DROP TRIGGER IF EXISTS \(ident: name + "_insert")").run()
                try await sql.raw("DROP TRIGGER IF EXISTS \(ident: name + "_update")").run()
            }
        }
        try await database.schema("questionnaire_drafts").delete()
        try await database.schema("link_sessions").delete()
        try await sql.raw("DROP INDEX ix_outbox_messages_site_status").run()
        try await sql.raw("DROP INDEX ix_outbox_messages_timepoint").run()
        let columns: [(String, [String])] = [
            ("patients", ["sms_opt_out_at", "email_opt_out_at"]),
            ("sites", ["contact_email", "contact_phone", "quiet_hours_end", "quiet_hours_start", "time_zone"]),
            ("outbox_messages", ["html_body", "sequence", "site_id", "timepoint_id"]),
            ("invitations", ["locked_at", "dob_failures", "confirmed_at", "opened_at", "origin"]),
            ("follow_up_timepoints", ["started_at", "opened_at", "invited_at"]),
        ]
        for (table, names) in columns {
            for column in names { try await sql.raw("ALTER TABLE \(ident: table) DROP COLUMN \(ident: column)").run() }
        }
    }
}
