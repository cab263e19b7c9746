import FluentKit
import Foundation
import OssaCore
import SQLKit

/// A message claimed for delivery: what the transport needs, and the Message-ID to send it with.
public struct OutboxDelivery: Sendable, Hashable {
    public var id: UUID
    /// `local@domain` without angle brackets; the same on every attempt and after another server takes over.
    public var messageID: String
    public var kind: String
    public var channel: InvitationChannel
    public var recipient: String
    public var subject: String?
    public var body: String
    /// The HTML alternative of an e-mail (M0029), when its template has one.
    public var htmlBody: String?
    /// Attempts so far, this one included.
    public var attempts: Int
    /// Nothing may be sent after this.
    public var notAfter: Date?
}

/// What became of one delivery attempt.
public enum DeliveryOutcome: Sendable, Hashable {
    case sent
    /// Worth trying again later (connection refused, time-out, a 4xx reply): queued again with backoff.
    case transient(String)
    /// Will not succeed (a 5xx reply, an address the server refuses): failed at once.
    case permanent(String)
    /// The channel could not deliver anything (a setting or the server's policy): queued again after the policy's
    /// `unavailableDelay` without using up an attempt, so that a misconfiguration fails no message.
    case deferred(String)
}

/// Retries: exponential backoff from `firstDelay`, capped at `maxDelay`, with ±10 % jitter so that servers do not
/// retry in step; a message is failed after `maxAttempts` or when its next try would fall after its `notAfter`.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var firstDelay: TimeInterval
    public var maxDelay: TimeInterval
    /// How long a deferred message waits (its channel was unavailable).
    public var unavailableDelay: TimeInterval

    public init(maxAttempts: Int = 6, firstDelay: TimeInterval = 30, maxDelay: TimeInterval = 3600, unavailableDelay: TimeInterval = 300) {
        (self.maxAttempts, self.firstDelay, self.maxDelay, self.unavailableDelay) = (maxAttempts, firstDelay, maxDelay, unavailableDelay)
    }

    /// When to try again after the `attempts`-th attempt failed (nil: give up).
    public func retryAt(after attempts: Int, now: Date, notAfter: Date?, jitter: Double = Double.random(in: -0.1...0.1)) -> Date? {
        guard attempts < maxAttempts else { return nil }
        let delay = min(firstDelay * pow(2, Double(max(attempts - 1, 0))), maxDelay) * (1 + jitter)
        let at = now.addingTimeInterval(delay)
        if let notAfter, at >= notAfter { return nil }
        return at
    }
}

/// What `finishDeliveries` recorded.
public struct DeliverySummary: Sendable, Hashable {
    public var sent = 0
    public var retried = 0
    public var failed = 0
    /// Held back because their channel was unavailable (not counted as attempts).
    public var deferred = 0
    /// Results not recorded because this worker no longer held the message's lease (another server took it over).
    public var leaseLost = 0

    public init(sent: Int = 0, retried: Int = 0, failed: Int = 0, deferred: Int = 0, leaseLost: Int = 0) {
        (self.sent, self.retried, self.failed, self.deferred, self.leaseLost) = (sent, retried, failed, deferred, leaseLost)
    }
}

extension OutboxRepository {
    /// What a sent or failed message's body becomes: it held the link, whose token opens the patient's questionnaire.
    public static let removedBody = "(removed once the message was sent or failed: it held the patient's link)"
}

/// The delivery worker's side of the outbox. It is the server itself, not a user: it takes no `ActingUser`, and
/// its claims and results are audited with the role `system`. Messages are leased to one worker (`owner`, a
/// random identity per server process) until `now + lease`; a crash leaves the lease to expire, after which any
/// server claims the message again — at most a duplicate, never a lost message (receivers see the same Message-ID).
extension OutboxRepository {
    /// Claims up to `limit` messages of `channels` that are due at `now`, or whose lease has expired. Messages past
    /// their `notAfter` are cancelled instead. On PostgreSQL concurrent workers skip each other's rows.
    ///
    /// - Parameter messageDomain: the right-hand side of Message-IDs given now (the public URL's host); a message
    ///   keeps the one of its first claim.
    public func claimForDelivery(owner: String, lease: TimeInterval, channels: Set<InvitationChannel>, limit: Int = 50,
                                 now: Date = Date(), messageDomain: String) async throws -> [OutboxDelivery] {
        guard (1...1000).contains(limit) else { throw StoreError.invalid(field: "limit", message: "\(limit) is not 1–1000") }
        guard !channels.isEmpty else { return [] }
        let owner = try requiredText(owner, field: "owner", max: 100)
        let channelNames = channels.map(\.rawValue).sorted()
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            try await sql.raw("""
                UPDATE \(ident: "outbox_messages") SET \(ident: "status") = \(bind: OutboxStatus.cancelled.rawValue), \
                \(ident: "body") = \(bind: OutboxRepository.removedBody), \(ident: "html_body") = NULL, \(ident: "lease_owner") = NULL, \(ident: "lease_until") = NULL \
                WHERE \(ident: "status") IN (\(binds: [OutboxStatus.queued.rawValue, OutboxStatus.sending.rawValue])) \
                AND (\(ident: "status") = \(bind: OutboxStatus.queued.rawValue) OR \(ident: "lease_until") < \(bind: now)) \
                AND \(ident: "not_after") IS NOT NULL AND \(ident: "not_after") < \(bind: now)
                """).run()
            // A message a dead server was sending when its timepoint was completed (or missed, or cancelled): not
            // taken over, cancelled — completion cancels every reminder, including one caught mid-delivery.
            try await sql.raw("""
                UPDATE \(ident: "outbox_messages") SET \(ident: "status") = \(bind: OutboxStatus.cancelled.rawValue), \
                \(ident: "body") = \(bind: OutboxRepository.removedBody), \(ident: "html_body") = NULL, \(ident: "lease_owner") = NULL, \(ident: "lease_until") = NULL \
                WHERE \(ident: "status") = \(bind: OutboxStatus.sending.rawValue) AND \(ident: "lease_until") < \(bind: now) \
                AND \(ident: "timepoint_id") IN (SELECT \(ident: "id") FROM \(ident: "follow_up_timepoints") WHERE \(ident: "status") <> \(bind: TimepointStatus.pending.rawValue))
                """).run()
            var select = sql.select().column("id").from("outbox_messages")
                .where("channel", .in, SQLBind.group(channelNames))
                .where { group in
                    group.where { queued in
                        queued.where("status", .equal, SQLBind(OutboxStatus.queued.rawValue)).where("not_before", .lessThanOrEqual, SQLBind(now))
                    }.orWhere { expired in
                        // A lease of NULL is a message claimed before M0028 (the old `claim`), left by a stopped sender.
                        expired.where("status", .equal, SQLBind(OutboxStatus.sending.rawValue)).where { lease in
                            lease.where("lease_until", .lessThan, SQLBind(now)).orWhere("lease_until", .is, SQLLiteral.null)
                        }
                    }
                }
                .orderBy("not_before").orderBy("id").limit(limit)
            if sql.dialect.name == "postgresql" { select = select.lockingClause(SQLRaw("FOR UPDATE SKIP LOCKED")) }
            let ids = try await select.all().map { try $0.decode(column: "id", as: UUID.self) }
            guard !ids.isEmpty else { return [] }
            try await sql.raw("""
                UPDATE \(ident: "outbox_messages") SET \(ident: "status") = \(bind: OutboxStatus.sending.rawValue), \
                \(ident: "attempts") = \(ident: "attempts") + 1, \(ident: "lease_owner") = \(bind: owner), \
                \(ident: "lease_until") = \(bind: now.addingTimeInterval(lease)), \
                \(ident: "message_id") = COALESCE(\(ident: "message_id"), LOWER(CAST(\(ident: "id") AS TEXT)) || \(bind: "@" + messageDomain)) \
                WHERE \(ident: "id") IN \(SQLBind.group(ids))
                """).run()
            let rows = try await sql.select().columns("id", "message_id", "kind", "channel", "recipient", "subject", "body", "html_body", "attempts", "not_after")
                .from("outbox_messages").where("id", .in, SQLBind.group(ids)).orderBy("not_before").orderBy("id").all()
            try await AuditLog.append(AuditEvent(system: "delivery", action: .update, recordType: .outboxMessage, recordID: "claim:\(ids.count)"), on: db)
            return try rows.map { row in
                OutboxDelivery(id: try row.decode(column: "id", as: UUID.self), messageID: try row.decode(column: "message_id", as: String.self),
                               kind: try row.decode(column: "kind", as: String.self),
                               channel: try storedValue(InvitationChannel.self, try row.decode(column: "channel", as: String.self), field: "channel"),
                               recipient: try row.decode(column: "recipient", as: String.self),
                               subject: try row.decode(column: "subject", as: String?.self), body: try row.decode(column: "body", as: String.self),
                               htmlBody: try row.decode(column: "html_body", as: String?.self),
                               attempts: try row.decode(column: "attempts", as: Int.self), notAfter: try row.decode(column: "not_after", as: Date?.self))
            }
        }
    }

    /// Keeps `ids` leased to `owner` until `until` (a long batch); returns the ids whose lease it still held.
    @discardableResult
    public func extendLeases(owner: String, ids: [UUID], until: Date) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        return try await database.transaction { db in
            let rows = try await db.sqlDatabase().update("outbox_messages").set("lease_until", to: SQLBind(until))
                .where("id", .in, SQLBind.group(ids)).where("status", .equal, SQLBind(OutboxStatus.sending.rawValue))
                .where("lease_owner", .equal, SQLBind(owner)).returning("id").all()
            return Set(try rows.map { try $0.decode(column: "id", as: UUID.self) })
        }
    }

    /// Records the outcomes of one batch in one transaction: sent; queued again after a backoff; or failed. Only
    /// messages still leased to `owner` are changed (a worker whose lease expired and was taken over records
    /// nothing: the new owner's result stands).
    public func finishDeliveries(owner: String, _ results: [(id: UUID, outcome: DeliveryOutcome)], now: Date = Date(),
                                 policy: RetryPolicy = RetryPolicy()) async throws -> DeliverySummary {
        guard !results.isEmpty else { return DeliverySummary() }
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            var summary = DeliverySummary()
            let leased = try await sql.select().columns("id", "attempts", "not_after").from("outbox_messages")
                .where("id", .in, SQLBind.group(results.map(\.id))).where("status", .equal, SQLBind(OutboxStatus.sending.rawValue))
                .where("lease_owner", .equal, SQLBind(owner)).all()
            var held: [UUID: (attempts: Int, notAfter: Date?)] = [:]
            for row in leased {
                held[try row.decode(column: "id", as: UUID.self)] = (try row.decode(column: "attempts", as: Int.self),
                                                                     try row.decode(column: "not_after", as: Date?.self))
            }
            // Every UPDATE says again that the message is still being sent under this owner's lease: on PostgreSQL
            // another server may claim an expired message between the SELECT above and here, and its claim stands.
            // The body, which holds the link, is removed once nothing more will be sent (the token is a credential).
            let sent = results.filter { held[$0.id] != nil && $0.outcome == .sent }.map(\.id)
            if !sent.isEmpty {
                let updated = try await sql.update("outbox_messages").set("status", to: SQLBind(OutboxStatus.sent.rawValue))
                    .set("sent_at", to: SQLBind(now)).set("body", to: SQLBind(Self.removedBody)).set("html_body", to: SQLLiteral.null)
                    .set("lease_owner", to: SQLLiteral.null).set("lease_until", to: SQLLiteral.null).set("last_error", to: SQLLiteral.null)
                    .where("id", .in, SQLBind.group(sent)).where("status", .equal, SQLBind(OutboxStatus.sending.rawValue))
                    .where("lease_owner", .equal, SQLBind(owner)).returning("id").all()
                summary.sent = updated.count
                summary.leaseLost += sent.count - updated.count
            }
            for (id, outcome) in results {
                guard let message = held[id] else { summary.leaseLost += 1; continue }
                let error: String
                var retryAt: Date?
                var deferred = false
                switch outcome {
                case .sent: continue
                case .transient(let text):
                    error = text
                    retryAt = policy.retryAt(after: message.attempts, now: now, notAfter: message.notAfter)
                case .permanent(let text): error = text
                case .deferred(let text):
                    error = text
                    let at = now.addingTimeInterval(policy.unavailableDelay)
                    // Past its last sending time it would never go: the expiry sweep of the next claim cancels it.
                    retryAt = at
                    deferred = true
                }
                var update = sql.update("outbox_messages").set("last_error", to: SQLBind(String(error.prefix(2000))))
                    .set("lease_owner", to: SQLLiteral.null).set("lease_until", to: SQLLiteral.null)
                if deferred {
                    // This attempt said nothing about the message: it does not count.
                    update = update.set(SQLIdentifier("attempts"), to: SQLRaw("attempts - 1"))
                }
                if let retryAt {
                    update = update.set("status", to: SQLBind(OutboxStatus.queued.rawValue)).set("not_before", to: SQLBind(retryAt))
                } else {
                    update = update.set("status", to: SQLBind(OutboxStatus.failed.rawValue)).set("body", to: SQLBind(Self.removedBody)).set("html_body", to: SQLLiteral.null)
                }
                let updated = try await update.where("id", .equal, SQLBind(id)).where("status", .equal, SQLBind(OutboxStatus.sending.rawValue))
                    .where("lease_owner", .equal, SQLBind(owner)).returning("id").all()
                if updated.isEmpty {
                    summary.leaseLost += 1
                } else if deferred {
                    summary.deferred += 1
                } else if retryAt != nil {
                    summary.retried += 1
                } else {
                    summary.failed += 1
                }
            }
            let recorded = "sent:\(summary.sent) retried:\(summary.retried) failed:\(summary.failed)" + (summary.deferred > 0 ? " deferred:\(summary.deferred)" : "")
            try await AuditLog.append(AuditEvent(system: "delivery", action: .update, recordType: .outboxMessage, recordID: recorded), on: db)
            return summary
        }
    }
}
