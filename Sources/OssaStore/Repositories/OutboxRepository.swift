import FluentKit
import Foundation
import OssaCore
import SQLKit


extension OutboxMessageRecord {
    init(_ model: OutboxMessageModel) throws {
        self.init(id: try model.requireID(), invitationID: model.$invitation.id, kind: model.kind,
                  channel: try storedValue(InvitationChannel.self, model.channel, field: "channel"), recipient: model.recipient,
                  subject: model.subject, body: model.body, status: try storedValue(OutboxStatus.self, model.status, field: "status"),
                  notBefore: model.notBefore, notAfter: model.notAfter, attempts: model.attempts, lastError: model.lastError,
                  sentAt: model.sentAt, createdAt: model.createdAt, timepointID: model.timepointID, siteID: model.siteID,
                  sequence: model.sequence)
    }
}

public struct NewOutboxMessage: Sendable, Hashable {
    public var invitationID: UUID
    /// `invitation`, `reminder`, …
    public var kind: String
    public var channel: InvitationChannel
    public var recipient: String
    public var subject: String?
    public var body: String
    public var notBefore: Date
    /// Nothing is sent after this (defaults to the invitation's expiry).
    public var notAfter: Date?

    public init(invitationID: UUID, kind: String, channel: InvitationChannel, recipient: String, subject: String? = nil, body: String,
                notBefore: Date = Date(), notAfter: Date? = nil) {
        self.invitationID = invitationID
        self.kind = kind
        self.channel = channel
        self.recipient = recipient
        self.subject = subject
        self.body = body
        self.notBefore = notBefore
        self.notAfter = notAfter
    }
}

/// The outbox of e-mail and SMS messages (invitations and reminders). Staff enqueue messages for invitations of their sites;
/// the sender (a service account with the admin role) claims due messages and marks them sent or failed.
/// Completing or cancelling a timepoint, and revoking an invitation, cancel its queued messages; a message whose
/// `notAfter` has passed is cancelled instead of claimed.
public struct OutboxRepository: Sendable {
    let database: OssaDatabase

    public func enqueue(_ actor: ActingUser, _ new: NewOutboxMessage) async throws -> OutboxMessageRecord {
        let scope = try await Access.require(actor, .create, .outboxMessage, recordID: new.invitationID.lowerString, database: database)
        let kind = try requiredText(new.kind, field: "kind", max: 40)
        let recipient = try requiredText(new.recipient, field: "recipient", max: 254)
        let body = try requiredText(new.body, field: "body", max: 10_000)
        let subject = try optionalText(new.subject, field: "subject", max: 200)
        return try await database.transaction { db in
            guard let invitation = try await InvitationRepository.scoped(InvitationModel.query(on: db), actor, scope)?
                .filter(\.$id == new.invitationID).first() else {
                throw StoreError.notFound(recordType: "invitation", id: new.invitationID.lowerString)
            }
            guard invitation.usedAt == nil, invitation.revokedAt == nil else {
                throw StoreError.invalid(field: "invitationID", message: "the invitation is no longer open")
            }
            let notAfter = min(new.notAfter ?? invitation.expiresAt, invitation.expiresAt)
            guard new.notBefore < notAfter else {
                throw StoreError.invalid(field: "notBefore", message: "is not before the message's last sending time")
            }
            let model = OutboxMessageModel()
            model.$invitation.id = new.invitationID
            model.kind = kind
            model.channel = new.channel.rawValue
            model.recipient = recipient
            model.subject = subject
            model.body = body
            model.status = OutboxStatus.queued.rawValue
            model.notBefore = new.notBefore
            model.notAfter = notAfter
            model.attempts = 0
            try await model.create(on: db)
            try await Access.audit(actor, .create, .outboxMessage, model.id, on: db)
            return try OutboxMessageRecord(model)
        }
    }

    /// Claims up to `limit` queued messages due at `now` (status becomes `sending`, attempts + 1), oldest first.
    /// Queued messages past their `notAfter` are cancelled. On PostgreSQL concurrent senders skip each other's rows.
    public func claim(_ actor: ActingUser, limit: Int = 50, now: Date = Date()) async throws -> [OutboxMessageRecord] {
        _ = try await Access.require(actor, .update, .outboxMessage, database: database)
        guard (1...1000).contains(limit) else { throw StoreError.invalid(field: "limit", message: "\(limit) is not 1–1000") }
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            try await sql.update("outbox_messages").set("status", to: SQLBind(OutboxStatus.cancelled.rawValue))
                .where("status", .equal, SQLBind(OutboxStatus.queued.rawValue))
                .where("not_after", .isNot, SQLLiteral.null).where("not_after", .lessThan, SQLBind(now)).run()
            var select = sql.select().column("id").from("outbox_messages")
                .where("status", .equal, SQLBind(OutboxStatus.queued.rawValue)).where("not_before", .lessThanOrEqual, SQLBind(now))
                .orderBy("not_before").orderBy("id").limit(limit)
            if sql.dialect.name == "postgresql" { select = select.lockingClause(SQLRaw("FOR UPDATE SKIP LOCKED")) }
            let ids = try await select.all().map { try $0.decode(column: "id", as: UUID.self) }
            guard !ids.isEmpty else { return [] }
            try await sql.raw("""
                UPDATE \(ident: "outbox_messages") SET \(ident: "status") = \(bind: OutboxStatus.sending.rawValue), \
                \(ident: "attempts") = \(ident: "attempts") + 1 WHERE \(ident: "id") IN \(SQLBind.group(ids))
                """).run()
            let models = try await OutboxMessageModel.query(on: db).filter(\.$id ~~ ids).sort(\.$notBefore).sort(\.$id).all()
            try await AuditLog.append(AuditEvent(actor: actor, action: .update, recordType: .outboxMessage, recordID: "claim:\(ids.count)"), on: db)
            return try models.map(OutboxMessageRecord.init)
        }
    }

    public func markSent(_ actor: ActingUser, _ id: UUID, at date: Date = Date()) async throws -> OutboxMessageRecord {
        try await finish(actor, id) { model in
            model.status = OutboxStatus.sent.rawValue
            model.sentAt = date
        }
    }

    /// Records a failed attempt: back to `queued` at `retryAt` when given (and before `notAfter`), else `failed`.
    public func markFailed(_ actor: ActingUser, _ id: UUID, error: String, retryAt: Date? = nil) async throws -> OutboxMessageRecord {
        let error = String(error.prefix(2000))
        return try await finish(actor, id) { model in
            model.lastError = error
            if let retryAt, model.notAfter.map({ retryAt < $0 }) ?? true {
                model.status = OutboxStatus.queued.rawValue
                model.notBefore = retryAt
            } else {
                model.status = OutboxStatus.failed.rawValue
            }
        }
    }

    private func finish(_ actor: ActingUser, _ id: UUID,
                        _ change: @escaping @Sendable (OutboxMessageModel) -> Void) async throws -> OutboxMessageRecord {
        _ = try await Access.require(actor, .update, .outboxMessage, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await OutboxMessageModel.find(id, on: db) else {
                throw StoreError.notFound(recordType: "outbox message", id: id.lowerString)
            }
            guard model.status == OutboxStatus.sending.rawValue else {
                throw StoreError.conflict("outbox message \(id.lowerString) is \(model.status), not being sent")
            }
            change(model)
            try await model.update(on: db)
            try await Access.audit(actor, .update, .outboxMessage, id, on: db)
            return try OutboxMessageRecord(model)
        }
    }

    /// Messages by status and timepoint, by planned sending time: coordinators and clinicians see their sites'
    /// messages (failed deliveries, what is queued for a timepoint), an administrator every message.
    public func list(_ actor: ActingUser, status: OutboxStatus? = nil, timepoint: UUID? = nil,
                     _ page: PageRequest = PageRequest()) async throws -> Page<OutboxMessageRecord> {
        let scope = try await Access.require(actor, .list, .outboxMessage, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            var query = OutboxMessageModel.query(on: db)
            switch scope {
            case .all: break
            case .grantedSites:
                guard !actor.siteIDs.isEmpty else { return ClinicalScope.emptyPage(page) }
                query = query.filter(\.$siteID ~~ actor.siteIDList)
            case .ownRecord, .denied: return ClinicalScope.emptyPage(page)
            }
            if let status { query = query.filter(\.$status == status.rawValue) }
            if let timepoint { query = query.filter(\.$timepointID == timepoint) }
            let result = try await query.sort(\.$notBefore).sort(\.$id).page(page, map: OutboxMessageRecord.init)
            try await Access.audit(actor, .list, .outboxMessage, nil, on: db)
            return result
        }
    }
}
