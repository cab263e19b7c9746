import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import SQLKit
import Testing

// The clinical record API: screening decisions, imaging studies, procedures, follow-up timepoints and outcome
// events. For each: a create/read/list round trip, role refusals (403) and other-site records (404), and bad input
// answered with a problem+json 422 naming the field, with nothing written.

/// The API as one caller with a bearer token.
struct APICaller: Sendable {
    let client: any TestClientProtocol
    let token: String

    func get(_ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: bearer(token))
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, _ body: String?, contentType: String = "application/json",
              headers extra: [String: String] = [:]) async throws -> TestResponse {
        var headers = bearer(token)
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        if let body {
            headers[.contentType] = contentType
            return try await client.execute(uri: uri, method: method, headers: headers, body: jsonBody(body))
        }
        return try await client.execute(uri: uri, method: method, headers: headers)
    }

    func post(_ uri: String, _ body: String? = nil) async throws -> TestResponse { try await send(.post, uri, body) }
    func patch(_ uri: String, _ body: String) async throws -> TestResponse { try await send(.patch, uri, body) }
}

func caller(_ client: any TestClientProtocol, _ fixture: WebFixture, _ role: Role) async throws -> APICaller {
    APICaller(client: client, token: try await apiToken(client, try await signIn(client, try #require(fixture.emails[role])), name: "\(role.rawValue)-clinical"))
}

/// A problem+json answer with `status`, naming `field` in `errors[]` when given.
func expectProblem(_ response: TestResponse, _ status: HTTPResponse.Status, field: String? = nil,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
    #expect(response.json["status"] as? Int == Int(status.code), sourceLocation: sourceLocation)
    if let field {
        let fields = (response.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        #expect(fields.contains(field), "expected an error on \(field): \(response.text)", sourceLocation: sourceLocation)
    }
}

/// Rows in a table, to show that a refused write left nothing behind.
func rowCount(_ store: OssaStore, _ table: String) async throws -> Int {
    let row = try await store.database.sql().raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()
    return try #require(try row?.decode(column: "n", as: Int.self))
}

/// A clinician granted both sites, acting through the store directly (records at site B for 404 checks).
func bothSitesClinician(_ f: WebFixture) async throws -> ActingUser {
    let user = try await Accounts.addUser(store: f.store, actor: f.admin, email: "both-sites@example.org", displayName: "Both Sites",
                                          role: .clinician, password: nil, sites: [f.siteA.id, f.siteB.id], cost: 4)
    return try await f.store.users.actingUser(user.id, from: "cli")
}

let kneeOA = #"{"type": "osteoarthritis", "kellgrenLawrence": 3, "ahlback": "II"}"#

func screeningBody(painNRS: String = "7", side: String = "left", extra: String = "") -> String {
    #"{"input": {"evaluationDate": "2026-11-10", "joint": "knee", "side": "\#(side)", "diagnosis": \#(kneeOA), "painNRS": \#(painNRS), "age": 58, "treatmentsTried": [{"treatment": "physiotherapy", "durationWeeks": 12, "response": "failed"}], "mri": {"date": "2026-10-20", "bml": [{"subregion": "tibia-central-medial", "size": 2}]}\#(extra)}}"#
}

let ioProcedureBody = #"""
{"date": "2026-11-02", "setting": "office", "anaesthesia": "local", "guidance": ["fluoroscopy"], "fluoroscopySeconds": 30,
 "prp": {"finalVolumeMl": 12, "leukocytes": "leukocyte-poor"},
 "injections": [{"target": {"kind": "bone", "bone": "medial-tibial-plateau", "subregion": "tibia-central-medial"}, "product": "prp", "volumeMl": 6},
                {"target": {"kind": "intra-articular"}, "product": "prp", "volumeMl": 5}],
 "operator": "Dr. Clinician User"}
"""#

@Suite("Clinical record API: screening, imaging, procedures, timepoints, outcome events")
struct ClinicalAPITests {
    @Test("screening: evaluate, read, list and filter, sign and override; roles and sites; bad input names the field",
          arguments: Engine.available)
    func screening(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let clinician = try await caller(client, f, .clinician)
            let researcher = try await caller(client, f, .researcher)
            let episodeA = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/screening-decisions"

            // Coordinators run screening; the decision is stored unsigned with its input.
            let created = try await coordinator.post(episodeA, screeningBody())
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location] == "/api/v1/screening-decisions/\(id)")
            #expect(created.json["episodeId"] as? String == f.episodeA.id.lowercasedID)
            #expect(created.json["siteId"] as? String == f.siteA.id.lowercasedID)
            #expect(created.json["signed"] as? Bool == false)
            #expect(created.json["rulesetId"] as? String != nil)
            #expect(created.json["evaluationDate"] as? String == "2026-11-10")
            #expect((created.json["input"] as? [String: Any])?["painNRS"] as? Double == 7)
            #expect(created.json["firedRules"] as? [[String: Any]] != nil)
            let engineCategory = try #require(created.json["category"] as? String)
            #expect(created.json["effectiveCategory"] as? String == engineCategory)
            #expect(created.json["decidedBy"] as? String == f.userIDs[.coordinator]?.lowercasedID)

            let read = try await coordinator.get("/api/v1/screening-decisions/\(id)")
            #expect(read.status == .ok)
            #expect(read.json["id"] as? String == id)
            #expect(read.json["summary"] as? String == created.json["summary"] as? String)

            let list = try await clinician.get(episodeA)
            #expect(list.status == .ok)
            #expect(list.json["total"] as? Int == 1)
            #expect((list.json["items"] as? [[String: Any]])?.first?["id"] as? String == id)
            #expect(try await clinician.get("/api/v1/screening-decisions?signed=false").json["total"] as? Int == 1)
            #expect(try await clinician.get("/api/v1/screening-decisions?signed=true").json["total"] as? Int == 0)
            #expect(try await clinician.get("/api/v1/screening-decisions?episode=\(f.episodeA.id.lowercasedID)&from=2026-11-10&to=2026-11-10").json["total"] as? Int == 1)
            #expect(try await clinician.get("/api/v1/screening-decisions?from=2026-12-01").json["total"] as? Int == 0)
            #expect(try await clinician.get("/api/v1/screening-decisions?category=\(engineCategory)").json["total"] as? Int == 1)
            expectProblem(try await clinician.get("/api/v1/screening-decisions?category=maybe"), .badRequest, field: "category")
            expectProblem(try await clinician.get("/api/v1/screening-decisions?from=2026-13-01"), .badRequest, field: "from")
            expectProblem(try await clinician.get("/api/v1/screening-decisions?signed=yes"), .badRequest, field: "signed")
            expectProblem(try await clinician.get("/api/v1/screening-decisions?limit=0"), .badRequest, field: "limit")

            // Only clinicians sign; a coordinator's attempt changes nothing.
            expectProblem(try await coordinator.post("/api/v1/screening-decisions/\(id)/sign"), .forbidden)
            #expect(try await coordinator.get("/api/v1/screening-decisions/\(id)").json["signed"] as? Bool == false)
            let signed = try await clinician.post("/api/v1/screening-decisions/\(id)/sign")
            #expect(signed.status == .ok, "\(signed.text)")
            #expect(signed.json["signed"] as? Bool == true)
            #expect(signed.json["signedBy"] as? String == f.userIDs[.clinician]?.lowercasedID)
            #expect(signed.json["signedAt"] as? String != nil)
            expectProblem(try await clinician.post("/api/v1/screening-decisions/\(id)/sign"), .conflict)

            // Override: a reason is required; the engine's category stays beside the override.
            let second = try await coordinator.post(episodeA, screeningBody(painNRS: "6"))
            #expect(second.status == .created)
            let secondID = try #require(second.json["id"] as? String)
            let engineSecond = try #require(second.json["category"] as? String)
            let categories: [String] = ["recommended", "consider", "not-now", "refer"]
            let other = try #require(categories.first { $0 != engineSecond })
            let overrideURI = "/api/v1/screening-decisions/\(secondID)/override"
            expectProblem(try await coordinator.post(overrideURI, #"{"category": "\#(other)", "reason": "MRI reviewed at MDT"}"#), .forbidden)
            expectProblem(try await clinician.post(overrideURI, #"{"category": "\#(other)"}"#), .unprocessableContent, field: "reason")
            expectProblem(try await clinician.post(overrideURI, #"{"category": "\#(other)", "reason": "   "}"#), .unprocessableContent, field: "reason")
            expectProblem(try await clinician.post(overrideURI, #"{"category": "sometimes", "reason": "x"}"#), .unprocessableContent, field: "category")
            expectProblem(try await clinician.post(overrideURI, #"{"category": "\#(other)", "reason": "x", "note": "y"}"#), .unprocessableContent, field: "note")
            #expect(try await clinician.get("/api/v1/screening-decisions/\(secondID)").json["signed"] as? Bool == false)
            let overridden = try await clinician.post(overrideURI, #"{"category": "\#(other)", "reason": "MRI reviewed at MDT"}"#)
            #expect(overridden.status == .ok, "\(overridden.text)")
            #expect(overridden.json["category"] as? String == second.json["category"] as? String)
            #expect(overridden.json["effectiveCategory"] as? String == other)
            let override = try #require(overridden.json["override"] as? [String: Any])
            #expect(override["reason"] as? String == "MRI reviewed at MDT")
            #expect(override["overriddenBy"] as? String == f.userIDs[.clinician]?.lowercasedID)
            #expect(overridden.json["signed"] as? Bool == true)
            expectProblem(try await clinician.post(overrideURI, #"{"category": "\#(other)", "reason": "again"}"#), .conflict)

            // Researchers get no identified records.
            expectProblem(try await researcher.get(episodeA), .forbidden)
            expectProblem(try await researcher.get("/api/v1/screening-decisions"), .forbidden)
            expectProblem(try await researcher.get("/api/v1/screening-decisions/\(id)"), .forbidden)
            expectProblem(try await researcher.post(episodeA, screeningBody()), .forbidden)

            // Another site's episode and decision do not exist for site-A staff.
            let both = try await bothSitesClinician(f)
            let atB = try await f.store.screening.evaluate(both, episodeID: f.episodeB.id, ScreeningInput(
                evaluationDate: try CalendarDate(iso: "2026-11-10"), joint: .hip, side: .right, diagnosis: .boneMarrowEdemaSyndrome))
            expectProblem(try await clinician.get("/api/v1/screening-decisions/\(atB.id.lowercasedID)"), .notFound)
            expectProblem(try await clinician.post("/api/v1/screening-decisions/\(atB.id.lowercasedID)/sign"), .notFound)
            expectProblem(try await clinician.get("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/screening-decisions"), .notFound)
            expectProblem(try await clinician.post("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/screening-decisions", screeningBody()), .notFound)
            #expect(try await clinician.get("/api/v1/screening-decisions").json["total"] as? Int == 2)

            // Bad input: 4xx problem+json naming the field, and no decision stored.
            let before = try await rowCount(f.store, "screening_decisions")
            expectProblem(try await coordinator.post(episodeA, screeningBody(painNRS: "42")), .unprocessableContent, field: "input.painNRS")
            expectProblem(try await coordinator.post(episodeA, screeningBody(side: "right")), .conflict, field: "input.side")
            expectProblem(try await coordinator.post(episodeA, screeningBody(extra: #", "painNrs": 3"#)), .unprocessableContent, field: "input.painNrs")
            expectProblem(try await coordinator.post(episodeA, #"{"input": {"joint": "knee"}}"#), .unprocessableContent, field: "input.evaluationDate")
            expectProblem(try await coordinator.post(episodeA, #"{"input": "#), .badRequest)
            expectProblem(try await coordinator.send(.post, episodeA, screeningBody(), contentType: "text/plain"), .unsupportedMediaType)
            expectProblem(try await coordinator.post("/api/v1/episodes/not-an-id/screening-decisions", screeningBody()), .notFound)
            #expect(try await rowCount(f.store, "screening_decisions") == before)
        }
    }

    @Test("imaging: MRI findings and x-ray grades round trip with BML summary and change; roles, sites, bad input",
          arguments: Engine.available)
    func imaging(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let clinician = try await caller(client, f, .clinician)
            let researcher = try await caller(client, f, .researcher)
            let patient = try await caller(client, f, .patient)
            let uri = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/imaging-studies"

            let baseline = try await coordinator.post(uri, #"""
                {"timing": "baseline", "modality": "mri", "date": "2026-10-01",
                 "mri": {"bml": [{"subregion": "tibia-central-medial", "size": 2, "bmlPercent": 3, "count": 1},
                                 {"subregion": "femur-central-medial", "size": 1}],
                         "focalCartilageLesions": [{"subregion": "femur-central-medial", "areaCm2": 1.5, "depth": "partial-thickness"}]}}
                """#)
            #expect(baseline.status == .created, "\(baseline.text)")
            let baselineID = try #require(baseline.json["id"] as? String)
            #expect(baseline.headers[.location] == "/api/v1/imaging-studies/\(baselineID)")
            #expect(baseline.json["modality"] as? String == "mri")
            let summary = try #require(baseline.json["bmlSummary"] as? [String: Any])
            #expect(summary["burden"] as? Int == 3)
            #expect(summary["maxGrade"] as? Int == 2)
            #expect(summary["compartments"] as? [String] == ["medial-tibiofemoral"])
            let findings = try #require((baseline.json["mri"] as? [String: Any])?["bml"] as? [[String: Any]])
            #expect(findings.count == 2)

            let followUp = try await clinician.post(uri, #"""
                {"timing": "follow-up", "modality": "mri", "date": "2026-11-15", "mri": {"bml": [{"subregion": "tibia-central-medial", "size": 1}]}}
                """#)
            #expect(followUp.status == .created, "\(followUp.text)")
            let followUpID = try #require(followUp.json["id"] as? String)
            let xray = try await coordinator.post(uri, #"{"timing": "baseline", "modality": "xray", "date": "2026-09-20", "xray": {"kellgrenLawrence": 3, "ahlback": "II"}}"#)
            #expect(xray.status == .created, "\(xray.text)")
            #expect((xray.json["xray"] as? [String: Any])?["ahlback"] as? String == "II")
            #expect(xray.json["bmlSummary"] == nil)

            let read = try await coordinator.get("/api/v1/imaging-studies/\(baselineID)")
            #expect(read.status == .ok)
            #expect(((read.json["mri"] as? [String: Any])?["bml"] as? [[String: Any]])?.count == 2)
            let all = try await coordinator.get(uri)
            #expect(all.json["total"] as? Int == 3)
            #expect((all.json["items"] as? [[String: Any]])?.compactMap { $0["date"] as? String } == ["2026-09-20", "2026-10-01", "2026-11-15"])
            #expect(try await coordinator.get(uri + "?modality=mri").json["total"] as? Int == 2)
            #expect(try await coordinator.get(uri + "?timing=follow-up").json["total"] as? Int == 1)
            #expect(try await coordinator.get("/api/v1/imaging-studies?patient=\(f.patientA.id.lowercasedID)&to=2026-10-01").json["total"] as? Int == 2)
            let second = try await coordinator.get(uri + "?limit=1&offset=1")
            #expect((second.json["items"] as? [[String: Any]])?.compactMap { $0["date"] as? String } == ["2026-10-01"])
            #expect(second.json["total"] as? Int == 3)
            expectProblem(try await coordinator.get(uri + "?modality=ct"), .badRequest, field: "modality")
            // A range that ends before it starts holds no day: an empty page, not an error.
            #expect(try await coordinator.get(uri + "?from=2026-11-01&to=2026-10-01").json["total"] as? Int == 0)
            expectProblem(try await coordinator.get(uri + "?from="), .badRequest, field: "from")

            let change = try await clinician.get("/api/v1/imaging-studies/\(followUpID)/bml-change?baseline=\(baselineID)")
            #expect(change.status == .ok, "\(change.text)")
            let changes = try #require(change.json["changes"] as? [[String: Any]])
            #expect(changes.compactMap { $0["subregion"] as? String } == ["femur-central-medial", "tibia-central-medial"])
            #expect(changes.compactMap { $0["change"] as? Int } == [-1, -1])
            expectProblem(try await clinician.get("/api/v1/imaging-studies/\(followUpID)/bml-change"), .badRequest, field: "baseline")

            // Roles and sites.
            expectProblem(try await researcher.get(uri), .forbidden)
            expectProblem(try await researcher.get("/api/v1/imaging-studies/\(baselineID)"), .forbidden)
            expectProblem(try await patient.get("/api/v1/imaging-studies/\(baselineID)"), .forbidden)
            let both = try await bothSitesClinician(f)
            let atB = try await f.store.imaging.create(both, NewImagingStudy(episodeID: f.episodeB.id, timing: .baseline,
                                                                             mri: MRIStudy(date: try CalendarDate(iso: "2026-10-01"))))
            expectProblem(try await clinician.get("/api/v1/imaging-studies/\(atB.id.lowercasedID)"), .notFound)
            expectProblem(try await clinician.get("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/imaging-studies"), .notFound)
            expectProblem(try await coordinator.post("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/imaging-studies",
                                                     #"{"timing": "baseline", "modality": "mri", "date": "2026-10-01", "mri": {}}"#), .notFound)
            #expect(try await clinician.get("/api/v1/imaging-studies").json["total"] as? Int == 3)

            // Bad input writes neither a study nor any of its findings.
            let studies = try await rowCount(f.store, "imaging_studies")
            let rows = try await rowCount(f.store, "subregion_findings")
            expectProblem(try await coordinator.post(uri, #"{"timing": "baseline", "modality": "mri", "date": "2026-10-01", "mri": {"bml": [{"subregion": "tibia-central-lateral", "size": 1}, {"subregion": "femoral-head-superior", "size": 2}]}}"#),
                          .conflict, field: "mri.bml[1].subregion")
            expectProblem(try await coordinator.post(uri, #"{"timing": "baseline", "modality": "mri", "date": "2026-10-01", "mri": {"bml": [{"subregion": "tibia-central-lateral", "size": 4}]}}"#),
                          .unprocessableContent, field: "mri.bml[0].size")
            expectProblem(try await coordinator.post(uri, #"{"timing": "baseline", "modality": "mri", "date": "2026-10-01"}"#),
                          .unprocessableContent, field: "mri")
            expectProblem(try await coordinator.post(uri, #"{"timing": "baseline", "modality": "xray", "date": "2026-10-01", "xray": {"tonnis": 2}}"#),
                          .conflict, field: "xray.tonnis")
            expectProblem(try await coordinator.post(uri, #"{"timing": "later", "modality": "xray", "date": "2026-10-01", "xray": {"kellgrenLawrence": 2}}"#),
                          .unprocessableContent, field: "timing")
            expectProblem(try await coordinator.post(uri, #"{"timing": "baseline", "modality": "xray", "date": "2026-10-01", "xray": {"kellgrenLawrence": 2}, "reader": "x"}"#),
                          .unprocessableContent, field: "reader")
            let oversize = #"{"timing": "baseline", "modality": "mri", "date": "2026-10-01", "mri": {"bml": []}, "pad": ""# + String(repeating: "x", count: 2 << 20) + "\"}"
            expectProblem(try await coordinator.post(uri, oversize), .contentTooLarge)
            #expect(try await rowCount(f.store, "imaging_studies") == studies)
            #expect(try await rowCount(f.store, "subregion_findings") == rows)
        }
    }

    @Test("procedures: clinicians record and sign with injections in order; coordinators read only; bad input names the field",
          arguments: Engine.available)
    func procedures(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let clinician = try await caller(client, f, .clinician)
            let researcher = try await caller(client, f, .researcher)
            let uri = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/procedures"

            expectProblem(try await coordinator.post(uri, ioProcedureBody), .forbidden)
            #expect(try await rowCount(f.store, "procedures") == 0)

            let created = try await clinician.post(uri, ioProcedureBody)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location] == "/api/v1/procedures/\(id)")
            #expect(created.json["kind"] as? String == "io")
            #expect(created.json["operator"] as? String == "Dr. Clinician User")
            #expect(created.json["signed"] as? Bool == false)
            #expect(created.json["operatorId"] as? String == f.userIDs[.clinician]?.lowercasedID)
            let injections = try #require(created.json["injections"] as? [[String: Any]])
            #expect(injections.compactMap { ($0["target"] as? [String: Any])?["kind"] as? String } == ["bone", "intra-articular"])
            #expect(injections.compactMap { $0["volumeMl"] as? Double } == [6, 5])

            let read = try await coordinator.get("/api/v1/procedures/\(id)")
            #expect(read.status == .ok)
            #expect((read.json["prp"] as? [String: Any])?["leukocytes"] as? String == "leukocyte-poor")
            #expect((read.json["injections"] as? [[String: Any]])?.count == 2)
            #expect(try await coordinator.get(uri).json["total"] as? Int == 1)
            #expect(try await coordinator.get("/api/v1/procedures?signed=false&kind=io").json["total"] as? Int == 1)
            #expect(try await coordinator.get("/api/v1/procedures?kind=intra-articular").json["total"] as? Int == 0)
            #expect(try await coordinator.get("/api/v1/procedures?from=2026-11-03").json["total"] as? Int == 0)

            expectProblem(try await coordinator.post("/api/v1/procedures/\(id)/sign"), .forbidden)
            let signed = try await clinician.post("/api/v1/procedures/\(id)/sign")
            #expect(signed.status == .ok, "\(signed.text)")
            #expect(signed.json["signed"] as? Bool == true)
            #expect(signed.json["signedBy"] as? String == f.userIDs[.clinician]?.lowercasedID)
            #expect((signed.json["injections"] as? [[String: Any]])?.count == 2)
            expectProblem(try await clinician.post("/api/v1/procedures/\(id)/sign"), .conflict)
            #expect(try await coordinator.get("/api/v1/procedures?signed=true").json["total"] as? Int == 1)

            expectProblem(try await researcher.get(uri), .forbidden)
            expectProblem(try await researcher.get("/api/v1/procedures/\(id)"), .forbidden)
            expectProblem(try await clinician.post("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/procedures", ioProcedureBody), .notFound)
            expectProblem(try await clinician.get("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/procedures"), .notFound)

            // Bad input: neither the procedure nor any injection is written.
            func replacing(_ old: String, _ new: String) -> String { ioProcedureBody.replacingOccurrences(of: old, with: new) }
            let procedures = try await rowCount(f.store, "procedures")
            let rows = try await rowCount(f.store, "injections")
            expectProblem(try await clinician.post(uri, replacing(#""bone": "medial-tibial-plateau", "subregion": "tibia-central-medial""#, #""bone": "femoral-head""#)),
                          .conflict, field: "injections[0].target.bone")
            expectProblem(try await clinician.post(uri, replacing(#""volumeMl": 5"#, #""volumeMl": 50"#)),
                          .unprocessableContent, field: "injections[1].volumeMl")
            expectProblem(try await clinician.post(uri, replacing(#""product": "prp", "volumeMl": 5"#, #""product": "bmc", "volumeMl": 5"#)),
                          .unprocessableContent, field: "injections[1].product")
            expectProblem(try await clinician.post(uri, replacing(#""target": {"kind": "intra-articular"}"#, #""target": {"kind": "tendon"}"#)),
                          .unprocessableContent, field: "injections[1].target.kind")
            expectProblem(try await clinician.post(uri, replacing(#""operator": "Dr. Clinician User""#, #""operator": " ""#)),
                          .unprocessableContent, field: "operator")
            expectProblem(try await clinician.post(uri, replacing(#""setting": "office""#, #""setting": "garage""#)),
                          .unprocessableContent, field: "setting")
            expectProblem(try await clinician.post(uri, replacing(#""date": "2026-11-02""#, #""date": "2026-02-30""#)),
                          .unprocessableContent, field: "date")
            expectProblem(try await clinician.post(uri, replacing(#""operator": "Dr. Clinician User""#, #""operator": "Dr. X", "operatorId": "\#(UUID().uuidString.lowercased())""#)),
                          .notFound)
            #expect(try await rowCount(f.store, "procedures") == procedures)
            #expect(try await rowCount(f.store, "injections") == rows)
        }
    }

    @Test("timepoints: generate from the index procedure, list and worklists, mark completed and missed; roles and bad input",
          arguments: Engine.available)
    func timepoints(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let clinician = try await caller(client, f, .clinician)
            let researcher = try await caller(client, f, .researcher)
            let patient = try await caller(client, f, .patient)
            let uri = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/timepoints"
            let procedure = try await clinician.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/procedures", ioProcedureBody)
            let procedureID = try #require(procedure.json["id"] as? String)

            // Bad schedule requests write nothing.
            expectProblem(try await coordinator.post(uri, "{}"), .unprocessableContent, field: "procedureId")
            expectProblem(try await coordinator.post(uri, #"{"procedureId": "\#(procedureID)", "indexDate": "2026-11-02"}"#),
                          .unprocessableContent, field: "indexDate")
            expectProblem(try await coordinator.post(uri, #"{"procedureId": "\#(UUID().uuidString.lowercased())"}"#), .notFound)
            expectProblem(try await coordinator.post(uri, #"{"procedureId": "not-an-id"}"#), .unprocessableContent, field: "procedureId")
            expectProblem(try await coordinator.post("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/timepoints", #"{"indexDate": "2026-11-02"}"#), .notFound)
            expectProblem(try await researcher.post(uri, #"{"indexDate": "2026-11-02"}"#), .forbidden)
            #expect(try await rowCount(f.store, "follow_up_timepoints") == 0)

            let generated = try await coordinator.post(uri, #"{"procedureId": "\#(procedureID)"}"#)
            #expect(generated.status == .created, "\(generated.text)")
            #expect(generated.headers[.location] == uri)
            #expect(generated.json["indexDate"] as? String == "2026-11-02")
            let items = try #require(generated.json["items"] as? [[String: Any]])
            #expect(items.count > 3)
            #expect(items.allSatisfy { $0["status"] as? String == "pending" && $0["episodeId"] as? String == f.episodeA.id.lowercasedID })
            let count = try await rowCount(f.store, "follow_up_timepoints")
            #expect(count == items.count)
            expectProblem(try await coordinator.post(uri, #"{"indexDate": "2026-11-05"}"#), .conflict)
            #expect(try await rowCount(f.store, "follow_up_timepoints") == count)

            let list = try await coordinator.get(uri + "?limit=500")
            #expect(list.status == .ok)
            #expect(list.json["total"] as? Int == items.count)
            let dues = (list.json["items"] as? [[String: Any]] ?? []).compactMap { $0["dueDate"] as? String }
            #expect(dues == dues.sorted())
            let first = try #require(items.first { ($0["dueDate"] as? String ?? "") >= "2026-11-02" })
            let firstID = try #require(first["id"] as? String)
            #expect(try await clinician.get("/api/v1/timepoints/\(firstID)").json["code"] as? String == first["code"] as? String)

            // Mark completed (now by default) and missed; bad marks name the field and change nothing.
            expectProblem(try await coordinator.patch("/api/v1/timepoints/\(firstID)", #"{"status": "done"}"#), .unprocessableContent, field: "status")
            expectProblem(try await coordinator.patch("/api/v1/timepoints/\(firstID)", #"{"status": "missed", "completedAt": "2026-11-03T10:00:00Z"}"#),
                          .unprocessableContent, field: "completedAt")
            expectProblem(try await coordinator.patch("/api/v1/timepoints/\(firstID)", #"{"status": "completed", "completedAt": "yesterday"}"#),
                          .unprocessableContent, field: "completedAt")
            expectProblem(try await patient.patch("/api/v1/timepoints/\(firstID)", #"{"status": "completed"}"#), .forbidden)
            #expect(try await coordinator.get("/api/v1/timepoints/\(firstID)").json["status"] as? String == "pending")
            let completed = try await coordinator.patch("/api/v1/timepoints/\(firstID)", #"{"status": "completed", "completedAt": "2026-11-03T10:00:00Z"}"#)
            #expect(completed.status == .ok, "\(completed.text)")
            #expect(completed.json["status"] as? String == "completed")
            #expect(completed.json["completedAt"] as? String == "2026-11-03T10:00:00Z")
            let secondID = try #require(items.last?["id"] as? String)
            let missed = try await clinician.patch("/api/v1/timepoints/\(secondID)", #"{"status": "missed"}"#)
            #expect(missed.status == .ok)
            #expect(missed.json["completedAt"] == nil)
            #expect(try await coordinator.get("/api/v1/timepoints?status=completed").json["total"] as? Int == 1)
            #expect(try await coordinator.get(uri + "?status=missed").json["total"] as? Int == 1)
            #expect(try await coordinator.get(uri + "?status=pending").json["total"] as? Int == items.count - 2)

            // Worklists of pending timepoints on a day.
            let overdue = try await coordinator.get("/api/v1/timepoints?worklist=closed&on=2030-01-01")
            #expect(overdue.status == .ok)
            #expect(overdue.json["total"] as? Int == items.count - 2)
            #expect(try await coordinator.get("/api/v1/timepoints?worklist=due&on=2026-01-01").json["total"] as? Int == 0)
            // `on` alone is the due worklist of that day.
            #expect(try await coordinator.get("/api/v1/timepoints?on=2026-10-01").json["total"] as? Int
                    == coordinator.get("/api/v1/timepoints?worklist=due&on=2026-10-01").json["total"] as? Int)
            expectProblem(try await coordinator.get("/api/v1/timepoints?on="), .badRequest, field: "on")
            expectProblem(try await coordinator.get("/api/v1/timepoints?worklist=late"), .badRequest, field: "worklist")

            // Patients read their own schedule; researchers nothing; other sites are absent.
            let own = try await patient.get(uri)
            #expect(own.status == .ok)
            #expect(own.json["total"] as? Int == items.count)
            expectProblem(try await researcher.get(uri), .forbidden)
            expectProblem(try await researcher.get("/api/v1/timepoints/\(firstID)"), .forbidden)
            let both = try await bothSitesClinician(f)
            let atB = try await f.store.timepoints.generate(both, episodeID: f.episodeB.id, indexDate: try CalendarDate(iso: "2026-11-01"))
            let bID = try #require(atB.first?.id.lowercasedID)
            expectProblem(try await coordinator.get("/api/v1/timepoints/\(bID)"), .notFound)
            expectProblem(try await coordinator.patch("/api/v1/timepoints/\(bID)", #"{"status": "missed"}"#), .notFound)
            expectProblem(try await coordinator.get("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/timepoints"), .notFound)
            #expect(try await coordinator.get("/api/v1/timepoints").json["total"] as? Int == items.count)
        }
    }

    @Test("outcome events: record each kind with the fields it takes, list and filter; roles, sites, dates",
          arguments: Engine.available)
    func outcomeEvents(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let clinician = try await caller(client, f, .clinician)
            let researcher = try await caller(client, f, .researcher)
            let uri = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/outcome-events"
            #expect(try await clinician.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/procedures", ioProcedureBody).status == .created)

            let adverse = try await coordinator.post(uri, #"{"kind": "adverse-event", "date": "2026-11-05", "description": "Post-injection pain flare", "severity": "mild"}"#)
            #expect(adverse.status == .created, "\(adverse.text)")
            let adverseID = try #require(adverse.json["id"] as? String)
            #expect(adverse.headers[.location] == "/api/v1/outcome-events/\(adverseID)")
            #expect(adverse.json["severity"] as? String == "mild")
            #expect(adverse.json["description"] as? String == "Post-injection pain flare")
            let replacement = try await clinician.post(uri, #"{"kind": "joint-replacement", "date": "2026-11-20", "replacementKind": "TKA"}"#)
            #expect(replacement.status == .created, "\(replacement.text)")
            #expect(replacement.json["replacementKind"] as? String == "TKA")
            #expect(replacement.json["severity"] == nil)

            let read = try await coordinator.get("/api/v1/outcome-events/\(adverseID)")
            #expect(read.status == .ok)
            #expect(read.json["kind"] as? String == "adverse-event")
            let list = try await coordinator.get(uri)
            #expect(list.json["total"] as? Int == 2)
            #expect((list.json["items"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } == ["adverse-event", "joint-replacement"])
            #expect(try await coordinator.get("/api/v1/outcome-events?kind=joint-replacement").json["total"] as? Int == 1)
            #expect(try await coordinator.get("/api/v1/outcome-events?episode=\(f.episodeA.id.lowercasedID)&from=2026-11-10").json["total"] as? Int == 1)
            expectProblem(try await coordinator.get("/api/v1/outcome-events?kind=fall"), .badRequest, field: "kind")

            expectProblem(try await researcher.get(uri), .forbidden)
            expectProblem(try await researcher.post(uri, #"{"kind": "withdrawal", "date": "2026-11-21"}"#), .forbidden)
            expectProblem(try await researcher.get("/api/v1/outcome-events/\(adverseID)"), .forbidden)
            let both = try await bothSitesClinician(f)
            let atB = try await f.store.outcomes.create(both, episodeID: f.episodeB.id, .withdrawal(date: try CalendarDate(iso: "2026-11-01")))
            expectProblem(try await coordinator.get("/api/v1/outcome-events/\(atB.id.lowercasedID)"), .notFound)
            expectProblem(try await coordinator.get("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/outcome-events"), .notFound)
            expectProblem(try await coordinator.post("/api/v1/episodes/\(f.episodeB.id.lowercasedID)/outcome-events", #"{"kind": "withdrawal", "date": "2026-11-21"}"#), .notFound)
            #expect(try await coordinator.get("/api/v1/outcome-events").json["total"] as? Int == 2)

            let before = try await rowCount(f.store, "outcome_events")
            expectProblem(try await coordinator.post(uri, #"{"kind": "joint-replacement", "date": "2026-11-20"}"#), .unprocessableContent, field: "replacementKind")
            expectProblem(try await coordinator.post(uri, #"{"kind": "adverse-event", "date": "2026-11-20", "description": "Swelling"}"#), .unprocessableContent, field: "severity")
            expectProblem(try await coordinator.post(uri, #"{"kind": "adverse-event", "date": "2026-11-20", "description": " ", "severity": "mild"}"#), .unprocessableContent, field: "description")
            expectProblem(try await coordinator.post(uri, #"{"kind": "death", "date": "2026-11-20", "severity": "fatal"}"#), .unprocessableContent, field: "severity")
            expectProblem(try await coordinator.post(uri, #"{"kind": "repeat-io", "date": "2026-10-01"}"#), .conflict, field: "date")
            expectProblem(try await coordinator.post(uri, #"{"kind": "relocation", "date": "2026-11-20"}"#), .unprocessableContent, field: "kind")
            expectProblem(try await coordinator.post(uri, #"{"kind": "joint-replacement", "date": "2026-11-20", "replacementKind": "hip"}"#), .unprocessableContent, field: "replacementKind")
            #expect(try await rowCount(f.store, "outcome_events") == before)
        }
    }
}
