import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// The automatic invitations under a controlled clock: the window opening in the site's time zone, the plan of
/// reminders out of quiet hours, opt-outs, patients without a channel, completion cancelling everything queued.
@Suite("Invitation planner: windows, reminders, quiet hours, opt-outs")
struct InvitationPlannerTests {
    static let compose: MessageComposer = { context in
        ComposedMessage(subject: "Questionnaire", text: "https://ossa.example/q/\(context.token) #\(context.sequence)")
    }

    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Episode A's schedule from 2026-01-31: the month-3 window is 2026-04-16 to 2026-05-28 (protocol: target
    /// 2026-04-30, 14 days before, 28 after).
    static func schedule(_ f: Fixture) async throws -> TimepointRecord {
        let coordinator = try #require(f.actors[.coordinator])
        let schedule = try await f.store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-01-31"))
        let month3 = try #require(schedule.first { $0.code == "month-3" })
        #expect(month3.windowStart == date("2026-04-16") && month3.windowEnd == date("2026-05-28"))
        return month3
    }

    static func planner(_ store: OssaStore) throws -> InvitationPlanner {
        try InvitationPlanner(database: store.database, rules: try ReminderRules.bundled())
    }

    static func setSite(_ store: OssaStore, _ site: UUID, timeZone: String) async throws {
        try await store.database.sql().update("sites").set("time_zone", to: SQLBind(timeZone)).where("id", .equal, SQLBind(site)).run()
    }

    @Test(arguments: Engine.available)
    func theDayAWindowOpensItsLinkAndRemindersAreQueuedOnce(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            let month3 = try await Self.schedule(f)
            let planner = try Self.planner(store)
            // The day before the window opens: nothing.
            #expect(try await planner.planDue(now: Self.instant("2026-04-15T12:00:00Z"), compose: Self.compose) == PlanningSummary())
            // 06:00 on the opening day (UTC site): one link, the invitation at 09:00 (the quiet hours end, and the
            // rules' invitation time), reminders 3 and 7 days later and 2 days before the window's last day.
            let now = Self.instant("2026-04-16T06:00:00Z")
            #expect(try await planner.planDue(now: now, compose: Self.compose) == PlanningSummary(invited: 1, queued: 4))
            let messages = try await store.outbox.list(f.admin, timepoint: month3.id).items
            #expect(messages.map(\.notBefore) == ["2026-04-16T09:00:00Z", "2026-04-19T09:00:00Z", "2026-04-23T09:00:00Z", "2026-05-26T09:00:00Z"].map(Self.instant))
            #expect(messages.map(\.sequence) == [0, 1, 2, 3] && messages.map(\.kind) == ["invitation", "reminder", "reminder", "reminder"])
            #expect(messages.allSatisfy { $0.notAfter == Self.instant("2026-05-29T00:00:00Z") && $0.recipient == "anna@example.org" && $0.siteID == f.siteA.id })
            // All four carry the same link; the invitation records its origin and the timepoint when it was invited.
            let tokens = Set(messages.map { $0.body.split(separator: " ")[0] })
            #expect(tokens.count == 1)
            let row = try #require(try await store.database.sql().select().columns("origin").from("invitations").first())
            #expect(try row.decode(column: "origin", as: String.self) == "automatic")
            let invited = try #require(try await store.database.sql().select().column("invited_at").from("follow_up_timepoints")
                .where("id", .equal, SQLBind(month3.id)).first())
            #expect(try invited.decode(column: "invited_at", as: Date?.self) == now)
            // A second run, on this or another server: nothing more.
            #expect(try await planner.planDue(now: now.addingTimeInterval(60), compose: Self.compose) == PlanningSummary())
            // Completion cancels every queued message of the timepoint at once, and their text (the link) is removed.
            let clinician = try #require(f.actors[.clinician])
            _ = try await store.questionnaires.submit(clinician, episodeID: f.episodeA.id, instrumentID: "nrs-pain", answers: ["pain": 3],
                                                      timepointID: month3.id)
            let after = try await store.outbox.list(f.admin, timepoint: month3.id).items
            #expect(after.allSatisfy { $0.status == .cancelled && $0.body == OutboxRepository.removedBody })
        }
    }

    @Test
    func theWindowOpensOnTheSitesLocalDayAndQuietHoursAreLocal() async throws {
        try await withStore(.sqlite) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            try await Self.setSite(store, f.siteA.id, timeZone: "Pacific/Auckland")
            let month3 = try await Self.schedule(f)
            // 13:00 UTC on 15 April is 01:00 on 16 April in Auckland (NZST, UTC+12 after 5 April): the window is open
            // there although it is still the 15th in UTC. The invitation waits for 09:00 Auckland = 21:00 UTC.
            let summary = try await Self.planner(store).planDue(now: Self.instant("2026-04-15T13:00:00Z"), compose: Self.compose)
            #expect(summary == PlanningSummary(invited: 1, queued: 4))
            let messages = try await store.outbox.list(f.admin, timepoint: month3.id).items
            #expect(messages.first?.notBefore == Self.instant("2026-04-15T21:00:00Z"))
            // The link expires when 28 May ends in Auckland: 29 May 00:00 NZST = 28 May 12:00 UTC.
            #expect(messages.allSatisfy { $0.notAfter == Self.instant("2026-05-28T12:00:00Z") })
        }
    }

    @Test(arguments: Engine.available)
    func optOutsAndMissingAddressesChooseTheChannelOrLeaveACall(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org", phone: "+43 660 1234567"))
            try await store.database.sql().update("patients").set("email_opt_out_at", to: SQLBind(Self.instant("2026-03-01T00:00:00Z")))
                .where("id", .equal, SQLBind(f.patientA.id)).run()
            let month3 = try await Self.schedule(f)
            // Patient B (site B) has neither an e-mail address nor a phone: counted for a call, not invited.
            let seeder = f.seeder
            _ = try await store.timepoints.generate(seeder, episodeID: f.episodeB.id, indexDate: date("2026-01-31"))
            let summary = try await Self.planner(store).planDue(now: Self.instant("2026-04-16T10:00:00Z"), compose: Self.compose)
            // Patient B is not a candidate at all (the worklist lists them to call).
            #expect(summary == PlanningSummary(invited: 1, queued: 4))
            let messages = try await store.outbox.list(f.admin, timepoint: month3.id).items
            // Opted out of e-mail: SMS to the phone; sent at once (10:00 is after the quiet hours).
            #expect(messages.allSatisfy { $0.channel == .sms && $0.recipient == "+43 660 1234567" })
            #expect(messages.first?.notBefore == Self.instant("2026-04-16T10:00:00Z"))
        }
    }

    @Test(arguments: Engine.available)
    func aDeathStopsEveryMessageAndEveryInvitation(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            let month3 = try await Self.schedule(f)
            let planner = try Self.planner(store)
            #expect(try await planner.planDue(now: Self.instant("2026-04-16T10:00:00Z"), compose: Self.compose).invited == 1)
            // A second episode of the same patient (the other knee), schedule from the same day.
            let other = try await store.episodes.create(coordinator, NewEpisode(patientID: f.patientA.id, joint: .knee, side: .right,
                                                                                diagnosis: .boneMarrowLesion))
            _ = try await store.timepoints.generate(coordinator, episodeID: other.id, indexDate: date("2026-01-31"))
            let clinician = try #require(f.actors[.clinician])
            _ = try await store.outcomes.create(clinician, episodeID: f.episodeA.id, .death(date: date("2026-04-17")))
            // Every queued message cancelled at once; no invitation for either episode afterwards.
            #expect(try await store.outbox.list(f.admin, timepoint: month3.id).items.allSatisfy { $0.status == .cancelled })
            #expect(try await planner.planDue(now: Self.instant("2026-04-18T10:00:00Z"), compose: Self.compose) == PlanningSummary())
        }
    }

    @Test
    func nothingIsPlannedOrSentAfterTheWindowCloses() async throws {
        try await withStore(.sqlite) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            _ = try await Self.schedule(f)
            // 29 May: month-3 closed on the 28th, month-6 opens on 3 July.
            #expect(try await Self.planner(store).planDue(now: Self.instant("2026-05-29T10:00:00Z"), compose: Self.compose) == PlanningSummary())
            #expect(try await store.outbox.list(f.admin).total == 0)
        }
    }

    @Test(arguments: Engine.available)
    func movingTheIndexDateCancelsEveryQueuedMessageAndPlansAgain(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            let month3 = try await Self.schedule(f)
            let planner = try Self.planner(store)
            let now = Self.instant("2026-04-16T10:00:00Z")
            #expect(try await planner.planDue(now: now, compose: Self.compose).invited == 1)
            // The procedure moved two weeks later: month-3 is now due 2026-05-14, window 2026-04-30 to 2026-06-11.
            let moved = try await store.timepoints.reschedule(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-02-14"), now: now)
            let movedMonth3 = try #require(moved.first { $0.id == month3.id })
            #expect(movedMonth3.dueDate == date("2026-05-14") && movedMonth3.windowStart == date("2026-04-30") && movedMonth3.windowEnd == date("2026-06-11"))
            // Nothing queued on the old dates survives, and the old link is withdrawn.
            #expect(try await store.outbox.list(f.admin, status: .queued).total == 0)
            #expect(try await store.invitations.list(coordinator, InvitationFilter(status: .revoked), now: now).total == 1)
            // The planner invites again when the new window opens, not before.
            #expect(try await planner.planDue(now: now.addingTimeInterval(3600), compose: Self.compose).invited == 0)
            let opened = Self.instant("2026-04-30T10:00:00Z")
            #expect(try await planner.planDue(now: opened, compose: Self.compose) == PlanningSummary(invited: 1, queued: 4))
            let queued = try await store.outbox.list(f.admin, status: .queued).items
            #expect(queued.allSatisfy { $0.notAfter == Self.instant("2026-06-12T00:00:00Z") } && queued.first?.notBefore == opened)
        }
    }

    @Test(arguments: Engine.available)
    func twoPlannersAtOnceInviteATimepointOnce(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            _ = try await Self.schedule(f)
            // Two servers on one database run their planners at the same moment.
            let now = Self.instant("2026-04-16T10:00:00Z")
            let first = try Self.planner(store), second = try Self.planner(store)
            async let a = first.planDue(now: now, compose: Self.compose)
            async let b = second.planDue(now: now, compose: Self.compose)
            let (one, two) = try await (a, b)
            #expect(one.invited + two.invited == 1 && one.queued + two.queued == 4, "\(one), \(two)")
            #expect(try await store.invitations.list(coordinator, now: now).total == 1)
            #expect(try await store.outbox.list(f.admin).total == 4)
        }
    }
}
