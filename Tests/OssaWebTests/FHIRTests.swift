import Foundation
import Hummingbird
import HummingbirdTesting
import OssaCore
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
            #expect(resources.map { $0["type"] as? String ?? "" } == ["Patient", "Condition", "Procedure"])
            for resource in resources {
                let interactions = (resource["interaction"] as? [[String: Any]] ?? []).map { $0["code"] as? String ?? "" }
                #expect(interactions == ["read", "search-type"])
            }
            let patientParams = (resources.first?["searchParam"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
            #expect(patientParams == ["name", "identifier", "_count", "_offset"])
            // What the statement lists is what answers, and nothing else does.
            #expect(try await client.execute(uri: "/fhir/Observation", method: .get).status == .notFound)
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
            let uris = ["/fhir/Procedure/\(procedureID)", "/fhir/Procedure?patient=Patient/\(f.patientA.id.lowercasedID)", "/fhir/metadata", "/fhir/Patient/\(f.patientA.id.lowercasedID)", "/fhir/Patient/\(f.patientA2.id.lowercasedID)",
                        "/fhir/Condition/\(f.episodeA.id.lowercasedID)", "/fhir/Patient?_count=1", "/fhir/Condition",
                        "/fhir/Patient?birthdate=x", "/fhir/Patient/\(f.patientB.id.lowercasedID)"]
            for (n, uri) in uris.enumerated() {
                let response = uri == "/fhir/metadata" ? try await client.execute(uri: uri, method: .get) : try await clinician.get(uri)
                let file = directory.appendingPathComponent("\(n).json")
                try Data(response.text.utf8).write(to: file)
                files.append(file.path)
            }
            // A hip Condition too (site B's episode, which this clinician may not read: through the mapping itself).
            let hip = conditionJSON(f.episodeB)
            let hipFile = directory.appendingPathComponent("hip.json")
            try Data(hip.utf8).write(to: hipFile)
            files.append(hipFile.path)
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
    }
}

/// The Condition JSON of an episode, as `/fhir/Condition/{id}` writes it.
private func conditionJSON(_ episode: EpisodeRecord) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(FHIRMapping.condition(episode))) ?? Data(), as: UTF8.self)
}
