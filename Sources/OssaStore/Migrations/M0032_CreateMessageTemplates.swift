import FluentKit
import SQLKit

/// A clinic's own message wording (issue #10): per site, per kind (invitation, reminder) and channel (e-mail, SMS),
/// a subject, plain text and HTML with placeholders, replacing the bundled template. Rendered when a message is
/// queued; the text is checked (placeholders, the link) before it is stored.
struct M0032_CreateMessageTemplates: NumberedMigration {
    static let closedSets: [M0022_CheckClosedSets.Rule] = [
        .init(table: "message_templates", column: "kind", values: ["invitation", "reminder"]),
        .init(table: "message_templates", column: "channel", values: ["email", "sms"]),
    ]

    func prepare(on database: any Database) async throws {
        try await database.schema("message_templates")
            .id()
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .cascade))
            .field("kind", .string, .required)
            .field("channel", .string, .required)
            .field("subject", .string)
            .field("text_body", .string, .required)
            .field("html_body", .string)
            .field("updated_at", .datetime, .required)
            .field("updated_by", .uuid)
            .unique(on: "site_id", "kind", "channel", name: "uq_message_templates_site_kind_channel")
            .create()
        let sql = try database.sqlDatabase()
        for rule in Self.closedSets {
            for statement in M0022_CheckClosedSets.statements(rule, dialect: sql.dialect.name) {
                try await sql.raw(SQLQueryString(statement)).run()
            }
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema("message_templates").delete()
    }
}
