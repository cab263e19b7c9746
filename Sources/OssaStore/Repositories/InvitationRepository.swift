import Crypto
import FluentKit
import Foundation
import OssaCore
import SQLKit



extension InvitationRecord {
    init(_ model: InvitationModel) throws {
        self.init(id: try model.requireID(), patientID: model.$patient.id, timepointID: model.$timepoint.id,
                  channel: try storedValue(InvitationChannel.self, model.channel, field: "channel"), expiresAt: model.expiresAt,
                  usedAt: model.usedAt, revokedAt: model.revokedAt, createdAt: model.createdAt)
    }
}

/// A new invitation and its token. The token is returned here once and cannot be recovered later.
public struct IssuedInvitation: Sendable, Hashable {
    public var invitation: InvitationRecord
    /// 32 random bytes, base64url without padding (43 characters): put it in the link.
    public var token: String
}

/// An issued link and the queued message that carries it.
public struct SentInvitation: Sendable, Hashable {
    public var invitation: InvitationRecord
    /// The outbox message.
    public var messageID: UUID
    /// Returned once, for tests and the CLI; the patient gets it in the message.
    public var token: String
}

/// What a redeemed link opens: one patient's timepoint of one episode.
public struct RedeemedInvitation: Sendable, Hashable {
    public var invitationID: UUID
    public var patientID: UUID
    public var episodeID: UUID
    public var siteID: UUID
    public var timepointID: UUID
    public var timepointCode: String

    /// The acting user of the link's session: the patient, identified in the audit log by the invitation id
    /// (a link is not a user account).
    public func actingUser(address: String?) -> ActingUser {
        ActingUser(userID: invitationID, role: .patient, patientID: patientID, address: address)
    }
}

public struct InvitationFilter: Sendable, Hashable {
    public var patientID: UUID?
    public var timepointID: UUID?
    public var status: InvitationStatus?

    public init(patientID: UUID? = nil, timepointID: UUID? = nil, status: InvitationStatus? = nil) {
        self.patientID = patientID
        self.timepointID = timepointID
        self.status = status
    }
}

/// Invitations: random token, stored hashed, one patient, one timepoint, expiring at the end of
/// the timepoint's window; redeemed once.
public struct InvitationRepository: Sendable {
    let database: OssaDatabase

    /// Issues a link for a pending timepoint whose window has not closed. `expiresAt` defaults to the end of the
    /// window's last day (UTC) and may not be later than that.
    public func create(_ actor: ActingUser, timepointID: UUID, channel: InvitationChannel, expiresAt: Date? = nil,
                       now: Date = Date()) async throws -> IssuedInvitation {
        let scope = try await Access.require(actor, .create, .invitation, recordID: timepointID.lowerString, database: database)
        return try await database.transaction { db in
            let (issued, _) = try await Self.insert(actor, scope, timepointID: timepointID, channel: channel, expiresAt: expiresAt, now: now, on: db)
            return issued
        }
    }

    /// A coordinator's "send now": issues a link and queues its messages — the invitation now (moved out of the site's
    /// quiet hours) and the reminders the rules plan after it — in one transaction (all or nothing), to the patient's
    /// e-mail address or phone number as the channel says. `compose` writes each message; it must not put the
    /// patient's name or birth date in it (a message can be read by others). A patient without an address for the
    /// channel, or who opted out of it, is a conflict naming `channel`, and nothing is written. Earlier links of the
    /// timepoint keep working until the window closes.
    public func send(_ actor: ActingUser, timepointID: UUID, channel: InvitationChannel, now: Date = Date(),
                     rules: ReminderRules? = nil, compose: @escaping MessageComposer) async throws -> SentInvitation {
        let scope = try await Access.require(actor, .create, .invitation, recordID: timepointID.lowerString, database: database)
        _ = try await Access.require(actor, .create, .outboxMessage, recordID: timepointID.lowerString, database: database)
        let planner = try ReminderPlanner(rules: try rules ?? ReminderRules.bundled())
        return try await database.transaction { db in
            guard let timepoint = try await ClinicalScope.apply(FollowUpTimepointModel.query(on: db), actor, scope)?
                .filter(\.$id == timepointID).first() else {
                throw StoreError.notFound(recordType: "timepoint", id: timepointID.lowerString)
            }
            guard timepoint.status == TimepointStatus.pending.rawValue else {
                throw StoreError.conflictingField(field: "timepointID", message: "the timepoint is \(timepoint.status), not pending")
            }
            let sql = try db.sqlDatabase()
            guard let candidate = try await InvitationPlanner.candidates(on: sql, where: "t.id = \(bind: timepointID)", limit: 1).first else {
                throw StoreError.notFound(recordType: "timepoint", id: timepointID.lowerString)
            }
            let name = channel == .email ? "e-mail" : "text messages"
            let address = (channel == .email ? candidate.email : candidate.phone)?.trimmingCharacters(in: .whitespaces) ?? ""
            guard !address.isEmpty else {
                throw StoreError.conflictingField(field: "channel", message: "the patient has no \(channel == .email ? "e-mail address" : "phone number") on record")
            }
            guard !(channel == .email ? candidate.emailOptedOut : candidate.smsOptedOut) else {
                throw StoreError.conflictingField(field: "channel", message: "the patient has asked for no \(name)")
            }
            guard planner.windowEnd(candidate.windowEnd, timeZone: candidate.timeZone) > now else {
                throw StoreError.conflictingField(field: "timepointID", message: "the timepoint's window has closed (\(candidate.windowEnd.iso))")
            }
            // "Now" means now, even before the window's first morning: the plan is made from a window opening today.
            var candidateNow = candidate
            let local = InvitationPlanner.localDay(now, candidate.timeZone)
            if candidateNow.windowStart > local { candidateNow.windowStart = local }
            // The earlier links' queued reminders stop: the new link's plan replaces them (the old links still work).
            try await TimepointRepository.cancelReminders(timepoint: timepointID, on: sql)
            var result: (UUID, String, [UUID])?
            let summary = try await InvitationPlanner.issue([candidateNow], origin: "staff", actor: actor, planner: planner, now: now,
                                                            channel: channel, compose: compose, session: SQLWriteSession(sql: sql, sqlite: nil)) { _, id, token, messages in
                result = (id, token, messages)
            }
            guard summary.invited == 1, let (invitationID, token, messages) = result, let first = messages.first else {
                throw StoreError.conflictingField(field: "timepointID", message: "nothing can be sent before the window closes")
            }
            guard let model = try await InvitationModel.find(invitationID, on: db) else {
                throw StoreError.notFound(recordType: "invitation", id: invitationID.lowerString)
            }
            return SentInvitation(invitation: try InvitationRecord(model), messageID: first, token: token)
        }
    }

    /// The invitation row of `create` and `send`, inside the caller's transaction; also returns the timepoint.
    private static func insert(_ actor: ActingUser, _ scope: AccessPolicy.Scope, timepointID: UUID, channel: InvitationChannel,
                               expiresAt: Date?, now: Date, on db: any Database) async throws -> (IssuedInvitation, FollowUpTimepointModel) {
        let token = newToken()
        guard let timepoint = try await ClinicalScope.apply(FollowUpTimepointModel.query(on: db), actor, scope)?
            .filter(\.$id == timepointID).first() else {
            throw StoreError.notFound(recordType: "timepoint", id: timepointID.lowerString)
        }
        guard timepoint.status == TimepointStatus.pending.rawValue else {
            throw StoreError.invalid(field: "timepointID", message: "the timepoint is \(timepoint.status), not pending")
        }
        let windowEnd = try parseStoredDate(timepoint.windowEnd, field: "windowEnd").adding(days: 1).startOfDayUTC
        let expiry = expiresAt ?? windowEnd
        guard expiry <= windowEnd else {
            throw StoreError.invalid(field: "expiresAt", message: "is after the timepoint's window closes (\(timepoint.windowEnd))")
        }
        guard expiry > now else { throw StoreError.invalid(field: "expiresAt", message: "is in the past (the window has closed)") }
        guard let episode = try await EpisodeModel.find(timepoint.$episode.id, on: db) else {
            throw StoreError.notFound(recordType: "episode", id: timepoint.$episode.id.lowerString)
        }
        let model = InvitationModel()
        model.$patient.id = episode.$patient.id
        model.$timepoint.id = timepointID
        model.tokenHash = hash(token)
        model.channel = channel.rawValue
        model.expiresAt = expiry
        model.origin = "staff"
        try await model.create(on: db)
        try await Access.audit(actor, .create, .invitation, model.id, on: db)
        return (IssuedInvitation(invitation: try InvitationRecord(model), token: token), timepoint)
    }

    /// Opens a link: the token must match an invitation that is not used, revoked or expired; it is then used.
    /// Audited with the patient role and no user id (record id: the invitation).
    public func redeem(token: String, now: Date = Date(), from address: String? = nil) async throws -> RedeemedInvitation {
        let hash = Self.hash(token.trimmingCharacters(in: .whitespacesAndNewlines))
        return try await database.transaction { db in
            guard let model = try await InvitationModel.query(on: db).filter(\.$tokenHash == hash).first() else {
                throw StoreError.notFound(recordType: "invitation", id: "(token)")
            }
            let record = try InvitationRecord(model)
            switch record.status(at: now) {
            case .active: break
            case .used: throw StoreError.conflict("this link has already been used")
            case .revoked: throw StoreError.invalid(field: "token", message: "this link was withdrawn")
            case .expired: throw StoreError.invalid(field: "token", message: "this link expired")
            }
            guard let timepoint = try await FollowUpTimepointModel.find(model.$timepoint.id, on: db) else {
                throw StoreError.notFound(recordType: "timepoint", id: model.$timepoint.id.lowerString)
            }
            model.usedAt = now
            try await model.update(on: db)
            var event = AuditEvent(actor: ActingUser(userID: record.id, role: .patient, address: address), action: .update,
                                   recordType: .invitation, recordID: record.id.lowerString)
            event.actorUserID = nil
            try await AuditLog.append(event, on: db)
            return RedeemedInvitation(invitationID: record.id, patientID: record.patientID, episodeID: timepoint.$episode.id,
                                      siteID: timepoint.$site.id, timepointID: record.timepointID, timepointCode: timepoint.code)
        }
    }

    /// Withdraws an unused invitation (its queued messages are cancelled).
    public func revoke(_ actor: ActingUser, _ id: UUID, now: Date = Date()) async throws -> InvitationRecord {
        let scope = try await Access.require(actor, .update, .invitation, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await Self.scoped(InvitationModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "invitation", id: id.lowerString)
            }
            guard model.usedAt == nil else { throw StoreError.conflict("invitation \(id.lowerString) has already been used") }
            if model.revokedAt == nil {
                model.revokedAt = now
                try await model.update(on: db)
                try await db.sqlDatabase().update("outbox_messages").set("status", to: SQLBind(OutboxStatus.cancelled.rawValue))
                    .where("invitation_id", .equal, SQLBind(id)).where("status", .equal, SQLBind(OutboxStatus.queued.rawValue)).run()
            }
            try await Access.audit(actor, .update, .invitation, id, on: db)
            return try InvitationRecord(model)
        }
    }

    /// Invitations of the actor's sites, newest first; audited as a list.
    public func list(_ actor: ActingUser, _ filter: InvitationFilter = InvitationFilter(), now: Date = Date(),
                     _ page: PageRequest = PageRequest()) async throws -> Page<InvitationRecord> {
        let scope = try await Access.require(actor, .list, .invitation, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            guard var query = Self.scoped(InvitationModel.query(on: db), actor, scope) else { return ClinicalScope.emptyPage(page) }
            if let patientID = filter.patientID { query = query.filter(\.$patient.$id == patientID) }
            if let timepointID = filter.timepointID { query = query.filter(\.$timepoint.$id == timepointID) }
            switch filter.status {
            case nil: break
            case .active?: query = query.filter(\.$usedAt == nil).filter(\.$revokedAt == nil).filter(\.$expiresAt > now)
            case .used?: query = query.filter(\.$usedAt != nil).filter(\.$revokedAt == nil)
            case .revoked?: query = query.filter(\.$revokedAt != nil)
            case .expired?: query = query.filter(\.$usedAt == nil).filter(\.$revokedAt == nil).filter(\.$expiresAt <= now)
            }
            let result = try await query.sort(\.$createdAt, .descending).sort(\.$id).page(page, map: InvitationRecord.init)
            try await Access.audit(actor, .list, .invitation, filter.patientID, on: db)
            return result
        }
    }

    /// Invitations are scoped through their timepoint's site.
    static func scoped(_ query: QueryBuilder<InvitationModel>, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> QueryBuilder<InvitationModel>? {
        switch scope {
        case .all: return query
        case .grantedSites:
            guard !actor.siteIDs.isEmpty else { return nil }
            return query.filter(.sql(embed: "\(ident: "invitations").\(ident: "timepoint_id") IN (SELECT \(ident: "id") FROM \(ident: "follow_up_timepoints") WHERE \(ident: "site_id") IN \(SQLBind.group(actor.siteIDList)))"))
        case .ownRecord: return actor.patientID.map { query.filter(\.$patient.$id == $0) }
        case .denied: return nil
        }
    }

    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Lowercase hex SHA-256 of the token's UTF-8 bytes.
    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { byte in byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
    }
}
