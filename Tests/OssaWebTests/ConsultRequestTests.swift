import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OssaCore
import OssaStore
@testable import OssaWeb
import SQLKit
import Testing

/// The coordinators' side of the self-screen: the worklist's consult section, the list, a request, converting it
/// into a patient and episode with the answers carried over, closing it; scoped to the user's sites; the API list.
@Suite("Consult requests: worklist, request page, conversion into a patient and episode, API")
struct ConsultRequestTests {
    /// One request from the public to `site` (nil: no preferred site); its id.
    static func submit(_ server: TestServer, _ client: any TestClientProtocol, site: UUID?, name: String = "Anna Maria Huber",
                       address: String = "203.0.113.9") async throws -> UUID {
        var browser = PublicBrowser(address: address)
        _ = try await SelfScreenSample.request(client, &browser, site: site, name: name)
        let rows = try await server.fixture.store.database.sql().select().column("id").from("consult_requests")
            .where("name", .equal, SQLBind(name)).all()
        return try #require(try rows.last?.decode(column: "id", as: UUID.self))
    }

    static func count(_ table: String, _ store: OssaStore) async throws -> Int {
        try await store.database.sql().raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self) ?? -1
    }

    @Test
    func aCoordinatorTurnsARequestIntoAPatientAndEpisodeWithTheAnswersCarriedOver() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let id = try await Self.submit(server, client, site: f.siteA.id)
            let session = try await signIn(client, "coordinator@example.org")

            // On the worklist, with a link to the request and to the list.
            let worklist = try await getPage(client, session, "/")
            #expect(worklist.text.contains(#"<h2 id="consults-heading">Consult requests <span class="count-badge">1 item</span></h2>"#))
            #expect(worklist.text.contains(#"<a href="/consult-requests/\#(id.lowercasedID)">Anna Maria Huber</a>"#))
            #expect(worklist.text.contains(#"<a href="/consult-requests">All consult requests</a>"#))
            let list = try await getPage(client, session, "/consult-requests")
            #expect(list.status == .ok && list.text.contains("Anna Maria Huber") && list.text.contains("left knee"))
            #expect(list.text.contains("Consult worthwhile") && list.text.contains("VIE-1 · Vienna Bone Clinic"))

            // The request: the answers in the self-screen's words, the outcome and reasons, contact and consent.
            let page = try await getPage(client, session, "/consult-requests/\(id.lowercasedID)")
            #expect(page.status == .ok)
            let html = page.text
            #expect(html.contains("<dt>The MRI report mentions</dt><dd>Bone marrow edema (oedema) or a bone bruise</dd>"))
            #expect(html.contains("<dt>Tried for at least 3 months</dt><dd>Exercise or physiotherapy; Anti-inflammatory painkillers, such as ibuprofen or naproxen</dd>"))
            #expect(html.contains("<dt>E-mail</dt><dd>anna.huber@example.org</dd>") && html.contains("<dt>Phone</dt><dd>+43 660 555 0199</dd>"))
            #expect(html.contains("<dt>Consent to be contacted</dt><dd>Given on "))
            #expect(html.contains(#"<p class="decision-category">Consult worthwhile</p>"#) && html.contains("(wishes-to-avoid-replacement)"))
            // The convert form, prefilled: names split, site, contact, joint, side, suggested diagnosis; no birth date.
            #expect(html.contains(#"name="familyName" type="text" value="Huber""#) && html.contains(#"name="givenName" type="text" value="Anna Maria""#))
            #expect(html.contains(#"<option value="\#(f.siteA.id.lowercasedID)" selected>"#))
            #expect(html.contains(#"name="email" type="text" value="anna.huber@example.org""#))
            #expect(html.contains(#"name="joint" value="knee" checked"#) && html.contains(#"name="side" value="left" checked"#))
            #expect(html.contains(#"<option value="bone-marrow-lesion" selected>"#))
            #expect(html.contains(#"name="birthDate" type="text" value="""#))

            // Refused without a birth date: the page again, nothing created.
            let patients = try await Self.count("patients", f.store)
            var form = Self.convertForm(html)
            let refused = try await postForm(client, session, "/consult-requests/\(id.lowercasedID)/convert", form.filter { $0.0 != "birthDate" })
            #expect(refused.status == .unprocessableContent && errorSummary(refused.text) == ["Enter date of birth"])
            #expect(refused.text.contains(#"name="familyName" type="text" value="Huber""#))

            form.removeAll { $0.0 == "birthDate" || $0.0 == "diagnosis[kellgrenLawrence]" }
            form += [("birthDate", "1961-04-03")]
            let converted = try await postForm(client, session, "/consult-requests/\(id.lowercasedID)/convert", form)
            #expect(converted.status == .seeOther, "\(converted.status): \(errorSummary(converted.text))")
            let episodeURL = try #require(converted.headers[.location])
            #expect(episodeURL.hasPrefix("/episodes/"))
            let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
            let request = try await f.store.consultRequests.get(coordinator, id)
            let episodeID = try #require(request.episodeID)
            #expect(request.status == .converted && episodeURL == "/episodes/\(episodeID.lowercasedID)")
            let patient = try await f.store.patients.get(coordinator, try #require(request.patientID))
            let born = try CalendarDate(iso: "1961-04-03")
            #expect(patient.familyName == "Huber" && patient.givenName == "Anna Maria" && patient.birthDate == born)
            #expect(patient.email == "anna.huber@example.org" && patient.phone == "+43 660 555 0199" && patient.siteID == f.siteA.id)
            let episode = try await f.store.episodes.get(coordinator, try #require(request.episodeID))
            #expect(episode.joint == .knee && episode.side == .left && episode.diagnosis == .boneMarrowLesion && episode.patientID == patient.id)
            #expect(try await Self.count("patients", f.store) == patients + 1)
            #expect(try await getPage(client, session, episodeURL).status == .ok)
            // The same submission again opens the result instead of converting twice.
            let again = try await postForm(client, session, "/consult-requests/\(id.lowercasedID)/convert", form)
            #expect(again.status == .seeOther && again.headers[.location] == episodeURL)
            // Off the worklist; the request page now links the patient and the episode.
            #expect(try await getPage(client, session, "/").text.contains(#"Consult requests <span class="count-badge">0 items</span>"#))
            let done = try await getPage(client, session, "/consult-requests/\(id.lowercasedID)")
            #expect(done.text.contains("Turned into a patient and episode on") && done.text.contains(#"<a href="\#(episodeURL)">Open the episode</a>"#))
            #expect(!done.text.contains("/convert\""))
        }
    }

    @Test
    func anotherSitesCoordinatorNeitherSeesNorConvertsTheRequest() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let atB = try await Self.submit(server, client, site: f.siteB.id, name: "Bea Graz")
            let anywhere = try await Self.submit(server, client, site: nil, name: "Noah Nowhere")
            let session = try await signIn(client, "coordinator@example.org")
            let list = try await getPage(client, session, "/consult-requests")
            #expect(!list.text.contains("Bea Graz") && list.text.contains("Noah Nowhere") && list.text.contains("No preference"))
            let page = try await getPage(client, session, "/consult-requests/\(atB.lowercasedID)")
            #expect(page.status == .notFound)
            let form: [(String, String)] = [("siteID", f.siteA.id.lowercasedID), ("familyName", "Graz"), ("givenName", "Bea"),
                                            ("birthDate", "1960-01-01"), ("joint", "knee"), ("side", "left"), ("diagnosis[type]", "bone-marrow-lesion")]
            let convert = try await postForm(client, session, "/consult-requests/\(atB.lowercasedID)/convert", form)
            #expect(convert.status == .notFound)
            let close = try await postForm(client, session, "/consult-requests/\(atB.lowercasedID)/close", [("reason", "not ours")])
            #expect(close.status == .notFound)
            let researcher = try await signIn(client, "researcher@example.org")
            #expect(try await getPage(client, researcher, "/consult-requests").status == .forbidden)
            // A request with no preferred site is closed with a reason and leaves the list of new requests.
            let closed = try await postForm(client, session, "/consult-requests/\(anywhere.lowercasedID)/close", [("reason", "Asked not to be contacted")])
            #expect(closed.status == .seeOther && closed.headers[.location] == "/consult-requests")
            #expect(!(try await getPage(client, session, "/consult-requests").text.contains("Noah Nowhere")))
            let all = try await getPage(client, session, "/consult-requests?status=closed")
            #expect(all.text.contains("Noah Nowhere"))
            let refused = try await postForm(client, session, "/consult-requests/\(anywhere.lowercasedID)/close", [("reason", "again")])
            #expect(refused.status == .conflict)
            #expect(try await getPage(client, session, "/consult-requests?status=bogus").status == .badRequest)
        }
    }

    @Test
    func theAPIListsRequestsWithoutTheAddress() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let atA = try await Self.submit(server, client, site: f.siteA.id)
            _ = try await Self.submit(server, client, site: f.siteB.id, name: "Bea Graz")
            let session = try await signIn(client, "coordinator@example.org")
            let token = try await apiToken(client, session)
            let response = try await client.execute(uri: "/api/v1/consult-requests", method: .get, headers: bearer(token))
            #expect(response.status == .ok)
            let json = response.json
            #expect(json["total"] as? Int == 1)
            let item = try #require((json["items"] as? [[String: Any]])?.first)
            #expect(item["id"] as? String == atA.lowercasedID && item["name"] as? String == "Anna Maria Huber")
            #expect(item["status"] as? String == "new" && item["outcome"] as? String == "consult-worthwhile")
            #expect(item["consentToContact"] as? Bool == true && item["siteId"] as? String == f.siteA.id.lowercasedID)
            #expect((item["answers"] as? [String: [String]])?["treatments"] == ["exercise-physiotherapy", "anti-inflammatories"])
            #expect(item["suggestedDiagnosis"] as? String == "bone-marrow-lesion" && item["rulesetId"] as? String == "ossa-default")
            #expect(((item["summary"] as? [[String: Any]])?.count ?? 0) > 5)
            #expect(Set(item.keys).isDisjoint(with: ["addressHash", "address", "address_hash"]))
            #expect(!response.text.contains("203.0.113.9"))
            let converted = try await client.execute(uri: "/api/v1/consult-requests?status=converted", method: .get, headers: bearer(token))
            #expect(converted.json["total"] as? Int == 0)
            let bySite = try await client.execute(uri: "/api/v1/consult-requests?site=\(f.siteB.id.lowercasedID)", method: .get, headers: bearer(token))
            #expect(bySite.json["total"] as? Int == 0)
            let bad = try await client.execute(uri: "/api/v1/consult-requests?status=open", method: .get, headers: bearer(token))
            #expect(bad.status == .badRequest && bad.headers[.contentType] == "application/problem+json")
            let researcher = try await apiToken(client, try await signIn(client, "researcher@example.org"))
            #expect(try await client.execute(uri: "/api/v1/consult-requests", method: .get, headers: bearer(researcher)).status == .forbidden)
        }
    }

    /// The convert form's fields as the page renders them (text boxes, checked radios, selected options).
    static func convertForm(_ html: String) -> [(String, String)] {
        guard let start = html.range(of: "/convert\" class=\"stack\""), let end = html[start.upperBound...].range(of: "</form>") else { return [] }
        let form = String(html[start.upperBound..<end.lowerBound])
        var fields: [(String, String)] = []
        func attribute(_ name: String, in tag: Substring) -> String? {
            guard let range = tag.range(of: " \(name)=\"") else { return nil }
            return String(tag[range.upperBound...].prefix { $0 != "\"" })
        }
        for tag in form.split(separator: "<").map({ $0.prefix { $0 != ">" } }) {
            if tag.hasPrefix("input"), let name = attribute("name", in: tag) {
                let type = attribute("type", in: tag) ?? "text"
                if (type == "radio" || type == "checkbox") && !tag.contains(" checked") { continue }
                fields.append((name, attribute("value", in: tag) ?? ""))
            }
        }
        // Selects: the selected option of each.
        var rest = form[...]
        while let open = rest.range(of: "<select id=\"") {
            let tail = rest[open.upperBound...]
            guard let nameRange = tail.range(of: "name=\""), let close = tail.range(of: "</select>") else { break }
            let name = String(tail[nameRange.upperBound...].prefix { $0 != "\"" })
            let body = tail[..<close.lowerBound]
            if let selected = body.range(of: "\" selected>") {
                let before = body[..<selected.lowerBound]
                if let valueStart = before.range(of: "value=\"", options: .backwards) {
                    fields.append((name, String(before[valueStart.upperBound...])))
                }
            }
            rest = tail[close.upperBound...]
        }
        return fields.filter { $0.0 != "_csrf" }
    }
}
