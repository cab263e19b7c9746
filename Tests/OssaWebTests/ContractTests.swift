import Foundation
import Hummingbird
import HummingbirdTesting
import OssaCore
@testable import OssaWeb
import Testing

/// The API does exactly what its OpenAPI document says, at the edges schemathesis probes: present parameters must
/// be valid, `null` is not "absent", grades take their documented form, instants are RFC 3339, lengths count code
/// points, and a request valid on its own that conflicts with stored records is a 409.
@Suite("API contract edges")
struct ContractTests {
    @Test("an empty or over-long query parameter is a 400 naming it; pages treat empty form fields as absent")
    func queryParameters() async throws {
        try await withServer { server, client in
            let clinician = try await caller(client, server.fixture, .clinician)
            for uri in ["/api/v1/patients?site=", "/api/v1/patients?limit=", "/api/v1/screening-decisions?from=",
                        "/api/v1/timepoints?status=", "/api/v1/procedures?episode="] {
                let name = String(uri.split(separator: "?")[1].dropLast())
                expectProblem(try await clinician.get(uri), .badRequest, field: name)
            }
            expectProblem(try await clinician.get("/api/v1/patients?q=" + String(repeating: "a", count: 201)), .badRequest, field: "q")
            #expect(try await clinician.get("/api/v1/patients?q=" + String(repeating: "a", count: 200)).status == .ok)
            #expect(try await clinician.get("/api/v1/patients?q=").status == .ok)
            // The patient list page's GET form sends `site=` for "All my sites".
            let session = try await signIn(client, "clinician@example.org")
            #expect(try await client.execute(uri: "/patients?q=&site=", method: .get, headers: session.headers).status == .ok)
        }
    }

    @Test("null for an optional field is refused with the field named; the two nullable fields accept it")
    func nulls() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            let before = try await rowCount(f.store, "patients")
            expectProblem(try await clinician.post("/api/v1/patients", #"{"siteId": "\#(f.siteA.id.lowercasedID)", "familyName": "Null", "givenName": "Test", "birthDate": "1960-01-01", "phone": null}"#),
                          .unprocessableContent, field: "phone")
            expectProblem(try await clinician.patch(Paths.API.patient.url(f.patientA.id), #"{"familyName": null}"#),
                          .unprocessableContent, field: "familyName")
            #expect(try await rowCount(f.store, "patients") == before)
            let submitted = try await clinician.post(Paths.API.episodeQuestionnaireResponses.url(f.episodeA.id),
                                                     #"{"instrument": "nrs-pain", "answers": {"pain": 4}, "timepointId": null, "completedAt": null}"#)
            #expect(submitted.status == .created, "\(submitted.text)")
        }
    }

    @Test("grades take only their documented form on the API")
    func grades() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            let uri = Paths.API.patientEpisodes.url(f.patientA2.id)
            for diagnosis in [#"{"type": "osteoarthritis", "kellgrenLawrence": "3"}"#, #"{"type": "osteoarthritis", "kellgrenLawrence": 3, "ahlback": 3}"#,
                              #"{"type": "osteoarthritis", "kellgrenLawrence": 3, "ahlback": "iii"}"#] {
                let response = try await clinician.post(uri, #"{"joint": "knee", "side": "left", "diagnosis": \#(diagnosis)}"#)
                #expect(response.status == .unprocessableContent, "\(diagnosis): \(response.text)")
            }
            let ok = try await clinician.post(uri, #"{"joint": "knee", "side": "left", "diagnosis": {"type": "osteoarthritis", "kellgrenLawrence": 3, "ahlback": "III"}}"#)
            #expect(ok.status == .created, "\(ok.text)")
        }
    }

    @Test("instants are RFC 3339 exactly")
    func instants() throws {
        let utc = try WireDate.parse("2026-11-27T08:00:00Z", field: "t")
        #expect(try WireDate.parse("2026-11-27t09:30:00.5+01:30", field: "t") == utc.addingTimeInterval(0.5))
        #expect(try WireDate.parse("2000-02-17T20:01:17.0+19:29", field: "t").timeIntervalSince1970 == 950_747_537)  // 20:01:17 at +19:29 is 00:32:17 UTC
        #expect(try WireDate.parse("2026-11-27T08:00:00z", field: "t") == utc)
        for bad in ["2026-11-27T08:00:00+0100", "2026-11-27T24:00:00Z", "2026-11-27 08:00:00Z", "2026-02-30T08:00:00Z",
                    "2026-11-27T08:00Z", "2026-11-27T08:00:00+24:00", "2026-11-27"] {
            #expect(throws: Problem.self, "\(bad)") { _ = try WireDate.parse(bad, field: "t") }
        }
    }

    @Test("text limits count code points as JSON Schema does, on the value as sent")
    func codePoints() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let clinician = try await caller(client, f, .clinician)
            // 200 characters but 201 code points (e + combining acute), and 199 letters padded with spaces.
            for name in ["e\u{301}" + String(repeating: "a", count: 199), "  " + String(repeating: "a", count: 199) + "  "] {
                let body = try JSONSerialization.data(withJSONObject: ["siteId": f.siteA.id.lowercasedID, "familyName": name,
                                                                       "givenName": "Test", "birthDate": "1960-01-01"])
                expectProblem(try await clinician.post("/api/v1/patients", String(decoding: body, as: UTF8.self)),
                              .unprocessableContent, field: "familyName")
            }
        }
    }

    @Test("a follow-up schedule that would run outside 1900–2200 is refused on indexDate and writes nothing")
    func scheduleWithinTheCalendar() async throws {
        try await withServer { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let uri = Paths.API.episodeTimepoints.url(f.episodeA.id)
            expectProblem(try await coordinator.post(uri, #"{"indexDate": "2200-01-30"}"#), .unprocessableContent, field: "indexDate")
            expectProblem(try await coordinator.post(uri, #"{"indexDate": "1900-01-01"}"#), .unprocessableContent, field: "indexDate")
            #expect(try await rowCount(f.store, "follow_up_timepoints") == 0)
            #expect(try await coordinator.post(uri, #"{"indexDate": "2026-01-30"}"#).status == .created)
        }
    }
}
