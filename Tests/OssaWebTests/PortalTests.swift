import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OssaCore
import OssaStore
@testable import OssaWeb
import SQLKit
import Testing

/// A phone following its personal link: `/q/{token}` without JavaScript.
@Suite("Questionnaire link: date of birth, pages, resume, review, submit")
struct PortalTests {
    /// The phone's cookies: the public form cookie and, once confirmed, the link cookie.
    struct Phone {
        var cookies: [String: String] = [:]
        var headers: HTTPFields {
            var fields: HTTPFields = [:]
            if !cookies.isEmpty { fields[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            return fields
        }
        mutating func keep(_ response: TestResponse) {
            for name in ["ossa_form", "ossa_link"] {
                if let value = response.cookie(named: name) { cookies[name] = value }
            }
        }
        mutating func get(_ client: any TestClientProtocol, _ uri: String) async throws -> TestResponse {
            let response = try await client.execute(uri: uri, method: .get, headers: headers)
            keep(response)
            return response
        }
        mutating func post(_ client: any TestClientProtocol, _ uri: String, _ fields: [(String, String)]) async throws -> TestResponse {
            var headers = self.headers
            headers[.contentType] = "application/x-www-form-urlencoded"
            let response = try await client.execute(uri: uri, method: .post, headers: headers,
                                                    body: formBody([("_csrf", cookies["ossa_form"] ?? "")] + fields))
            keep(response)
            return response
        }
    }

    /// The month-3 timepoint of episode A with its window open at the test clock's time, a link to it and a
    /// reminder queued for three days later.
    static func invite(_ server: TestServer) async throws -> (token: String, timepoint: TimepointRecord, reminder: OutboxMessageRecord) {
        let f = server.fixture
        let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
        let today = CalendarDate(utc: server.clock.now)
        let schedule = try await f.store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: today.adding(days: -91))
        let month3 = try #require(schedule.first { $0.code == "month-3" })
        let issued = try await f.store.invitations.create(coordinator, timepointID: month3.id, channel: .email, now: server.clock.now)
        let reminder = try await f.store.outbox.enqueue(coordinator, NewOutboxMessage(
            invitationID: issued.invitation.id, kind: "reminder", channel: .email, recipient: "anna@example.org",
            subject: "Reminder", body: "https://ossa.example/q/\(issued.token)", notBefore: server.clock.now.addingTimeInterval(3 * 86_400)))
        return (issued.token, month3, reminder)
    }

    static func questionnaire(_ code: String) throws -> PortalQuestionnaire {
        PortalQuestionnaire(timepointCode: code, joint: .knee, protocol: try FollowUpProtocol.bundledDefault(), library: try InstrumentLibrary.builtIn())
    }

    static func timepoint(_ store: OssaStore, _ id: UUID) async throws -> (status: String, opened: Date?, started: Date?) {
        let row = try #require(try await store.database.sql().select().columns("status", "opened_at", "started_at").from("follow_up_timepoints")
            .where("id", .equal, SQLBind(id)).first())
        return (try row.decode(column: "status", as: String.self), try row.decode(column: "opened_at", as: Date?.self),
                try row.decode(column: "started_at", as: Date?.self))
    }

    @Test(arguments: Engine.available)
    func aPhoneAnswersEveryPageAndTheTimepointIsCompleteWithItsReminderCancelled(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let (token, month3, reminder) = try await Self.invite(server)
            var phone = Phone()
            // The landing page asks for the date of birth and shows nothing identifying.
            let landing = try await phone.get(client, "/q/\(token)")
            #expect(landing.status == .ok)
            #expect(landing.text.contains("What is your date of birth?") && landing.text.contains("Vienna Bone Clinic"))
            // The page holds the link's random token (which may spell "A-1"): it is blanked before the search.
            let shown = landing.text.replacingOccurrences(of: token, with: "<token>")
            for identifying in ["Müller", "Anna", "1961", "A-1"] { #expect(!shown.contains(identifying), "\(identifying) shown before confirmation") }
            #expect(landing.headers[.cacheControl] == "no-store")
            #expect(try await Self.timepoint(f.store, month3.id).opened != nil)

            // A wrong date counts; the right one opens the questionnaire.
            let wrong = try await phone.post(client, "/q/\(token)", [("day", "4"), ("month", "3"), ("year", "1961")])
            #expect(wrong.status == .unprocessableContent && wrong.text.contains("4 tries left"))
            let empty = try await phone.post(client, "/q/\(token)", [("day", ""), ("month", "13"), ("year", "1961")])
            #expect(errorSummary(empty.text) == ["Enter the day of your date of birth", "The month must be a number from 1 to 12"])
            let right = try await phone.post(client, "/q/\(token)", [("day", "3"), ("month", "4"), ("year", "1961")])
            #expect(right.status == .seeOther && phone.cookies["ossa_link"] != nil)
            let resume = try await phone.get(client, "/q/\(token)")
            #expect(resume.headers[.location] == "/q/\(token)/pages/1")

            let questionnaire = try Self.questionnaire("month-3")
            let sections = questionnaire.sections
            // Knee at 3 months: NRS, PGA, events, KOOS (over several pages), KOOS JR, Tegner.
            #expect(Set(sections.map(\.instrument.id)) == ["nrs-pain", "pga", "events", "koos", "koos-jr", "tegner"])
            #expect(sections.allSatisfy { $0.items.count <= PortalQuestionnaire.maxItemsPerPage })
            let first = try await phone.get(client, "/q/\(token)/pages/1")
            #expect(first.status == .ok && first.text.contains("Step 1 of \(sections.count + 1)"))

            // Answer the first page, then stop: saved, started, not complete, reminder still queued.
            func answers(_ section: PortalQuestionnaire.Section) -> [(String, String)] {
                section.items.map { item in
                    // KOOS: the first box of every item is 0 ("no problems" for the ability items S4/S5 too).
                    (PortalQuestionnaire.field(section.instrument.id, item.code), String(section.instrument.options(for: item).first!.value))
                }
            }
            let saved = try await phone.post(client, "/q/\(token)/pages/1", answers(sections[0]) + [("go", "next")])
            #expect(saved.status == .seeOther && saved.headers[.location] == "/q/\(token)/pages/2")
            let state = try await Self.timepoint(f.store, month3.id)
            #expect(state.status == "pending" && state.started != nil)
            #expect(try await f.store.outbox.list(f.admin, status: .queued).items.map(\.id) == [reminder.id])

            // Resuming later from the same link goes to the first page with nothing answered.
            var later = Phone(cookies: phone.cookies)
            #expect(try await later.get(client, "/q/\(token)").headers[.location] == "/q/\(token)/pages/2")
            // A refused answer comes back with its error and the other answers kept.
            var bad = answers(sections[1])
            bad[0].1 = "99"
            let refused = try await phone.post(client, "/q/\(token)/pages/2", bad + [("go", "next")])
            #expect(refused.status == .unprocessableContent && errorSummary(refused.text) == ["Choose one of the answers"])

            for section in sections.dropFirst() {
                let response = try await phone.post(client, "/q/\(token)/pages/\(section.number)", answers(section) + [("go", "next")])
                #expect(response.status == .seeOther)
            }
            let review = try await phone.get(client, "/q/\(token)/review")
            #expect(review.status == .ok && review.text.contains("Check your answers") && review.text.contains("Send my answers"))
            let sent = try await phone.post(client, "/q/\(token)/submit", [])
            #expect(sent.status == .seeOther && sent.headers[.location] == "/q/\(token)")
            let thanks = try await phone.get(client, "/q/\(token)")
            #expect(thanks.status == .ok && thanks.text.contains("Thank you"))

            // Stored: every instrument with the raw answers and the published score; complete; reminder cancelled.
            #expect(try await Self.timepoint(f.store, month3.id).status == "completed")
            let clinician = try await f.store.users.actingUser(try #require(f.userIDs[.clinician]), from: "test")
            let responses = try await f.store.questionnaires.list(clinician, QuestionnaireFilter(timepointID: month3.id)).items
            #expect(Set(responses.map(\.instrumentID)) == ["nrs-pain", "pga", "events", "koos", "koos-jr", "tegner"])
            #expect(responses.allSatisfy { $0.source == .patientLink })
            // KOOS User's Guide 2012: subscale = 100 − mean(item) × 25, so every item at 0 scores 100.
            let koos = try #require(responses.first { $0.instrumentID == "koos" })
            #expect(koos.score("pain") == 100 && koos.score("adl") == 100 && koos.score("qol") == 100)
            let outbox = try await f.store.outbox.list(f.admin).items
            #expect(outbox.first { $0.id == reminder.id }?.status == .cancelled)
            // The link is used: answering again is refused and says so.
            let again = try await phone.post(client, "/q/\(token)/pages/1", answers(sections[0]))
            #expect(again.text.contains("Thank you"))
            // The confirmed phone is led to the patient's results in plain words, with a plot.
            #expect(thanks.text.contains("/q/\(token)/progress"))
            let progress = try await phone.get(client, "/q/\(token)/progress")
            #expect(progress.status == .ok && progress.text.contains("Your left knee") && progress.text.contains("<svg"))
            #expect(progress.text.contains("3 months: 100"))
            // Another browser, which never confirmed the date of birth, is sent back to the link.
            var stranger = Phone()
            #expect(try await stranger.get(client, "/q/\(token)/progress").status == .seeOther)

            // Signed in, the patient starts on the same page.
            let patient = try await signIn(client, "anna@example.org")
            #expect(try await getPage(client, patient, "/").headers[.location] == "/my")
            let mine = try await getPage(client, patient, "/my")
            #expect(mine.status == .ok && mine.text.contains("Your left knee") && mine.text.contains("Questionnaires to come"))
        }
    }

    @Test
    func fiveWrongDatesOfBirthLockTheLink() async throws {
        try await withServer { server, client in
            let (token, _, _) = try await Self.invite(server)
            var phone = Phone()
            _ = try await phone.get(client, "/q/\(token)")
            for remaining in (1...4).reversed() {
                let response = try await phone.post(client, "/q/\(token)", [("day", "1"), ("month", "1"), ("year", "1960")])
                #expect(response.text.contains("\(remaining) \(remaining == 1 ? "try" : "tries") left"))
            }
            let locked = try await phone.post(client, "/q/\(token)", [("day", "1"), ("month", "1"), ("year", "1960")])
            #expect(locked.status == .forbidden && locked.text.contains("This link has been locked"))
            // Even the right date does not open a locked link.
            let right = try await phone.post(client, "/q/\(token)", [("day", "3"), ("month", "4"), ("year", "1961")])
            #expect(right.text.contains("This link has been locked") && right.cookie(named: "ossa_link") == nil)
        }
    }

    @Test
    func closedAndUnknownLinksSaySoWithTheClinicsContact() async throws {
        try await withServer { server, client in
            let (token, _, _) = try await Self.invite(server)
            var phone = Phone()
            #expect(try await phone.get(client, "/q/not-a-real-token").status == .notFound)
            // After the window closes the link says it expired.
            server.clock.advance(60 * 86_400)
            let expired = try await phone.get(client, "/q/\(token)")
            #expect(expired.text.contains("This link has expired") && expired.text.contains("Contact your clinic") && expired.text.contains("Vienna Bone Clinic"))
        }
    }

    @Test
    func aFormPostWithoutThePublicTokenIsRefused() async throws {
        try await withServer { server, client in
            let (token, _, _) = try await Self.invite(server)
            let response = try await client.execute(uri: "/q/\(token)", method: .post, headers: formHeaders,
                                                    body: formBody([("day", "3"), ("month", "4"), ("year", "1961")]))
            #expect(response.status == .forbidden)
        }
    }

    @Test
    func stoppingMessagesCancelsTheQueuedOnesAtOnce() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let (token, _, reminder) = try await Self.invite(server)
            var phone = Phone()
            let page = try await phone.get(client, "/q/\(token)/stop")
            #expect(page.status == .ok && page.text.contains("Stop messages by e-mail"))
            let stopped = try await phone.post(client, "/q/\(token)/stop", [])
            #expect(stopped.status == .ok && stopped.text.contains("Messages by e-mail stopped"))
            #expect(try await f.store.outbox.list(f.admin).items.first { $0.id == reminder.id }?.status == .cancelled)
            let row = try #require(try await f.store.database.sql().select().column("email_opt_out_at").from("patients")
                .where("id", .equal, SQLBind(f.patientA.id)).first())
            #expect(try row.decode(column: "email_opt_out_at", as: Date?.self) != nil)
        }
    }

    @Test(arguments: Engine.available)
    func aDiaryDayWithFeverPutsARedFlagOnTheWorklistAtOnce(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
            let today = CalendarDate(utc: server.clock.now)
            // Index procedure four days ago: today is diary day 4 (a one-day window).
            let schedule = try await f.store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: today.adding(days: -4))
            let day4 = try #require(schedule.first { $0.code == "diary-d4" })
            let issued = try await f.store.invitations.create(coordinator, timepointID: day4.id, channel: .email, now: server.clock.now)
            var phone = Phone()
            _ = try await phone.get(client, "/q/\(issued.token)")
            _ = try await phone.post(client, "/q/\(issued.token)", [("day", "3"), ("month", "4"), ("year", "1961")])
            #expect(try await phone.get(client, "/q/\(issued.token)").headers[.location] == "/q/\(issued.token)/pages/1")
            let form = try await phone.get(client, "/q/\(issued.token)/pages/1")
            #expect(form.status == .ok && form.text.contains("Recovery diary, day 4") && form.text.contains("Day 4 of 7"))
            // Every problem at once: nothing answered.
            let empty = try await phone.post(client, "/q/\(issued.token)/pages/1", [("go", "next")])
            #expect(empty.status == .unprocessableContent && errorSummary(empty.text).count >= 5)
            let answers = [("pain", "6"), ("discomfort", "moderate"), ("weightBearing", "partial"), ("crutches", "yes"),
                           ("painMedicine", "paracetamol"), ("swelling", "mild"), ("redness", "none"), ("fever", "yes"), ("temperature", "38.4")]
            let done = try await phone.post(client, "/q/\(issued.token)/pages/1", answers + [("go", "next")])
            #expect(done.status == .ok && done.text.contains("some answers need attention"))
            // The fever rule (recovery-diary.json: feverish or ≥ 38.0 °C) raised an urgent flag for the clinicians.
            let clinician = try await f.store.users.actingUser(try #require(f.userIDs[.clinician]), from: "test")
            let flags = try await f.store.redFlags.list(clinician, open: true).items
            #expect(flags.map(\.ruleID) == ["fever"] && flags.first?.severity == "urgent" && flags.first?.episodeID == f.episodeA.id)
            // The day is complete, with its pain as a scored pain NRS.
            #expect(try await Self.timepoint(f.store, day4.id).status == "completed")
            let responses = try await f.store.questionnaires.list(clinician, QuestionnaireFilter(timepointID: day4.id)).items
            #expect(responses.map(\.instrumentID) == ["nrs-pain"] && responses.first?.answers["pain"] == 6)
            // On the clinicians' worklist at once, with the patient's name; the test server has no delivery configured.
            let session = try await signIn(client, "clinician@example.org")
            let worklist = try await getPage(client, session, "/")
            #expect(worklist.text.contains("<a href=\"#red-flags\">Red flags <span class=\"count-badge\">1</span>"))
            #expect(worklist.text.contains("Müller, Anna") && worklist.text.contains("Urgent"))
            #expect(worklist.text.contains("Delivery is not configured"))
            #expect(try await getPage(client, session, "/follow-up/completion").status == .ok)
            // The follow-up page lists it; resolved there with a note (required), it leaves the open list.
            let flag = try #require(flags.first)
            let followUp = try await getPage(client, session, "/episodes/\(f.episodeA.id.lowercasedID)/follow-up")
            let resolveURL = "/episodes/\(f.episodeA.id.lowercasedID)/red-flags/\(flag.id.lowercasedID)/resolve"
            #expect(followUp.text.contains(resolveURL) && followUp.text.contains("Urgent"))
            let refused = try await postForm(client, session, resolveURL, [("resolution", " ")])
            #expect(refused.status == .unprocessableContent && errorSummary(refused.text) == ["Enter what was done"])
            let resolved = try await postForm(client, session, resolveURL, [("resolution", "Called: seen in clinic the same day")])
            #expect(resolved.status == .seeOther)
            #expect(try await f.store.redFlags.list(clinician, open: true).total == 0)
        }
    }

    @Test
    func aLockedLinkIsFlaggedForTheCoordinators() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let (token, month3, _) = try await Self.invite(server)
            var phone = Phone()
            _ = try await phone.get(client, "/q/\(token)")
            for _ in 0..<LinkRepository.maxBirthDateFailures {
                _ = try await phone.post(client, "/q/\(token)", [("day", "1"), ("month", "1"), ("year", "1960")])
            }
            let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
            let flags = try await f.store.redFlags.list(coordinator, open: true).items
            #expect(flags.map(\.ruleID) == ["link-locked"] && flags.first?.timepointID == month3.id)
        }
    }
}
