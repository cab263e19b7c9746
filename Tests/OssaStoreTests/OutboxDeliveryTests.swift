import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// The delivery worker's leases: one server per message at a time, a crashed server's messages taken over, results
/// of a server that lost its lease ignored, retries with backoff and then failure — on both engines.
@Suite("Outbox delivery: leases, Message-IDs, retries")
struct OutboxDeliveryTests {
    /// Two queued e-mails and one SMS of one invitation, due at `now`.
    func queued(_ store: OssaStore, now: Date) async throws -> (Fixture, [OutboxMessageRecord]) {
        let f = try await Fixture.make(store)
        let coordinator = try #require(f.actors[.coordinator])
        let schedule = try await store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-01-31"))
        let month3 = try #require(schedule.first { $0.code == "month-3" })
        let invitation = try await store.invitations.create(coordinator, timepointID: month3.id, channel: .email, now: now)
        var messages: [OutboxMessageRecord] = []
        for (index, channel) in [InvitationChannel.email, .email, .sms].enumerated() {
            messages.append(try await store.outbox.enqueue(coordinator, NewOutboxMessage(
                invitationID: invitation.invitation.id, kind: index == 0 ? "invitation" : "reminder", channel: channel,
                recipient: channel == .email ? "anna@example.org" : "+41790000000", subject: "Your questionnaire",
                body: "https://ossa.example/q/\(invitation.token)", notBefore: now.addingTimeInterval(Double(index)))))
        }
        return (f, messages)
    }

    @Test(arguments: Engine.available)
    func oneOwnerAtATimeAndTakeoverAfterTheLease(engine: Engine) async throws {
        try await withStore(engine) { store in
            let now = date("2026-04-20").startOfDayUTC.addingTimeInterval(9 * 3600)
            let (fixture, messages) = try await queued(store, now: now)
            let later = now.addingTimeInterval(10)
            // Server A claims the e-mails (SMS is not configured on it); server B finds nothing left to claim.
            let a = try await store.outbox.claimForDelivery(owner: "server-a", lease: 60, channels: [.email], now: later, messageDomain: "ossa.example")
            #expect(a.map(\.id) == [messages[0].id, messages[1].id])
            #expect(a.allSatisfy { $0.attempts == 1 && $0.channel == .email && $0.recipient == "anna@example.org" })
            #expect(a[0].messageID == "\(messages[0].id.lowerString)@ossa.example")
            #expect(try await store.outbox.claimForDelivery(owner: "server-b", lease: 60, channels: [.email], now: later, messageDomain: "other.example").isEmpty)
            // A stops before recording anything. After its lease, B takes the messages over with the same Message-IDs.
            let expired = later.addingTimeInterval(61)
            let b = try await store.outbox.claimForDelivery(owner: "server-b", lease: 60, channels: [.email], now: expired, messageDomain: "other.example")
            #expect(b.map(\.id) == a.map(\.id) && b.map(\.messageID) == a.map(\.messageID))
            #expect(b.allSatisfy { $0.attempts == 2 })
            // A comes back: its results are not recorded, B's are.
            let late = try await store.outbox.finishDeliveries(owner: "server-a", a.map { ($0.id, DeliveryOutcome.sent) }, now: expired)
            #expect(late == DeliverySummary(sent: 0, retried: 0, failed: 0, leaseLost: 2))
            let done = try await store.outbox.finishDeliveries(owner: "server-b", b.map { ($0.id, DeliveryOutcome.sent) }, now: expired)
            #expect(done == DeliverySummary(sent: 2, retried: 0, failed: 0, leaseLost: 0))
            let sent = try await store.outbox.list(fixture.admin, status: .sent).items
            #expect(Set(sent.map(\.id)) == Set(a.map(\.id)) && sent.allSatisfy { $0.sentAt == expired })
            // Sent, the body (it held the link, whose token opens the questionnaire) is gone from the outbox.
            #expect(sent.allSatisfy { $0.body == OutboxRepository.removedBody })
            // The SMS stays queued for a server that delivers SMS.
            #expect(try await store.outbox.list(fixture.admin, status: .queued).items.map(\.id) == [messages[2].id])
            // Every claim and result is in the audit log as the system's.
            let audit = try await store.database.sql().select().columns("actor_role", "from_address", "record_id").from("audit_log")
                .where("record_type", .equal, SQLBind("outbox-message")).where("actor_role", .equal, SQLBind("system")).all()
            #expect(try audit.map { try $0.decode(column: "record_id", as: String.self) }
                    == ["claim:2", "claim:2", "sent:0 retried:0 failed:0", "sent:2 retried:0 failed:0"])
        }
    }

    @Test(arguments: Engine.available)
    func transientFailuresBackOffThenFail(engine: Engine) async throws {
        try await withStore(engine) { store in
            let now = date("2026-04-20").startOfDayUTC.addingTimeInterval(9 * 3600)
            let (fixture, messages) = try await queued(store, now: now)
            let policy = RetryPolicy(maxAttempts: 3, firstDelay: 30, maxDelay: 3600)
            var clock = now.addingTimeInterval(10)
            var retries: [Date] = []
            for attempt in 1...3 {
                let claimed = try await store.outbox.claimForDelivery(owner: "w", lease: 60, channels: [.sms], now: clock, messageDomain: "ossa.example")
                let sms = try #require(claimed.first)
                #expect(claimed.map(\.id) == [messages[2].id] && sms.attempts == attempt)
                let summary = try await store.outbox.finishDeliveries(owner: "w", [(sms.id, .transient("421 try later"))], now: clock, policy: policy)
                #expect(summary == (attempt < 3 ? DeliverySummary(retried: 1) : DeliverySummary(failed: 1)))
                guard attempt < 3 else { break }
                let row = try #require(try await store.outbox.list(fixture.admin, status: .queued).items.first { $0.id == messages[2].id })
                retries.append(row.notBefore)
                // Not due before its backoff.
                #expect(try await store.outbox.claimForDelivery(owner: "w", lease: 60, channels: [.sms], now: row.notBefore.addingTimeInterval(-1),
                                                              messageDomain: "ossa.example").isEmpty)
                clock = row.notBefore.addingTimeInterval(1)  // past it (stored dates may round)
            }
            // 30 s, then 60 s (±10 %).
            #expect(abs(retries[0].timeIntervalSince(now.addingTimeInterval(10)) - 30) <= 3.01)
            #expect(abs(retries[1].timeIntervalSince(retries[0].addingTimeInterval(1)) - 60) <= 6.01)
            let failed = try await store.outbox.list(fixture.admin, status: .failed).items
            #expect(failed.map(\.id) == [messages[2].id] && failed[0].lastError == "421 try later")
            // A permanent refusal fails at once.
            let email = try #require(try await store.outbox.claimForDelivery(owner: "w", lease: 60, channels: [.email], limit: 1, now: clock,
                                                                             messageDomain: "ossa.example").first)
            #expect(try await store.outbox.finishDeliveries(owner: "w", [(email.id, .permanent("550 no such user"))], now: clock) == DeliverySummary(failed: 1))
        }
    }

    @Test(arguments: Engine.available)
    func anInvitationAndItsMessageAreWrittenTogetherOrNotAtAll(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            let schedule = try await store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-01-31"))
            let month3 = try #require(schedule.first { $0.code == "month-3" })
            let now = date("2026-04-20").startOfDayUTC
            let compose: MessageComposer = { context in
                ComposedMessage(subject: "From \(context.clinic.name)",
                                text: "https://ossa.example/q/\(context.token) until \(context.windowEnd.iso) (\(context.timepointCode)) #\(context.sequence)")
            }
            // No e-mail address on record: a conflict naming the channel, and neither the invitation nor a message.
            await #expect(throws: StoreError.conflictingField(field: "channel", message: "the patient has no e-mail address on record")) {
                _ = try await store.invitations.send(coordinator, timepointID: month3.id, channel: .email, now: now, compose: compose)
            }
            #expect(try await store.invitations.list(coordinator, now: now).total == 0)
            #expect(try await store.outbox.list(f.admin).total == 0)
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            let sent = try await store.invitations.send(coordinator, timepointID: month3.id, channel: .email, now: now, compose: compose)
            let messages = try await store.outbox.list(f.admin).items.sorted { $0.notBefore < $1.notBefore }
            let message = try #require(messages.first)
            #expect(message.id == sent.messageID && message.invitationID == sent.invitation.id && message.status == .queued)
            #expect(message.recipient == "anna@example.org" && message.kind == "invitation" && message.channel == .email)
            // The default rules (Resources/protocols/reminders.json), the site in UTC: midnight is in the quiet hours
            // (20:00–09:00), so the invitation waits for 09:00; reminders 3 and 7 days later and 2 days before the
            // window's last day (2026-05-28), at 09:00; every one expires with the link.
            let hours = { (day: String) in date(day).startOfDayUTC.addingTimeInterval(9 * 3600) }
            #expect(messages.map(\.notBefore) == [hours("2026-04-20"), hours("2026-04-23"), hours("2026-04-27"), hours("2026-05-26")])
            #expect(messages.map(\.kind) == ["invitation", "reminder", "reminder", "reminder"])
            #expect(messages.allSatisfy { $0.notAfter == sent.invitation.expiresAt && $0.invitationID == sent.invitation.id })
            #expect(sent.invitation.expiresAt == date("2026-05-29").startOfDayUTC)
            #expect(message.body == "https://ossa.example/q/\(sent.token) until \(month3.windowEnd.iso) (month-3) #0")
            #expect(message.subject == "From \(f.siteA.name)")
            // The token is only in the message: the invitation stores its hash.
            let stored = try await store.database.sql().select().column("token_hash").from("invitations").all()
            #expect(try stored.map { try $0.decode(column: "token_hash", as: String.self) } == [InvitationRepository.hash(sent.token)])
        }
    }

    @Test("the backoff doubles, is capped, and gives up at the last attempt or the message's last sending time")
    func retryPolicy() {
        let policy = RetryPolicy(maxAttempts: 7, firstDelay: 30, maxDelay: 600)
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(policy.retryAt(after: 1, now: now, notAfter: nil, jitter: 0) == now.addingTimeInterval(30))
        #expect(policy.retryAt(after: 3, now: now, notAfter: nil, jitter: 0) == now.addingTimeInterval(120))
        #expect(policy.retryAt(after: 5, now: now, notAfter: nil, jitter: 0) == now.addingTimeInterval(480))
        #expect(policy.retryAt(after: 6, now: now, notAfter: nil, jitter: 0) == now.addingTimeInterval(600))
        #expect(policy.retryAt(after: 1, now: now, notAfter: nil, jitter: 0.1) == now.addingTimeInterval(33))
        #expect(policy.retryAt(after: 7, now: now, notAfter: nil, jitter: 0) == nil)
        #expect(policy.retryAt(after: 1, now: now, notAfter: now.addingTimeInterval(30), jitter: 0) == nil)
    }
}
