import Foundation
import Hummingbird
import HummingbirdTesting
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import Testing

/// Questionnaire responses: submitted over the API they are scored with the published rule and stored with the
/// raw answers; bad answers name the item and write nothing; other sites' episodes are invisible.
@Suite("Questionnaire response API")
struct QuestionnaireAPITests {
    @Test("submit → scored and stored; read, list and filter; roles, sites and bad input", arguments: Engine.available)
    func questionnaires(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let researcher = try await caller(client, f, .researcher)
            let path = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/questionnaire-responses"

            // KOOS pain, all nine items answered 2 ("moderate"): 100 − 25 × 2 = 50 (KOOS user's guide 2012).
            let pain = (1...9).map { "\"P\($0)\": 2" }.joined(separator: ", ")
            let created = try await coordinator.post(path, #"{"instrument": "koos", "answers": {\#(pain), "S1": null}, "completedAt": "2026-11-20T09:30:00Z"}"#)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location] == "/api/v1/questionnaire-responses/\(id)")
            let scores = try #require(created.json["scores"] as? [String: Any])
            #expect(scores["pain"] as? Double == 50)
            #expect(scores["symptoms"] is NSNull, "1 of 7 symptom items is below the half-of-items rule")
            #expect(created.json["scoringVersion"] as? String == "2012")
            #expect((created.json["answers"] as? [String: Any])?["P3"] as? Int == 2)
            #expect(created.json["completedAt"] as? String == "2026-11-20T09:30:00Z")
            #expect(created.json["source"] as? String == "staff")

            let read = try await coordinator.get("/api/v1/questionnaire-responses/\(id)")
            #expect(read.status == .ok)
            #expect((read.json["scores"] as? [String: Any])?["pain"] as? Double == 50)

            #expect(try await coordinator.post(path, #"{"instrument": "nrs-pain", "answers": {"pain": 6}}"#).status == .created)
            #expect(try await coordinator.get(path).json["total"] as? Int == 2)
            #expect(try await coordinator.get(path + "?instrument=koos").json["total"] as? Int == 1)
            #expect(try await coordinator.get(path + "?from=2026-11-20&to=2026-11-20").json["total"] as? Int == 1)
            expectProblem(try await coordinator.get(path + "?from=2026-02-30"), .badRequest, field: "from")

            // Bad answers: the item is named, and nothing is stored.
            let before = try await rowCount(f.store, "questionnaire_responses")
            expectProblem(try await coordinator.post(path, #"{"instrument": "koos", "answers": {"P1": 7}}"#), .unprocessableContent, field: "answers.P1")
            expectProblem(try await coordinator.post(path, #"{"instrument": "koos", "answers": {"X9": 1}}"#), .unprocessableContent)
            expectProblem(try await coordinator.post(path, #"{"instrument": "womac", "answers": {}}"#), .unprocessableContent)
            expectProblem(try await coordinator.post(path, #"{"instrument": "koos", "answers": {}, "score": 100}"#), .unprocessableContent, field: "score")
            expectProblem(try await coordinator.post(path, #"{"instrument": "koos", "answers": {}, "completedAt": "yesterday"}"#), .unprocessableContent, field: "completedAt")
            expectProblem(try await coordinator.send(.post, path, "instrument=koos", contentType: "application/x-www-form-urlencoded"), .unsupportedMediaType)
            #expect(try await rowCount(f.store, "questionnaire_responses") == before)

            // Another site's episode does not exist for this coordinator; researchers get no identified data.
            let other = "/api/v1/episodes/\(f.episodeB.id.lowercasedID)/questionnaire-responses"
            expectProblem(try await coordinator.post(other, #"{"instrument": "nrs-pain", "answers": {"pain": 3}}"#), .notFound)
            expectProblem(try await coordinator.get(other), .notFound)
            expectProblem(try await researcher.get(path), .forbidden)
            expectProblem(try await researcher.get("/api/v1/questionnaire-responses/\(id)"), .forbidden)
            #expect(try await rowCount(f.store, "questionnaire_responses") == before)
        }
    }
}
