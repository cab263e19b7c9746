import Foundation
import Hummingbird
import HummingbirdTesting
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import SQLKit
import Testing

/// The administration pages over HTTP, as an administrator uses them: accounts (create, role and sites, disable,
/// new password), sites, API tokens, screening rulesets, instrument wording and the audit log; and every other role
/// refused by the store on every one of them.
@Suite("Administration pages")
struct AdminPagesTests {
    func post(_ client: any TestClientProtocol, _ session: BrowserSession, _ uri: String, _ fields: [(String, String)]) async throws -> TestResponse {
        try await postForm(client, session, uri, fields)
    }

    func get(_ client: any TestClientProtocol, _ session: BrowserSession, _ uri: String) async throws -> TestResponse {
        try await getPage(client, session, uri)
    }

    func summary(_ html: String) -> [String] { errorSummary(html) }

    /// The text of each row of the page's first table body, cell by cell (markup stripped, entities as sent).
    func rows(_ html: String) -> [[String]] {
        guard let body = html.range(of: "<tbody>"), let end = html[body.upperBound...].range(of: "</tbody>") else { return [] }
        let tag = try! Regex("<[^>]*>")
        return html[body.upperBound..<end.lowerBound].components(separatedBy: "<tr>").dropFirst().map { row in
            row.components(separatedBy: "</td>").dropLast().map { cell in
                cell.replacing(tag, with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
    }

    func auditEntries(_ store: OssaStore) async throws -> [AuditEntry] {
        try await AuditLog.readEntries(on: store.database.sql(), after: 0, limit: 100_000)
    }

    func location(_ response: TestResponse) -> String { response.headers[.location] ?? "" }

    func uuid(in text: String) -> UUID? {
        guard let match = text.firstMatch(of: try! Regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) else { return nil }
        return UUID(uuidString: String(text[match.range]))
    }

    /// The bundled ruleset file, changed by `edit` (as a clinic edits a copy of the default file).
    func rulesetJSON(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/OssaCore/Resources/rulesets/default.json")
        let data = try Data(contentsOf: file)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("an admin adds a user, who can then sign in with the initial password and sees exactly the granted sites")
    func createUser() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let form = try await get(client, admin, Paths.Admin.userNew.template)
            #expect(form.status == .ok)
            #expect(form.text.contains(#"name="sites" value="\#(f.siteA.id.lowercasedID)""#))
            #expect(form.text.contains(#"type="password""#))
            #expect(!form.text.contains(#"value="patient""#), "patient logins are made for a patient record")

            // Every problem at once; the user's values come back, the password never does.
            let refused = try await post(client, admin, Paths.Admin.userNew.template, [
                ("displayName", "Nina Neu"), ("email", "nina-at-example.org"), ("sites", f.siteA.id.lowercasedID), ("password", "too short"),
            ])
            #expect(refused.status == .unprocessableContent)
            #expect(summary(refused.text) == ["Enter an e-mail address like name@example.org", "Select role",
                                              "The password must be at least 12 characters"], "\(summary(refused.text))")
            #expect(refused.text.contains(#"value="Nina Neu""#))
            #expect(!refused.text.contains("too short"))
            #expect(try await Accounts.findUser(store: f.store, actor: f.admin, email: "nina@example.org") == nil)

            let created = try await post(client, admin, Paths.Admin.userNew.template, [
                ("displayName", "Nina Neu"), ("email", "Nina@Example.org"), ("role", "coordinator"), ("sites", f.siteA.id.lowercasedID),
                ("password", "a long initial password"),
            ])
            #expect(created.status == .seeOther)
            let id = try #require(uuid(in: location(created)))
            #expect(location(created) == Paths.Admin.user.url(id))
            let page = try await get(client, admin, location(created))
            #expect(page.status == .ok)
            #expect(page.text.contains("<h1>Nina Neu</h1>"))
            #expect(page.text.contains("<dd>nina@example.org</dd>") && page.text.contains("<dd>Coordinator</dd>"))
            #expect(page.text.contains("VIE-1 · Vienna Bone Clinic") && !page.text.contains("GRZ-1"))
            let list = try await get(client, admin, Paths.Admin.users.template + "?q=nina")
            #expect(rows(list.text) == [["Nina Neu", "nina@example.org", "Coordinator", "VIE-1", "Active"]], "\(rows(list.text))")

            // The new user signs in and sees site A's patients only.
            let nina = try await signIn(client, "nina@example.org", password: "a long initial password")
            let me = try await get(client, nina, Paths.API.me.template)
            #expect(me.json["role"] as? String == "coordinator")
            #expect(me.json["siteIds"] as? [String] == [f.siteA.id.lowercasedID])

            // The same e-mail address again is refused on its field.
            let again = try await post(client, admin, Paths.Admin.userNew.template, [
                ("displayName", "Other Nina"), ("email", "nina@example.org"), ("role", "clinician"), ("password", "another long password"),
            ])
            #expect(again.status == .unprocessableContent)
            #expect(summary(again.text) == ["There is already a user with this e-mail address"])
        }
    }

    @Test("role and sites change together; disabling ends the sessions at once; a new password ends them too")
    func changeDisableAndResetPassword() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let clinicianID = try #require(f.userIDs[.clinician])
            let coordinatorID = try #require(f.userIDs[.coordinator])

            // Role and sites: the coordinator becomes a clinician at site B only.
            let coordinator = try await signIn(client, "coordinator@example.org")
            let changed = try await post(client, admin, Paths.Admin.userAccess.url(coordinatorID),
                                         [("role", "clinician"), ("sites", f.siteB.id.lowercasedID)])
            #expect(changed.status == .seeOther)
            let me = try await get(client, coordinator, Paths.API.me.template)
            #expect(me.json["role"] as? String == "clinician")
            #expect(me.json["siteIds"] as? [String] == [f.siteB.id.lowercasedID])
            // An admin cannot take away their own role.
            let own = try await post(client, admin, Paths.Admin.userAccess.url(f.admin.userID), [("role", "clinician")])
            #expect(own.status == .unprocessableContent)
            #expect(summary(own.text) == ["You cannot change your own role; another administrator can"])

            // Disable: the clinician's open session and API token stop working on the next request.
            let clinician = try await signIn(client, "clinician@example.org")
            let token = try await apiToken(client, clinician)
            #expect(try await get(client, clinician, Paths.home.template).status == .ok)
            let disabled = try await post(client, admin, Paths.Admin.userDisable.url(clinicianID), [])
            #expect(disabled.status == .seeOther)
            #expect(location(disabled) == Paths.Admin.user.url(clinicianID))
            let after = try await get(client, clinician, Paths.home.template)
            #expect(after.status == .seeOther)
            #expect(location(after) == Paths.login.template)
            #expect(try await client.execute(uri: Paths.API.me.template, method: .get, headers: bearer(token)).status == .unauthorized)
            let signInAgain = try await postLogin(client, email: "clinician@example.org", password: testPassword)
            #expect(signInAgain.status != .seeOther)
            let page = try await get(client, admin, Paths.Admin.user.url(clinicianID))
            #expect(page.text.contains("Disabled: cannot sign in"))
            #expect(!page.text.contains("Disable this account"))
            #expect(rows(page.text).first?.contains { $0.hasPrefix("Revoked") } == true, "the token shows as revoked")
            // No one disables their own account.
            #expect(try await post(client, admin, Paths.Admin.userDisable.url(f.admin.userID), []).status == .conflict)
            #expect(try await get(client, admin, Paths.home.template).status == .ok)

            // A new password: the old session ends, the old password no longer signs in, the new one does.
            let researcher = try await signIn(client, "researcher@example.org")
            let researcherID = try #require(f.userIDs[.researcher])
            let short = try await post(client, admin, Paths.Admin.userPassword.url(researcherID), [("password", "too short")])
            #expect(short.status == .unprocessableContent)
            #expect(summary(short.text) == ["The password must be at least 12 characters"])
            let reset = try await post(client, admin, Paths.Admin.userPassword.url(researcherID), [("password", "a brand new passphrase")])
            #expect(reset.status == .seeOther)
            #expect(try await get(client, researcher, Paths.home.template).status == .seeOther)
            #expect(try await postLogin(client, email: "researcher@example.org", password: testPassword).status != .seeOther)
            _ = try await signIn(client, "researcher@example.org", password: "a brand new passphrase")
        }
    }

    @Test("sites: added, listed, and a second site with the same code refused on the code")
    func sites() async throws {
        try await withServer { _, client in
            let admin = try await signIn(client, "admin@example.org")
            let empty = try await post(client, admin, Paths.Admin.siteNew.template, [("code", ""), ("name", " ")])
            #expect(empty.status == .unprocessableContent)
            #expect(summary(empty.text) == ["Enter code", "Enter name"])
            let created = try await post(client, admin, Paths.Admin.siteNew.template, [("code", "LNZ-1"), ("name", "Linz Bone Unit")])
            #expect(created.status == .seeOther)
            #expect(location(created) == Paths.Admin.sites.template)
            let list = try await get(client, admin, Paths.Admin.sites.template)
            #expect(rows(list.text).map { Array($0.prefix(2)) } == [["GRZ-1", "Graz Joint Centre"], ["LNZ-1", "Linz Bone Unit"], ["VIE-1", "Vienna Bone Clinic"]])
            let again = try await post(client, admin, Paths.Admin.siteNew.template, [("code", "LNZ-1"), ("name", "Linz again")])
            #expect(again.status == .unprocessableContent)
            #expect(summary(again.text) == ["There is already a site with the code LNZ-1"])
            #expect(again.text.contains(#"value="Linz again""#))
        }
    }

    @Test("an API token is created for a user and shown once, acts as that user, and stops working when revoked")
    func tokens() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let clinicianID = try #require(f.userIDs[.clinician])
            let form = try await get(client, admin, Paths.Admin.tokenNew.template + "?user=\(clinicianID.lowercasedID)")
            #expect(form.text.contains(#"<option value="\#(clinicianID.lowercasedID)" selected>"#))
            let refused = try await post(client, admin, Paths.Admin.tokenNew.template, [("user", ""), ("name", ""), ("days", "0")])
            #expect(refused.status == .unprocessableContent)
            #expect(summary(refused.text) == ["Select the user the token acts as", "Enter name", "Days until it expires must be between 1 and 3650"])

            let created = try await post(client, admin, Paths.Admin.tokenNew.template,
                                         [("_submission", "00000000-aaaa-4000-8000-0000000000a1"), ("user", clinicianID.lowercasedID),
                                          ("name", "registry export"), ("days", "30")])
            #expect(created.status == .ok)
            #expect(created.headers[.cacheControl] == "no-store")
            let match = try #require(created.text.firstMatch(of: try Regex(#"value="(ossa_[A-Za-z0-9_-]+)""#)))
            let token = try #require(match.output[1].substring.map(String.init))
            #expect(created.text.contains("Clinician User (clinician@example.org)"))
            // The same form sent again does not make a second token, nor show the first one again.
            let repeated = try await post(client, admin, Paths.Admin.tokenNew.template,
                                          [("_submission", "00000000-aaaa-4000-8000-0000000000a1"), ("user", clinicianID.lowercasedID),
                                           ("name", "registry export"), ("days", "30")])
            #expect(repeated.status == .seeOther)
            #expect(!repeated.text.contains(token))
            #expect(try await f.store.apiTokens.list(f.admin, user: clinicianID).count == 1)

            let me = try await client.execute(uri: Paths.API.me.template, method: .get, headers: bearer(token))
            #expect(me.status == .ok)
            #expect(me.json["id"] as? String == clinicianID.lowercasedID)
            let list = try await get(client, admin, Paths.Admin.tokens.template)
            let row = try #require(rows(list.text).first)
            #expect(Array(row.prefix(2)) == ["registry export", "Clinician User (clinician@example.org)"])
            #expect(row[5] == "Active")
            #expect(!list.text.contains(token), "the list never shows the token")
            let tokenID = try #require(try await f.store.apiTokens.list(f.admin, user: clinicianID).first?.id)

            let revoked = try await post(client, admin, Paths.Admin.tokenRevoke.url(tokenID), [("from", "tokens")])
            #expect(revoked.status == .seeOther)
            #expect(location(revoked) == Paths.Admin.tokens.template)
            #expect(try await client.execute(uri: Paths.API.me.template, method: .get, headers: bearer(token)).status == .unauthorized)
            let afterwards = try await get(client, admin, Paths.Admin.tokens.template)
            #expect(rows(afterwards.text).first?[5].hasPrefix("Revoked") == true)
            #expect(!afterwards.text.contains(Paths.Admin.tokenRevoke.url(tokenID)), "a revoked token has no revoke button")
        }
    }

    @Test("rulesets: a broken upload names the path of the problem; a valid one is stored, activated and used by new evaluations")
    func rulesets() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let list = try await get(client, admin, Paths.Admin.rulesets.template)
            let bundled = try Ruleset.bundledDefault()
            #expect(rows(list.text) == [[bundled.id, bundled.version, bundled.title, "Shipped with Ossa", "Active"]])

            // Refused, each with its path; the pasted text comes back.
            let unknownEvidence = try rulesetJSON { object in
                object["id"] = "vie-clinic"
                object["version"] = "2026-03"
                var rules = object["rules"] as! [[String: Any]]
                rules[2]["evidence"] = ["no-such-source"]
                object["rules"] = rules
            }
            let refused = try await post(client, admin, Paths.Admin.rulesetNew.template, [("json", unknownEvidence)])
            #expect(refused.status == .unprocessableContent)
            #expect(summary(refused.text) == ["rules[2].evidence[0]: unknown evidence id &quot;no-such-source&quot;"], "\(summary(refused.text))")
            #expect(refused.text.contains(##"<a href="#json">"##))
            #expect(refused.text.contains("no-such-source&quot;]"), "the pasted JSON is kept")
            let unknownField = try rulesetJSON { object in object["colour"] = "blue" }
            let refusedField = try await post(client, admin, Paths.Admin.rulesetNew.template, [("json", unknownField)])
            #expect(summary(refusedField.text) == ["colour: unknown field &quot;colour&quot;"], "\(summary(refusedField.text))")
            let notJSON = try await post(client, admin, Paths.Admin.rulesetNew.template, [("json", "{\"id\": ")])
            #expect(notJSON.status == .unprocessableContent)
            #expect(summary(notJSON.text).first?.contains("not valid JSON") == true, "\(summary(notJSON.text))")
            let same = try await post(client, admin, Paths.Admin.rulesetNew.template, [("json", try rulesetJSON { _ in })])
            #expect(summary(same.text).first?.hasPrefix("version: \(bundled.id) version \(bundled.version) is the bundled default ruleset") == true)
            #expect(try await f.store.rulesets.active() == nil)

            // Stored without activating, then activated.
            let valid = try rulesetJSON { object in
                object["id"] = "vie-clinic"
                object["version"] = "2026-03"
                object["title"] = "Vienna clinic pathway"
            }
            let uploaded = try await post(client, admin, Paths.Admin.rulesetNew.template, [("json", valid)])
            #expect(uploaded.status == .seeOther)
            #expect(location(uploaded) == Paths.Admin.rulesets.template)
            #expect(try await f.store.rulesets.active() == nil, "uploading alone changes nothing")
            let stored = try await get(client, admin, Paths.Admin.rulesets.template)
            #expect(rows(stored.text).map { $0[4] } == ["Active", "Use for new evaluations"])
            let versionID = try #require(try await f.store.readModels.adminRulesets(f.admin).rulesets.first?.id)
            #expect(stored.text.contains(#"<a href="\#(Paths.Admin.ruleset.url(versionID))">2026-03</a>"#))
            let view = try await get(client, admin, Paths.Admin.ruleset.url(versionID))
            #expect(view.status == .ok)
            #expect(view.text.contains("Vienna clinic pathway (vie-clinic version 2026-03)"))
            #expect(rows(view.text).count == bundled.rules.count)
            let again = try await post(client, admin, Paths.Admin.rulesetNew.template, [("json", valid)])
            #expect(summary(again.text) == ["version: vie-clinic version 2026-03 has been uploaded already; give the new one its own version number"])

            let activated = try await post(client, admin, Paths.Admin.rulesetActivate.template, [("ruleset", versionID.lowercasedID)])
            #expect(activated.status == .seeOther)
            let active = try #require(try await f.store.rulesets.active())
            #expect(active.id == "vie-clinic" && active.version == "2026-03" && active.title == "Vienna clinic pathway")
            #expect(rows(try await get(client, admin, Paths.Admin.rulesets.template).text).map { $0[4] } == ["Use for new evaluations", "Active"])

            // Uploaded and activated at once; then back to the bundled default. Exactly one is ever active.
            server.clock.advance(60)
            let next = try rulesetJSON { object in
                object["id"] = "vie-clinic"
                object["version"] = "2026-04"
            }
            #expect(try await post(client, admin, Paths.Admin.rulesetNew.template, [("json", next), ("activate", "yes")]).status == .seeOther)
            #expect(try await f.store.rulesets.active()?.version == "2026-04")
            #expect(rows(try await get(client, admin, Paths.Admin.rulesets.template).text).map { $0[4] } == ["Use for new evaluations", "Active", "Use for new evaluations"])
            #expect(try await post(client, admin, Paths.Admin.rulesetActivate.template, [("ruleset", "bundled")]).status == .seeOther)
            #expect(try await f.store.rulesets.active() == nil)
            #expect(try await post(client, admin, Paths.Admin.rulesetActivate.template, [("ruleset", "newest")]).status == .badRequest)
        }
    }

    @Test("instrument wording: every problem named at once; the clinic's wording stored, shown in use, and removable")
    func wording() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let list = try await get(client, admin, Paths.Admin.instruments.template)
            #expect(rows(list.text).count == InstrumentLibrary.builtInIDs.count)
            #expect(rows(list.text).first?.last?.hasPrefix("Shipped wording") == true)
            let koos = try #require(try InstrumentLibrary.builtIn().instrument(id: "koos"))
            let page = try await get(client, admin, Paths.Admin.instrument.url("koos"))
            #expect(page.text.contains(koos.licence))
            #expect(page.text.contains("The shipped wording is in use"))
            #expect(try await get(client, admin, Paths.Admin.instrument.url("womac")).status == .notFound)

            let refused = try await post(client, admin, Paths.Admin.instrumentWording.url("koos"),
                                         [("json", #"{"P1": "Licensed P1", "X9": "What?", "P2": "  "}"#)])
            #expect(refused.status == .unprocessableContent)
            #expect(summary(refused.text) == ["P2: must not be empty", "X9: is not an item of instrument &#39;koos&#39;"], "\(summary(refused.text))")
            #expect(refused.text.contains(#"<p class="error-message" id="json-error"><span class="visually-hidden">Error:</span> P2: must not be empty; X9: is not an item of instrument &#39;koos&#39;</p>"#))
            #expect(try await f.store.instrumentWordings.get("koos") == nil)
            let notObject = try await post(client, admin, Paths.Admin.instrumentWording.url("koos"), [("json", #"["P1"]"#)])
            #expect(summary(notObject.text).first?.hasPrefix("The wording must be a JSON object") == true)

            let uploaded = try await post(client, admin, Paths.Admin.instrumentWording.url("koos"),
                                          [("json", #"{"P1": "Licensed wording of pain item one", "S1": "Licensed S1"}"#)])
            #expect(uploaded.status == .seeOther)
            #expect(location(uploaded) == Paths.Admin.instrument.url("koos"))
            let stored = try #require(try await f.store.instrumentWordings.get("koos"))
            #expect(stored.texts == ["P1": "Licensed wording of pain item one", "S1": "Licensed S1"])
            #expect(try stored.applied(to: koos).item("P1")?.text == "Licensed wording of pain item one")
            let shown = try await get(client, admin, Paths.Admin.instrument.url("koos"))
            #expect(shown.text.contains("The clinic&#39;s wording is in use for 2 of \(koos.items.count) items"))
            #expect(shown.text.contains("Licensed wording of pain item one (clinic&#39;s wording)"))
            let form = try await get(client, admin, Paths.Admin.instrumentWording.url("koos"))
            #expect(form.text.contains("&quot;S1&quot;: &quot;Licensed S1&quot;,\n  &quot;P1&quot;"), "the stored wording, in the instrument's order")
            #expect(rows(try await get(client, admin, Paths.Admin.instruments.template).text).first?.last?.hasPrefix("Clinic&#39;s wording (2 of") == true)

            #expect(try await post(client, admin, Paths.Admin.instrumentWordingRemove.url("koos"), []).status == .seeOther)
            #expect(try await f.store.instrumentWordings.get("koos") == nil)
        }
    }

    @Test("the audit log: newest first, filtered by user, record type, record id, action and dates, paged; reading it is audited")
    func auditLog() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let clinician = try await signIn(client, "clinician@example.org")
            let clinicianID = try #require(f.userIDs[.clinician])
            // Something the clinician is refused, and enough entries for a second page.
            #expect(try await get(client, clinician, Paths.Admin.users.template).status == .forbidden)
            for _ in 0..<60 { _ = try await f.store.audit.entries(as: f.admin, limit: 1) }

            let all = try await get(client, admin, Paths.Admin.audit.template)
            #expect(all.status == .ok)
            let sequences = rows(all.text).compactMap { Int($0[0]) }
            #expect(sequences.count == 50)
            #expect(sequences == sequences.sorted(by: >), "newest first")
            #expect(all.text.contains("?offset=50\" rel=\"next\""))
            let second = try await get(client, admin, Paths.Admin.audit.template + "?offset=50")
            let older = rows(second.text).compactMap { Int($0[0]) }
            #expect(!older.isEmpty && older == older.sorted(by: >))
            // The first page's read is itself an entry, so the second page starts one entry later than the first ended.
            #expect(older.first == sequences.last)

            let byUser = try await get(client, admin, Paths.Admin.audit.template + "?user=\(clinicianID.lowercasedID)")
            let clinicianRows = rows(byUser.text)
            #expect(!clinicianRows.isEmpty && clinicianRows.allSatisfy { $0[2] == "Clinician User" && $0[3] == "clinician" })
            #expect(clinicianRows.contains { $0[4] == "list" && $0[5] == "refused" && $0[6] == "user" })
            let refusals = try await get(client, admin, Paths.Admin.audit.template + "?outcome=denied&recordType=user&action=list")
            #expect(rows(refusals.text).count == 1)
            let site = try await get(client, admin, Paths.Admin.audit.template + "?recordID=\(f.siteA.id.lowercasedID)")
            #expect(rows(site.text).map { $0[4] } == ["create"])
            #expect(rows(site.text).first?[6] == "site \(f.siteA.id.lowercasedID)")

            let today = CalendarDate(utc: Date())
            let dated = try await get(client, admin, Paths.Admin.audit.template + "?from=\(today.iso)&to=\(today.iso)&recordType=site&action=create")
            #expect(rows(dated.text).count == 2)
            let future = try await get(client, admin, Paths.Admin.audit.template + "?from=\(today.adding(days: 1).iso)")
            #expect(rows(future.text).isEmpty && future.text.contains("No entries match."))
            let backwards = try await get(client, admin, Paths.Admin.audit.template + "?from=\(today.iso)&to=\(today.adding(days: -1).iso)&recordType=nonsense")
            #expect(backwards.status == .unprocessableContent)
            #expect(summary(backwards.text) == ["Select record type from the list", "To must be the same day as From or later"])

            // Each page of the log read is itself an entry.
            let last = try #require(try await auditEntries(f.store).last)
            #expect(last.action == "read" && last.recordType == "audit-log" && last.actorUserID == f.admin.userID.lowercasedID)
        }
    }

    @Test("verify the chain: intact, then broken at the entry that was edited behind the store's back")
    func verifyChain() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let admin = try await signIn(client, "admin@example.org")
            let page = try await get(client, admin, Paths.Admin.audit.template)
            #expect(page.text.contains(#"<form method="get" action="/admin/audit/verify""#))
            let intact = try await get(client, admin, Paths.Admin.auditVerify.template)
            #expect(intact.status == .ok)
            #expect(intact.text.contains("The audit log is intact"))
            let entries = try await auditEntries(f.store)
            #expect(entries.last?.recordID == "verify", "the check is audited")
            #expect(intact.text.contains("<dt>Entries</dt><dd>\(entries.count - 1)</dd>"))

            let sql = try f.store.database.sql()
            try await sql.raw("DROP TRIGGER audit_log_no_update").run()
            try await sql.raw("UPDATE audit_log SET record_id = 'forged' WHERE seq = 5").run()
            let broken = try await get(client, admin, Paths.Admin.auditVerify.template)
            #expect(broken.status == .ok)
            #expect(broken.text.contains("The audit log is broken at entry 5: stored hash does not match the entry&#39;s content"))
        }
    }

    /// Every administration page and form, with real ids where a page needs one.
    func adminRequests(_ f: WebFixture, tokenID: UUID) throws -> (gets: [String], posts: [(String, [(String, String)])]) {
        let clinicianID = try #require(f.userIDs[.clinician])
        let gets = [Paths.Admin.home.template, Paths.Admin.users.template, Paths.Admin.userNew.template, Paths.Admin.user.url(clinicianID),
                    Paths.Admin.userAccess.url(clinicianID), Paths.Admin.userPassword.url(clinicianID), Paths.Admin.sites.template,
                    Paths.Admin.siteNew.template, Paths.Admin.tokens.template, Paths.Admin.tokenNew.template, Paths.Admin.rulesets.template,
                    Paths.Admin.rulesetNew.template, Paths.Admin.ruleset.url(UUID()), Paths.Admin.instruments.template,
                    Paths.Admin.instrument.url("koos"), Paths.Admin.instrumentWording.url("koos"), Paths.Admin.audit.template,
                    Paths.Admin.auditVerify.template]
        let posts: [(String, [(String, String)])] = [
            (Paths.Admin.userNew.template, [("displayName", "X"), ("email", "x@example.org"), ("role", "admin"), ("password", "a long password here")]),
            (Paths.Admin.userAccess.url(clinicianID), [("role", "admin")]),
            (Paths.Admin.userPassword.url(clinicianID), [("password", "a long password here")]),
            (Paths.Admin.userDisable.url(f.admin.userID), []),
            (Paths.Admin.siteNew.template, [("code", "X-1"), ("name", "X")]),
            // Even their own account's tokens: the administration pages are for administrators.
            (Paths.Admin.tokenNew.template, [("user", clinicianID.lowercasedID), ("name", "mine")]),
            (Paths.Admin.tokenRevoke.url(tokenID), []),
            (Paths.Admin.rulesetNew.template, [("json", "{}")]),
            (Paths.Admin.rulesetActivate.template, [("ruleset", "bundled")]),
            (Paths.Admin.instrumentWording.url("koos"), [("json", #"{"P1": "x"}"#)]),
            (Paths.Admin.instrumentWordingRemove.url("koos"), []),
        ]
        return (gets, posts)
    }

    @Test("every other role is refused every administration page and form by the store, and the refusal is audited",
          arguments: [Role.clinician, .coordinator, .researcher, .patient])
    func othersRefused(role: Role) async throws {
        try await withServer { server, client in
            let f = server.fixture
            let session = try await signIn(client, try #require(f.emails[role]))
            let ownToken = try await f.store.apiTokens.create(try await f.store.users.actingUser(try #require(f.userIDs[role]), from: nil),
                                                              user: try #require(f.userIDs[role]), name: "own", token: "own-token", now: Date())
            let (gets, posts) = try adminRequests(f, tokenID: ownToken.id)
            for uri in gets {
                let before = try await auditEntries(f.store).count
                let response = try await get(client, session, uri)
                #expect(response.status == .forbidden, "GET \(uri) as \(role): \(response.status)")
                #expect(response.text.contains("<h1>Forbidden</h1>") && response.text.contains("Sign out"), "GET \(uri)")
                let after = try await auditEntries(f.store)
                #expect(after.count == before + 1 && after.last?.outcome == "denied", "GET \(uri): the refusal is audited")
            }
            for (uri, fields) in posts {
                let response = try await post(client, session, uri, fields)
                #expect(response.status == .forbidden, "POST \(uri) as \(role): \(response.status)")
            }
            // Nothing was written: no new user, site, ruleset or wording; the token is still live; the admin is enabled.
            #expect(try await Accounts.findUser(store: f.store, actor: f.admin, email: "x@example.org") == nil)
            #expect(try await f.store.sites.list(f.admin).total == 2)
            #expect(try await f.store.instrumentWordings.get("koos") == nil)
            #expect(try await f.store.apiTokens.authenticate(token: "own-token", now: Date(), address: nil) != nil)
            #expect(try await f.store.users.get(f.admin, f.admin.userID).disabled == false)
            let home = try await get(client, session, Paths.home.template)
            #expect(!home.text.contains("Administration</a>"), "no administration link for \(role)")
        }
    }

    @Test("the administrator starts on the administration page, which the navigation links to")
    func adminStartPage() async throws {
        try await withServer { _, client in
            let admin = try await signIn(client, "admin@example.org")
            let home = try await get(client, admin, Paths.home.template)
            #expect(home.status == .ok)
            #expect(home.text.contains("<h1>Administration</h1>"))
            #expect(home.text.contains(#"<li><a href="/admin">Administration</a></li>"#))
            for path in [Paths.Admin.users, Paths.Admin.sites, Paths.Admin.tokens, Paths.Admin.rulesets, Paths.Admin.instruments, Paths.Admin.audit] {
                #expect(home.text.contains(#"href="\#(path.template)""#), "\(path)")
                #expect(try await get(client, admin, path.template).status == .ok, "\(path)")
            }
            #expect(try await get(client, admin, Paths.Admin.home.template).text.contains("<h1>Administration</h1>"))
        }
    }
}
