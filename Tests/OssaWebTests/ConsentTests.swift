import Foundation
import HummingbirdTesting
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import Testing

// Consents (issue #12): recorded on the patient page and the API, exchanged as FHIR Consent, and a research-use
// deny leaves the patient out of every de-identified export and of researchers' analytics.
@Suite("Consents: API, patient page, FHIR Consent, research-use exclusion")
struct ConsentTests {
    @Test("recorded through the API with every bad field named; the standing decision is the latest; FHIR Consent validated from outside",
          arguments: Engine.available)
    func api(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let path = "/api/v1/patients/\(f.patientA.id.lowercasedID)/consents"
            let permit = try await coordinator.post(path, #"{"kind": "research-use", "decision": "permit", "date": "2026-01-10", "formReference": "scanned to the EHR"}"#)
            #expect(permit.status == .created, "\(permit.text)")
            let permitID = try #require(permit.json["id"] as? String)
            #expect(permit.headers[.location] == "/api/v1/consents/\(permitID)")
            let deny = try await coordinator.post(path, #"{"kind": "research-use", "decision": "deny", "date": "2026-02-01"}"#)
            #expect(deny.status == .created, "\(deny.text)")
            #expect(try await coordinator.post(path, #"{"kind": "treatment", "decision": "permit", "date": "2026-02-01"}"#).status == .created)

            let list = try await coordinator.get(path)
            #expect(list.status == .ok)
            let items = list.json["items"] as? [[String: Any]] ?? []
            let current = list.json["current"] as? [[String: Any]] ?? []
            #expect(items.count == 3)
            #expect(current.count == 2 && current.contains { $0["kind"] as? String == "research-use" && $0["decision"] as? String == "deny" })
            #expect(items.first?["recordedByName"] as? String == "Coordinator User")

            // Bad input: each field named, nothing written.
            expectProblem(try await coordinator.post(path, #"{"kind": "marketing", "decision": "permit", "date": "2026-02-01"}"#), .unprocessableContent, field: "kind")
            expectProblem(try await coordinator.post(path, #"{"kind": "treatment", "decision": "maybe", "date": "2026-02-01"}"#), .unprocessableContent, field: "decision")
            expectProblem(try await coordinator.post(path, #"{"kind": "treatment", "decision": "permit", "date": "2999-01-01"}"#), .unprocessableContent, field: "date")
            expectProblem(try await coordinator.post(path, #"{"kind": "treatment", "decision": "permit", "date": "1950-01-01"}"#), .conflict, field: "date")
            expectProblem(try await coordinator.post(path, #"{"kind": "treatment", "decision": "permit"}"#), .unprocessableContent, field: "date")
            #expect((try await coordinator.get(path).json["items"] as? [Any])?.count == 3)
            // Another site's patient is not found; researchers and admins have no consents.
            expectProblem(try await coordinator.post("/api/v1/patients/\(f.patientB.id.lowercasedID)/consents",
                                                     #"{"kind": "treatment", "decision": "permit", "date": "2026-02-01"}"#), .notFound)
            expectProblem(try await caller(client, f, .researcher).get(path), .forbidden)
            expectProblem(try await caller(client, f, .admin).get(path), .forbidden)

            // FHIR: the superseded permit is inactive, the deny active; search by patient newest first.
            let read = try await coordinator.get("/fhir/Consent/\(permitID)")
            #expect(read.status == .ok, "\(read.text)")
            #expect(read.json["status"] as? String == "inactive")
            #expect((read.json["provision"] as? [String: Any])?["type"] as? String == "permit")
            #expect((read.json["sourceAttachment"] as? [String: Any])?["title"] as? String == "scanned to the EHR")
            let bundle = try await coordinator.get("/fhir/Consent?patient=\(f.patientA.id.lowercasedID)")
            #expect(bundle.status == .ok && bundle.json["total"] as? Int == 3, "\(bundle.text)")
            let resources = (bundle.json["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
            let research = resources.filter { (($0["category"] as? [[String: Any]])?.last?["coding"] as? [[String: Any]])?.first?["code"] as? String == "research-use" }
            #expect(research.map { $0["status"] as? String } == ["active", "inactive"])
            #expect(research.first.flatMap { ($0["scope"] as? [String: Any])?["coding"] as? [[String: Any]] }?.first?["code"] as? String == "research")
            #expect(try await coordinator.get("/fhir/Consent").status == .badRequest, "patient is required")
            let other = try await coordinator.get("/fhir/Consent?patient=\(f.patientB.id.lowercasedID)")
            #expect(other.json["total"] as? Int == 0, "another site's patient: nothing")
            let capability = try await coordinator.get("/fhir/metadata")
            #expect(capability.text.contains("\"Consent\""))
            // Bulk Data: the Consent type, the caller's sites only, each line validated.
            let (_, output) = try await runExport(coordinator, "/fhir/$export?_type=Consent", base: server.configuration.linkBase)
            #expect(output.map { $0["type"] as? String } == ["Consent"] && output.first?["count"] as? Int == 3, "\(output)")
            let file = try #require(output.first?["url"] as? String)
            let lines = try await coordinator.get(String(file.dropFirst(server.configuration.linkBase.count))).text.split(separator: "\n").map(String.init)
            #expect(lines.count == 3 && lines.filter { $0.contains("\"status\":\"active\"") }.count == 2, "\(lines)")
            try validate([read.text, bundle.text] + lines)
        }
    }

    @Test("a research-use deny: out of the de-identified export (counted in its report), the researchers' API and analytics; the staff still see the patient",
          arguments: Engine.available)
    func exclusion(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let store = f.store
            let clinician = try await caller(client, f, .clinician)
            let coordinator = try await caller(client, f, .coordinator)
            // Two treated episodes at site A: patient A's and patient A2's.
            let episodeA2 = try await coordinator.post("/api/v1/patients/\(f.patientA2.id.lowercasedID)/episodes",
                                                       #"{"joint": "knee", "side": "right", "diagnosis": {"type": "bone-marrow-lesion"}}"#)
            #expect(episodeA2.status == .created, "\(episodeA2.text)")
            let a2 = try #require(episodeA2.json["id"] as? String)
            for episode in [f.episodeA.id.lowercasedID, a2] {
                #expect(try await clinician.post("/api/v1/episodes/\(episode)/procedures", ioProcedureBody).status == .created)
            }
            let researcher = try await store.users.actingUser(try #require(f.userIDs[.researcher]), from: "test")
            let staff = try await store.users.actingUser(try #require(f.userIDs[.clinician]), from: "test")
            let analytics = try store.analytics()
            func researcherEpisodes() async throws -> Set<UUID> {
                Set(try await analytics.extract(researcher, audit: "test").extract.episodes.map(\.key))
            }
            #expect(try await researcherEpisodes() == [f.episodeA.id, UUID(uuidString: a2)!])

            #expect(try await coordinator.post("/api/v1/patients/\(f.patientA.id.lowercasedID)/consents",
                                               #"{"kind": "research-use", "decision": "deny", "date": "2026-11-01"}"#).status == .created)
            // Analytics: at once (a consent write is a registry write), researchers no longer count A; the staff do.
            #expect(try await researcherEpisodes() == [UUID(uuidString: a2)!])
            #expect(Set(try await analytics.extract(staff, audit: "test").extract.episodes.map(\.key)).contains(f.episodeA.id))
            // The researchers' de-identified episodes API.
            #expect(try await store.research.episodes(researcher).items.map(\.studyKey) == [UUID(uuidString: a2)!])
            // The de-identified export: A left out, and counted.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-consent-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let export = ResearchExport(store: store, library: try InstrumentLibrary.builtIn(), protocol: try FollowUpProtocol.bundledDefault())
            let summary = try await export.deidentified(researcher, into: directory, key: Data(repeating: 1, count: 32))
            #expect(summary.episodes == 1 && summary.leftOutForConsent == 1, "\(summary)")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("deidentification-report.json"))) as? [String: Any]
            #expect(report?["patients_left_out_for_consent"] as? Int == 1)
            let wide = try String(contentsOf: directory.appendingPathComponent("wide/wide.csv"), encoding: .utf8)
            #expect(!wide.contains(ResearchIdentity.deidentified(key: Data(repeating: 1, count: 32)).researchID("E", f.episodeA.id)))
            // The identified exports are the clinic's own and keep the patient.
            let identified = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-consent-id-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: identified) }
            #expect(try await export.long(staff, into: identified).episodes == 2)

            // A later permit brings the patient back.
            #expect(try await coordinator.post("/api/v1/patients/\(f.patientA.id.lowercasedID)/consents",
                                               #"{"kind": "research-use", "decision": "permit", "date": "2026-11-02"}"#).status == .created)
            #expect(try await researcherEpisodes() == [f.episodeA.id, UUID(uuidString: a2)!])
        }
    }

    @Test("the patient page shows the standing consents and their history; the form refuses with the values kept")
    func page() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let session = try await signIn(client, try #require(f.emails[.coordinator]))
            let patient = "/patients/\(f.patientA.id.lowercasedID)"
            let before = try await getPage(client, session, patient)
            #expect(before.text.contains("Research use of de-identified data") && before.text.contains("Not recorded"))
            let form = try await getPage(client, session, "\(patient)/consents/new")
            #expect(form.status == .ok && form.text.contains("Record a consent"))
            let refused = try await postForm(client, session, "\(patient)/consents/new", [("kind", "research-use"), ("date", "2026-02-30"),
                                                                                            ("formReference", "paper file")])
            #expect(refused.status == .unprocessableContent)
            #expect(errorSummary(refused.text).count == 2, "\(errorSummary(refused.text))")
            #expect(refused.text.contains("value=\"paper file\""))
            let saved = try await postForm(client, session, "\(patient)/consents/new", [("kind", "research-use"), ("decision", "deny"),
                                                                                          ("date", "2026-02-03"), ("formReference", "paper file")])
            #expect(saved.status == .seeOther && saved.headers[.location] == patient, "\(saved.text.prefix(300))")
            let after = try await getPage(client, session, patient)
            #expect(after.text.contains("Denied on 2026-02-03") && after.text.contains("paper file"))
        }
    }
}

/// Each FHIR JSON document through the validators ($export's helper, which says so when none is configured).
private func validate(_ documents: [String]) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-consent-fhir-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try validateLines(documents, directory: directory)
}
