import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OssaCore
import OssaStore
@testable import OssaWeb
import SQLKit
import Testing

/// A member of the public on a phone, without JavaScript: the public form cookie and a client address.
struct PublicBrowser {
    var cookies: [String: String] = [:]
    var address = "203.0.113.9"

    var headers: HTTPFields {
        var fields: HTTPFields = [.init("X-Forwarded-For")!: address]
        if !cookies.isEmpty { fields[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        return fields
    }

    mutating func keep(_ response: TestResponse) {
        if let value = response.cookie(named: "ossa_form") { cookies["ossa_form"] = value }
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

/// The answers and contact details the tests post.
enum SelfScreenSample {
    /// A typical candidate: a left knee, bone marrow edema on an MRI of the last 6 months, physiotherapy and
    /// anti-inflammatories tried, wishes to avoid a replacement, 40 to 64.
    static let candidate: [(String, String)] = [
        ("joint", "knee"), ("side", "left"), ("kneeAreas", "inside"), ("mri", "yes-within-6-months"), ("mriFindings", "bone-marrow-edema"),
        ("treatments", "exercise-physiotherapy"), ("treatments", "anti-inflammatories"), ("avoidReplacement", "yes"),
        ("surgeonAdvice", "never-asked"), ("ageBand", "40-64"), ("activity", "light"), ("heightCm", "170"), ("weightKg", "78"),
    ]

    static func contact(site: UUID?, name: String = "Anna Maria Huber", email: String = "anna.huber@example.org",
                        phone: String = "+43 660 555 0199") -> [(String, String)] {
        [("name", name), ("email", email), ("phone", phone), ("siteID", site?.lowercasedID ?? ""), ("consent", "yes"), ("website", "")]
    }

    /// The browser's route from the questions to a stored request; returns the thank-you page.
    static func request(_ client: any TestClientProtocol, _ browser: inout PublicBrowser, site: UUID?,
                        answers: [(String, String)] = candidate, name: String = "Anna Maria Huber") async throws -> TestResponse {
        if browser.cookies["ossa_form"] == nil { _ = try await browser.get(client, "/self-screen") }
        let sent = try await browser.post(client, "/self-screen/consult", answers + contact(site: site, name: name))
        #expect(sent.status == .seeOther, "\(sent.status): \(errorSummary(sent.text))")
        return try await browser.get(client, try #require(sent.headers[.location]))
    }
}

@Suite("Public self-screen: questions, result, consult request, honeypot, rate limit")
struct SelfScreenTests {
    static func requests(_ store: OssaStore) async throws -> Int {
        try await store.database.sql().raw("SELECT COUNT(*) AS n FROM consult_requests").first()?.decode(column: "n", as: Int.self) ?? -1
    }

    static func auditCount(_ store: OssaStore) async throws -> Int {
        try await store.database.sql().raw("SELECT COUNT(*) AS n FROM audit_log").first()?.decode(column: "n", as: Int.self) ?? -1
    }

    @Test
    func theQuestionsAskNothingThatIdentifiesThePerson() async throws {
        try await withServer { _, client in
            var browser = PublicBrowser()
            let page = try await browser.get(client, "/self-screen")
            #expect(page.status == .ok && page.headers[.cacheControl] == "no-store")
            #expect(browser.cookies["ossa_form"] != nil, "the double-submit cookie is set")
            let html = page.text
            #expect(html.contains("<main id=\"main\" class=\"portal\">"), "large touch targets")
            #expect(html.contains("<h1>Could treatment into the bone help your knee or hip?</h1>"))
            for question in ["Which joint is the problem?", "Which side hurts?", "Have you had an MRI scan of this joint?",
                             "What did the MRI report mention?", "Which of these have you tried for this pain, for at least 3 months?",
                             "Would you like to avoid or put off a joint replacement?", "How old are you?"] {
                #expect(html.contains("<legend>\(question)</legend>"), "\(question)")
            }
            #expect(html.contains("<legend>Has a surgeon told you that surgery is not an option for you, or not advised? (optional)</legend>"))
            #expect(html.contains(#"<input id="heightCm" name="heightCm" type="text" value="" class="width-5" autocomplete="off" inputmode="numeric""#))
            // A question asked only after an answer says so.
            #expect(html.contains("Answer this only if you chose “Knee” above."))
            #expect(html.contains(#"<input type="checkbox" id="treatments-0" name="treatments" value="exercise-physiotherapy">"#))
            for identifying in ["name=\"name\"", "name=\"email\"", "name=\"birthDate\"", "name=\"phone\""] {
                #expect(!html.contains(identifying), "\(identifying) asked before a consult is requested")
            }
        }
    }

    @Test
    func aRefusedFormComesBackWithEveryProblemAndTheAnswersGiven() async throws {
        try await withServer { _, client in
            var browser = PublicBrowser()
            _ = try await browser.get(client, "/self-screen")
            let refused = try await browser.post(client, "/self-screen", [("joint", "knee"), ("mri", "yes-within-6-months"),
                                                                           ("treatments", "none"), ("treatments", "weight-loss"), ("heightCm", "1.70")])
            #expect(refused.status == .unprocessableContent)
            #expect(errorSummary(refused.text) == [
                "Select which side hurts", "Select what the MRI report mentioned, or “I&#39;m not sure”",
                "Select “None of these” on its own, or untick it", "Select whether you would like to avoid a joint replacement",
                "Select your age group", "Enter your height in centimetres, between 120 and 230",
            ])
            #expect(refused.text.contains("<title>Error: Could treatment into the bone help your knee or hip? · Ossa</title>"))
            #expect(refused.text.contains(#"<p class="error-message" id="side-error"><span class="visually-hidden">Error:</span> Select which side hurts</p>"#))
            #expect(refused.text.contains(#"value="knee" checked"#) && refused.text.contains(#"value="weight-loss" checked"#))
            #expect(refused.text.contains(#"name="heightCm" type="text" value="1.70""#))
        }
    }

    @Test
    func aTypicalCandidateIsToldInPlainWordsThatAConsultLooksWorthwhileAndNothingIsKept() async throws {
        let capture = LogCapture()
        try await withServer(logger: capture.logger(level: .debug)) { server, client in
            let store = server.fixture.store
            let audit = try await Self.auditCount(store)
            var browser = PublicBrowser()
            _ = try await browser.get(client, "/self-screen")
            let result = try await browser.post(client, "/self-screen", SelfScreenSample.candidate)
            #expect(result.status == .ok && result.headers[.cacheControl] == "no-store")
            let html = result.text
            #expect(html.contains("<h1>A consult looks worthwhile</h1>"))
            #expect(html.contains("because the MRI report, as you describe it, mentions bone marrow edema or a bone bruise"))
            #expect(html.contains("because you would like to avoid or put off a joint replacement"))
            #expect(html.contains("Source: Ossa clinical pathway (clinic policy); MOAKS (Hunter 2011)"))
            #expect(html.contains("<h2>What to expect from the treatment</h2>"))
            #expect(html.contains("The treatment is outpatient: you go home the same day."))
            #expect(html.contains("guided by x-ray (fluoroscopy)"))
            #expect(html.contains("Most people feel some discomfort for 2–3 days afterwards"))
            #expect(html.contains("After a knee procedure you can put as much weight on the leg as is comfortable, without crutches."))
            #expect(html.contains("This is not a diagnosis or medical advice."))
            // Never a diagnosis: the page speaks of what the report mentions, never of what the person has.
            #expect(!html.contains("You have ") && !html.contains("you have bone"))
            // The request form, with the answers carried in hidden fields, the honeypot and both sites to choose from.
            #expect(html.contains(#"<form method="post" action="/self-screen/consult""#))
            #expect(html.contains(#"<input type="hidden" name="treatments" value="anti-inflammatories">"#))
            #expect(html.contains(#"<input id="website" name="website" type="text" value="" autocomplete="off" tabindex="-1">"#))
            #expect(html.contains("<label for=\"website\">Leave this empty</label>"))
            #expect(html.contains(">Vienna Bone Clinic</option>") && html.contains(">Graz Joint Centre</option>"))
            // "Change your answers" brings the questions back with the answers.
            let change = try await browser.post(client, "/self-screen", SelfScreenSample.candidate + [("go", "change")])
            #expect(change.status == .ok && change.text.contains(#"value="bone-marrow-edema" checked"#))

            // Nothing stored, nothing audited, and no answer in the logs.
            #expect(try await Self.requests(store) == 0)
            #expect(try await Self.auditCount(store) == audit)
            for line in capture.all {
                for answer in ["bone-marrow-edema", "exercise-physiotherapy", "40-64", "yes-within-6-months"] {
                    #expect(!line.contains(answer), "logged: \(line)")
                }
            }
        }
    }

    @Test
    func aRedFlagSendsThePersonToADoctorWithoutARequestForm() async throws {
        try await withServer { server, client in
            var browser = PublicBrowser()
            _ = try await browser.get(client, "/self-screen")
            var answers = SelfScreenSample.candidate.filter { $0.0 != "mriFindings" }
            answers += [("mriFindings", "avascular-necrosis"), ("mriFindings", "collapse")]
            let result = try await browser.post(client, "/self-screen", answers)
            #expect(result.status == .ok && result.text.contains("<h1>Please see your doctor or surgeon first</h1>"))
            #expect(!result.text.contains("action=\"/self-screen/consult\"") && result.text.contains("<h2 id=\"consult\">Next step</h2>"))
            // A request posted anyway is refused: the server evaluates the answers itself.
            let posted = try await browser.post(client, "/self-screen/consult", answers + SelfScreenSample.contact(site: nil))
            #expect(posted.status == .unprocessableContent && errorSummary(posted.text).first?.hasPrefix("Please show your doctor") == true)
            #expect(try await Self.requests(server.fixture.store) == 0)
        }
    }

    @Test
    func aRequestIsStoredWithTheAnswersEvaluatedOnTheServer() async throws {
        try await withServer { server, client in
            let f = server.fixture
            var browser = PublicBrowser()
            // A posted "result" is ignored: only the answers are read.
            let answers = SelfScreenSample.candidate + [("outcome", "see-doctor-first"), ("headline", "forged")]
            let thanks = try await SelfScreenSample.request(client, &browser, site: f.siteA.id, answers: answers)
            #expect(thanks.status == .ok && thanks.text.contains("Thank you: your request has been sent"))
            #expect(thanks.text.contains("A coordinator at Vienna Bone Clinic will contact you by e-mail or phone to arrange a consult."))
            #expect(thanks.text.contains("<h2>Contact your clinic</h2>"))
            let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
            let stored = try #require(try await f.store.consultRequests.list(coordinator).items.first)
            #expect(stored.name == "Anna Maria Huber" && stored.email == "anna.huber@example.org" && stored.phone == "+43 660 555 0199")
            #expect(stored.siteID == f.siteA.id && stored.consent && stored.status == .new)
            #expect(stored.answers.joint == .knee && stored.answers.mriFindings == [.boneMarrowEdema] && stored.answers.treatments.count == 2)
            #expect(stored.outcome == .consultWorthwhile && stored.result.headline == "A consult looks worthwhile")
            #expect(stored.result.evaluationDate == CalendarDate(utc: server.clock.now))
            // The address is not kept, only its hash.
            let row = try #require(try await f.store.database.sql().select().column("address_hash").from("consult_requests").first())
            #expect(try row.decode(column: "address_hash", as: String?.self)?.contains("203.0.113.9") == false)
        }
    }

    @Test
    func contactDetailsAreCheckedAndTheResultComesBackWithTheErrors() async throws {
        try await withServer { server, client in
            var browser = PublicBrowser()
            _ = try await browser.get(client, "/self-screen")
            let refused = try await browser.post(client, "/self-screen/consult", SelfScreenSample.candidate + [
                ("name", ""), ("email", "anna@"), ("phone", "call me"), ("siteID", UUID().uuidString), ("website", ""),
            ])
            #expect(refused.status == .unprocessableContent)
            #expect(errorSummary(refused.text) == [
                "Enter your name", "Enter an e-mail address like name@example.org",
                "Enter a phone number of 6 to 15 digits, with spaces or + ( ) - only",
                "Select a clinic from the list, or “No preference”", "Tick the box to agree that the clinic may contact you",
            ])
            #expect(refused.text.contains("<h1>A consult looks worthwhile</h1>") && refused.text.contains(#"value="anna@""#))
            #expect(refused.text.contains(#"<input type="hidden" name="mriFindings" value="bone-marrow-edema">"#))
            let neither = try await browser.post(client, "/self-screen/consult", SelfScreenSample.candidate + [
                ("name", "Anna"), ("email", ""), ("phone", ""), ("consent", "yes"),
            ])
            #expect(errorSummary(neither.text) == ["Enter an e-mail address or a phone number, so that the clinic can contact you"])
            // Answers that do not read (a hand-made post) bring the questions back.
            let broken = try await browser.post(client, "/self-screen/consult", [("joint", "elbow")] + SelfScreenSample.contact(site: nil))
            #expect(broken.status == .unprocessableContent && broken.text.contains("<legend>Which joint is the problem?</legend>"))
            #expect(try await Self.requests(server.fixture.store) == 0)
        }
    }

    @Test
    func aFilledHoneypotGetsTheSameThanksAndNothingIsStored() async throws {
        try await withServer { server, client in
            var browser = PublicBrowser()
            _ = try await browser.get(client, "/self-screen")
            let fields = SelfScreenSample.candidate + SelfScreenSample.contact(site: server.fixture.siteA.id).filter { $0.0 != "website" }
                + [("website", "http://spam.example")]
            let sent = try await browser.post(client, "/self-screen/consult", fields)
            #expect(sent.status == .seeOther && sent.headers[.location] == "/self-screen/thanks")
            let thanks = try await browser.get(client, "/self-screen/thanks")
            #expect(thanks.text.contains("Thank you: your request has been sent"))
            #expect(try await Self.requests(server.fixture.store) == 0)
        }
    }

    @Test
    func anAddressMaySendFiveRequestsAnHourThenGetsA429() async throws {
        try await withServer { server, client in
            var browser = PublicBrowser()
            for n in 1...5 {
                let thanks = try await SelfScreenSample.request(client, &browser, site: nil, name: "Person \(n)")
                #expect(thanks.status == .ok)
            }
            let sixth = try await browser.post(client, "/self-screen/consult", SelfScreenSample.candidate + SelfScreenSample.contact(site: nil))
            #expect(sixth.status == .tooManyRequests && sixth.headers[.retryAfter] == "3600")
            #expect(sixth.text.contains("<h1>Too many requests</h1>") && sixth.text.contains("Please try again in an hour"))
            #expect(try await Self.requests(server.fixture.store) == 5)
            // Another address is not held back; after an hour this one may send again.
            var other = PublicBrowser(address: "198.51.100.77")
            _ = try await SelfScreenSample.request(client, &other, site: nil)
            server.clock.advance(3601)
            _ = try await SelfScreenSample.request(client, &browser, site: nil)
            #expect(try await Self.requests(server.fixture.store) == 7)
        }
    }

    @Test
    func aPostWithoutTheFormCookieIsRefused() async throws {
        try await withServer { server, client in
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            headers[.init("X-Forwarded-For")!] = "203.0.113.9"
            let fields = [("_csrf", "tok00001")] + SelfScreenSample.candidate + SelfScreenSample.contact(site: nil)
            let refused = try await client.execute(uri: "/self-screen/consult", method: .post, headers: headers, body: formBody(fields))
            #expect(refused.status == .forbidden && refused.text.contains("CSRF"))
            let evaluate = try await client.execute(uri: "/self-screen", method: .post, headers: headers, body: formBody(fields))
            #expect(evaluate.status == .forbidden)
            #expect(try await Self.requests(server.fixture.store) == 0)
        }
    }
}
