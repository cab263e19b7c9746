import Foundation
import Hummingbird
import HummingbirdTesting
import OssaCore
import OssaStore
@testable import OssaWeb
import Testing

/// The staff forms over HTTP: every problem listed at once with the user's values kept (422), all or nothing,
/// one write for a form sent twice, roles refused by the store, and the pathway's pages showing what was written.
@Suite("Staff pages and forms")
struct StaffPagesTests {
    func post(_ client: any TestClientProtocol, _ session: BrowserSession, _ uri: String, _ fields: [(String, String)]) async throws -> TestResponse {
        try await postForm(client, session, uri, fields)
    }

    func get(_ client: any TestClientProtocol, _ session: BrowserSession, _ uri: String) async throws -> TestResponse {
        try await getPage(client, session, uri)
    }

    func summary(_ html: String) -> [String] { errorSummary(html) }

    func seederLike(_ server: TestServer) async throws -> ActingUser {
        try await server.fixture.store.users.actingUser(try #require(server.fixture.userIDs[.clinician]), from: "test")
    }

    @Test("the screening form lists every problem at once, keeps the user's values and writes nothing")
    func screeningAllProblems() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let episode = server.fixture.episodeA.id.lowercasedID
            let form = try await get(client, session, "/episodes/\(episode)/screening/new")
            #expect(form.status == .ok)
            #expect(form.text.contains("<legend>Medications</legend>") && form.text.contains("<legend>Laboratory</legend>"))
            let response = try await post(client, session, "/episodes/\(episode)/screening/new", [
                ("_submission", "00000000-aaaa-4000-8000-000000000001"),
                ("evaluationDate", ""), ("diagnosis[type]", "osteoarthritis"), ("age", "-3"), ("heightCm", "20"),
                ("labs[platelets]", "many"), ("painNRS", "11"), ("medications[nsaidLastDose]", "2026-02-30"),
            ])
            #expect(response.status == .unprocessableContent)
            let messages = summary(response.text)
            #expect(messages == [
                "Enter evaluation date", "Average pain must be between 0 and 10", "Age must be between 0 and 120",
                "Height must be between 50 and 250 cm", "Last NSAID dose must be a real date, for example 2026-03-27", "Platelets must be a number",
            ], "\(messages)")
            // The user's own text comes back, and each field carries its inline error.
            #expect(response.text.contains(#"id="age" name="age" type="text" value="-3""#))
            #expect(response.text.contains(#"value="many""#))
            #expect(response.text.contains(#"<p class="error-message" id="age-error">"#))
            #expect(response.text.contains("<title>Error: Screen for IO therapy · Ossa</title>"))
            let decisions = try await server.fixture.store.screening.list(try await seederLike(server), ScreeningFilter(episodeID: server.fixture.episodeA.id))
            #expect(decisions.total == 0, "nothing written")
        }
    }

    @Test("the screening API reports every problem of the body at once")
    func screeningAPIAllProblems() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let token = try await apiToken(client, session)
            var headers = bearer(token)
            headers[.contentType] = "application/json"
            let response = try await client.execute(uri: "/api/v1/episodes/\(server.fixture.episodeA.id.lowercasedID)/screening-decisions",
                                                    method: .post, headers: headers,
                                                    body: jsonBody(#"{"input": {"joint": "elbow", "side": "up", "age": -3}}"#))
            #expect(response.status == .unprocessableContent)
            let fields = (response.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(fields == ["input.evaluationDate", "input.joint", "input.side", "input.diagnosis", "input.age"], "\(response.text)")
            // A body whose fields decode but fail their checks also lists each.
            let checked = try await client.execute(uri: "/api/v1/episodes/\(server.fixture.episodeA.id.lowercasedID)/screening-decisions",
                                                   method: .post, headers: headers, body: jsonBody("""
                {"input": {"evaluationDate": "2026-03-01", "joint": "knee", "side": "left", "diagnosis": {"type": "bone-marrow-lesion"},
                 "age": 130, "painNRS": 12, "lastArthroscopyDate": "2026-04-01"}}
                """))
            #expect(checked.status == .unprocessableContent)
            let checkedFields = (checked.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(checkedFields == ["input.painNRS", "input.age", "input.lastArthroscopyDate"], "\(checked.text)")
        }
    }

    @Test("a form sent twice writes once and the second opens the first result; a refused form can be corrected and sent")
    func doubleSubmission() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let site = server.fixture.siteA.id.lowercasedID
            let key = "11111111-2222-4333-8444-555555555555"
            // Refused (no birth date): nothing written, the key stays usable for the corrected form.
            let refused = try await post(client, session, "/patients/new", [("_submission", key), ("siteID", site), ("familyName", "Twice"),
                                                                             ("givenName", "Tom"), ("birthDate", "")])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains(#"name="_submission" value="\#(key)""#), "the re-rendered form keeps its key")
            let fields = [("_submission", key), ("siteID", site), ("familyName", "Twice"), ("givenName", "Tom"), ("birthDate", "1970-01-02")]
            let first = try await post(client, session, "/patients/new", fields)
            #expect(first.status == .seeOther)
            let second = try await post(client, session, "/patients/new", fields)
            #expect(second.status == .seeOther)
            #expect(second.headers[.location] == first.headers[.location], "the second submission opens the first result")
            let clinician = try await seederLike(server)
            let found = try await server.fixture.store.patients.list(clinician, PageRequest(search: "Twice"))
            #expect(found.total == 1, "one patient, not two")
            // Another user's key is not theirs to reuse.
            let other = try await signIn(client, "coordinator@example.org")
            let stolen = try await post(client, other, "/patients/new", fields)
            #expect(stolen.status == .unprocessableContent)
            #expect(stolen.text.contains("submission key is not valid"))
        }
    }

    @Test("the procedure form adds and removes injection rows without writing, and keeps what was typed")
    func procedureRows() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let uri = "/episodes/\(server.fixture.episodeA.id.lowercasedID)/procedures/new"
            let form = try await get(client, session, uri)
            #expect(form.text.contains(#"name="injections[0][target]""#))
            let added = try await post(client, session, uri, [("action", "add-injection"), ("injections[0][target]", "patella"),
                                                              ("injections[0][volumeMl]", "4"), ("operator", "Dr Typed")])
            #expect(added.status == .ok)
            #expect(added.text.contains(#"name="injections[1][target]""#))
            #expect(added.text.contains(#"value="Dr Typed""#) && added.text.contains(#"<option value="patella" selected>"#))
            let removed = try await post(client, session, uri, [("action", "remove-injection-0"), ("injections[0][target]", "patella"),
                                                                ("injections[1][target]", "trochlea")])
            #expect(removed.status == .ok)
            #expect(!removed.text.contains(#"<option value="patella" selected>"#) && removed.text.contains(#"<option value="trochlea" selected>"#))
            let procedures = try await server.fixture.store.procedures.list(try await seederLike(server), ProcedureFilter(episodeID: server.fixture.episodeA.id))
            #expect(procedures.total == 0)
        }
    }

    @Test("roles: a coordinator screens but neither signs nor records procedures; another site's episode is not found")
    func roles() async throws {
        try await withServer { server, client in
            let coordinator = try await signIn(client, "coordinator@example.org")
            let episode = server.fixture.episodeA.id.lowercasedID
            let screening = try await post(client, coordinator, "/episodes/\(episode)/screening/new", [
                ("evaluationDate", "2026-03-01"), ("diagnosis[type]", "osteoarthritis"), ("diagnosis[kellgrenLawrence]", "3"),
            ])
            #expect(screening.status == .seeOther)
            let decisionURL = try #require(screening.headers[.location])
            let decision = try await get(client, coordinator, decisionURL)
            #expect(decision.status == .ok && !decision.text.contains("Sign this decision"), "no sign button for a coordinator")
            let sign = try await post(client, coordinator, decisionURL + "/sign", [])
            #expect(sign.status == .forbidden)
            #expect(sign.text.contains("only clinicians"))
            let procedure = try await get(client, coordinator, "/episodes/\(episode)/procedures/new")
            #expect(procedure.status == .ok, "the form shows; the store refuses the write")
            let write = try await post(client, coordinator, "/episodes/\(episode)/procedures/new", [
                ("date", "2026-03-02"), ("kind", "io"), ("setting", "office"), ("anaesthesia", "local"), ("injections[0][target]", "patella"),
                ("injections[0][product]", "prp"), ("injections[0][volumeMl]", "3"), ("prp[system]", "kit"), ("operator", "X"),
            ])
            #expect(write.status == .forbidden)
            // A clinician signs; signing twice is harmless and the page says who signed.
            let clinician = try await signIn(client, "clinician@example.org")
            #expect(try await post(client, clinician, decisionURL + "/sign", []).status == .seeOther)
            #expect(try await post(client, clinician, decisionURL + "/sign", []).status == .seeOther)
            #expect(try await get(client, clinician, decisionURL).text.contains("Clinician User on"))
            let other = try await get(client, clinician, "/episodes/\(server.fixture.episodeB.id.lowercasedID)/screening/new")
            #expect(other.status == .notFound)
            let researcher = try await signIn(client, "researcher@example.org")
            #expect(try await get(client, researcher, "/episodes/\(episode)").status == .forbidden)
        }
    }

    @Test("override needs a category and a reason; a timepoint is marked missed only with a reason, which is shown")
    func overrideAndMissed() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let episode = server.fixture.episodeA.id.lowercasedID
            let screening = try await post(client, session, "/episodes/\(episode)/screening/new", [
                ("evaluationDate", "2026-03-01"), ("diagnosis[type]", "osteoarthritis"), ("diagnosis[kellgrenLawrence]", "3"),
            ])
            let decisionURL = try #require(screening.headers[.location])
            let refused = try await post(client, session, decisionURL + "/override", [])
            #expect(refused.status == .unprocessableContent)
            #expect(summary(refused.text) == ["Select new category", "Enter reason for the override"])
            let done = try await post(client, session, decisionURL + "/override", [("category", "refer"), ("reason", "Needs a surgical opinion first")])
            #expect(done.status == .seeOther)
            let page = try await get(client, session, decisionURL)
            #expect(page.text.contains("Needs a surgical opinion first") && page.text.contains("Category: <strong>Refer</strong>"))

            let schedule = try await post(client, session, "/episodes/\(episode)/follow-up/schedule", [("indexDate", "2026-03-02")])
            #expect(schedule.status == .seeOther)
            let timepoints = try await server.fixture.store.timepoints.list(try await seederLike(server), TimepointFilter(episodeID: server.fixture.episodeA.id))
            let week6 = try #require(timepoints.items.first { $0.code == "week-6" })
            let statusURL = "/episodes/\(episode)/timepoints/\(week6.id.lowercasedID)/status"
            let noReason = try await post(client, session, statusURL, [("status", "missed")])
            #expect(noReason.status == .unprocessableContent && summary(noReason.text) == ["Enter reason"])
            #expect(try await post(client, session, statusURL, [("status", "missed"), ("reason", "Three calls unanswered")]).status == .seeOther)
            let followUp = try await get(client, session, "/episodes/\(episode)/follow-up")
            #expect(followUp.text.contains("Three calls unanswered"))
            let stored = try await server.fixture.store.timepoints.get(try await seederLike(server), week6.id)
            #expect(stored.status == .missed && stored.statusReason == "Three calls unanswered")
        }
    }

    @Test("the episode page shows the pathway's records; the worklist lists the unsigned decision")
    func episodeAndWorklist() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let episode = server.fixture.episodeA.id.lowercasedID
            let empty = try await get(client, session, "/episodes/\(episode)")
            #expect(empty.text.contains(#"<li class="step step-not-started" id="step-screening">"#))
            _ = try await post(client, session, "/episodes/\(episode)/screening/new", [
                ("evaluationDate", "2026-03-01"), ("diagnosis[type]", "osteoarthritis"), ("diagnosis[kellgrenLawrence]", "3"),
            ])
            let mri = try await post(client, session, "/episodes/\(episode)/imaging/new?modality=mri", [
                ("timing", "baseline"), ("mri[date]", "2026-02-20"), ("mri[bml][tibia-central-medial][size]", "2"),
                ("mri[bml][tibia-central-medial][count]", "0"),
            ])
            #expect(mri.status == .unprocessableContent, "0 lesions with size grade 2 is refused on its cell")
            #expect(mri.text.contains(#"id="mri-bml-tibia-central-medial-count-error""#))
            let saved = try await post(client, session, "/episodes/\(episode)/imaging/new?modality=mri", [
                ("timing", "baseline"), ("mri[date]", "2026-02-20"), ("mri[bml][tibia-central-medial][size]", "2"),
            ])
            #expect(saved.status == .seeOther)
            let study = try await get(client, session, try #require(saved.headers[.location]))
            #expect(study.text.contains(#"<svg xmlns="http://www.w3.org/2000/svg""#) && study.text.contains("role=\"img\""))
            let page = try await get(client, session, "/episodes/\(episode)")
            #expect(page.text.contains(#"id="step-screening""#) && page.text.contains("Awaiting signature"))
            #expect(page.text.contains("BML burden 2, maximal grade 2"))
            let worklist = try await get(client, session, "/")
            #expect(worklist.text.contains("Müller, Anna") && worklist.text.contains("Screening decisions awaiting signature <span class=\"count-badge\">1 item</span>"))
        }
    }

    @Test("the plan is drafted from the signed decision, edited and printed; the procedure starts from it; addenda and adjuncts are stored and shown")
    func planAdjunctsAddenda() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let episode = server.fixture.episodeA.id.lowercasedID
            // A signed decision with targets (an MRI with a medial tibial lesion).
            let screened = try await post(client, session, "/episodes/\(episode)/screening/new", [
                ("evaluationDate", "2026-03-01"), ("diagnosis[type]", "osteoarthritis"), ("diagnosis[kellgrenLawrence]", "3"),
                ("mri[date]", "2026-02-20"), ("mri[bml][tibia-central-medial][size]", "2"), ("painConcordance", "concordant"),
            ])
            let decisionURL = try #require(screened.headers[.location])
            _ = try await post(client, session, decisionURL + "/sign", [])
            let today = String(server.clock.now.formatted(.iso8601).prefix(10))
            let draft = try await get(client, session, "/episodes/\(episode)/plan/edit")
            #expect(draft.status == .ok)
            #expect(draft.text.contains(#"<option value="medial-tibial-plateau" selected>"#), "the decision's target is the first row")
            #expect(draft.text.contains(#"<option value="tibia-central-medial" selected>"#), "with the MRI's subregion")
            let refused = try await post(client, session, "/episodes/\(episode)/plan/edit", [
                ("setting", "office"), ("anaesthesia", "local-nitrous"), ("injections[0][target]", "medial-tibial-plateau"),
                ("injections[0][minVolumeMl]", "8"), ("injections[0][maxVolumeMl]", "4"), ("injections[0][product]", "prp"),
            ])
            #expect(refused.status == .unprocessableContent)
            #expect(summary(refused.text) == ["Injection 1: the largest volume is less than the smallest"])
            let saved = try await post(client, session, "/episodes/\(episode)/plan/edit", [
                ("plannedDate", today), ("setting", "office"), ("anaesthesia", "local-nitrous"),
                ("injections[0][target]", "medial-tibial-plateau"), ("injections[0][subregion]", "tibia-central-medial"),
                ("injections[0][minVolumeMl]", "5"), ("injections[0][maxVolumeMl]", "10"), ("injections[0][product]", "prp"),
                ("notes", "Two planes before injecting"),
            ])
            #expect(saved.status == .seeOther && saved.headers[.location] == "/episodes/\(episode)/plan")
            let plan = try await get(client, session, "/episodes/\(episode)/plan")
            #expect(plan.text.contains("Two planes before injecting") && plan.text.contains("5–10") && plan.text.contains(today))
            let procedureForm = try await get(client, session, "/episodes/\(episode)/procedures/new")
            #expect(procedureForm.text.contains(#"name="injections[0][volumeMl]" type="text" value="7.5""#), "the plan's mid volume")
            // The worklist shows the week's planned procedures.
            let worklist = try await get(client, session, "/")
            #expect(worklist.text.contains("Procedures planned this week <span class=\"count-badge\">1 item</span>"))

            // A coordinator reads the plan but may not change it.
            let coordinator = try await signIn(client, "coordinator@example.org")
            #expect(try await get(client, coordinator, "/episodes/\(episode)/plan").status == .ok)
            #expect(try await post(client, coordinator, "/episodes/\(episode)/plan/edit", [
                ("setting", "office"), ("anaesthesia", "local"), ("injections[0][target]", "patella"),
                ("injections[0][minVolumeMl]", "1"), ("injections[0][maxVolumeMl]", "2"), ("injections[0][product]", "prp"),
            ]).status == .forbidden)

            // Adjunct: every missing field at once, then a shockwave course.
            let noDates = try await post(client, session, "/episodes/\(episode)/adjuncts/new", [("kind", "shockwave"), ("shockwave[device]", "radial")])
            #expect(summary(noDates.text) == ["Enter energy flux density", "Enter pulses per session", "Enter the date of the first session"])
            let course = try await post(client, session, "/episodes/\(episode)/adjuncts/new", [
                ("kind", "shockwave"), ("shockwave[device]", "focused-electromagnetic"), ("shockwave[energyFluxDensity]", "0.25"),
                ("shockwave[pulsesPerSession]", "2000"), ("shockwave[sessionDates][0]", "2026-03-01"), ("shockwave[sessionDates][1]", "2026-03-08"),
            ])
            #expect(course.status == .seeOther)
            #expect(try await get(client, session, "/episodes/\(episode)").text.contains("0.25 mJ/mm², 2000 pulses, 2 sessions (2026-03-01, 2026-03-08)"))

            // Addenda: refused before signing, stored and shown in order after.
            let recorded = try await post(client, session, "/episodes/\(episode)/procedures/new", [
                ("date", "2026-03-10"), ("kind", "io"), ("setting", "office"), ("anaesthesia", "local-nitrous"), ("guidance", "fluoroscopy"),
                ("injections[0][target]", "medial-tibial-plateau"), ("injections[0][product]", "prp"), ("injections[0][volumeMl]", "7"),
                ("prp[system]", "kit"), ("operator", "Dr Test"),
            ])
            let procedureURL = try #require(recorded.headers[.location])
            let early = try await post(client, session, procedureURL + "/addenda", [("text", "x"), ("reason", "y")])
            #expect(early.status == .conflict && early.text.contains("not signed yet"))
            _ = try await post(client, session, procedureURL + "/sign", [])
            let noReason = try await post(client, session, procedureURL + "/addenda", [("text", "The volume was 6 ml.")])
            #expect(noReason.status == .unprocessableContent && summary(noReason.text) == ["Enter reason"])
            #expect(try await post(client, session, procedureURL + "/addenda", [("text", "The volume was 6 ml."), ("reason", "Misread")]).status == .seeOther)
            #expect(try await post(client, session, procedureURL + "/addenda", [("text", "Operator was Dr Other."), ("reason", "Typo")]).status == .seeOther)
            let page = try await get(client, session, procedureURL)
            let first = try #require(page.text.range(of: "The volume was 6 ml."))
            let second = try #require(page.text.range(of: "Operator was Dr Other."))
            #expect(first.lowerBound < second.lowerBound, "in the order written")
            #expect(page.text.contains("Reason: Misread · Clinician User"))
        }
    }

    @Test("the patient list finds by name, record number or birth date and filters by joint, diagnosis and episode status")
    func patientSearch() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            func names(_ query: String) async throws -> [String] {
                let page = try await get(client, session, "/patients?" + query)
                #expect(page.status == .ok, "\(query): \(page.status)")
                return ["Müller, Anna", "Novak, Petr", "Rossi"].filter { page.text.contains($0) }
            }
            #expect(try await names("q=a-2") == ["Novak, Petr"], "record number, any case")
            #expect(try await names("q=\(server.fixture.patientA.birthDate.iso)") == ["Müller, Anna"])
            #expect(try await names("q=muller") == ["Müller, Anna"], "accents and case folded")
            #expect(try await names("joint=knee") == ["Müller, Anna"], "only patients with a knee episode")
            #expect(try await names("diagnosis=osteoarthritis&status=open") == ["Müller, Anna"])
            #expect(try await names("joint=hip") == [], "site B's hip patient stays invisible")
            let page = try await get(client, session, "/patients?joint=knee&offset=0")
            #expect(page.text.contains(#"<option value="knee" selected>"#), "the filter is kept in the form")
            let bad = try await get(client, session, "/patients?joint=elbow")
            #expect(bad.status == .badRequest && bad.text.contains("joint"))
        }
    }

    @Test("an adverse event records its relatedness (page and API); last contact and status are updated from the episode")
    func relatednessAndLastContact() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let episode = server.fixture.episodeA.id.lowercasedID
            let wrong = try await post(client, session, "/episodes/\(episode)/outcomes/new", [("kind", "death"), ("date", "2026-03-01"), ("relatedness", "possible")])
            #expect(wrong.status == .unprocessableContent && summary(wrong.text) == ["Relatedness is recorded for adverse events only"])
            let saved = try await post(client, session, "/episodes/\(episode)/outcomes/new", [
                ("kind", "adverse-event"), ("date", "2026-03-01"), ("description", "Pain flare"), ("severity", "mild"), ("relatedness", "probable"),
            ])
            #expect(saved.status == .seeOther)
            #expect(try await get(client, session, "/episodes/\(episode)").text.contains("Adverse event (mild): Pain flare · probably related to the procedure"))
            let token = try await apiToken(client, session)
            let events = try await client.execute(uri: "/api/v1/episodes/\(episode)/outcome-events", method: .get, headers: bearer(token))
            #expect((events.json["items"] as? [[String: Any]])?.first?["relatedness"] as? String == "probable")
            var headers = bearer(token)
            headers[.contentType] = "application/json"
            let refused = try await client.execute(uri: "/api/v1/episodes/\(episode)/outcome-events", method: .post, headers: headers,
                                                   body: jsonBody(#"{"kind": "withdrawal", "date": "2026-03-02", "relatedness": "possible"}"#))
            #expect(refused.status == .unprocessableContent)

            let status = try await post(client, session, "/episodes/\(episode)/edit", [("lastContactDate", "2026-03-05"), ("status", "closed")])
            #expect(status.status == .seeOther)
            let page = try await get(client, session, "/episodes/\(episode)")
            #expect(page.text.contains("<dt>Last contact</dt><dd>2026-03-05</dd>") && page.text.contains("<dt>Status</dt><dd>closed</dd>"))
            let future = try await post(client, session, "/episodes/\(episode)/edit", [("lastContactDate", "2100-01-01"), ("status", "open")])
            #expect(future.status == .unprocessableContent && summary(future.text) == ["Last contact must be today or in the past"])
        }
    }
}
