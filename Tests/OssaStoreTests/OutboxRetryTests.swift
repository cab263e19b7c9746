import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// `OutboxRepository.retryFailed` (`ossa outbox retry`): a failed message, whose link was removed when it failed, is
/// re-issued as a new link with its plan; what cannot be retried is reported with the reason — on both engines.
@Suite("Outbox retry: failed messages re-issued with a new link")
struct OutboxRetryTests {
    static let compose: MessageComposer = { context in
        ComposedMessage(subject: "Questionnaire", text: "https://ossa.example/q/\(context.token) #\(context.sequence)")
    }

    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Sends the month-3 link of `episode` (window 2026-04-16 to 2026-05-28, site in UTC) at `now` and fails its
    /// invitation permanently; returns the timepoint, the sent invitation and the failed message.
    static func failedInvitation(_ store: OssaStore, _ f: Fixture, episode: UUID, actor: ActingUser,
                                 now: Date) async throws -> (timepoint: TimepointRecord, sent: SentInvitation, failed: UUID) {
        let schedule = try await store.timepoints.generate(actor, episodeID: episode, indexDate: date("2026-01-31"))
        let month3 = try #require(schedule.first { $0.code == "month-3" })
        let sent = try await store.invitations.send(actor, timepointID: month3.id, channel: .email, now: now, compose: compose)
        let claimed = try await store.outbox.claimForDelivery(owner: "w", lease: 60, channels: [.email], limit: 10, now: now.addingTimeInterval(1),
                                                              messageDomain: "ossa.example")
        #expect(claimed.map(\.id) == [sent.messageID])
        #expect(try await store.outbox.finishDeliveries(owner: "w", [(sent.messageID, .permanent("550 5.1.1 no such user"))], now: now)
                == DeliverySummary(failed: 1))
        return (month3, sent, sent.messageID)
    }

    @Test(arguments: Engine.available)
    func aFailedInvitationIsReissuedWithANewLinkToTheCurrentAddress(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            let (month3, sent, failed) = try await Self.failedInvitation(store, f, episode: f.episodeA.id, actor: coordinator,
                                                                         now: Self.instant("2026-04-20T09:00:00Z"))
            // Failed, the message no longer holds its link: it cannot simply be queued again.
            let before = try #require(try await store.outbox.list(f.admin, status: .failed).items.first)
            #expect(before.id == failed && before.body == OutboxRepository.removedBody)
            // The coordinator corrects the address; the administrator retries the next day (10:00, outside quiet hours).
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna.new@example.org"))
            let now = Self.instant("2026-04-21T10:00:00Z")
            let unknown = UUID()
            let results = try await store.outbox.retryFailed(f.admin, ids: [failed, unknown, failed], now: now, compose: Self.compose)
            #expect(results.map(\.id) == [failed, unknown])
            guard case .retried(let messageID, let invitationID, let queued, let superseded) = results[0].outcome else {
                Issue.record("not retried: \(results[0].outcome)")
                return
            }
            #expect(results[1].outcome == .unknown)
            // The old link's three reminders (still queued) are cancelled with it; the new plan: the invitation now,
            // reminders on 04-24 and 04-28 (3 and 7 days later) and 05-26 (2 days before the window's last day).
            #expect(superseded == 3 && queued == 4)
            let messages = try await store.outbox.list(f.admin, timepoint: month3.id).items
            let old = messages.filter { $0.invitationID == sent.invitation.id }
            let new = messages.filter { $0.invitationID == invitationID }.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }
            #expect(old.count == 4 && old.allSatisfy { $0.status == .cancelled && $0.body == OutboxRepository.removedBody })
            #expect(old.first { $0.id == failed }?.lastError == "retried as \(messageID.lowerString)")
            #expect(old.filter { $0.id != failed }.allSatisfy { $0.lastError == "superseded: retried as \(messageID.lowerString)" })
            #expect(new.map(\.id).first == messageID && new.count == 4 && new.allSatisfy { $0.status == .queued && $0.attempts == 0 })
            #expect(new.map(\.notBefore) == ["2026-04-21T10:00:00Z", "2026-04-24T09:00:00Z", "2026-04-28T09:00:00Z", "2026-05-26T09:00:00Z"].map(Self.instant))
            #expect(new.allSatisfy { $0.recipient == "anna.new@example.org" && $0.channel == .email && $0.lastError == nil })
            // A new link: a new token in the message, the old one still works until the window closes.
            let link = try #require(new.first?.body.split(separator: " ").first.map(String.init))
            #expect(link.hasPrefix("https://ossa.example/q/") && !link.hasSuffix(sent.token))
            let invitations = try await store.database.sql().select().columns("id", "origin", "revoked_at").from("invitations").all()
            #expect(invitations.count == 2)
            let issued = try #require(try invitations.first { try $0.decode(column: "id", as: UUID.self) == invitationID })
            #expect(try issued.decode(column: "origin", as: String.self) == "staff")
            #expect(try invitations.allSatisfy { try $0.decode(column: "revoked_at", as: Date?.self) == nil })
            // Retrying it again does nothing: it is no longer failed.
            let again = try await store.outbox.retryFailed(f.admin, ids: [failed], now: now, compose: Self.compose)
            #expect(again.map(\.outcome) == [.notRetried("it is cancelled, not failed (retried as \(messageID.lowerString))")])
            // Audited: the administrator's retry of the message, the planner's new invitation; an attempt that retried
            // nothing is recorded as well.
            let entries = try await auditEntries(store)
            #expect(entries.contains { $0.actorUserID == f.admin.userID.lowerString && $0.actorRole == "admin" && $0.action == "update"
                && $0.recordType == "outbox-message" && $0.recordID == failed.lowerString })
            #expect(entries.contains { $0.actorRole == "system" && $0.fromAddress == "planner" && $0.action == "create"
                && $0.recordType == "invitation" && $0.recordID == invitationID.lowerString })
            #expect(entries.last?.recordID == "retry:0" && entries.last?.actorUserID == f.admin.userID.lowerString)
            // The new invitation is sent like any other.
            let claimed = try await store.outbox.claimForDelivery(owner: "w", lease: 60, channels: [.email], limit: 10, now: now.addingTimeInterval(1),
                                                                  messageDomain: "ossa.example")
            #expect(claimed.map(\.id) == [messageID] && claimed[0].body.hasPrefix("https://ossa.example/q/"))
        }
    }

    @Test(arguments: Engine.available)
    func whatCannotBeRetriedIsReportedWithTheReason(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(f.seeder, f.patientA.id, PatientChanges(email: "anna@example.org"))
            _ = try await store.patients.update(f.seeder, f.patientB.id, PatientChanges(email: "marco@example.org"))
            let sentAt = Self.instant("2026-04-20T09:00:00Z")
            let a = try await Self.failedInvitation(store, f, episode: f.episodeA.id, actor: f.seeder, now: sentAt)
            let b = try await Self.failedInvitation(store, f, episode: f.episodeB.id, actor: f.seeder, now: sentAt.addingTimeInterval(60))
            let queued = try #require(try await store.outbox.list(f.admin, status: .queued).items.first)
            let now = Self.instant("2026-04-22T10:00:00Z")

            // Only an administrator retries (the worklist's staff see messages but do not resend them).
            await #expect(throws: AccessDenied.self) {
                _ = try await store.outbox.retryFailed(coordinator, ids: [a.failed], now: now, compose: Self.compose)
            }
            // After the window closed: expired. A queued message: not failed.
            let late = try await store.outbox.retryFailed(f.admin, ids: [a.failed, queued.id], now: Self.instant("2026-05-29T00:00:00Z"),
                                                          compose: Self.compose)
            #expect(late.map(\.outcome) == [.expired, .notRetried("it is queued, not failed")])

            // Patient B asks for no more e-mail; patient A's timepoint is completed (by phone).
            try await store.database.sql().update("patients").set("email_opt_out_at", to: SQLBind(sentAt))
                .where("id", .equal, SQLBind(f.patientB.id)).run()
            _ = try await store.timepoints.mark(coordinator, a.timepoint.id, .completed, at: now)
            // Every failed message, oldest first.
            let all = try await store.outbox.retryFailed(f.admin, ids: nil, now: now, compose: Self.compose)
            #expect(all == [OutboxRetry(id: a.failed, outcome: .notRetried("the timepoint is completed, not pending")),
                            OutboxRetry(id: b.failed, outcome: .notRetried("the patient has asked for no e-mail"))])
            // Nothing was changed or issued.
            #expect(Set(try await store.outbox.list(f.admin, status: .failed).items.map(\.id)) == [a.failed, b.failed])
            let invitations = try await store.database.sql().select().column("id").from("invitations").all()
            #expect(invitations.count == 2)
            #expect(try await store.outbox.retryFailed(f.admin, ids: [], now: now, compose: Self.compose).isEmpty)
        }
    }
}
