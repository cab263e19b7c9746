import FluentKit
import Foundation
import OssaCore
import SQLKit

/// A site's messaging settings: the time zone its windows and quiet hours are in, its own quiet hours (nil: the
/// reminder rules'), the contact a patient is given, and its own message wording per kind and channel (absent: the
/// bundled template).
public struct SiteMessagingSettings: Sendable, Hashable {
    /// An IANA time zone name (`Europe/Vienna`); nil: UTC.
    public var timeZone: String?
    public var quietHours: QuietHours?
    public var contactPhone: String?
    public var contactEmail: String?
    public var templates: [MessageTemplate]

    public init(timeZone: String? = nil, quietHours: QuietHours? = nil, contactPhone: String? = nil, contactEmail: String? = nil,
                templates: [MessageTemplate] = []) {
        (self.timeZone, self.quietHours, self.contactPhone, self.contactEmail, self.templates) = (timeZone, quietHours, contactPhone, contactEmail, templates)
    }
}

extension SiteRepository {
    /// The site's messaging settings (admins). Audited as a read of the site.
    public func messaging(_ actor: ActingUser, _ id: UUID) async throws -> SiteMessagingSettings {
        _ = try await Access.require(actor, .update, .site, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            guard let row = try await sql.select().columns("time_zone", "quiet_hours_start", "quiet_hours_end", "contact_phone", "contact_email")
                .from("sites").where("id", .equal, SQLBind(id)).first() else {
                throw StoreError.notFound(recordType: "site", id: id.lowerString)
            }
            var quiet: QuietHours?
            if let start = try row.decode(column: "quiet_hours_start", as: String?.self), let end = try row.decode(column: "quiet_hours_end", as: String?.self) {
                quiet = try? QuietHours(start: start, end: end)
            }
            let templates = try await Self.templates(sites: [id], on: sql)[id] ?? []
            try await Access.audit(actor, .read, .site, id, on: db)
            return SiteMessagingSettings(timeZone: try row.decode(column: "time_zone", as: String?.self), quietHours: quiet,
                                         contactPhone: try row.decode(column: "contact_phone", as: String?.self),
                                         contactEmail: try row.decode(column: "contact_email", as: String?.self), templates: templates)
        }
    }

    /// Saves the site's messaging settings in one transaction: an unknown time zone, an invalid template (unknown
    /// placeholder, no link, an SMS with a subject) is refused naming its field (`templates[reminder-email].text`) and
    /// nothing is written. `templates` replaces the site's own wording; a kind and channel left out uses the bundled one.
    public func updateMessaging(_ actor: ActingUser, _ id: UUID, _ settings: SiteMessagingSettings, now: Date = Date()) async throws {
        _ = try await Access.require(actor, .update, .site, recordID: id.lowerString, database: database)
        if let zone = settings.timeZone, TimeZone(identifier: zone) == nil {
            throw StoreError.invalid(field: "timeZone", message: "\"\(zone)\" is not a time zone name (for example Europe/Vienna)")
        }
        let phone = try optionalText(settings.contactPhone, field: "contactPhone", max: 40)
        let email = try optionalText(settings.contactEmail, field: "contactEmail", max: 254)
        if let email, !email.contains("@") { throw StoreError.invalid(field: "contactEmail", message: "is not an e-mail address") }
        var seen = Set<String>()
        for template in settings.templates {
            let key = "\(template.kind.rawValue)-\(template.channel.rawValue)"
            guard seen.insert(key).inserted else { throw StoreError.invalid(field: "templates[\(key)]", message: "is given twice") }
            do { try template.validate() } catch { throw StoreError.invalid(field: "templates[\(key)].\(error.path)", message: error.message) }
        }
        try await database.transaction { db in
            let sql = try db.sqlDatabase()
            guard try await SiteModel.find(id, on: db) != nil else { throw StoreError.notFound(recordType: "site", id: id.lowerString) }
            try await sql.update("sites").set("time_zone", to: SQLBind(settings.timeZone))
                .set("quiet_hours_start", to: SQLBind(settings.quietHours.map(\.startText)))
                .set("quiet_hours_end", to: SQLBind(settings.quietHours.map(\.endText)))
                .set("contact_phone", to: SQLBind(phone)).set("contact_email", to: SQLBind(email))
                .where("id", .equal, SQLBind(id)).run()
            try await sql.delete(from: "message_templates").where("site_id", .equal, SQLBind(id)).run()
            for template in settings.templates {
                try await sql.insert(into: "message_templates")
                    .columns("id", "site_id", "kind", "channel", "subject", "text_body", "html_body", "updated_at", "updated_by")
                    .values(SQLBind(UUID()), SQLBind(id), SQLBind(template.kind.rawValue), SQLBind(template.channel.rawValue), SQLBind(template.subject),
                            SQLBind(template.text), SQLBind(template.html), SQLBind(now), SQLBind(actor.userID))
                    .run()
            }
            try await Access.audit(actor, .update, .site, id, on: db)
        }
    }

    /// The sites' own templates, by site (one statement).
    static func templates(sites: [UUID], on sql: any SQLDatabase) async throws -> [UUID: [MessageTemplate]] {
        guard !sites.isEmpty else { return [:] }
        var result: [UUID: [MessageTemplate]] = [:]
        for row in try await sql.select().columns("site_id", "kind", "channel", "subject", "text_body", "html_body").from("message_templates")
            .where("site_id", .in, SQLBind.group(sites)).all() {
            let kindText = try row.decode(column: "kind", as: String.self), channelText = try row.decode(column: "channel", as: String.self)
            guard let kind = MessageKind(rawValue: kindText) else { throw StoreError.unreadable(field: "kind", value: kindText) }
            guard let channel = InvitationChannel(rawValue: channelText) else { throw StoreError.unreadable(field: "channel", value: channelText) }
            result[try row.decode(column: "site_id", as: UUID.self), default: []].append(MessageTemplate(
                kind: kind, channel: channel, subject: try row.decode(column: "subject", as: String?.self),
                text: try row.decode(column: "text_body", as: String.self), html: try row.decode(column: "html_body", as: String?.self)))
        }
        return result
    }
}
