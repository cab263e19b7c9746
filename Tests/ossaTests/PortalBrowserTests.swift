import Foundation
import Logging
import OssaCore
import OssaStore
import Testing

/// The patient pages in a real browser, with BrowserTests' rig (a demo registry served by `ossa serve`, headless
/// Chromium through chromedriver, axe-core on every page looked at, nothing wider than a phone's screen): a
/// questionnaire link answered at phone and desktop size, a recovery-diary day on a phone, and the public self-screen
/// on a phone up to a consult request that a coordinator then finds on the worklist.
///
/// The links are real: the test opens the rig's SQLite database with OssaStore beside the running server (WAL),
/// registers a patient with a follow-up window open today and issues a link as the demo coordinator
/// (`invitations.create`, which returns the token once; only its hash is stored).
///
/// Nested in `BrowserTests` so that its `.serialized` keeps one browser and one demo server running at a time.
/// Gated by `OSSA_TEST_CHROMEDRIVER` like the rest of the browser suite.
extension BrowserTests {
    @Suite("Browser: the patient pages (questionnaire link, diary, self-screen) in headless Chromium")
    struct PortalBrowserTests {
        let rigs = BrowserTests()

        /// Phones: every answer's label, the thing a thumb presses, is at least this high (WCAG 2.5.5 asks 44 px).
        static let touchTarget = 44.0

        // MARK: Questionnaire link

        @Test("a questionnaire link: date of birth (wrong, then right), every page answered by tapping labels, review, send, thanks")
        func questionnaireLink() async throws {
            try await rigs.withRig { rig in
                for size in BrowserTests.sizes {
                    let family = "Linktest\(size.width)"
                    let link = try await Self.issueLink(rig, family: family, birthDate: "1957-08-23", indexDaysAgo: 91, code: "month-3")
                    try await rigs.withBrowser(rig, width: size.width, height: size.height) { b in
                        try await answerQuestionnaire(b, token: link.token, family: family)
                    }
                    // Stored: the timepoint is complete, every instrument answered from the link.
                    try await Self.withStore(rig) { store, coordinator, clinician in
                        #expect(try await store.timepoints.get(coordinator, link.timepoint).status == .completed)
                        let responses = try await store.questionnaires.list(clinician, QuestionnaireFilter(timepointID: link.timepoint)).items
                        #expect(Set(responses.map(\.instrumentID)) == ["nrs-pain", "pga", "events", "koos", "koos-jr", "tegner"])
                        #expect(responses.allSatisfy { $0.source == .patientLink })
                        // Every first answer tapped: KOOS 0 on every item scores 100 (User's Guide 2012).
                        let koos = try #require(responses.first { $0.instrumentID == "koos" })
                        #expect(koos.score("pain") == 100 && koos.score("adl") == 100, "\(koos.scores)")
                    }
                }
            }
        }

        func answerQuestionnaire(_ b: Browser, token: String, family: String) async throws {
            let phone = b.width < 600
            let link = "/q/\(token)"
            // The landing page: the date of birth first, nothing about the patient.
            try await b.go(link)
            #expect(try await b.look("q-landing") == "Confirm it is you")
            #expect(try await !b.session.pageSource().contains(family), "the patient's name is shown before the date of birth")
            #expect(try await b.count("input[inputmode=numeric]") == 3, "day, month, year")

            // A wrong date of birth: refused with an error summary at the top, linked to the day box.
            try await b.type("day", "1")
            try await b.type("month", "2")
            try await b.type("year", "1957")
            try await b.submit()
            #expect(try await b.session.title().hasPrefix("Error: "))
            let summary = try await b.text(".error-summary")
            #expect(summary.contains("does not match") && summary.contains("4 tries left"), "\(summary)")
            try await checkErrorSummary(b, inputField: "day")
            try await b.look("q-dob-refused")

            // The right one opens the first page.
            try await b.type("day", "23")
            try await b.type("month", "8")
            try await b.type("year", "1957")
            try await b.submit()
            #expect(try await b.path() == "\(link)/pages/1")
            let steps = try await b.text("main .caption")
            let total = try #require(Int(steps.split(separator: " ").last ?? ""), "caption \(steps)")
            #expect(steps == "Step 1 of \(total)" && total > 2)

            // Every page: tap the first answer's label in each group, check the targets on a phone, continue. A question
            // asked only after another answer ("Only if you answered "Yes" to: …") is left alone, as the patient who
            // answered "No" would.
            var page = 1, skipped = 0
            while try await b.path().hasPrefix("\(link)/pages/") {
                #expect(try await b.text("main .caption") == "Step \(page) of \(total)")
                let groups = try await b.session.findAll(css: "main fieldset.choices")
                #expect(!groups.isEmpty, "page \(page) asks something")
                for group in groups {
                    let labels = try await group.findAll(css: ".choice label")
                    if phone { try await checkTouchTargets(labels, page: "page \(page)") }
                    if let hint = try await group.findAll(css: ".hint").first, try await hint.text().hasPrefix("Only if you answered") {
                        skipped += 1
                        continue
                    }
                    let first = try #require(labels.first)
                    try await first.click()
                    let radio = try await group.find(css: ".choice input")
                    #expect(try await radio.isSelected(), "tapping the label chooses its answer (page \(page))")
                }
                try await b.look("q-page-\(page)")
                try await b.submit("main .actions button[value=next]")
                page += 1
                try #require(page <= total, "more pages than the caption said")
            }
            #expect(page == total, "\(total - 1) pages of questions, then the review")

            // The review page: every answer there, a link to change each page, then send.
            #expect(try await b.path() == "\(link)/review")
            #expect(try await b.look("q-review") == "Check your answers")
            #expect(try await b.text("main .caption") == "Step \(total) of \(total)")
            #expect(try await b.count("main .review-section") == total - 1)
            let unanswered = try await b.session.executeScript(
                "return Array.from(document.querySelectorAll('main .answers dd')).filter(d => d.textContent.trim() === 'Not answered').length").int
            #expect(unanswered == skipped, "only the follow-up questions left alone are not answered")
            try await b.submit("#submit")
            #expect(try await b.look("q-thanks") == "Thank you")
            #expect(try await b.text("main").contains("There is nothing more to do on this link"))

            // Opened again later, the link says it is complete; a page of it too.
            try await b.go(link)
            #expect(try await b.h1() == "Thank you")
            try await b.go("\(link)/pages/1")
            #expect(try await b.h1() == "Thank you")
            #expect(try await b.count("main form") == 0, "nothing left to answer")
        }

        // MARK: Recovery diary

        @Test("a recovery-diary day on a phone: one page, tapped answers, sent")
        func diaryDay() async throws {
            try await rigs.withRig { rig in
                // Index procedure four days ago: today is diary day 4.
                let link = try await Self.issueLink(rig, family: "Diarytest", birthDate: "1963-02-11", indexDaysAgo: 4, code: "diary-d4")
                try await rigs.withBrowser(rig, width: 390, height: 844) { b in
                    try await b.go("/q/\(link.token)")
                    try await b.type("day", "11")
                    try await b.type("month", "2")
                    try await b.type("year", "1963")
                    try await b.submit()
                    #expect(try await b.path() == "/q/\(link.token)/pages/1")
                    #expect(try await b.look("diary-day") == "Recovery diary, day 4")
                    #expect(try await b.text("main .caption") == "Day 4 of 7")
                    // Nothing answered: every problem at once.
                    try await b.submit("main .actions button")
                    #expect(try await b.count(".error-summary li") >= 5)
                    try await checkErrorSummary(b, inputField: nil)
                    try await b.look("diary-refused")
                    try await checkTouchTargets(try await b.session.findAll(css: "main .choice label"), page: "diary")
                    for (name, value) in [("pain", "3"), ("discomfort", "mild"), ("weightBearing", "full"), ("crutches", "no"),
                                          ("painMedicine", "paracetamol"), ("swelling", "mild"), ("redness", "none"), ("fever", "no")] {
                        try await tapLabel(b, name: name, value: value)
                    }
                    try await b.submit("main .actions button")
                    #expect(try await b.look("diary-thanks").hasPrefix("Thank you"))
                    #expect(try await b.text("main").contains("Your answers for day 4 have been sent"))
                }
                let status = try await Self.withStore(rig) { store, coordinator, _ in
                    try await store.timepoints.get(coordinator, link.timepoint).status
                }
                #expect(status == .completed)
            }
        }

        // MARK: Self-screen

        @Test("the self-screen on a phone: refused, a typical candidate's result, a consult request the coordinator then sees")
        func selfScreen() async throws {
            try await rigs.withRig { rig in
                let name = "Petra Selfscreen"
                try await rigs.withBrowser(rig, width: 390, height: 844) { b in
                    try await b.go("/self-screen")
                    let title = try await b.look("self-screen")
                    #expect(!title.isEmpty)
                    #expect(try await b.count("header .who") == 0, "no sign-in")
                    try await checkTouchTargets(try await b.session.findAll(css: "main .choice label"), page: "self-screen")

                    // Nothing answered: every required question listed, each linked to its question.
                    try await b.submit()
                    #expect(try await b.session.title().hasPrefix("Error: "))
                    let problems = try await b.count(".error-summary li")
                    #expect(problems >= 6, "joint, side, MRI, treatments, replacement, age: \(problems)")
                    try await checkErrorSummary(b, inputField: nil)
                    try await b.look("self-screen-refused")

                    // A typical candidate (SelfScreenTests.typical): knee, recent MRI with bone marrow edema,
                    // physiotherapy and anti-inflammatories, wants to avoid a replacement, 40–64, 172 cm / 80 kg.
                    for (question, value) in [("joint", "knee"), ("side", "left"), ("kneeAreas", "inside"), ("mri", "yes-within-6-months"),
                                              ("mriFindings", "bone-marrow-edema"), ("treatments", "exercise-physiotherapy"),
                                              ("treatments", "anti-inflammatories"), ("avoidReplacement", "yes"), ("ageBand", "40-64"),
                                              ("activity", "light")] {
                        try await tapLabel(b, name: question, value: value)
                    }
                    try await b.type("heightCm", "172")
                    try await b.type("weightKg", "80")
                    try await b.submit()
                    #expect(try await b.look("self-screen-result") == "A consult looks worthwhile")
                    #expect(try await b.count("main .outcome-consult-worthwhile") == 1)
                    #expect(try await b.count("main .reasons li") >= 1, "the reasons")
                    #expect(try await b.count("main form[action='/self-screen/consult']") == 1, "the request form")

                    // The request form: refused without a contact and consent, then sent.
                    let send = "main form[action='/self-screen/consult'] .actions button"
                    try await b.type("name", name)
                    try await b.clickAndWait(send)
                    #expect(try await b.session.title().hasPrefix("Error: "))
                    let refused = try await b.text(".error-summary")
                    #expect(refused.contains("Enter an e-mail address or a phone number") && refused.contains("Tick the box"), "\(refused)")
                    #expect(try await b.session.find(css: "#name").property("value").string == name, "the name is kept")
                    try await checkErrorSummary(b, inputField: nil)
                    try await b.look("self-screen-consult-refused")
                    try await b.type("email", "petra.selfscreen@example.org")
                    try await b.type("phone", "+43 1 234 5678")
                    try await tapLabel(b, name: "consent", value: "yes")
                    try await b.clickAndWait(send)
                    #expect(try await b.path().hasPrefix("/self-screen/thanks"))
                    #expect(try await b.look("self-screen-thanks") == "Thank you: your request has been sent")
                }
                // A coordinator finds it on the worklist and in the list of consult requests.
                try await rigs.withBrowser(rig, width: 390, height: 844) { b in
                    try await b.signIn("coordinator")
                    #expect(try await b.look("worklist-consults") == "Worklist")
                    #expect(try await b.text("#consults").contains(name), "the new request on the worklist")
                    try await b.go("/consult-requests")
                    try await b.look("consult-requests")
                    #expect(try await b.text("main table").contains(name))
                    try await b.follow(name)
                    try await b.look("consult-request")
                    let page = try await b.text("main")
                    #expect(page.contains("petra.selfscreen@example.org") && page.contains("Consult worthwhile"), "\(page.prefix(600))")
                }
            }
        }

        // MARK: Helpers

        /// Taps the label of the radio or checkbox `name` = `value` and checks that it is then chosen.
        func tapLabel(_ b: Browser, name: String, value: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let input = try await b.session.find(css: "main input[name='\(name)'][value='\(value)']")
            let id = try #require(try await input.attribute("id"), sourceLocation: sourceLocation)
            try await b.session.find(css: "main label[for='\(id)']").click()
            #expect(try await input.isSelected(), "\(name) = \(value) chosen by its label", sourceLocation: sourceLocation)
        }

        /// Each label at least `touchTarget` px high, and as wide as a thumb can find it.
        func checkTouchTargets(_ labels: [WebElement], page: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            #expect(!labels.isEmpty, "\(page) has answers to tap", sourceLocation: sourceLocation)
            for label in labels {
                let box = try await label.rect()
                if box.height < Self.touchTarget || box.width < Self.touchTarget {
                    Issue.record("\(page): the label \"\(try await label.text())\" is \(Int(box.width))×\(Int(box.height)) px, under \(Int(Self.touchTarget)) px",
                                 sourceLocation: sourceLocation)
                }
            }
        }

        /// The error summary comes first in `main`, says there is a problem, and each of its links leads to a field on
        /// the page. Following the first link reaches its field: a box (`inputField`) takes the focus itself; a group
        /// of answers (a fieldset, which cannot take focus) is where the next Tab goes, to its first answer.
        func checkErrorSummary(_ b: Browser, inputField: String?, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let layout = try await b.session.executeScript("""
                const s = document.querySelector('main .error-summary');
                if (!s) return {present: false};
                const targets = Array.from(s.querySelectorAll('a')).map(a => a.getAttribute('href'));
                const missing = targets.filter(h => !h || !h.startsWith('#') || !document.getElementById(decodeURIComponent(h.slice(1))));
                return {present: true, first: document.querySelector('main').firstElementChild === s, role: s.getAttribute('role'),
                        heading: (s.querySelector('h2') || {}).textContent || '', links: targets.length, missing: missing};
                """)
            try #require(layout["present"]?.bool == true, "no error summary", sourceLocation: sourceLocation)
            #expect(layout["first"]?.bool == true, "the error summary is the first thing in main", sourceLocation: sourceLocation)
            #expect(layout["role"]?.string == "alert" && layout["heading"]?.string == "There is a problem", "\(layout)", sourceLocation: sourceLocation)
            #expect((layout["links"]?.int ?? 0) > 0 && layout["missing"]?.array?.isEmpty == true,
                    "every problem links to its field: \(layout)", sourceLocation: sourceLocation)
            // Following the first link, as a keyboard user would (focus it, Enter).
            let link = try await b.session.find(css: "main .error-summary a")
            let target = String((try await link.attribute("href") ?? "").dropFirst())
            try await link.sendKeys(WebDriverSession.enter)
            let inside = """
                const t = document.getElementById(arguments[0]), a = document.activeElement;
                return [!!(t && a && (t === a || t.contains(a))), a ? (a.id || a.tagName) : ''];
                """
            var focus = try await b.session.executeScript(inside, args: [.string(target)])
            if let inputField {
                #expect(target == inputField && focus[1]?.string == inputField, "the first error link focuses #\(inputField): \(focus)",
                        sourceLocation: sourceLocation)
            } else if focus[0]?.bool != true {
                try await b.session.sendKeysToActive(WebDriverSession.tab)
                focus = try await b.session.executeScript(inside, args: [.string(target)])
                #expect(focus[0]?.bool == true, "after the first error link, Tab reaches #\(target): focus on \(focus)", sourceLocation: sourceLocation)
            }
        }

        // MARK: The rig's database

        /// The store on the rig's database (open beside the server) with the demo coordinator and clinician.
        static func withStore<T>(_ rig: Rig, _ body: (OssaStore, ActingUser, ActingUser) async throws -> T) async throws -> T {
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let db = try await OssaDatabase.open(.sqlite(path: rig.database), logger: logger)
            do {
                // This connection writes beside the server's own: it waits for the server's write to finish instead
                // of failing at once with SQLITE_BUSY (which failed CI once).
                try await db.sql().raw("PRAGMA busy_timeout=10000").run()
                let store = OssaStore(database: db)
                func acting(_ role: String) async throws -> ActingUser {
                    let email = try #require(rig.logins[role], "no demo login for \(role)")
                    let id = try #require(try await store.sessions.credentials(email: email), "no user \(email)").userID
                    return try await store.users.actingUser(id, from: "browser-test")
                }
                let result = try await body(store, try await acting("coordinator"), try await acting("clinician"))
                await db.shutdown()
                return result
            } catch {
                await db.shutdown()
                throw error
            }
        }

        /// A new patient at the coordinator's first site with a knee episode whose index procedure was `indexDaysAgo`
        /// days ago, its schedule, and a link to the timepoint `code` (whose window is open today), issued by the
        /// coordinator: the token, given once, and the timepoint.
        /// The issue's "done when" with the real server: `ossa serve` with a mail server (aiosmtpd) sends the link it was
        /// asked for, the test reads it out of the mailbox, a phone-sized browser follows it to a scored, stored
        /// questionnaire, and the invitation's reminders are cancelled — the mailbox never gets a second message.
        @Test("ossa serve mails a link; a phone follows it to a stored questionnaire; its reminders are never sent")
        func mailedLinkOnAPhone() async throws {
            guard let python = ProcessInfo.processInfo.environment["OSSA_TEST_AIOSMTPD"], !python.isEmpty else {
                print("mailed-link browser test not run: set OSSA_TEST_AIOSMTPD to a python3 with aiosmtpd==1.4.6; .ci/run does")
                return
            }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-mailed-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let maildir = dir.appendingPathComponent("Maildir")
            let sink = try await SMTPSink.start(python: python, mode: "accept", maildir: maildir, directory: dir)
            defer { sink.stop() }
            let settings = ["OSSA_SMTP_URL": "smtp://127.0.0.1:\(sink.port)", "OSSA_MAIL_FROM": "Ossa test <noreply@ossa.example>",
                            "OSSA_PUBLIC_URL": "https://ossa.example"]
            try await rigs.withRig(environment: settings) { rig in
                let family = "Mailtest"
                // The demo's own patients have addresses too, and the server's planner mails their open windows (outside
                // their sites' quiet hours): the test's message is the one to this patient's address.
                let address = "mailtest-\(UUID().uuidString.prefix(8).lowercased())@example.org"
                // A patient with an e-mail address and a 3-month window open today, at a site without quiet hours (the
                // message goes now whatever the hour); the coordinator's "send the link now" queues it in the store the
                // server runs on, and the server's delivery worker mails it.
                let timepoint = try await Self.withStore(rig) { store, coordinator, _ -> UUID in
                    let site = try #require(coordinator.siteIDs.sorted { $0.uuidString < $1.uuidString }.first)
                    try await store.database.sql().raw("UPDATE sites SET quiet_hours_start = '00:00', quiet_hours_end = '00:00' WHERE id = \(bind: site)").run()
                    let patient = try await store.patients.create(coordinator, NewPatient(
                        siteID: site, mrn: "BT-\(UUID().uuidString.prefix(8))", familyName: family, givenName: "Browser",
                        birthDate: try CalendarDate(iso: "1957-08-23"), email: address))
                    let episode = try await store.episodes.create(coordinator, NewEpisode(patientID: patient.id, joint: .knee, side: .right,
                                                                                         diagnosis: .boneMarrowLesion))
                    let today = CalendarDate(dayNumber: Int((Date().timeIntervalSince1970 / 86_400).rounded(.down)))
                    let schedule = try await store.timepoints.generate(coordinator, episodeID: episode.id, indexDate: today.adding(days: -91))
                    let month3 = try #require(schedule.first { $0.code == "month-3" })
                    _ = try await store.invitations.send(coordinator, timepointID: month3.id, channel: .email) { context in
                        ComposedMessage(subject: "Your questionnaire", text: "Please answer:\nhttps://ossa.example/q/\(context.token)\n")
                    }
                    return month3.id
                }
                // The server mails it (its worker polls every second).
                var mail = ""
                let deadline = ContinuousClock.now + .seconds(30)
                while mail.isEmpty, ContinuousClock.now < deadline {
                    if let first = Self.mails(in: maildir, to: address).first { mail = first } else { try await Task.sleep(for: .milliseconds(200)) }
                }
                try #require(!mail.isEmpty, "ossa serve did not mail the invitation")
                let text = mail.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "")
                #expect(!text.contains(family) && !text.contains("1957"), "the message identifies the patient")
                let line = try #require(text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("https://ossa.example/q/") && !$0.hasSuffix("/stop") })
                let token = String(line.dropFirst("https://ossa.example/q/".count)).trimmingCharacters(in: .whitespaces)
                try await rigs.withBrowser(rig, width: 390, height: 844) { b in
                    try await answerQuestionnaire(b, token: token, family: family)
                }
                try await Self.withStore(rig) { store, coordinator, _ in
                    #expect(try await store.timepoints.get(coordinator, timepoint).status == .completed)
                    let messages = try await store.database.sql().raw("SELECT kind, status FROM outbox_messages WHERE timepoint_id = \(bind: timepoint)").all()
                    let states = try messages.map { (try $0.decode(column: "kind", as: String.self), try $0.decode(column: "status", as: String.self)) }
                    #expect(states.filter { $0.0 == "invitation" }.map(\.1) == ["sent"])
                    #expect(!states.filter { $0.0 == "reminder" }.isEmpty && states.filter { $0.0 == "reminder" }.allSatisfy { $0.1 == "cancelled" })
                }
                #expect(Self.mails(in: maildir, to: address).count == 1, "only the invitation was mailed")
            }
        }

        /// The messages in the sink's Maildir sent to `address` (the envelope recipient the sink records).
        static func mails(in maildir: URL, to address: String) -> [String] {
            let files = (try? FileManager.default.contentsOfDirectory(at: maildir.appendingPathComponent("new"), includingPropertiesForKeys: nil)) ?? []
            return files.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.filter { mail in
                mail.split(whereSeparator: \.isNewline).prefix { !$0.isEmpty }
                    .contains { $0.lowercased().hasPrefix("x-sink-rcpt-to:") && $0.lowercased().contains(address) }
            }
        }

        static func issueLink(_ rig: Rig, family: String, birthDate: String, indexDaysAgo: Int, code: String) async throws -> (token: String, timepoint: UUID) {
            try await withStore(rig) { store, coordinator, _ in
                let site = try #require(coordinator.siteIDs.sorted { $0.uuidString < $1.uuidString }.first, "the demo coordinator has a site")
                let patient = try await store.patients.create(coordinator, NewPatient(
                    siteID: site, mrn: "BT-\(UUID().uuidString.prefix(8))", familyName: family, givenName: "Browser",
                    birthDate: try CalendarDate(iso: birthDate)))
                let episode = try await store.episodes.create(coordinator, NewEpisode(patientID: patient.id, joint: .knee, side: .right,
                                                                                     diagnosis: .boneMarrowLesion))
                let today = CalendarDate(dayNumber: Int((Date().timeIntervalSince1970 / 86_400).rounded(.down)))
                let schedule = try await store.timepoints.generate(coordinator, episodeID: episode.id, indexDate: today.adding(days: -indexDaysAgo))
                let timepoint = try #require(schedule.first { $0.code == code }, "\(code) in \(schedule.map(\.code))")
                let issued = try await store.invitations.create(coordinator, timepointID: timepoint.id, channel: .email)
                return (issued.token, timepoint.id)
            }
        }
    }
}
