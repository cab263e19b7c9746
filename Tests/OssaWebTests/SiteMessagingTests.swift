import Foundation
import OssaCore
import OssaStore
@testable import OssaWeb
import Testing

@Suite("A site's messaging settings: time zone, quiet hours, contact, the clinic's own wording")
struct SiteMessagingTests {
    @Test
    func anAdminSetsTheSitesWordingAndThePlannerUsesIt() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let url = "/admin/sites/\(f.siteA.id.lowercasedID)/messaging"
            let form = try await getPage(client, admin, url)
            // Prefilled with the bundled wording, which the clinic may take over.
            #expect(form.status == .ok && form.text.contains("Your {{timepoint}} questionnaire from {{clinic}}"))
            var fields: [(String, String)] = [("timeZone", "Mars/Olympus"), ("quietStart", "21:00"), ("quietEnd", ""),
                                              ("templates[invitation-email][own]", "yes"),
                                              ("templates[invitation-email][subject]", "Hello {{name}}"),
                                              ("templates[invitation-email][text]", "Answer: {{link}}")]
            let refused = try await postForm(client, admin, url, fields)
            #expect(refused.status == .unprocessableContent)
            let problems = errorSummary(refused.text)
            #expect(problems.count == 2, "\(problems)")
            #expect(problems.first?.hasPrefix("Give both ends of the quiet hours") == true)
            #expect(problems.last?.hasPrefix("Invitation by e-mail: {{name}} is not a placeholder") == true)
            fields = [("timeZone", "Mars/Olympus"), ("quietStart", "21:00"), ("quietEnd", "08:00"), ("contactPhone", "+43 1 555 0100"),
                      ("templates[invitation-email][own]", "yes"), ("templates[invitation-email][subject]", "{{clinic}}: your {{timepoint}} check-in"),
                      ("templates[invitation-email][text]", "Please answer: {{link}}")]
            let badZone = try await postForm(client, admin, url, fields)
            #expect(badZone.status == .unprocessableContent && errorSummary(badZone.text).first?.contains("is not a time zone name") == true)
            fields[0] = ("timeZone", "Europe/Vienna")
            let saved = try await postForm(client, admin, url, fields)
            #expect(saved.status == .seeOther)
            let settings = try await f.store.sites.messaging(f.admin, f.siteA.id)
            #expect(settings.timeZone == "Europe/Vienna" && settings.quietHours?.startText == "21:00" && settings.contactPhone == "+43 1 555 0100")
            #expect(settings.templates.map { "\($0.kind.rawValue)-\($0.channel.rawValue)" } == ["invitation-email"])

            // A link sent now uses the clinic's subject; its reminders keep the bundled wording.
            let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
            _ = try await f.store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            let today = CalendarDate(utc: server.clock.now)
            let schedule = try await f.store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: today.adding(days: -91))
            let month3 = try #require(schedule.first { $0.code == "month-3" })
            let composition = try MessageComposition(baseURL: "https://ossa.example")
            _ = try await f.store.invitations.send(coordinator, timepointID: month3.id, channel: .email, now: server.clock.now, compose: composition.composer)
            let messages = try await f.store.outbox.list(f.admin, timepoint: month3.id).items
            #expect(messages.first { $0.kind == "invitation" }?.subject == "Vienna Bone Clinic: your 3 months check-in")
            #expect(messages.first { $0.kind == "invitation" }?.body.hasPrefix("Please answer: https://ossa.example/q/") == true)
            #expect(messages.first { $0.kind == "reminder" }?.subject == "Reminder: your 3 months questionnaire from Vienna Bone Clinic")
        }
    }
}
