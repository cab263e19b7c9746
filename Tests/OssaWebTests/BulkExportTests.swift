import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import Testing

// FHIR Bulk Data `$export` (issue #12): kick-off with Prefer: respond-async, polling with X-Progress, a manifest of
// NDJSON files (one type per file, each within OSSA_EXPORT_FILE_BYTES), `_type` and `_since`, site scoping, the
// Group of a saved cohort, cancel; every line validated from outside when the FHIR validators are given.

/// Polls a status URL until the manifest (200) or a failure; nil after 30 s.
func manifest(_ caller: APICaller, _ status: String) async throws -> TestResponse? {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        let response = try await caller.get(status)
        if response.status != .accepted { return response }
        #expect(response.headers[HTTPField.Name("X-Progress")!] != nil, "a running job says how far it is")
        try await Task.sleep(for: .milliseconds(50))
    }
    return nil
}

/// Kicks off `path` and waits for the manifest: its `output` entries.
func runExport(_ caller: APICaller, _ path: String, base: String) async throws -> (status: String, output: [[String: Any]]) {
    let kick = try await caller.send(.get, path, nil, headers: ["Prefer": "respond-async"])
    #expect(kick.status == .accepted, "\(path): \(kick.text)")
    let location = try #require(kick.headers[.contentLocation], "\(path): no Content-Location")
    #expect(location.hasPrefix(base + "/fhir/$export-status/"), "\(location)")
    let status = String(location.dropFirst(base.count))
    let done = try #require(try await manifest(caller, status), "\(path): the export did not finish")
    #expect(done.status == .ok, "\(path): \(done.text)")
    #expect(done.json["requiresAccessToken"] as? Bool == true)
    #expect((done.json["request"] as? String)?.hasSuffix(path) == true)
    return (status, done.json["output"] as? [[String: Any]] ?? [])
}

@Suite("FHIR Bulk Data $export")
struct BulkExportTests {
    @Test("kick-off, progress, a manifest of NDJSON files bounded in bytes, _type and _since, the caller's sites only, cancel",
          arguments: Engine.available)
    func export(engine: Engine) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-export-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = testConfiguration {
            $0.exportFileBytes = 1500
            $0.exportDirectory = directory.path
        }
        try await withServer(engine, configuration: configuration) { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            let coordinator = try await caller(client, f, .coordinator)
            let base = configuration.linkBase
            // Patient A: an episode, a procedure, two scored responses (three scores) and an MRI with two subregions.
            #expect(try await clinician.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/procedures", ioProcedureBody).status == .created)
            let path = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/questionnaire-responses"
            let pain = (1...9).map { "\"P\($0)\": 2" }.joined(separator: ", ")
            for _ in 0..<2 {
                #expect(try await coordinator.post(path, #"{"instrument": "koos", "answers": {\#(pain)}, "completedAt": "2026-11-20T09:30:00Z"}"#).status == .created)
            }
            #expect(try await coordinator.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/imaging-studies", #"""
                {"timing": "baseline", "modality": "mri", "date": "2026-10-01", "mri": {"bml": [{"subregion": "tibia-central-medial", "size": 2}, {"subregion": "femur-central-medial", "size": 1}]}}
                """#).status == .created)

            // Refusals: no Prefer, an unknown type or parameter, a bad _since; researchers and admins may not export.
            #expect(try await clinician.get("/fhir/$export").status == .badRequest)
            for query in ["_type=Encounter", "_since=yesterday", "_typeFilter=Patient%3Factive%3Dtrue", "_outputFormat=text/csv"] {
                let refused = try await clinician.send(.get, "/fhir/$export?\(query)", nil, headers: ["Prefer": "respond-async"])
                #expect(refused.status == .badRequest, "\(query): \(refused.text)")
                #expect(refused.json["resourceType"] as? String == "OperationOutcome")
            }
            for role in [Role.researcher, .admin] {
                let other = try await caller(client, f, role)
                #expect(try await other.send(.get, "/fhir/$export", nil, headers: ["Prefer": "respond-async"]).status == .forbidden, "\(role)")
            }

            let (status, output) = try await runExport(clinician, "/fhir/$export", base: base)
            var counts: [String: Int] = [:]
            var lines: [String] = []
            for file in output {
                let type = try #require(file["type"] as? String)
                let url = try #require(file["url"] as? String)
                let body = try await clinician.get(String(url.dropFirst(base.count)))
                #expect(body.status == .ok && body.headers[.contentType] == "application/fhir+ndjson")
                let resources = body.text.split(separator: "\n").map(String.init)
                // Within OSSA_EXPORT_FILE_BYTES, unless one resource alone is larger (it gets a file of its own).
                #expect(body.text.utf8.count <= 1500 || resources.count == 1, "\(url): \(body.text.utf8.count) bytes in \(resources.count) resources")
                #expect(resources.count == file["count"] as? Int, "\(url)")
                for line in resources {
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    #expect(object["resourceType"] as? String == type, "one type per file")
                }
                counts[type, default: 0] += resources.count
                lines += resources
            }
            // Site A's: two patients, one episode, one procedure, two responses, 2 × 1 scores + 2 BML findings + the MRI's reading.
            #expect(counts == ["Patient": 2, "Condition": 1, "Procedure": 1, "QuestionnaireResponse": 2, "Observation": 5], "\(counts)")
            #expect(output.filter { $0["type"] as? String == "Observation" }.count > 1, "a type larger than the limit is split into several files")
            let everything = lines.joined(separator: "\n")
            #expect(!everything.contains("Rossi") && !everything.contains(f.patientB.id.lowercasedID), "another site's records are never exported")

            // _type and _since.
            let (_, some) = try await runExport(clinician, "/fhir/$export?_type=Patient,Condition", base: base)
            #expect(Set(some.compactMap { $0["type"] as? String }) == ["Patient", "Condition"])
            let (_, none) = try await runExport(clinician, "/fhir/$export?_since=2100-01-01T00:00:00Z", base: base)
            #expect(none.isEmpty, "nothing changed since then: \(none)")
            let (_, patientLevel) = try await runExport(clinician, "/fhir/Patient/$export?_type=Patient", base: base)
            #expect(patientLevel.first?["count"] as? Int == 2)

            // A Group is a saved cohort: the knee cohort holds patient A (patient A-2 has no episode).
            let cohort = try await coordinator.post("/api/v1/cohorts", #"{"name": "Knees", "filter": {"joint": ["knee"]}}"#)
            #expect(cohort.status == .created, "\(cohort.text)")
            let cohortID = try #require(cohort.json["id"] as? String)
            let (_, group) = try await runExport(clinician, "/fhir/Group/\(cohortID)/$export?_type=Patient", base: base)
            #expect(group.first?["count"] as? Int == 1, "\(group)")

            // Another user never sees the job; DELETE removes it and its files.
            #expect(try await coordinator.get(status).status == .notFound)
            #expect(try await clinician.send(.delete, status, nil).status == .accepted)
            #expect(try await clinician.get(status).status == .notFound)
            let first = try #require(output.first?["url"] as? String)
            #expect(try await clinician.get(String(first.dropFirst(base.count))).status == .notFound)

            // Every exported resource, validated from outside.
            try validateLines(lines, directory: directory)
        }
    }
}

/// Each NDJSON line as a file through Tests/fhir/validate.py, with each validator that is configured.
func validateLines(_ lines: [String], directory: URL) throws {
    let tools = [("fhirkit", "OSSA_TEST_FHIRKIT"), ("fhir.resources", "OSSA_TEST_FHIR_RESOURCES")]
    let configured = tools.compactMap { tool, variable in ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : (tool, $0) } }
    guard !configured.isEmpty else {
        print("$export validation: OSSA_TEST_FHIRKIT and OSSA_TEST_FHIR_RESOURCES are not set; `.ci/run` sets both")
        return
    }
    var files: [String] = []
    for (n, line) in lines.enumerated() {
        let file = directory.appendingPathComponent("line-\(n).json")
        try Data(line.utf8).write(to: file)
        files.append(file.path)
    }
    try runFHIRValidators(configured, files: files)
}
