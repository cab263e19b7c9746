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

/// What `OutboxRepository.retryFailed` did with one message.
public struct OutboxRetry: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// A new link was issued for the message's timepoint and its plan queued; `messageID` is the plan's first
        /// message (the invitation), `queued` how many messages the plan holds, `superseded` how many still-queued
        /// messages of the old link were cancelled with it (they would have repeated the reminders).
        case retried(messageID: UUID, invitationID: UUID, queued: Int, superseded: Int)
        /// Its last sending time (the end of the timepoint's window) has passed: nothing can be sent any more.
        case expired
        /// Not retried, and why (not failed, the timepoint is no longer pending, no address on the channel, …).
        case notRetried(String)
        /// No message has this id.
        case unknown
    }

    public var id: UUID
    public var outcome: Outcome

    public init(id: UUID, outcome: Outcome) {
        (self.id, self.outcome) = (id, outcome)
    }
}

extension OutboxRepository {
    /// Retries failed messages (an administrator's `ossa outbox retry`): `ids`, or every failed message when nil.
    ///
    /// A failed message cannot simply be queued again: its body was replaced by `removedBody` when it failed (it held
    /// the link, whose token is a credential), so it no longer carries a link. Retrying therefore re-issues it: for a
    /// failed message whose timepoint is still pending in an open episode and whose window has not closed, a new link
    /// is issued for the same timepoint on the same channel (origin `staff`: a person asked for it) to the patient's
    /// current address, and its plan is queued under the reminder rules — the invitation at `now` (moved out of the
    /// site's quiet hours), then the reminders still ahead in the window — as `InvitationRepository.send` does. The
    /// failed message becomes `cancelled` with `last_error` "retried as <new message id>"; messages of its old link
    /// that are still queued are cancelled too (their body removed), so that the patient does not get two series of
    /// reminders. The old link itself keeps working until the window closes (earlier messages may have carried it).
    /// Several failed messages of one timepoint get one new link.
    ///
    /// Everything happens in one transaction. Audited: the administrator's retry of each message (update), and the
    /// new invitation as the planner's (component `planner`): administrators may not create invitations themselves
    /// (`AccessPolicy`), the retry asks Ossa to re-plan what it had planned. A patient who has opted out of the channel,
    /// or has no address for it any more, is not written to ("not retried" with the reason).
    public func retryFailed(_ actor: ActingUser, ids: [UUID]?, now: Date = Date(), rules: ReminderRules? = nil,
                            compose: @escaping MessageComposer) async throws -> [OutboxRetry] {
        _ = try await Access.require(actor, .update, .outboxMessage, database: database)
        let planner = try ReminderPlanner(rules: try rules ?? ReminderRules.bundled())
        var seen: Set<UUID> = []
        let requested = ids.map { $0.filter { seen.insert($0).inserted } }
        return try await database.sqlTransaction { session in
            let sql = session.sql
            struct Row { var id: UUID; var status: String; var notAfter: Date?; var channel: String; var lastError: String?
                         var invitationID: UUID?; var timepointID: UUID? }
            var rows: [Row] = []
            let chunks: [[UUID]?] = requested.map { list in stride(from: 0, to: list.count, by: 500).map { Array(list[$0..<min($0 + 500, list.count)]) } } ?? [nil]
            for chunk in chunks {
                if let chunk, chunk.isEmpty { continue }
                let condition: SQLQueryString = chunk.map { "m.id IN \(SQLBind.group($0))" } ?? "m.status = \(bind: OutboxStatus.failed.rawValue)"
                let found = try await sql.raw("""
                    SELECT m.id, m.status, m.not_after, m.channel, m.last_error, m.invitation_id, \
                    COALESCE(m.timepoint_id, i.timepoint_id) AS timepoint_id \
                    FROM outbox_messages m LEFT JOIN invitations i ON i.id = m.invitation_id \
                    WHERE \(condition) ORDER BY m.not_before, m.id
                    """).all()
                rows += try found.map { row in
                    Row(id: try row.decode(column: "id", as: UUID.self), status: try row.decode(column: "status", as: String.self),
                        notAfter: try row.decode(column: "not_after", as: Date?.self), channel: try row.decode(column: "channel", as: String.self),
                        lastError: try row.decode(column: "last_error", as: String?.self),
                        invitationID: try row.decode(column: "invitation_id", as: UUID?.self),
                        timepointID: try row.decode(column: "timepoint_id", as: UUID?.self))
                }
            }
            var outcomes: [UUID: OutboxRetry.Outcome] = [:]
            // Retryable messages by timepoint, in the order first met.
            var groups: [(timepoint: UUID, rows: [Row])] = []
            for row in rows {
                guard row.status == OutboxStatus.failed.rawValue else {
                    let note = row.status == OutboxStatus.cancelled.rawValue ? row.lastError.map { " (\($0))" } ?? "" : ""
                    outcomes[row.id] = .notRetried("it is \(row.status), not failed\(note)")
                    continue
                }
                if let notAfter = row.notAfter, notAfter <= now { outcomes[row.id] = .expired; continue }
                guard let timepoint = row.timepointID else { outcomes[row.id] = .notRetried("it belongs to no timepoint"); continue }
                if let index = groups.firstIndex(where: { $0.timepoint == timepoint }) {
                    groups[index].rows.append(row)
                } else {
                    groups.append((timepoint, [row]))
                }
            }
            var events: [AuditEvent] = []
            for (timepointID, group) in groups {
                func all(_ outcome: OutboxRetry.Outcome) { for row in group { outcomes[row.id] = outcome } }
                let state = try await sql.raw("""
                    SELECT t.status, e.status AS episode_status FROM follow_up_timepoints t JOIN episodes e ON e.id = t.episode_id \
                    WHERE t.id = \(bind: timepointID)
                    """).first()
                guard let state, let candidate = try await InvitationPlanner.candidates(on: sql, where: "t.id = \(bind: timepointID)", limit: 1).first else {
                    all(.notRetried("its timepoint no longer exists")); continue
                }
                let timepointStatus = try state.decode(column: "status", as: String.self)
                guard timepointStatus == TimepointStatus.pending.rawValue else {
                    all(.notRetried("the timepoint is \(timepointStatus), not pending")); continue
                }
                guard try state.decode(column: "episode_status", as: String.self) == EpisodeStatus.open.rawValue else {
                    all(.notRetried("the episode is not open")); continue
                }
                guard planner.windowEnd(candidate.windowEnd, timeZone: candidate.timeZone) > now else { all(.expired); continue }
                // The newest failed message's channel (a group normally has one).
                let channel = try storedValue(InvitationChannel.self, group[group.count - 1].channel, field: "channel")
                let address = (channel == .email ? candidate.email : candidate.phone)?.trimmingCharacters(in: .whitespaces) ?? ""
                guard !address.isEmpty else {
                    all(.notRetried("the patient has no \(channel == .email ? "e-mail address" : "phone number") on record")); continue
                }
                guard !(channel == .email ? candidate.emailOptedOut : candidate.smsOptedOut) else {
                    all(.notRetried("the patient has asked for no \(channel == .email ? "e-mail" : "text messages")")); continue
                }
                // Taken first, under the row locks, so that a concurrent retry of the same messages issues nothing.
                let taken = try await sql.update("outbox_messages").set("status", to: SQLBind(OutboxStatus.cancelled.rawValue))
                    .where("id", .in, SQLBind.group(group.map(\.id))).where("status", .equal, SQLBind(OutboxStatus.failed.rawValue))
                    .returning("id").all().map { try $0.decode(column: "id", as: UUID.self) }
                guard !taken.isEmpty else { all(.notRetried("it was retried at the same time by someone else")); continue }
                // As `send`: the plan starts from a window opening today at the latest.
                var candidateNow = candidate
                let local = InvitationPlanner.localDay(now, candidate.timeZone)
                if candidateNow.windowStart > local { candidateNow.windowStart = local }
                var issued: (invitation: UUID, messages: [UUID])?
                let summary = try await InvitationPlanner.issue([candidateNow], origin: "staff", actor: nil, planner: planner, now: now,
                                                                channel: channel, compose: compose, session: session) { _, invitation, _, messages in
                    issued = (invitation, messages)
                }
                guard summary.invited == 1, let (invitationID, messages) = issued, let first = messages.first else {
                    // Nothing written for this timepoint but the status change: put it back.
                    try await sql.update("outbox_messages").set("status", to: SQLBind(OutboxStatus.failed.rawValue))
                        .where("id", .in, SQLBind.group(taken)).run()
                    all(.notRetried("nothing can be sent before the window closes")); continue
                }
                try await sql.update("outbox_messages").set("last_error", to: SQLBind("retried as \(first.lowerString)"))
                    .where("id", .in, SQLBind.group(taken)).run()
                // The old links' messages still waiting would repeat the new plan's reminders.
                let oldInvitations = Array(Set(group.compactMap(\.invitationID)))
                var superseded = 0
                if !oldInvitations.isEmpty {
                    superseded = try await sql.update("outbox_messages").set("status", to: SQLBind(OutboxStatus.cancelled.rawValue))
                        .set("body", to: SQLBind(Self.removedBody)).set("html_body", to: SQLLiteral.null)
                        .set("last_error", to: SQLBind("superseded: retried as \(first.lowerString)"))
                        .where("invitation_id", .in, SQLBind.group(oldInvitations))
                        .where("status", .equal, SQLBind(OutboxStatus.queued.rawValue)).returning("id").all().count
                }
                for row in group {
                    outcomes[row.id] = taken.contains(row.id)
                        ? .retried(messageID: first, invitationID: invitationID, queued: messages.count, superseded: superseded)
                        : .notRetried("it was retried at the same time by someone else")
                }
                events += taken.map { AuditEvent(actor: actor, action: .update, recordType: .outboxMessage, recordID: $0.lowerString) }
            }
            // An attempt that retried nothing is recorded too.
            if events.isEmpty { events = [AuditEvent(actor: actor, action: .update, recordType: .outboxMessage, recordID: "retry:0")] }
            try await AuditLog.appendBatch(events, inTransactionOn: sql)
            let order = requested ?? rows.map(\.id)
            return order.map { OutboxRetry(id: $0, outcome: outcomes[$0] ?? .unknown) }
        }
    }
}
