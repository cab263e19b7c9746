import Foundation
import Hummingbird
import HummingbirdTesting
import OssaCore
import OssaDemo
import OssaFHIR
import SQLKit
@testable import OssaStore
@testable import OssaWeb
import Testing

// FHIR R4 (issue #12, first part): the CapabilityStatement, Patient and Condition read and search, site scoping in
// every parameter combination, OperationOutcome errors with their locations, and the resources validated from
// outside by fhirkit-rs (R4 4.0.1) and fhir.resources (R4B) when the suite is given them:
//   OSSA_TEST_FHIRKIT=<a python3 with fhirkit-rs>  OSSA_TEST_FHIR_RESOURCES=<a python3 with fhir.resources>
// (`.ci/run` installs both and sets both.) The fixture: a clinician of site A; patients A-1 Müller (knee, left, OA
// KL 3, Ahlbäck II) and A-2 Novak at site A, B-1 Rossi (hip, right, bone marrow oedema syndrome) at site B.

private func object(_ response: TestResponse) -> [String: Any] { response.json }

private func entries(_ bundle: [String: Any]) -> [[String: Any]] {
    (bundle["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
}

private func codings(_ concept: Any?) -> [(String, String)] {
    ((concept as? [String: Any])?["coding"] as? [[String: Any]] ?? []).map { ($0["system"] as? String ?? "", $0["code"] as? String ?? "") }
}

private func issues(_ response: TestResponse) -> [[String: Any]] {
    #expect(response.headers[.contentType]?.hasPrefix("application/fhir+json") == true, "\(response.status)")
    let outcome = response.json
    #expect(outcome["resourceType"] as? String == "OperationOutcome", "\(response.text.prefix(300))")
    return outcome["issue"] as? [[String: Any]] ?? []
}

@Suite("FHIR R4: metadata, Patient and Condition, site scoping, OperationOutcome")
struct FHIRTests {
    @Test("the CapabilityStatement is public and lists exactly the resources, interactions and search parameters served")
    func capabilityStatement() async throws {
        try await withServer { _, client in
            let response = try await client.execute(uri: "/fhir/metadata", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/fhir+json; charset=utf-8")
            let statement = response.json
            #expect(statement["resourceType"] as? String == "CapabilityStatement")
            #expect(statement["fhirVersion"] as? String == "4.0.1")
            #expect(statement["kind"] as? String == "instance")
            let rest = try #require((statement["rest"] as? [[String: Any]])?.first)
            let resources = rest["resource"] as? [[String: Any]] ?? []
            #expect(resources.map { $0["type"] as? String ?? "" } == ["Patient", "Condition", "Procedure", "Observation", "Questionnaire", "QuestionnaireResponse", "Consent", "AuditEvent"])
            for resource in resources {
                let interactions = (resource["interaction"] as? [[String: Any]] ?? []).map { $0["code"] as? String ?? "" }
                let patient = resource["type"] as? String == "Patient"
                let creatable = ["Patient", "Condition", "Procedure", "QuestionnaireResponse"].contains(resource["type"] as? String ?? "")
                let versioned = !["Questionnaire", "AuditEvent"].contains(resource["type"] as? String ?? "")
                #expect(interactions == ["read"] + (versioned ? ["vread"] : []) + ["search-type"] + (creatable ? ["create"] : []))
                #expect(resource["conditionalCreate"] as? Bool == (patient ? true : nil))
            }
            #expect((rest["interaction"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } == ["transaction", "batch"])
            let patientParams = (resources.first?["searchParam"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
            #expect(patientParams == ["name", "identifier", "_lastUpdated", "_count", "_offset"])
            // What the statement lists is what answers, and nothing else does.
            #expect(try await client.execute(uri: "/fhir/Encounter", method: .get).status == .notFound)
        }
    }

    @Test("Patient read: identifier per site, name, gender, birth date, contact; audited; another site's patient is not found",
          arguments: Engine.available)
    func patientRead(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            let a = server.fixture.patientA
            let response = try await clinician.get("/fhir/Patient/\(a.id.lowercasedID)")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/fhir+json; charset=utf-8")
            let patient = response.json
            #expect(patient["resourceType"] as? String == "Patient")
            #expect(patient["id"] as? String == a.id.lowercasedID)
            #expect(patient["gender"] as? String == "female")
            #expect(patient["birthDate"] as? String == "1961-04-03")
            let name = try #require((patient["name"] as? [[String: Any]])?.first)
            #expect(name["family"] as? String == "Müller" && (name["given"] as? [String]) == ["Anna"])
            let identifier = try #require((patient["identifier"] as? [[String: Any]])?.first)
            #expect(identifier["value"] as? String == "A-1")
            #expect(identifier["system"] as? String == "https://ossa-registry.org/fhir/NamingSystem/site/\(server.fixture.siteA.id.lowercasedID)/mrn")
            #expect((patient["managingOrganization"] as? [String: Any])?["display"] as? String == "Vienna Bone Clinic")
            // No null anywhere (FHIR forbids it).
            #expect(!response.text.contains("null"))
            let audited = try await server.fixture.store.database.sql()
                .raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'read' AND record_type = 'patient' AND record_id = \(bind: a.id.uuidString.lowercased())")
                .first()?.decode(column: "n", as: Int.self)
            #expect(audited == 1, "the read is audited")

            let other = try await clinician.get("/fhir/Patient/\(server.fixture.patientB.id.lowercasedID)")
            #expect(other.status == .notFound, "another site's patient is not found: \(other.status)")
            #expect(!other.text.contains("Rossi") && !other.text.contains("B-1"))
            #expect(issues(other).first?["severity"] as? String == "error")
            let malformed = try await clinician.get("/fhir/Patient/not-a-uuid")
            #expect(malformed.status == .notFound)
            #expect(issues(malformed).first?["code"] as? String == "not-found")
        }
    }

    @Test("Condition: the episode's diagnosis with ICD-10-CM, SNOMED, Ossa's code, laterality and grades")
    func conditionRead() async throws {
        try await withServer { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            let e = server.fixture.episodeA
            let response = try await clinician.get("/fhir/Condition/\(e.id.lowercasedID)")
            #expect(response.status == .ok)
            let condition = response.json
            #expect(condition["resourceType"] as? String == "Condition")
            let code = codings(condition["code"])
            #expect(code.contains { $0 == ("http://hl7.org/fhir/sid/icd-10-cm", "M17.12") }, "left knee primary OA: \(code)")
            #expect(code.contains { $0 == ("http://snomed.info/sct", "239873007") })
            #expect(code.contains { $0 == ("https://ossa-registry.org/fhir/CodeSystem/diagnosis", "osteoarthritis") })
            let site = codings((condition["bodySite"] as? [Any])?.first)
            #expect(site.contains { $0 == ("http://snomed.info/sct", "49076000") } && site.contains { $0 == ("http://snomed.info/sct", "7771000") })
            #expect((condition["subject"] as? [String: Any])?["reference"] as? String == "Patient/\(e.patientID.lowercasedID)")
            let stages = (condition["stage"] as? [[String: Any]] ?? []).compactMap { ($0["summary"] as? [String: Any])?["text"] as? String }
            #expect(stages == ["Kellgren–Lawrence 3", "Ahlbäck II"])
            #expect(codings(condition["clinicalStatus"]).first?.1 == "active")
            #expect(codings((condition["category"] as? [Any])?.first).first?.1 == "problem-list-item")
        }
    }

    @Test("Procedure: the IO injection with its targets, products, per-injection volumes and operator; searched per patient and day",
          arguments: Engine.available)
    func procedure(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            let f = server.fixture
            let created = try await clinician.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/procedures", ioProcedureBody)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let response = try await clinician.get("/fhir/Procedure/\(id)")
            #expect(response.status == .ok, "\(response.text.prefix(300))")
            let procedure = response.json
            #expect(procedure["resourceType"] as? String == "Procedure")
            #expect(procedure["status"] as? String == "completed")
            #expect(procedure["performedDateTime"] as? String == "2026-11-02")
            #expect((procedure["subject"] as? [String: Any])?["reference"] as? String == "Patient/\(f.patientA.id.lowercasedID)")
            #expect(codings(procedure["code"]).first ?? ("", "") == ("https://ossa-registry.org/fhir/CodeSystem/procedure", "io-injection"))
            let performer = ((procedure["performer"] as? [[String: Any]])?.first?["actor"] as? [String: Any])?["display"] as? String
            #expect(performer == "Dr. Clinician User")
            let sites = (procedure["bodySite"] as? [Any] ?? []).map { codings($0).first?.1 ?? "" }
            #expect(sites == ["medial-tibial-plateau:tibia-central-medial", "intra-articular"])
            #expect((procedure["usedCode"] as? [Any] ?? []).map { codings($0).first?.1 ?? "" } == ["prp"])
            // One `injection` extension per injection, in order, with its volume in UCUM millilitres.
            let injections = (procedure["extension"] as? [[String: Any]] ?? []).filter { $0["url"] as? String == "https://ossa-registry.org/fhir/StructureDefinition/injection" }
            #expect(injections.count == 2)
            let volumes = injections.map { injection -> Double? in
                let volume = (injection["extension"] as? [[String: Any]] ?? []).first { $0["url"] as? String == "volume" }
                return (volume?["valueQuantity"] as? [String: Any])?["value"] as? Double
            }
            #expect(volumes == [6, 5])

            let patient = "patient=Patient/\(f.patientA.id.lowercasedID)"
            for (query, expected) in [(patient, 1), ("\(patient)&date=2026-11-02", 1), ("\(patient)&date=ge2026-11-02", 1),
                                      ("\(patient)&date=lt2026-11-02", 0), ("\(patient)&date=gt2026-11-02", 0),
                                      ("patient=\(f.patientB.id.lowercasedID)", 0)] {
                let found = try await clinician.get("/fhir/Procedure?\(query)")
                #expect(found.status == .ok, "\(query): \(found.text.prefix(200))")
                #expect(found.json["total"] as? Int == expected, "\(query)")
            }
            let unbounded = try await clinician.get("/fhir/Procedure")
            #expect(unbounded.status == .badRequest)
            #expect(issues(unbounded).first?["expression"] as? [String] == ["patient"])
            let badDate = try await clinician.get("/fhir/Procedure?\(patient)&date=2026-13-01")
            #expect(badDate.status == .badRequest)
            #expect(issues(badDate).first?["expression"] as? [String] == ["date"])
        }
    }

    @Test("Questionnaire from the instrument file, the stored QuestionnaireResponse, and one Observation per computed score with LOINC",
          arguments: Engine.available)
    func questionnairesAndScores(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let (koosID, jrID) = try await postScoredResponses(coordinator, f)
            let patient = "patient=Patient/\(f.patientA.id.lowercasedID)"

            // The instrument as a Questionnaire: its canonical URL and scoring version, each answer's ordinal value.
            let koos = try await coordinator.get("/fhir/Questionnaire/koos")
            #expect(koos.status == .ok, "\(koos.text.prefix(300))")
            #expect(koos.json["url"] as? String == "https://ossa-registry.org/fhir/Questionnaire/koos")
            #expect(koos.json["version"] as? String == "2012")
            #expect(codings(["coding": koos.json["code"] ?? []]).first ?? ("", "") == ("http://loinc.org", "72091-2"))
            let items = koos.json["item"] as? [[String: Any]] ?? []
            #expect(items.count == 42)
            let p1 = try #require(items.first { $0["linkId"] as? String == "P1" })
            #expect(p1["type"] as? String == "choice")
            let options = p1["answerOption"] as? [[String: Any]] ?? []
            #expect(options.compactMap { ($0["valueCoding"] as? [String: Any])?["code"] as? String } == ["0", "1", "2", "3", "4"])
            let ordinals = options.compactMap { ($0["extension"] as? [[String: Any]])?.first { $0["url"] as? String == "http://hl7.org/fhir/StructureDefinition/ordinalValue" }?["valueDecimal"] as? Double }
            #expect(ordinals == [0, 1, 2, 3, 4])
            #expect(try await coordinator.get("/fhir/Questionnaire/womac").status == .notFound)
            #expect(try await coordinator.get("/fhir/Questionnaire").json["total"] as? Int == InstrumentLibrary.builtInIDs.count)
            let koosURL = "https://ossa-registry.org/fhir/Questionnaire/koos"
            #expect(try await coordinator.get("/fhir/Questionnaire?url=\(koosURL)").json["total"] as? Int == 1)
            #expect(try await coordinator.get("/fhir/Questionnaire?url=\(koosURL)%7C2012").json["total"] as? Int == 1)
            #expect(try await coordinator.get("/fhir/Questionnaire?url=\(koosURL)%7C1998").json["total"] as? Int == 0)

            // The responses: the canonical with its version, the answers coded by ordinal, the patient and the day.
            let responses = try await coordinator.get("/fhir/QuestionnaireResponse?\(patient)")
            #expect(responses.status == .ok, "\(responses.text.prefix(300))")
            #expect(responses.json["total"] as? Int == 2)
            let koosResponse = try #require(entries(responses.json).first { $0["id"] as? String == koosID })
            #expect(koosResponse["questionnaire"] as? String == "\(koosURL)|2012")
            #expect(koosResponse["status"] as? String == "completed")
            #expect(koosResponse["authored"] as? String == "2026-11-20T09:30:00.000Z")
            #expect((koosResponse["subject"] as? [String: Any])?["reference"] as? String == "Patient/\(f.patientA.id.lowercasedID)")
            let answered = koosResponse["item"] as? [[String: Any]] ?? []
            #expect(answered.count == 16, "9 pain and 7 symptom items answered; the unanswered are left out")
            let p3 = try #require(answered.first { $0["linkId"] as? String == "P3" })
            #expect((((p3["answer"] as? [[String: Any]])?.first?["valueCoding"]) as? [String: Any])?["code"] as? String == "2")
            for (query, expected) in [("questionnaire=koos", 1), ("questionnaire=Questionnaire/koos-jr", 1), ("questionnaire=\(koosURL)%7C2012", 1),
                                      ("questionnaire=\(koosURL)%7C1998", 0), ("authored=2026-11-20", 1), ("authored=ge2026-11-20", 2),
                                      ("authored=lt2026-11-20", 0)] {
                let found = try await coordinator.get("/fhir/QuestionnaireResponse?\(patient)&\(query)")
                #expect(found.json["total"] as? Int == expected, "\(query): \(found.text.prefix(200))")
            }
            let read = try await coordinator.get("/fhir/QuestionnaireResponse/\(jrID)")
            #expect(read.status == .ok && read.json["questionnaire"] as? String == "https://ossa-registry.org/fhir/Questionnaire/koos-jr|HSS-2016")

            // Scores: KOOS pain 50 and symptoms 75 (KOOS user's guide 2012: 100 − 25 × item mean), KOOS JR raw 11 →
            // 59.381 (HSS conversion table, Lyman 2016); ADL, sport and QOL were not answered and have no Observation.
            let scores = try await coordinator.get("/fhir/Observation?\(patient)")
            #expect(scores.status == .ok, "\(scores.text.prefix(300))")
            let values = Dictionary(entries(scores.json).map { o in
                ((codings(o["code"]).first { $0.0 == "https://ossa-registry.org/fhir/CodeSystem/score" }?.1 ?? ""),
                 (o["valueQuantity"] as? [String: Any])?["value"] as? Double ?? -1)
            }, uniquingKeysWith: { a, _ in a })
            #expect(values == ["koos:pain": 50, "koos:symptoms": 75, "koos-jr:score": 59.381], "\(values)")
            let jr = try #require(entries(scores.json).first { $0["id"] as? String == "\(jrID)-score" })
            #expect(codings(jr["code"]).contains { $0 == ("http://loinc.org", "82332-8") }, "KOOS JR total interval score")
            #expect(((jr["derivedFrom"] as? [[String: Any]])?.first?["reference"]) as? String == "QuestionnaireResponse/\(jrID)")
            #expect(codings((jr["category"] as? [Any])?.first).first?.1 == "survey")
            #expect((jr["valueQuantity"] as? [String: Any])?["code"] as? String == "{score}")
            for (query, expected) in [("code=http://loinc.org%7C72102-7", 1), ("code=72102-7", 1), ("code=koos:symptoms", 1),
                                      ("code=https://ossa-registry.org/fhir/CodeSystem/score%7Ckoos-jr:score", 1), ("code=http://loinc.org%7Ckoos:pain", 0),
                                      ("category=survey", 3), ("category=laboratory", 0), ("date=2026-11-21", 1), ("date=le2026-11-20", 2),
                                      ("_count=1&_offset=2", 3)] {
                let found = try await coordinator.get("/fhir/Observation?\(patient)&\(query)")
                #expect(found.status == .ok, "\(query): \(found.text.prefix(200))")
                #expect(found.json["total"] as? Int == expected, "\(query)")
            }
            #expect(entries(try await coordinator.get("/fhir/Observation?\(patient)&_count=1&_offset=2").json).count == 1)
            let pain = try await coordinator.get("/fhir/Observation/\(koosID)-pain")
            #expect(pain.status == .ok && (pain.json["valueQuantity"] as? [String: Any])?["value"] as? Double == 50)
            #expect(try await coordinator.get("/fhir/Observation/\(koosID)-adl").status == .notFound, "a score not computed has no Observation")
            #expect(try await coordinator.get("/fhir/Observation/\(koosID)-nothing").status == .notFound)
            #expect(try await coordinator.get("/fhir/Observation/plain").status == .notFound)

            // Per patient, and never another site's.
            for type in ["Observation", "QuestionnaireResponse"] {
                let unbounded = try await coordinator.get("/fhir/\(type)")
                #expect(unbounded.status == .badRequest)
                #expect(issues(unbounded).first?["expression"] as? [String] == ["patient"])
                #expect(try await coordinator.get("/fhir/\(type)?patient=\(f.patientB.id.lowercasedID)").json["total"] as? Int == 0)
            }
            let badDay = try await coordinator.get("/fhir/QuestionnaireResponse?\(patient)&authored=yesterday")
            #expect(badDay.status == .badRequest && issues(badDay).first?["expression"] as? [String] == ["authored"])
        }
    }

    @Test("imaging findings: one Observation per MRI subregion read (MOAKS size grade, % BML, count) and one per x-ray with its grades")
    func imagingObservations() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let (mriID, xrayID) = try await postImaging(coordinator, f)
            let patient = "patient=Patient/\(f.patientA.id.lowercasedID)"
            let found = try await coordinator.get("/fhir/Observation?\(patient)&category=imaging")
            #expect(found.status == .ok, "\(found.text.prefix(300))")
            let observations = entries(found.json)
            // In time order: the x-ray (2026-09-20), then the MRI's two subregions (2026-10-01).
            let ids = observations.compactMap { $0["id"] as? String }
            #expect(ids.first == "\(xrayID)-xray")
            #expect(Set(ids.dropFirst()) == ["\(mriID)-bml.tibia-central-medial", "\(mriID)-bml.femur-central-medial", "\(mriID)-mri"])
            let mri = try #require(observations.first { $0["id"] as? String == "\(mriID)-mri" })
            #expect(mri["component"] == nil, "a reading with no other finding: written, with nothing in it")
            let extensions = (mri["extension"] as? [[String: Any]] ?? []).compactMap { $0["url"] as? String }
            #expect(extensions == ["https://ossa-registry.org/fhir/StructureDefinition/episode", "https://ossa-registry.org/fhir/StructureDefinition/imaging-timing"])
            let tibia = try #require(observations.first { $0["id"] as? String == "\(mriID)-bml.tibia-central-medial" })
            #expect(tibia["valueInteger"] as? Int == 2)
            #expect(tibia["effectiveDateTime"] as? String == "2026-10-01")
            #expect(codings(tibia["code"]).first ?? ("", "") == ("https://ossa-registry.org/fhir/CodeSystem/finding", "bml-size"))
            #expect(codings((tibia["category"] as? [Any])?.first).first?.1 == "imaging")
            let site = codings(tibia["bodySite"])
            #expect(site.contains { $0 == ("https://ossa-registry.org/fhir/CodeSystem/body-site", "tibia-central-medial") })
            #expect(site.contains { $0 == ("http://snomed.info/sct", "7771000") }, "episode A is the left knee")
            let components = Dictionary((tibia["component"] as? [[String: Any]] ?? []).map { (codings($0["code"]).first?.1 ?? "", $0["valueInteger"] as? Int ?? -1) },
                                        uniquingKeysWith: { a, _ in a })
            #expect(components == ["bml-percent": 3, "bml-count": 1])
            let grades = (observations[0]["component"] as? [[String: Any]] ?? []).compactMap { codings($0["valueCodeableConcept"]).first?.1 }
            #expect(grades == ["kellgren-lawrence:3", "ahlback:II"])

            #expect(try await coordinator.get("/fhir/Observation?\(patient)&code=bml-size").json["total"] as? Int == 2)
            #expect(try await coordinator.get("/fhir/Observation?\(patient)&code=xray-grades&date=2026-09-20").json["total"] as? Int == 1)
            #expect(try await coordinator.get("/fhir/Observation?\(patient)&category=imaging&date=gt2026-10-01").json["total"] as? Int == 0)
            #expect(try await coordinator.get("/fhir/Observation?\(patient)&category=survey").json["total"] as? Int == 0)
            let read = try await coordinator.get("/fhir/Observation/\(mriID)-bml.femur-central-medial")
            #expect(read.status == .ok && read.json["valueInteger"] as? Int == 1)
            #expect(try await coordinator.get("/fhir/Observation/\(mriID)-bml.patella-medial").status == .notFound, "a subregion not read")
            #expect(try await coordinator.get("/fhir/Observation/\(mriID)-xray").status == .notFound, "an MRI has no x-ray grades")
            #expect(try await coordinator.get("/fhir/Observation/\(UUID().uuidString.lowercased())-xray").status == .notFound)
        }
    }

    @Test("AuditEvent: the audit log as BALP-shaped events, admins only, read-only", arguments: Engine.available)
    func auditEvents(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            let admin = try await caller(client, f, .admin)
            #expect(try await clinician.get("/fhir/Patient/\(f.patientA.id.lowercasedID)").status == .ok)
            let head = try await admin.get("/fhir/AuditEvent?_count=1")
            #expect(head.status == .ok, "\(head.text.prefix(300))")
            let total = try #require(head.json["total"] as? Int)
            #expect(entries(head.json).first?["id"] as? String == "1", "the log in sequence order, from the first entry")
            let offset = max(0, total - 15)
            let recent = try await admin.get("/fhir/AuditEvent?_count=20&_offset=\(offset)")
            let events = entries(recent.json)
            let ids = events.compactMap { Int($0["id"] as? String ?? "") }
            #expect(ids.count > 15 && ids == Array((offset + 1)...(offset + ids.count)), "consecutive entries after the offset: \(ids)")
            let last = ((events.last?["entity"] as? [[String: Any]])?.first?["what"] as? [String: Any])?["display"] as? String
            #expect(last == "audit-log", "reading the log is itself audited, in the same transaction")
            let read = try #require(events.last { e in
                ((e["entity"] as? [[String: Any]])?.first?["what"] as? [String: Any])?["reference"] as? String == "Patient/\(f.patientA.id.lowercasedID)"
            }, "the clinician's read of patient A")
            #expect(read["action"] as? String == "R")
            #expect(read["outcome"] as? String == "0")
            #expect((read["type"] as? [String: Any])?["code"] as? String == "rest")
            let subtypes = (read["subtype"] as? [[String: Any]] ?? []).map { ($0["system"] as? String ?? "", $0["code"] as? String ?? "") }
            #expect(subtypes.contains { $0 == ("http://hl7.org/fhir/restful-interaction", "read") })
            let agent = try #require((read["agent"] as? [[String: Any]])?.first)
            #expect(agent["requestor"] as? Bool == true)
            #expect(((agent["who"] as? [String: Any])?["identifier"] as? [String: Any])?["value"] as? String == f.userIDs[.clinician]?.lowercasedID)
            let chain = (read["extension"] as? [[String: Any]])?.first { $0["url"] as? String == "https://ossa-registry.org/fhir/StructureDefinition/audit-chain" }
            #expect(((chain?["extension"] as? [[String: Any]]) ?? []).compactMap { $0["url"] as? String } == ["sequence", "hash", "previousHash"])
            let one = try await admin.get("/fhir/AuditEvent/\(read["id"] as? String ?? "")")
            #expect(one.status == .ok && one.json["id"] as? String == read["id"] as? String)
            #expect(try await admin.get("/fhir/AuditEvent/\(total + 1000)").status == .notFound)
            #expect(try await admin.get("/fhir/AuditEvent/0").status == .notFound)

            let refused = try await clinician.get("/fhir/AuditEvent")
            #expect(refused.status == .forbidden)
            #expect(issues(refused).first?["code"] as? String == "forbidden")
            for response in [try await admin.post("/fhir/AuditEvent", #"{"resourceType": "AuditEvent"}"#), try await admin.send(.delete, "/fhir/AuditEvent/1", nil)] {
                #expect(response.status == .methodNotAllowed)
                #expect(issues(response).first?["code"] as? String == "not-supported")
            }
        }
    }

    @Test("Patient create: 201 with Location; conditional create finds the match instead; every problem located, nothing written",
          arguments: Engine.available)
    func patientCreate(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            let system = "https://ossa-registry.org/fhir/NamingSystem/site/\(f.siteA.id.lowercasedID)/mrn"
            let body = #"""
                {"resourceType": "Patient", "identifier": [{"system": "\#(system)", "value": "A-77"}],
                 "name": [{"use": "official", "family": "Berger", "given": ["Lena", "Maria"]}], "gender": "female", "birthDate": "1957-02-28",
                 "telecom": [{"system": "email", "value": "lena.berger@example.org"}], "address": [{"city": "Wien"}], "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Lena</div>"}}
                """#
            let before = try await rowCount(f.store, "patients")
            let created = try await clinician.send(.post, "/fhir/Patient", body, contentType: "application/fhir+json")
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location]?.hasSuffix("/fhir/Patient/\(id)") == true, "\(created.headers[.location] ?? "")")
            #expect(created.headers[.contentType] == "application/fhir+json; charset=utf-8")
            let name = (created.json["name"] as? [[String: Any]])?.first
            #expect(name?["family"] as? String == "Berger" && name?["given"] as? [String] == ["Lena Maria"])
            let organization = created.json["managingOrganization"] as? [String: Any]
            #expect((organization?["identifier"] as? [String: Any])?["value"] as? String == "VIE-1", "the clinician's only site")
            let stored = try await f.store.patients.get(try await bothSitesClinician(f), try #require(UUID(uuidString: id)))
            #expect(stored.siteID == f.siteA.id && stored.mrn == "A-77" && stored.email == "lena.berger@example.org" && stored.sex == .female)
            #expect(try await clinician.get("/fhir/Patient/\(id)").json["birthDate"] as? String == "1957-02-28")

            // Conditional create: the match is answered, nothing is written.
            for condition in ["identifier=\(system)%7CA-77", "identifier=A-77"] {
                let again = try await clinician.send(.post, "/fhir/Patient", body, contentType: "application/fhir+json", headers: ["If-None-Exist": condition])
                #expect(again.status == .ok, "\(condition): \(again.text.prefix(200))")
                #expect(again.json["id"] as? String == id)
            }
            #expect(try await rowCount(f.store, "patients") == before + 1)
            let duplicate = try await clinician.send(.post, "/fhir/Patient", body, contentType: "application/fhir+json")
            #expect(duplicate.status == .conflict, "the MRN is taken at this site: \(duplicate.text.prefix(200))")
            let refusedCondition = try await clinician.send(.post, "/fhir/Patient", body, contentType: "application/fhir+json", headers: ["If-None-Exist": "name=Berger"])
            #expect(refusedCondition.status == .badRequest)
            #expect(issues(refusedCondition).first?["expression"] as? [String] == ["If-None-Exist"])

            // Every problem at its element, at once: not FHIR (400) ...
            let broken = try await clinician.send(.post, "/fhir/Patient", #"{"resourceType": "Patient", "birthDate": "1956-13-45", "gender": "f", "nickname": "x", "name": [{"given": "Lena"}]}"#,
                                                  contentType: "application/fhir+json")
            #expect(broken.status == .badRequest, "\(broken.text)")
            let located = Set(issues(broken).flatMap { $0["expression"] as? [String] ?? [] })
            #expect(located.isSuperset(of: ["Patient.birthDate", "Patient.gender", "Patient.nickname", "Patient.name[0].given"]), "\(located)")
            // ... or FHIR that Ossa cannot store (422).
            for (json, at) in [(#"{"resourceType": "Patient", "birthDate": "1956", "name": [{"family": "B", "given": ["L"]}]}"#, "Patient.birthDate"),
                               (#"{"resourceType": "Patient", "birthDate": "1956-04-12"}"#, "Patient.name"),
                               (#"{"resourceType": "Patient", "birthDate": "1956-04-12", "name": [{"family": "B", "given": ["L"]}], "modifierExtension": [{"url": "x"}]}"#, "Patient.modifierExtension"),
                               (#"{"resourceType": "Patient", "birthDate": "1956-04-12", "name": [{"family": "B", "given": ["L"]}], "managingOrganization": {"identifier": {"system": "https://ossa-registry.org/fhir/NamingSystem/site", "value": "GRZ-1"}}}"#,
                                "Patient.managingOrganization.identifier.value")] {
                let response = try await clinician.send(.post, "/fhir/Patient", json, contentType: "application/fhir+json")
                #expect(response.status == .unprocessableContent, "\(at): \(response.text)")
                #expect(issues(response).contains { ($0["expression"] as? [String]) == [at] }, "\(at): \(response.text)")
            }
            let wrongType = try await clinician.send(.post, "/fhir/Patient", #"{"resourceType": "Observation"}"#, contentType: "application/fhir+json")
            #expect(wrongType.status == .badRequest && issues(wrongType).first?["expression"] as? [String] == ["resourceType"])
            #expect(try await clinician.send(.post, "/fhir/Patient", body, contentType: "text/plain").status == .unsupportedMediaType)

            // The Patients of the reference bundles (Tests/OssaWebTests/Vectors/fhir): the invalid one's date is refused as
            // not FHIR; the valid one has no name, which Ossa requires.
            for (file, status, at) in [("fhir_bundle_r4_invalid", HTTPResponse.Status.badRequest, "Patient.birthDate"),
                                       ("fhir_bundle_r4_minimal", .unprocessableContent, "Patient.name")] {
                let patient = try vectorEntry(file, 0)
                let response = try await clinician.send(.post, "/fhir/Patient", patient, contentType: "application/fhir+json")
                #expect(response.status == status, "\(file): \(response.text)")
                #expect(issues(response).contains { ($0["expression"] as? [String]) == [at] }, "\(file): \(response.text)")
            }
            #expect(try await rowCount(f.store, "patients") == before + 1, "nothing refused was written")
        }
    }

    @Test("versions: every read carries meta.versionId and its ETag, If-None-Match answers 304, vread finds the current version only; a change makes a new version",
          arguments: Engine.available)
    func versions(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            let path = "/fhir/Patient/\(f.patientA.id.lowercasedID)"
            let first = try await clinician.get(path)
            let tag = try #require(first.headers[.eTag], "\(first.headers)")
            let version = try #require((first.json["meta"] as? [String: Any])?["versionId"] as? String)
            #expect(tag == "W/\"\(version)\"")
            let notModified = try await clinician.send(.get, path, nil, headers: ["If-None-Match": tag])
            #expect(notModified.status == .notModified && notModified.text.isEmpty && notModified.headers[.eTag] == tag)
            #expect(try await clinician.send(.get, path, nil, headers: ["If-None-Match": "W/\"1\""]).status == .ok, "another version: the resource")
            let vread = try await clinician.get("\(path)/_history/\(version)")
            #expect(vread.status == .ok && vread.text == first.text, "vread of the current version is the read")
            let old = try await clinician.get("\(path)/_history/1")
            #expect(old.status == .notFound && old.json["resourceType"] as? String == "OperationOutcome")
            #expect(old.text.contains(version), "names the current version: \(old.text)")
            #expect(try await clinician.get("/fhir/Patient/\(f.patientB.id.lowercasedID)/_history/\(version)").status == .notFound, "another site's patient")

            // A change: a new version, and the old one is gone.
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await clinician.patch("/api/v1/patients/\(f.patientA.id.lowercasedID)", #"{"givenName": "Eva Maria"}"#).status == .ok)
            let changed = try await clinician.get(path)
            let newTag = try #require(changed.headers[.eTag])
            #expect(newTag != tag && changed.text.contains("Eva Maria"))
            #expect(try await clinician.send(.get, path, nil, headers: ["If-None-Match": tag]).status == .ok)
            #expect(try await clinician.get("\(path)/_history/\(version)").status == .notFound)

            // The other versioned types carry it too; searches (Bundles) do not.
            let condition = try await clinician.get("/fhir/Condition/\(f.episodeA.id.lowercasedID)")
            #expect(condition.headers[.eTag] != nil && (condition.json["meta"] as? [String: Any])?["versionId"] != nil, "\(condition.text.prefix(200))")
            #expect(try await clinician.get("/fhir/Patient?name=a").headers[.eTag] == nil)
            let statement = try await client.execute(uri: "/fhir/metadata", method: .get).json
            let resources = ((statement["rest"] as? [[String: Any]])?.first?["resource"] as? [[String: Any]]) ?? []
            for resource in resources {
                let vread = (resource["interaction"] as? [[String: Any]] ?? []).contains { $0["code"] as? String == "vread" }
                #expect(resource["versioning"] as? String == (vread ? "versioned" : "no-version"), "\(resource["type"] ?? "")")
            }
        }
    }

    @Test("_lastUpdated: searches keep the records last changed in the span (a day or an instant, with a prefix); a bad value is a 400",
          arguments: Engine.available)
    func lastUpdated(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            func total(_ uri: String) async throws -> Int? {
                let response = try await clinician.get(uri)
                #expect(response.status == .ok, "\(uri): \(response.text)")
                return response.json["total"] as? Int
            }
            let before = try await total("/fhir/Patient")
            try await Task.sleep(for: .milliseconds(20))
            let mark = Date()
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let instant = formatter.string(from: mark)
            try await Task.sleep(for: .milliseconds(20))
            let created = try await clinician.send(.post, "/fhir/Patient", #"{"resourceType": "Patient", "name": [{"family": "Neu", "given": ["Ida"]}], "birthDate": "1961-01-01"}"#,
                                                   contentType: "application/fhir+json")
            #expect(created.status == .created)
            let id = try #require(created.json["id"] as? String)
            let lastUpdated = try #require((created.json["meta"] as? [String: Any])?["lastUpdated"] as? String)
            let encoded = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text }

            #expect(try await total("/fhir/Patient?_lastUpdated=ge\(encoded(instant))") == 1, "only the patient written since")
            #expect(try await total("/fhir/Patient?_lastUpdated=lt\(encoded(instant))") == before, "all the others")
            #expect(try await total("/fhir/Patient?_lastUpdated=\(encoded(lastUpdated))") == 1, "its own instant")
            #expect(try await total("/fhir/Patient?_lastUpdated=gt\(encoded(lastUpdated))") == 0)
            let today = CalendarDate(utc: Date()).iso
            #expect(try await total("/fhir/Patient?_lastUpdated=\(today)&name=Neu") == 1, "a day, with another parameter")
            #expect(try await total("/fhir/Patient?_lastUpdated=gt2190-01-01") == 0)
            // The clinical searches take it too.
            #expect(try await total("/fhir/Condition?patient=\(f.patientA.id.lowercasedID)&_lastUpdated=lt2000-01-01") == 0)
            #expect(try await total("/fhir/Condition?patient=\(f.patientA.id.lowercasedID)&_lastUpdated=ge2000-01-01") ?? 0 > 0)
            for type in ["Procedure", "QuestionnaireResponse", "Observation", "Consent"] {
                #expect(try await total("/fhir/\(type)?patient=\(id)&_lastUpdated=ge2000-01-01") == 0, "\(type)")
                #expect(try await total("/fhir/\(type)?patient=\(f.patientA.id.lowercasedID)&_lastUpdated=gt2190-01-01") == 0, "\(type)")
            }
            let bad = try await clinician.get("/fhir/Patient?_lastUpdated=yesterday")
            #expect(bad.status == .badRequest && issues(bad).first?["expression"] as? [String] == ["_lastUpdated"], "\(bad.text)")
            #expect(try await clinician.get("/fhir/Questionnaire?_lastUpdated=2026-01-01").status == .badRequest, "Questionnaires have no versions")
        }
    }

    @Test("a transaction Bundle's imaging Observations make imaging studies: grouped by study, checked against the joint, located; refused in a batch",
          arguments: Engine.available)
    func imagingEntries(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            func post(_ json: String) async throws -> TestResponse {
                try await clinician.send(.post, "/fhir", json, contentType: "application/fhir+json")
            }
            let patient = #"{"resourceType": "Patient", "name": [{"family": "Ortega", "given": ["Lia"]}], "birthDate": "1961-04-02"}"#
            let condition = #"{"resourceType": "Condition", "subject": {"reference": "urn:uuid:7b000000-0000-4000-8000-000000000001"}, "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/diagnosis", "code": "osteoarthritis"}]}, "bodySite": [{"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "knee-left"}]}]}"#
            let filed = #""subject": {"reference": "urn:uuid:7b000000-0000-4000-8000-000000000001"}, "extension": [{"url": "https://ossa-registry.org/fhir/StructureDefinition/episode", "valueReference": {"reference": "urn:uuid:7b000000-0000-4000-8000-000000000002"}}, {"url": "https://ossa-registry.org/fhir/StructureDefinition/imaging-timing", "valueCode": "baseline"}], "status": "final", "effectiveDateTime": "2026-03-02""#
            func finding(_ code: String, _ rest: String) -> String {
                #"{"resourceType": "Observation", \#(filed), "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/finding", "code": "\#(code)"}]}\#(rest)}"#
            }
            func site(_ region: String) -> String { #", "bodySite": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "\#(region)"}]}"# }
            func part(_ code: String, _ value: String) -> String {
                #"{"code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/finding", "code": "\#(code)"}]}, \#(value)}"#
            }
            // Another system's findings (no Ossa ids): one MRI by episode, day and timing, and an x-ray.
            let bml = finding("bml-size", #", "valueInteger": 2"# + site("tibia-central-medial") + #", "component": [\#(part("bml-percent", #""valueInteger": 1"#)), \#(part("bml-count", #""valueInteger": 1"#))]"#)
            let reading = finding("mri-reading", #", "component": [\#(part("insufficiency-fracture", #""valueBoolean": true"#)), \#(part("insufficiency-fracture-length", #""valueQuantity": {"value": 6.5, "unit": "mm", "system": "http://unitsofmeasure.org", "code": "mm"}"#)), \#(part("suspected-tumour-or-infection", #""valueBoolean": false"#))]"#)
            let lesion = finding("focal-cartilage-lesion", site("femur-central-medial") + #", "component": [\#(part("cartilage-lesion-depth", #""valueCodeableConcept": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/finding", "code": "depth:full-thickness"}]}"#))]"#)
            let xray = finding("xray-grades", #", "component": [{"code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/finding", "code": "kellgren-lawrence"}]}, "valueCodeableConcept": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/grade", "code": "kellgren-lawrence:3"}]}}]"#)
            func bundle(_ observations: [String], kind: String = "transaction") -> String {
                let entries = observations.map { #"{"resource": \#($0), "request": {"method": "POST", "url": "Observation"}}"# }
                return #"{"resourceType": "Bundle", "type": "\#(kind)", "entry": [\#((entries + [#"{"fullUrl": "urn:uuid:7b000000-0000-4000-8000-000000000002", "resource": \#(condition), "request": {"method": "POST", "url": "Condition"}}"#, #"{"fullUrl": "urn:uuid:7b000000-0000-4000-8000-000000000001", "resource": \#(patient), "request": {"method": "POST", "url": "Patient"}}"#]).joined(separator: ", "))]}"#
            }
            let studies = try await rowCount(f.store, "imaging_studies")
            let done = try await post(bundle([bml, reading, lesion, xray]))
            #expect(done.status == .ok, "\(done.text)")
            let locations = (done.json["entry"] as? [[String: Any]] ?? []).compactMap { ($0["response"] as? [String: Any])?["location"] as? String }
            try #require(locations.count == 6)
            #expect(locations[0].hasSuffix("-bml.tibia-central-medial") && locations[1].hasSuffix("-mri") && locations[2].hasSuffix("-cartilage.1") && locations[3].hasSuffix("-xray"), "\(locations)")
            #expect(locations[0].prefix(48) == locations[1].prefix(48) && locations[0].prefix(48) != locations[3].prefix(48), "one MRI, one x-ray")
            #expect(try await rowCount(f.store, "imaging_studies") == studies + 2)
            let read = try await clinician.get("/fhir/\(locations[1])")
            #expect(read.status == .ok, "\(read.text)")
            #expect(read.text.contains("insufficiency-fracture-length") && read.text.contains("6.5"), "\(read.text)")
            let episodeID = try #require(UUID(uuidString: String(locations[4].dropFirst("Condition/".count))))
            let actor = try await f.store.users.actingUser(try #require(f.userIDs[.clinician]), from: "test")
            let stored = try await f.store.imaging.list(actor, ImagingFilter(episodeID: episodeID)).items
            let mri = try #require(stored.first { $0.modality == .mri }?.mri)
            #expect(mri.bml == [BMLFinding(subregion: .tibiaCentralMedial, size: .medium, bmlPercent: .under33, count: 1)])
            #expect(mri.insufficiencyFracture == InsufficiencyFractureLine(lengthMm: 6.5) && mri.suspectedTumourOrInfection == false)
            #expect(mri.focalCartilageLesions == [FocalCartilageLesion(subregion: .femurCentralMedial, depth: .fullThickness)])
            #expect(stored.first { $0.modality == .xray }?.xray?.kellgrenLawrence == .grade3)

            // A hip subregion on the knee, an Observation without its episode, a score: each named, nothing written.
            let hip = bml.replacingOccurrences(of: "tibia-central-medial", with: "femoral-head-superior")
            let wrong = try await post(bundle([hip, reading]))
            #expect(wrong.status.code >= 400 && wrong.status.code < 500 && wrong.text.contains("femoral-head-superior"), "\(wrong.text)")
            #expect(issues(wrong).first?["expression"] as? [String] == ["Bundle.entry[0]"], "\(wrong.text)")
            let orphan = reading.replacingOccurrences(of: #"{"url": "https://ossa-registry.org/fhir/StructureDefinition/episode", "valueReference": {"reference": "urn:uuid:7b000000-0000-4000-8000-000000000002"}}, "#, with: "")
            let score = #"{"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "72095-7"}]}, "subject": {"reference": "urn:uuid:7b000000-0000-4000-8000-000000000001"}}"#
            let refused = try await post(bundle([orphan, score]))
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            let located = Set(issues(refused).flatMap { $0["expression"] as? [String] ?? [] })
            #expect(located.contains("Bundle.entry[0].resource.extension") && located.contains("Bundle.entry[1].resource"), "\(located)")
            #expect(try await rowCount(f.store, "imaging_studies") == studies + 2)
            // Under an episode that exists: only with that episode's patient as the subject.
            func under(_ patient: PatientRecord) -> String {
                let observation = bml.replacingOccurrences(of: "urn:uuid:7b000000-0000-4000-8000-000000000002", with: "Condition/\(f.episodeA.id.lowercasedID)")
                    .replacingOccurrences(of: "urn:uuid:7b000000-0000-4000-8000-000000000001", with: "Patient/\(patient.id.lowercasedID)")
                return #"{"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": \#(observation), "request": {"method": "POST", "url": "Observation"}}]}"#
            }
            let elsewhere = try await post(under(f.patientA2))
            #expect(elsewhere.status == .unprocessableContent && elsewhere.text.contains("is an episode of Patient/\(f.patientA.id.lowercasedID), not of Patient/\(f.patientA2.id.lowercasedID)"),
                    "\(elsewhere.text)")
            #expect(issues(elsewhere).first?["expression"] as? [String] == ["Bundle.entry[0].resource.extension.valueReference.reference"], "\(elsewhere.text)")
            #expect(try await rowCount(f.store, "imaging_studies") == studies + 2)
            let own = try await post(under(f.patientA))
            #expect(own.status == .ok, "\(own.text)")
            #expect(try await rowCount(f.store, "imaging_studies") == studies + 3)
            let batch = try await post(bundle([bml], kind: "batch"))
            #expect(batch.status == .ok)
            #expect(batch.text.contains("send the study's Observations together in a transaction"), "\(batch.text)")
            #expect(try await rowCount(f.store, "imaging_studies") == studies + 3)
        }
    }

    @Test("a transaction Bundle files a Procedure and a QuestionnaireResponse under its Condition: scores computed again, every bad element named, nothing half-written",
          arguments: Engine.available)
    func clinicalEntries(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            func post(_ json: String) async throws -> TestResponse {
                try await clinician.send(.post, "/fhir", json, contentType: "application/fhir+json")
            }
            let koos = try #require(try InstrumentLibrary.builtIn().instrument(id: "koos"))
            // Every KOOS item answered 2 ("moderate"): each subscale is 100 − 2 × 100/4 = 50 (KOOS user's guide).
            let items = koos.items.map { #"{"linkId": "\#($0.code)", "answer": [{"valueCoding": {"code": "2"}}]}"# }.joined(separator: ", ")
            let patient = #"{"resourceType": "Patient", "name": [{"family": "Quintero", "given": ["Ana"]}], "birthDate": "1958-03-09"}"#
            let condition = #"{"resourceType": "Condition", "subject": {"reference": "urn:uuid:7a000000-0000-4000-8000-000000000001"}, "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/diagnosis", "code": "osteoarthritis"}]}, "bodySite": [{"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "knee-right"}]}], "stage": [{"summary": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/grade", "code": "kellgren-lawrence:3"}]}}]}"#
            let injection = #"{"url": "https://ossa-registry.org/fhir/StructureDefinition/injection", "extension": [{"url": "target", "valueCodeableConcept": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "medial-tibial-plateau:tibia-central-medial"}]}}, {"url": "product", "valueCode": "prp"}, {"url": "volume", "valueQuantity": {"value": 5, "unit": "mL"}}, {"url": "gauge", "valueInteger": 13}]}"#
            let details = #"{"url": "https://ossa-registry.org/fhir/StructureDefinition/procedure-details", "extension": [{"url": "setting", "valueCode": "office"}, {"url": "anaesthesia", "valueCode": "local"}, {"url": "guidance", "valueCode": "fluoroscopy"}, {"url": "prp", "extension": [{"url": "bloodDrawnMl", "valueDecimal": 60}, {"url": "leukocytes", "valueString": "leukocyte-poor"}]}]}"#
            let procedure = #"{"resourceType": "Procedure", "extension": [\#(injection), \#(details)], "status": "completed", "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/procedure", "code": "io-injection"}]}, "subject": {"reference": "urn:uuid:7a000000-0000-4000-8000-000000000001"}, "performedDateTime": "2026-05-04", "performer": [{"actor": {"display": "Dr Vega"}}], "reasonReference": [{"reference": "urn:uuid:7a000000-0000-4000-8000-000000000002"}]}"#
            let response = #"{"resourceType": "QuestionnaireResponse", "extension": [{"url": "https://ossa-registry.org/fhir/StructureDefinition/episode", "valueReference": {"reference": "urn:uuid:7a000000-0000-4000-8000-000000000002"}}], "questionnaire": "https://ossa-registry.org/fhir/Questionnaire/koos", "status": "completed", "subject": {"reference": "urn:uuid:7a000000-0000-4000-8000-000000000001"}, "authored": "2026-06-01T10:00:00Z", "item": [\#(items)]}"#
            // Listed out of order: the QuestionnaireResponse and Procedure before the Condition and Patient they name.
            let transaction = #"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"resource": \#(response), "request": {"method": "POST", "url": "QuestionnaireResponse"}},
                  {"resource": \#(procedure), "request": {"method": "POST", "url": "Procedure"}},
                  {"fullUrl": "urn:uuid:7a000000-0000-4000-8000-000000000002", "resource": \#(condition), "request": {"method": "POST", "url": "Condition"}},
                  {"fullUrl": "urn:uuid:7a000000-0000-4000-8000-000000000001", "resource": \#(patient), "request": {"method": "POST", "url": "Patient"}}]}
                """#
            let (procedures, responses) = (try await rowCount(f.store, "procedures"), try await rowCount(f.store, "questionnaire_responses"))
            let done = try await post(transaction)
            #expect(done.status == .ok, "\(done.text)")
            let answers = (done.json["entry"] as? [[String: Any]] ?? []).compactMap { $0["response"] as? [String: Any] }
            #expect(answers.compactMap { $0["status"] as? String } == Array(repeating: "201 Created", count: 4))
            let locations = answers.compactMap { $0["location"] as? String }
            try #require(locations.count == 4)
            #expect(locations[0].hasPrefix("QuestionnaireResponse/") && locations[1].hasPrefix("Procedure/"), "in the order of the request: \(locations)")

            let stored = try await clinician.get("/fhir/\(locations[1])")
            #expect(stored.status == .ok, "\(stored.text)")
            #expect((stored.json["reasonReference"] as? [[String: Any]])?.first?["reference"] as? String == locations[2], "filed under the new episode")
            #expect((stored.json["subject"] as? [String: Any])?["reference"] as? String == locations[3])
            #expect(stored.text.contains("tibia-central-medial") && stored.text.contains("leukocyte-poor") && stored.text.contains("Dr Vega"))
            let responseID = String(locations[0].dropFirst("QuestionnaireResponse/".count))
            let pain = try await clinician.get("/fhir/Observation/\(responseID)-pain")
            #expect(pain.status == .ok, "\(pain.text)")
            #expect((pain.json["valueQuantity"] as? [String: Any])?["value"] as? Double == 50, "scored again by the KOOS rule: \(pain.text.prefix(400))")
            #expect(try await rowCount(f.store, "procedures") == procedures + 1)
            #expect(try await rowCount(f.store, "questionnaire_responses") == responses + 1)

            // Bad elements in both: each named, nothing written.
            let badProcedure = procedure.replacingOccurrences(of: #""reasonReference": [{"reference": "urn:uuid:7a000000-0000-4000-8000-000000000002"}]"#, with: #""note": [{"text": "x"}]"#)
                .replacingOccurrences(of: "medial-tibial-plateau:tibia-central-medial", with: "medial-tibial-plateau:nowhere")
                .replacingOccurrences(of: #""valueCode": "office""#, with: #""valueCode": "garage""#)
            let badResponse = response.replacingOccurrences(of: #""answer": [{"valueCoding": {"code": "2"}}]"#, with: #""answer": [{"valueCoding": {"code": "three"}}]"#, options: [], range: response.range(of: #""answer""#).map { $0.lowerBound..<response.endIndex })
                .replacingOccurrences(of: "2026-06-01T10:00:00Z", with: "2026-06-01")
            let refused = try await post(#"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"resource": \#(badResponse), "request": {"method": "POST", "url": "QuestionnaireResponse"}},
                  {"resource": \#(badProcedure), "request": {"method": "POST", "url": "Procedure"}},
                  {"fullUrl": "urn:uuid:7a000000-0000-4000-8000-000000000002", "resource": \#(condition), "request": {"method": "POST", "url": "Condition"}},
                  {"fullUrl": "urn:uuid:7a000000-0000-4000-8000-000000000001", "resource": \#(patient), "request": {"method": "POST", "url": "Patient"}}]}
                """#)
            #expect(refused.status == .badRequest, "\(refused.text)")
            let located = Set(issues(refused).flatMap { $0["expression"] as? [String] ?? [] })
            for expected in ["Bundle.entry[0].resource.item[0].answer[0].valueCoding.code", "Bundle.entry[0].resource.authored",
                             "Bundle.entry[1].resource.reasonReference", "Bundle.entry[1].resource.extension[0].extension[0].valueCodeableConcept",
                             "Bundle.entry[1].resource.extension[1].extension[0].valueCode"] {
                #expect(located.contains(expected), "\(expected) in \(located)")
            }
            // Found only when written: an instrument Ossa does not have.
            let unknown = try await post(transaction.replacingOccurrences(of: "Questionnaire/koos", with: "Questionnaire/womac"))
            #expect(unknown.status == .unprocessableContent, "\(unknown.text)")
            #expect(unknown.text.contains("womac"))
            #expect(issues(unknown).first?["expression"] as? [String] == ["Bundle.entry[0]"], "\(unknown.text)")
            #expect(try await rowCount(f.store, "procedures") == procedures + 1, "nothing of the refused transactions")
            #expect(try await rowCount(f.store, "questionnaire_responses") == responses + 1)

            // One at a time, under the episode the transaction opened: POST /fhir/Procedure and /fhir/QuestionnaireResponse.
            func filed(_ json: String) -> String {
                json.replacingOccurrences(of: "urn:uuid:7a000000-0000-4000-8000-000000000001", with: locations[3])
                    .replacingOccurrences(of: "urn:uuid:7a000000-0000-4000-8000-000000000002", with: locations[2])
            }
            let one = try await clinician.send(.post, "/fhir/Procedure", filed(procedure), contentType: "application/fhir+json")
            #expect(one.status == .created, "\(one.text)")
            #expect(one.headers[.location]?.contains("/fhir/Procedure/") == true)
            #expect((one.json["reasonReference"] as? [[String: Any]])?.first?["reference"] as? String == locations[2])
            let answered = try await clinician.send(.post, "/fhir/QuestionnaireResponse", filed(response), contentType: "application/fhir+json")
            #expect(answered.status == .created, "\(answered.text)")
            #expect(answered.json["questionnaire"] as? String == "https://ossa-registry.org/fhir/Questionnaire/koos|\(koos.scoring.version)")
            // Another patient's episode, or a subject that is not the episode's patient: refused at the element.
            let wrongSubject = try await clinician.send(.post, "/fhir/Procedure",
                                                        filed(procedure).replacingOccurrences(of: locations[3], with: "Patient/\(f.patientA.id.lowercasedID)"),
                                                        contentType: "application/fhir+json")
            #expect(wrongSubject.status == .unprocessableContent && issues(wrongSubject).first?["expression"] as? [String] == ["Procedure.subject.reference"], "\(wrongSubject.text)")
            let otherSite = try await clinician.send(.post, "/fhir/QuestionnaireResponse",
                                                     filed(response).replacingOccurrences(of: locations[2], with: "Condition/\(f.episodeB.id.lowercasedID)"),
                                                     contentType: "application/fhir+json")
            #expect(otherSite.status == .unprocessableContent, "\(otherSite.text)")
            #expect(issues(otherSite).first?["expression"] as? [String] == ["QuestionnaireResponse.extension.valueReference.reference"], "\(otherSite.text)")
            #expect(try await rowCount(f.store, "procedures") == procedures + 2)
            #expect(try await rowCount(f.store, "questionnaire_responses") == responses + 2)

            // Consents of a Bundle's Patient: the superseded one first, so the active one stands; a bad decision is named.
            let consents = try await rowCount(f.store, "consents")
            func consent(_ decision: String, _ status: String) -> String {
                #"{"resourceType": "Consent", "status": "\#(status)", "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]}, "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}], "patient": {"reference": "urn:uuid:7a000000-0000-4000-8000-000000000001"}, "dateTime": "2026-05-01", "provision": {"type": "\#(decision)"}}"#
            }
            let withConsents = try await post(#"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"resource": \#(consent("deny", "active")), "request": {"method": "POST", "url": "Consent"}},
                  {"resource": \#(consent("permit", "inactive")), "request": {"method": "POST", "url": "Consent"}},
                  {"fullUrl": "urn:uuid:7a000000-0000-4000-8000-000000000001", "resource": \#(patient.replacingOccurrences(of: "Quintero", with: "Quiroga")), "request": {"method": "POST", "url": "Patient"}}]}
                """#)
            #expect(withConsents.status == .ok, "\(withConsents.text)")
            let patientRef = try #require(((withConsents.json["entry"] as? [[String: Any]])?.last?["response"] as? [String: Any])?["location"] as? String)
            let standing = try await clinician.get("/fhir/Consent?patient=\(patientRef)")
            let decisions = (standing.json["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
                .map { "\(($0["provision"] as? [String: Any])?["type"] as? String ?? "") \($0["status"] as? String ?? "")" }
            #expect(Set(decisions) == ["deny active", "permit inactive"], "\(decisions)")
            let badConsent = try await post(#"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"resource": \#(consent("maybe", "active")), "request": {"method": "POST", "url": "Consent"}},
                  {"fullUrl": "urn:uuid:7a000000-0000-4000-8000-000000000001", "resource": \#(patient), "request": {"method": "POST", "url": "Patient"}}]}
                """#)
            #expect(badConsent.status == .badRequest && issues(badConsent).first?["expression"] as? [String] == ["Bundle.entry[0].resource.provision.type"], "\(badConsent.text)")
            #expect(try await rowCount(f.store, "consents") == consents + 2)
        }
    }

    @Test("a transaction Bundle is all or nothing: urn:uuid references resolved, every bad entry named, one failure writes nothing; a batch answers each entry",
          arguments: Engine.available)
    func bundles(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            func post(_ json: String) async throws -> TestResponse {
                try await clinician.send(.post, "/fhir", json, contentType: "application/fhir+json")
            }
            let patient = #"{"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.3", "value": "EXT-9"}], "name": [{"family": "Hofer", "given": ["Eva"]}], "gender": "female", "birthDate": "1949-07-01"}"#
            let condition = #"{"resourceType": "Condition", "subject": {"reference": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000001"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M17.12"}]}, "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "49076000"}, {"system": "http://snomed.info/sct", "code": "7771000"}]}], "stage": [{"summary": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/grade", "code": "kellgren-lawrence:3"}]}}]}"#
            // The Condition comes first and names the Patient by its fullUrl.
            let transaction = #"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"resource": \#(condition), "request": {"method": "POST", "url": "Condition"}},
                  {"fullUrl": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000001", "resource": \#(patient),
                   "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:oid:1.2.3|EXT-9"}}]}
                """#
            let (patients, episodes) = (try await rowCount(f.store, "patients"), try await rowCount(f.store, "episodes"))
            let done = try await post(transaction)
            #expect(done.status == .ok, "\(done.text)")
            #expect(done.json["type"] as? String == "transaction-response")
            let answers = (done.json["entry"] as? [[String: Any]] ?? []).compactMap { $0["response"] as? [String: Any] }
            #expect(answers.compactMap { $0["status"] as? String } == ["201 Created", "201 Created"], "in the order of the request")
            let conditionLocation = try #require(answers.first?["location"] as? String)
            let patientLocation = try #require(answers.last?["location"] as? String)
            #expect(conditionLocation.hasPrefix("Condition/") && patientLocation.hasPrefix("Patient/"))
            let stored = try await clinician.get("/fhir/\(conditionLocation)")
            #expect((stored.json["subject"] as? [String: Any])?["reference"] as? String == patientLocation, "the urn:uuid: reference, rewritten")
            #expect(codings(stored.json["code"]).contains { $0 == ("http://hl7.org/fhir/sid/icd-10-cm", "M17.12") })
            #expect((stored.json["stage"] as? [[String: Any]] ?? []).compactMap { ($0["summary"] as? [String: Any])?["text"] as? String } == ["Kellgren–Lawrence 3"])
            #expect(try await rowCount(f.store, "patients") == patients + 1)
            #expect(try await rowCount(f.store, "episodes") == episodes + 1)

            // The same again: the Patient is matched by its condition (200), a second episode is opened.
            let again = try await post(transaction)
            let statuses = (again.json["entry"] as? [[String: Any]] ?? []).compactMap { ($0["response"] as? [String: Any])?["status"] as? String }
            #expect(statuses == ["201 Created", "200 OK"], "\(again.text.prefix(300))")
            #expect(try await rowCount(f.store, "patients") == patients + 1)

            // Bad entries anywhere: each named at its entry and element, nothing written.
            let bad = #"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"fullUrl": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000002", "resource": {"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}], "birthDate": "1956-13-45"}, "request": {"method": "POST", "url": "Patient"}},
                  {"resource": \#(patient), "request": {"method": "POST", "url": "Patient"}},
                  {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/\#(f.patientA.id.lowercasedID)"}, "code": {"coding": [{"system": "http://snomed.info/sct", "code": "64859006"}]}}, "request": {"method": "POST", "url": "Condition"}},
                  {"resource": {"resourceType": "Encounter", "status": "finished"}, "request": {"method": "POST", "url": "Encounter"}},
                  {"resource": \#(patient), "request": {"method": "DELETE", "url": "Patient"}}]}
                """#
            let refused = try await post(bad)
            #expect(refused.status == .badRequest, "\(refused.text)")
            let located = Set(issues(refused).flatMap { $0["expression"] as? [String] ?? [] })
            for expected in ["Bundle.entry[0].resource.birthDate", "Bundle.entry[2].resource.code", "Bundle.entry[2].resource.bodySite",
                             "Bundle.entry[3].resource.resourceType", "Bundle.entry[4].request.method"] {
                #expect(located.contains(expected), "\(expected) in \(located)")
            }
            #expect(!located.contains { $0.hasPrefix("Bundle.entry[1]") }, "the good entry has no issue")
            // A failure found while writing: the Patient is created, then the Condition's patient (site B's) is not
            // found: the whole transaction is rolled back.
            let late = #"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"resource": {"resourceType": "Patient", "name": [{"family": "Late", "given": ["Lu"]}], "birthDate": "1960-01-01"}, "request": {"method": "POST", "url": "Patient"}},
                  {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/\#(f.patientB.id.lowercasedID)"}, "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/diagnosis", "code": "bone-marrow-lesion"}]}, "bodySite": [{"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "knee-right"}]}]}, "request": {"method": "POST", "url": "Condition"}}]}
                """#
            let rolledBack = try await post(late)
            #expect(rolledBack.status == .notFound, "\(rolledBack.text)")
            #expect(issues(rolledBack).first?["expression"] as? [String] == ["Bundle.entry[1]"])
            #expect(!rolledBack.text.contains("Rossi"))
            #expect(try await rowCount(f.store, "patients") == patients + 1, "nothing of a refused transaction")
            #expect(try await rowCount(f.store, "episodes") == episodes + 2, "nothing of a refused transaction")

            // A batch: each entry on its own.
            let batch = #"""
                {"resourceType": "Bundle", "type": "batch", "entry": [
                  {"resource": {"resourceType": "Patient", "name": [{"family": "Batch", "given": ["Ben"]}], "birthDate": "1955-05-05"}, "request": {"method": "POST", "url": "Patient"}},
                  {"resource": {"resourceType": "Patient", "name": [{"family": "Batch"}], "birthDate": "1955-05-05"}, "request": {"method": "POST", "url": "Patient"}},
                  {"resource": \#(condition), "request": {"method": "POST", "url": "Condition"}}]}
                """#
            let answered = try await post(batch)
            #expect(answered.status == .ok && answered.json["type"] as? String == "batch-response", "\(answered.text)")
            let entries = answered.json["entry"] as? [[String: Any]] ?? []
            #expect(entries.compactMap { ($0["response"] as? [String: Any])?["status"] as? String } == ["201 Created", "422 Unprocessable Content", "422 Unprocessable Content"])
            let outcome = (entries[1]["response"] as? [String: Any])?["outcome"] as? [String: Any]
            #expect(((outcome?["issue"] as? [[String: Any]])?.first?["expression"] as? [String]) == ["Bundle.entry[1].resource.name[0].given"])
            #expect(try await rowCount(f.store, "patients") == patients + 2)

            // Not a transaction or batch: the reference bundles are collections.
            for file in ["fhir_bundle_r4_minimal", "fhir_bundle_r4_invalid"] {
                let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/fhir/\(file).json")
                let response = try await post(try String(contentsOf: url, encoding: .utf8))
                #expect(response.status == .unprocessableContent, "\(file): \(response.text)")
                #expect(issues(response).first?["expression"] as? [String] == ["Bundle.type"])
            }
        }
    }

    @Test("randomly mutated transaction Bundles never cause a 5xx or a partial write")
    func mutatedBundles() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            let base = #"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"fullUrl": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000101",
                   "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:oid:9.9", "value": "M-1"}], "name": [{"family": "Mut", "given": ["Ada"]}], "gender": "female", "birthDate": "1950-02-03",
                                "telecom": [{"system": "email", "value": "ada@example.org"}], "managingOrganization": {"identifier": {"system": "https://ossa-registry.org/fhir/NamingSystem/site", "value": "VIE-1"}}},
                   "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:oid:9.9|M-1"}},
                  {"fullUrl": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000102",
                   "resource": {"resourceType": "Condition", "subject": {"reference": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000101"},
                                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M17.11"}]},
                                "stage": [{"summary": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/grade", "code": "kellgren-lawrence:4"}]}}]},
                   "request": {"method": "POST", "url": "Condition"}},
                  {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/\#(f.patientA.id.lowercasedID)"},
                                "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/diagnosis", "code": "avascular-necrosis"}]},
                                "bodySite": [{"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "hip-left"}]}],
                                "stage": [{"summary": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/grade", "code": "arco:II"}]}}]},
                   "request": {"method": "POST", "url": "Condition"}},
                  {"resource": {"resourceType": "Procedure", "status": "completed", "subject": {"reference": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000101"},
                                "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/procedure", "code": "io-injection"}]},
                                "performedDateTime": "2026-04-01", "performer": [{"actor": {"display": "Dr Mut"}}],
                                "reasonReference": [{"reference": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000102"}],
                                "extension": [{"url": "https://ossa-registry.org/fhir/StructureDefinition/injection", "extension": [
                                                 {"url": "target", "valueCodeableConcept": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "medial-femoral-condyle:femur-central-medial"}]}},
                                                 {"url": "product", "valueCode": "bmc"}, {"url": "volume", "valueQuantity": {"value": 4.5, "code": "mL"}}]},
                                              {"url": "https://ossa-registry.org/fhir/StructureDefinition/procedure-details", "extension": [
                                                 {"url": "setting", "valueCode": "surgery-centre"}, {"url": "anaesthesia", "valueCode": "twilight-sedation"},
                                                 {"url": "bmc", "extension": [{"url": "harvestSite", "valueString": "posterior-iliac-crest"}, {"url": "aspirateVolumeMl", "valueDecimal": 60}]},
                                                 {"url": "complication", "extension": [{"url": "description", "valueString": "vasovagal"}, {"url": "severity", "valueString": "mild"}]}]}]},
                   "request": {"method": "POST", "url": "Procedure"}},
                  {"resource": {"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "https://ossa-registry.org/fhir/Questionnaire/nrs-pain",
                                "subject": {"reference": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000101"}, "authored": "2026-04-02T08:00:00Z",
                                "extension": [{"url": "https://ossa-registry.org/fhir/StructureDefinition/episode", "valueReference": {"reference": "urn:uuid:5e1c0b4e-0000-4000-8000-000000000102"}}],
                                "item": [{"linkId": "pain", "answer": [{"valueInteger": 6}]}]},
                   "request": {"method": "POST", "url": "QuestionnaireResponse"}}]}
                """#
            let original = try JSONSerialization.jsonObject(with: Data(base.utf8))
            var random = SplitMix64(seed: 20_261_202)
            let replacements: [Any] = [NSNull(), 0, -1, 1e308, true, "", " ", "x", "🦴", "1956-02-30", "urn:uuid:5e1c0b4e-0000-4000-8000-000000000101",
                                       "Patient/\(f.patientB.id.lowercasedID)", "Patient/not-a-uuid", "Condition/\(f.episodeB.id.lowercasedID)", "Condition/x",
                                       "urn:uuid:5e1c0b4e-0000-4000-8000-000000000102", 2.5, 11, [Any](), [String: Any](),
                                       String(repeating: "é", count: 5000), [[[["deep"]]]], ["resourceType": "Observation"]]
            func rows() async throws -> [Int] {
                var counts: [Int] = []
                for table in ["patients", "episodes", "procedures", "injections", "questionnaire_responses"] { counts.append(try await rowCount(f.store, table)) }
                return counts
            }
            var written = try await rows()
            var accepted = 0
            for round in 0..<250 {
                var tree = original
                for _ in 0..<(1 + Int(random.next() % 3)) { tree = mutate(tree, &random, replacements) }
                guard let body = try? JSONSerialization.data(withJSONObject: tree), let text = String(data: body, encoding: .utf8) else { continue }
                let response = try await clinician.send(.post, "/fhir", text, contentType: "application/fhir+json")
                #expect(response.status.code < 500, "round \(round): \(response.status) for \(text.prefix(400))")
                #expect(response.headers[.contentType]?.hasPrefix("application/fhir+json") == true, "round \(round)")
                let now = try await rows()
                if response.status == .ok {
                    accepted += 1
                } else {
                    #expect(now == written, "round \(round): a refused transaction wrote something: \(text.prefix(400))")
                    #expect(response.json["resourceType"] as? String == "OperationOutcome", "round \(round)")
                }
                written = now
            }
            #expect(accepted > 0 && accepted < 250, "some mutations are harmless, most are not: \(accepted) accepted")
        }
    }

    @Test("a Condition as Ossa writes it reads back as the same joint, side and diagnosis")
    func conditionRoundTrip() throws {
        let diagnoses: [(Joint, Side, Diagnosis)] = [
            (.knee, .left, .osteoarthritis(OAGrading(kellgrenLawrence: .grade3, ahlback: .II))),
            (.hip, .right, .osteoarthritis(OAGrading(kellgrenLawrence: .grade4, tonnis: .grade2))),
            (.knee, .right, .insufficiencyFracture(koshino: .stage2)),
            (.hip, .left, .avascularNecrosis(.arco(.IIIA))),
            (.knee, .left, .avascularNecrosis(.koshino(.stage1))),
            (.knee, .right, .boneMarrowLesion), (.hip, .right, .boneMarrowEdemaSyndrome), (.knee, .left, .boneBruise(injuryDate: nil, monthsSinceInjury: nil)),
        ]
        for (joint, side, diagnosis) in diagnoses {
            let episode = EpisodeRecord(id: UUID(), patientID: UUID(), siteID: UUID(), joint: joint, side: side, diagnosis: diagnosis, status: .open)
            let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(FHIRMapping.condition(episode))) as? [String: Any])
            let read = try FHIRConditionInput.parse(json)
            #expect(read.joint == joint && read.side == side && read.diagnosis == diagnosis, "\(diagnosis)")
            #expect(read.subject == "Patient/\(episode.patientID.lowercasedID)")
        }
    }

    @Test("searches never return another site's data, whatever the parameters", arguments: Engine.available)
    func searchesAreScoped(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            let f = server.fixture
            let all = try await clinician.get("/fhir/Patient")
            #expect(all.status == .ok)
            let bundle = all.json
            #expect(bundle["resourceType"] as? String == "Bundle" && bundle["type"] as? String == "searchset")
            #expect(bundle["total"] as? Int == 2)
            #expect(Set(entries(bundle).compactMap { $0["id"] as? String }) == [f.patientA.id.lowercasedID, f.patientA2.id.lowercasedID])
            let siteBSystem = "https://ossa-registry.org/fhir/NamingSystem/site/\(f.siteB.id.lowercasedID)/mrn"
            for query in ["name=Rossi", "name=Marco", "identifier=B-1", "identifier=\(siteBSystem)%7CB-1", "name=Rossi&identifier=B-1",
                          "name=o&_count=100", "_offset=0&_count=100&name=r"] {
                let response = try await clinician.get("/fhir/Patient?\(query)")
                #expect(response.status == .ok, "\(query): \(response.status)")
                // The entries (the links echo the query itself).
                let found = entries(response.json)
                #expect(!found.contains { $0["id"] as? String == f.patientB.id.lowercasedID }, "\(query) leaked site B")
                #expect(found.allSatisfy { ($0["managingOrganization"] as? [String: Any])?["display"] as? String == "Vienna Bone Clinic" }, "\(query)")
                #expect(!String(describing: found).contains("Rossi"), "\(query) leaked site B")
            }
            let exact = try await clinician.get("/fhir/Patient?identifier=A-1")
            #expect(entries(exact.json).compactMap { $0["id"] as? String } == [f.patientA.id.lowercasedID])
            #expect(exact.json["total"] as? Int == 1)
            #expect(try await clinician.get("/fhir/Patient?identifier=A-").json["total"] as? Int == 0, "an identifier matches exactly")

            for query in ["", "?patient=Patient/\(f.patientB.id.lowercasedID)", "?patient=\(f.patientB.id.lowercasedID)", "?_count=100"] {
                let response = try await clinician.get("/fhir/Condition\(query)")
                #expect(response.status == .ok, "\(query): \(response.status) \(response.text.prefix(200))")
                let found = entries(response.json)
                #expect(!found.contains { $0["id"] as? String == f.episodeB.id.lowercasedID }, "\(query) leaked site B")
                #expect(!found.contains { ($0["subject"] as? [String: Any])?["reference"] as? String == "Patient/\(f.patientB.id.lowercasedID)" }, "\(query)")
            }
            let mine = try await clinician.get("/fhir/Condition?patient=Patient/\(f.patientA.id.lowercasedID)")
            #expect(entries(mine.json).compactMap { $0["id"] as? String } == [f.episodeA.id.lowercasedID])
            // code: any coding (episode A is a left-knee osteoarthritis: ICD-10-CM M17.12, Ossa's osteoarthritis).
            let patient = "patient=\(f.patientA.id.lowercasedID)"
            for (code, count) in [("M17.12", 1), ("http://hl7.org/fhir/sid/icd-10-cm%7CM17.12", 1), ("http://hl7.org/fhir/sid/icd-10-cm%7CM17.11", 0),
                                  ("osteoarthritis", 1), ("https://ossa-registry.org/fhir/CodeSystem/diagnosis%7Cbone-marrow-lesion", 0)] {
                let found = try await clinician.get("/fhir/Condition?\(patient)&code=\(code)")
                #expect(found.status == .ok && found.json["total"] as? Int == count, "code=\(code): \(found.text.prefix(300))")
            }
            let noPatient = try await clinician.get("/fhir/Condition?code=M17.12")
            #expect(noPatient.status == .badRequest && noPatient.json["resourceType"] as? String == "OperationOutcome")
        }
    }

    @Test("paging: _count and the next and previous links walk every match once")
    func paging() async throws {
        try await withServer { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            let first = try await clinician.get("/fhir/Patient?_count=1")
            let links = Dictionary((first.json["link"] as? [[String: Any]] ?? []).map { ($0["relation"] as? String ?? "", $0["url"] as? String ?? "") },
                                   uniquingKeysWith: { a, _ in a })
            #expect(entries(first.json).count == 1 && first.json["total"] as? Int == 2)
            #expect(links["previous"] == nil)
            let next = try #require(links["next"])
            #expect(next.hasSuffix("/fhir/Patient?_count=1&_offset=1"), "\(next)")
            let path = String(next[try #require(next.range(of: "/fhir/")).lowerBound...])
            let second = try await clinician.get(path)
            #expect(entries(second.json).count == 1)
            let secondLinks = (second.json["link"] as? [[String: Any]] ?? []).compactMap { $0["relation"] as? String }
            #expect(secondLinks.contains("previous") && !secondLinks.contains("next"))
            let ids = (entries(first.json) + entries(second.json)).compactMap { $0["id"] as? String }
            #expect(Set(ids) == [server.fixture.patientA.id.lowercasedID, server.fixture.patientA2.id.lowercasedID])
        }
    }

    @Test("bad searches and missing credentials are OperationOutcome, each problem located")
    func errors() async throws {
        try await withServer { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            let unknown = try await clinician.get("/fhir/Patient?birthdate=1961-04-03")
            #expect(unknown.status == .badRequest)
            let issue = try #require(issues(unknown).first)
            #expect(issue["code"] as? String == "invalid")
            #expect(issue["expression"] as? [String] == ["birthdate"])
            #expect((issue["diagnostics"] as? String)?.contains("not a search parameter of Patient") == true)
            for (query, parameter) in [("_count=0", "_count"), ("_count=abc", "_count"), ("_offset=-1", "_offset"), ("name=", "name"),
                                       ("name=a&name=b", "name")] {
                let response = try await clinician.get("/fhir/Patient?\(query)")
                #expect(response.status == .badRequest, "\(query)")
                #expect(issues(response).first?["expression"] as? [String] == [parameter], "\(query)")
            }
            let badReference = try await clinician.get("/fhir/Condition?patient=Practitioner/1")
            #expect(badReference.status == .badRequest)
            #expect(issues(badReference).first?["expression"] as? [String] == ["patient"])
            let anonymous = try await client.execute(uri: "/fhir/Patient", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(issues(anonymous).first?["code"] as? String == "login")
        }
    }

    @Test("every resource Ossa serves validates under fhirkit-rs (R4 4.0.1) and fhir.resources (R4B)")
    func validatedFromOutside() async throws {
        let tools = [("fhirkit", "OSSA_TEST_FHIRKIT"), ("fhir.resources", "OSSA_TEST_FHIR_RESOURCES")]
        let configured = tools.compactMap { tool, variable in ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : (tool, $0) } }
        guard !configured.isEmpty else {
            print("FHIR validation suite: OSSA_TEST_FHIRKIT and OSSA_TEST_FHIR_RESOURCES are not set (a python3 with fhirkit-rs, one with fhir.resources); `.ci/run` sets both")
            return
        }
        try await withServer { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            let f = server.fixture
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-fhir-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            var files: [String] = []
            let created = try await clinician.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/procedures", ioProcedureBody)
            let procedureID = try #require(created.json["id"] as? String)
            let coordinator = try await caller(client, f, .coordinator)
            let admin = try await caller(client, f, .admin)
            let (koosID, _) = try await postScoredResponses(coordinator, f)
            let (mriID, xrayID) = try await postImaging(coordinator, f)
            // An MRI with every other finding: fracture line, osteonecrosis, cartilage lesions, the suspicion.
            let full = try await coordinator.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/imaging-studies", #"""
                {"timing": "follow-up", "modality": "mri", "date": "2026-11-01",
                 "mri": {"bml": [{"subregion": "tibia-central-medial", "size": 1}],
                         "insufficiencyFracture": {"subregion": "tibia-central-medial", "lengthMm": 8.5},
                         "avn": {"subregion": "femur-central-medial", "collapse": false, "depressionMm": 0.5},
                         "focalCartilageLesions": [{"subregion": "femur-central-medial", "areaCm2": 1.2, "depth": "full-thickness"}, {"depth": "partial-thickness"}],
                         "suspectedTumourOrInfection": false}}
                """#)
            #expect(full.status == .created, "\(full.text)")
            let fullID = try #require(full.json["id"] as? String)
            let patientA = "patient=Patient/\(f.patientA.id.lowercasedID)"
            let uris = ["/fhir/Observation/\(fullID)-mri", "/fhir/Observation/\(fullID)-cartilage.1", "/fhir/Observation/\(fullID)-cartilage.2",
                        "/fhir/Observation/\(mriID)-mri","/fhir/Questionnaire/koos", "/fhir/Questionnaire?_count=100", "/fhir/QuestionnaireResponse/\(koosID)",
                        "/fhir/QuestionnaireResponse?\(patientA)", "/fhir/Observation?\(patientA)", "/fhir/Observation/\(koosID)-pain",
                        "/fhir/Observation/\(mriID)-bml.tibia-central-medial", "/fhir/Observation/\(xrayID)-xray",
                        "/fhir/AuditEvent?_count=100",
                        "/fhir/Procedure/\(procedureID)", "/fhir/Procedure?patient=Patient/\(f.patientA.id.lowercasedID)", "/fhir/metadata", "/fhir/Patient/\(f.patientA.id.lowercasedID)", "/fhir/Patient/\(f.patientA2.id.lowercasedID)",
                        "/fhir/Condition/\(f.episodeA.id.lowercasedID)", "/fhir/Patient?_count=1", "/fhir/Condition",
                        "/fhir/Patient?birthdate=x", "/fhir/Patient/\(f.patientB.id.lowercasedID)"]
            for (n, uri) in uris.enumerated() {
                let response = uri == "/fhir/metadata" ? try await client.execute(uri: uri, method: .get)
                    : uri.hasPrefix("/fhir/AuditEvent") ? try await admin.get(uri) : try await clinician.get(uri)
                if uri.hasPrefix("/fhir/Observation/") { #expect(response.status == .ok, "\(uri): \(response.text.prefix(300))") }
                let file = directory.appendingPathComponent("\(n).json")
                try Data(response.text.utf8).write(to: file)
                files.append(file.path)
            }
            // A created Patient, as the create answers it.
            let posted = try await clinician.send(.post, "/fhir/Patient", #"{"resourceType": "Patient", "name": [{"family": "Neu", "given": ["Ida"]}], "birthDate": "1950-01-31", "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "value": "A-900"}]}"#,
                                                  contentType: "application/fhir+json")
            #expect(posted.status == .created, "\(posted.text)")
            let postedFile = directory.appendingPathComponent("created.json")
            try Data(posted.text.utf8).write(to: postedFile)
            files.append(postedFile.path)
            // A transaction's answer, and the Condition it created; a batch's answer with a refused entry.
            let transaction = try await clinician.send(.post, "/fhir", #"""
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"fullUrl": "urn:uuid:5e1c0b4e-0000-4000-8000-0000000000aa", "resource": {"resourceType": "Patient", "name": [{"family": "Tx", "given": ["Tom"]}], "birthDate": "1951-03-03"}, "request": {"method": "POST", "url": "Patient"}},
                  {"resource": {"resourceType": "Condition", "subject": {"reference": "urn:uuid:5e1c0b4e-0000-4000-8000-0000000000aa"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M16.11"}]}}, "request": {"method": "POST", "url": "Condition"}}]}
                """#, contentType: "application/fhir+json")
            #expect(transaction.status == .ok, "\(transaction.text)")
            let batch = try await clinician.send(.post, "/fhir", #"{"resourceType": "Bundle", "type": "batch", "entry": [{"resource": {"resourceType": "Patient", "birthDate": "1950"}, "request": {"method": "POST", "url": "Patient"}}]}"#,
                                                 contentType: "application/fhir+json")
            let createdCondition = ((transaction.json["entry"] as? [[String: Any]])?.last?["response"] as? [String: Any])?["location"] as? String ?? ""
            for (name, text) in [("transaction", transaction.text), ("batch", batch.text), ("condition", try await clinician.get("/fhir/\(createdCondition)").text)] {
                let file = directory.appendingPathComponent("\(name).json")
                try Data(text.utf8).write(to: file)
                files.append(file.path)
            }
            // A hip Condition too (site B's episode, which this clinician may not read: through the mapping itself).
            let hip = conditionJSON(f.episodeB)
            let hipFile = directory.appendingPathComponent("hip.json")
            try Data(hip.utf8).write(to: hipFile)
            files.append(hipFile.path)
            try runFHIRValidators(configured, files: files)
        }
    }
}

/// Two scored responses of patient A: KOOS (pain items all 2, symptom items all 1; 2026-11-20) and KOOS JR (raw sum
/// 11; 2026-11-21). Returns their ids.
private func postScoredResponses(_ caller: APICaller, _ f: WebFixture) async throws -> (koos: String, koosJR: String) {
    let path = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/questionnaire-responses"
    let koosAnswers = ((1...9).map { "\"P\($0)\": 2" } + (1...7).map { "\"S\($0)\": 1" }).joined(separator: ", ")
    let koos = try await caller.post(path, #"{"instrument": "koos", "answers": {\#(koosAnswers)}, "completedAt": "2026-11-20T09:30:00Z"}"#)
    #expect(koos.status == .created, "\(koos.text)")
    let jrItems = try InstrumentLibrary.builtIn().require(id: "koos-jr").items.map(\.code)
    let jrAnswers = zip(jrItems, [2, 2, 2, 2, 1, 1, 1]).map { "\"\($0)\": \($1)" }.joined(separator: ", ")
    let jr = try await caller.post(path, #"{"instrument": "koos-jr", "answers": {\#(jrAnswers)}, "completedAt": "2026-11-21T08:00:00Z"}"#)
    #expect(jr.status == .created, "\(jr.text)")
    return (try #require(koos.json["id"] as? String), try #require(jr.json["id"] as? String))
}

/// An MRI of patient A (2026-10-01: tibia central medial size 2, 3 for % BML, 1 lesion; femur central medial size 1)
/// and an x-ray (2026-09-20: KL 3, Ahlbäck II). Returns their ids.
private func postImaging(_ caller: APICaller, _ f: WebFixture) async throws -> (mri: String, xray: String) {
    let uri = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/imaging-studies"
    let mri = try await caller.post(uri, #"""
        {"timing": "baseline", "modality": "mri", "date": "2026-10-01",
         "mri": {"bml": [{"subregion": "tibia-central-medial", "size": 2, "bmlPercent": 3, "count": 1}, {"subregion": "femur-central-medial", "size": 1}]}}
        """#)
    #expect(mri.status == .created, "\(mri.text)")
    let xray = try await caller.post(uri, #"{"timing": "baseline", "modality": "xray", "date": "2026-09-20", "xray": {"kellgrenLawrence": 3, "ahlback": "II"}}"#)
    #expect(xray.status == .created, "\(xray.text)")
    return (try #require(mri.json["id"] as? String), try #require(xray.json["id"] as? String))
}

/// Runs Tests/fhir/validate.py with each configured validator over `files`; every problem is a test failure.
func runFHIRValidators(_ configured: [(tool: String, python: String)], files: [String]) throws {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fhir/validate.py").path
    for (tool, python) in configured {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, tool] + files
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool): \(output)")
    }
}

/// One random change somewhere in a JSON tree: a key removed, a value replaced, an array element duplicated or
/// dropped.
private func mutate(_ node: Any, _ random: inout SplitMix64, _ replacements: [Any], depth: Int = 0) -> Any {
    let here = random.next() % 4 == 0 || depth > 8
    if var object = node as? [String: Any], !object.isEmpty {
        let keys = object.keys.sorted()
        let key = keys[Int(random.next() % UInt64(keys.count))]
        if here {
            switch random.next() % 3 {
            case 0: object.removeValue(forKey: key)
            case 1: object[key] = replacements[Int(random.next() % UInt64(replacements.count))]
            default: object[key + "x"] = object[key]
            }
        } else {
            object[key] = mutate(object[key] as Any, &random, replacements, depth: depth + 1)
        }
        return object
    }
    if var array = node as? [Any], !array.isEmpty {
        let i = Int(random.next() % UInt64(array.count))
        if here {
            switch random.next() % 3 {
            case 0: array.remove(at: i)
            case 1: array.append(array[i])
            default: array[i] = replacements[Int(random.next() % UInt64(replacements.count))]
            }
        } else {
            array[i] = mutate(array[i], &random, replacements, depth: depth + 1)
        }
        return array
    }
    return replacements[Int(random.next() % UInt64(replacements.count))]
}

/// Entry `n`'s resource of a reference bundle in `Vectors/fhir`, as JSON text.
private func vectorEntry(_ name: String, _ n: Int) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/fhir/\(name).json")
    let bundle = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let resource = try #require((bundle["entry"] as? [[String: Any]])?[n]["resource"])
    return String(decoding: try JSONSerialization.data(withJSONObject: resource), as: UTF8.self)
}

/// The Condition JSON of an episode, as `/fhir/Condition/{id}` writes it.
private func conditionJSON(_ episode: EpisodeRecord) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(FHIRMapping.condition(episode))) ?? Data(), as: UTF8.self)
}
