import FluentKit
import Foundation
import OssaCore
import SQLKit

/// A red flag: an answer that needs a clinician's attention (fever, spreading redness, pain rising after the
/// procedure), or a questionnaire link locked after wrong dates of birth.
public struct RedFlagRecord: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    public var timepointID: UUID?
    /// `diary` or `link`.
    public var source: String
    public var ruleID: String
    /// `urgent` or `review`.
    public var severity: String
    public var message: String
    public var raisedAt: Date
    public var resolvedAt: Date?
    public var resolution: String?
}

/// Red flags of the actor's sites: listed (the worklist, the episode) and resolved with a note. Raised by the patient's
/// answers (`LinkRepository.submitDiary`) and by a locked link (`LinkRepository.confirm`).
public struct RedFlagRepository: Sendable {
    let database: OssaDatabase

    /// Flags of the actor's sites, open ones first and newest first; `open` only the unresolved. Audited as a list.
    public func list(_ actor: ActingUser, episodeID: UUID? = nil, open: Bool = false, _ page: PageRequest = PageRequest()) async throws -> Page<RedFlagRecord> {
        let scope = try await Access.require(actor, .list, .redFlag, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            guard let sites = Self.sites(actor, scope) else { return ClinicalScope.emptyPage(page) }
            func filtered(_ select: SQLSelectBuilder) -> SQLSelectBuilder {
                var select = select.where("site_id", .in, SQLBind.group(sites))
                if let episodeID { select = select.where("episode_id", .equal, SQLBind(episodeID)) }
                if open { select = select.where("resolved_at", .is, SQLLiteral.null) }
                return select
            }
            let total = try await filtered(sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("red_flags"))
                .first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await filtered(sql.select().columns("id", "episode_id", "site_id", "timepoint_id", "source", "rule_id", "severity",
                                                               "message", "raised_at", "resolved_at", "resolution").from("red_flags"))
                .orderBy(SQLQueryString("CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END")).orderBy("raised_at", .descending).orderBy("id")
                .limit(page.limit).offset(page.offset).all()
            let items = try rows.map(Self.record)
            try await Access.audit(actor, .list, .redFlag, episodeID, on: db)
            return Page(items: items, total: total, limit: page.limit, offset: page.offset)
        }
    }

    /// Marks a flag dealt with, saying how (required; the worklist then stops showing it). Audited.
    public func resolve(_ actor: ActingUser, _ id: UUID, note: String, now: Date = Date()) async throws -> RedFlagRecord {
        let scope = try await Access.require(actor, .update, .redFlag, recordID: id.lowerString, database: database)
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty else { throw StoreError.invalid(field: "resolution", message: "say what was done (for example: called the patient, seen in clinic)") }
        guard note.count <= 2000 else { throw StoreError.invalid(field: "resolution", message: "is longer than 2000 characters") }
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            guard let sites = Self.sites(actor, scope),
                  let row = try await sql.select().columns("id", "episode_id", "site_id", "timepoint_id", "source", "rule_id", "severity", "message",
                                                           "raised_at", "resolved_at", "resolution").from("red_flags")
                    .where("id", .equal, SQLBind(id)).where("site_id", .in, SQLBind.group(sites)).first() else {
                throw StoreError.notFound(recordType: "red flag", id: id.lowerString)
            }
            var record = try Self.record(row)
            guard record.resolvedAt == nil else { throw StoreError.conflict("red flag \(id.lowerString) was already resolved") }
            try await sql.update("red_flags").set("resolved_at", to: SQLBind(now)).set("resolved_by", to: SQLBind(actor.userID))
                .set("resolution", to: SQLBind(note)).where("id", .equal, SQLBind(id)).where("resolved_at", .is, SQLLiteral.null).run()
            try await Access.audit(actor, .update, .redFlag, id, on: db)
            record.resolvedAt = now
            record.resolution = note
            return record
        }
    }

    static func sites(_ actor: ActingUser, _ scope: AccessPolicy.Scope) -> [UUID]? {
        switch scope {
        case .grantedSites: actor.siteIDs.isEmpty ? nil : actor.siteIDList
        default: nil
        }
    }

    static func record(_ row: any SQLRow) throws -> RedFlagRecord {
        RedFlagRecord(id: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID.self),
                      siteID: try row.decode(column: "site_id", as: UUID.self), timepointID: try row.decode(column: "timepoint_id", as: UUID?.self),
                      source: try row.decode(column: "source", as: String.self), ruleID: try row.decode(column: "rule_id", as: String.self),
                      severity: try row.decode(column: "severity", as: String.self), message: try row.decode(column: "message", as: String.self),
                      raisedAt: try row.decode(column: "raised_at", as: Date.self), resolvedAt: try row.decode(column: "resolved_at", as: Date?.self),
                      resolution: try row.decode(column: "resolution", as: String?.self))
    }
}
