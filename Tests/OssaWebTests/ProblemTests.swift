import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import OssaStore
@testable import OssaWeb
import Testing

@Suite("Bad input gets a 4xx problem+json, never a 5xx")
struct ProblemTests {
    /// Checks the RFC 9457 shape and returns the document.
    @discardableResult
    func problem(_ response: TestResponse, _ status: HTTPResponse.Status,
                 sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any] {
        #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let json = response.json
        #expect(json["status"] as? Int == Int(status.code), sourceLocation: sourceLocation)
        #expect(json["type"] is String, sourceLocation: sourceLocation)
        #expect(json["title"] is String, sourceLocation: sourceLocation)
        #expect(json["requestId"] as? String == response.headers[.init("X-Request-ID")!], sourceLocation: sourceLocation)
        return json
    }

    func fieldErrors(_ json: [String: Any]) -> [String] {
        (json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    @Test("400, 404, 413, 415, 422 and 409 in their shapes", arguments: Engine.available)
    func shapes(engine: Engine) async throws {
        let configuration = testConfiguration { $0.maxBodySize = 4096 }
        try await withServer(engine, configuration: configuration) { server, client in
            let f = server.fixture
            let token = try await apiToken(client, try await signIn(client, "clinician@example.org"))
            func post(_ uri: String, _ body: String, contentType: String = "application/json") async throws -> TestResponse {
                var headers = bearer(token)
                headers[.contentType] = contentType
                return try await client.execute(uri: uri, method: .post, headers: headers, body: jsonBody(body))
            }
            let valid = #"{"siteId": "\#(f.siteA.id.lowercasedID)", "familyName": "Berg", "givenName": "Eva", "birthDate": "1966-02-14"}"#

            problem(try await post("/api/v1/patients", #"{"siteId": "#), .badRequest)
            problem(try await post("/api/v1/patients", ""), .badRequest)
            problem(try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: bearer(token)), .notFound)
            problem(try await client.execute(uri: "/api/v1/patients/not-an-id", method: .get, headers: bearer(token)), .notFound)
            let missing = problem(try await client.execute(uri: "/api/v1/patients/\(UUID().uuidString)", method: .get, headers: bearer(token)), .notFound)
            #expect((missing["detail"] as? String)?.hasPrefix("no patient") == true)

            let big = #"{"siteId": "\#(f.siteA.id.lowercasedID)", "familyName": "\#(String(repeating: "x", count: 5000))", "givenName": "E", "birthDate": "1966-02-14"}"#
            problem(try await post("/api/v1/patients", big), .contentTooLarge)
            // Without a Content-Length header the limit holds while reading the stream.
            var streamed = bearer(token)
            streamed[.contentType] = "application/json"
            problem(try await client.execute(uri: "/api/v1/patients", method: .post, headers: streamed, body: ByteBuffer(string: big)), .contentTooLarge)

            problem(try await post("/api/v1/patients", valid, contentType: "text/plain"), .unsupportedMediaType)
            problem(try await post("/api/v1/patients", "siteId=x", contentType: "application/x-www-form-urlencoded"), .unsupportedMediaType)

            let unknown = problem(try await post("/api/v1/patients", valid.replacingOccurrences(of: "}", with: #", "nickname": "Evi"}"#)), .unprocessableContent)
            #expect(fieldErrors(unknown) == ["nickname"])
            #expect((unknown["errors"] as? [[String: Any]])?.first?["message"] as? String == "unknown field \"nickname\"")
            let noName = problem(try await post("/api/v1/patients", #"{"siteId": "\#(f.siteA.id.lowercasedID)", "givenName": "Eva", "birthDate": "1966-02-14"}"#), .unprocessableContent)
            #expect(fieldErrors(noName) == ["familyName"])
            let badDate = problem(try await post("/api/v1/patients", valid.replacingOccurrences(of: "1966-02-14", with: "1966-02-30")), .unprocessableContent)
            #expect(fieldErrors(badDate) == ["birthDate"])
            let blank = problem(try await post("/api/v1/patients", valid.replacingOccurrences(of: "Berg", with: "  ")), .unprocessableContent)
            #expect(fieldErrors(blank) == ["familyName"])
            #expect(blank["type"] as? String == "/problems/validation")
            let badSex = problem(try await post("/api/v1/patients", valid.replacingOccurrences(of: "}", with: #", "sex": "f"}"#)), .unprocessableContent)
            #expect(fieldErrors(badSex) == ["sex"])
            let wrongType = problem(try await post("/api/v1/patients", valid.replacingOccurrences(of: #""Berg""#, with: "42")), .unprocessableContent)
            #expect(fieldErrors(wrongType) == ["familyName"])
            let grade = problem(try await post("/api/v1/patients/\(f.patientA.id.lowercasedID)/episodes",
                                               #"{"joint": "knee", "side": "left", "diagnosis": {"type": "osteoarthritis", "kellgrenLawrence": 5}}"#), .unprocessableContent)
            #expect(fieldErrors(grade) == ["diagnosis.kellgrenLawrence"])
            let hipAhlback = problem(try await post("/api/v1/patients/\(f.patientA.id.lowercasedID)/episodes",
                                                    #"{"joint": "hip", "side": "left", "diagnosis": {"type": "osteoarthritis", "ahlback": "II"}}"#), .unprocessableContent)
            #expect(fieldErrors(hipAhlback) == ["diagnosis.ahlback"])

            let limit = problem(try await client.execute(uri: "/api/v1/patients?limit=abc", method: .get, headers: bearer(token)), .badRequest)
            #expect(fieldErrors(limit) == ["limit"])
            problem(try await client.execute(uri: "/api/v1/patients?limit=100000", method: .get, headers: bearer(token)), .badRequest)
            problem(try await client.execute(uri: "/api/v1/patients?site=nope", method: .get, headers: bearer(token)), .badRequest)

            #expect(try await post("/api/v1/patients", valid.replacingOccurrences(of: "}", with: #", "mrn": "A-1"}"#)).status == .conflict)
            let anonymous = problem(try await client.execute(uri: "/api/v1/patients", method: .get), .unauthorized)
            #expect(anonymous["detail"] is String)
            // Nothing was half-written by the refused requests.
            let list = try await client.execute(uri: "/api/v1/patients", method: .get, headers: bearer(token))
            #expect(list.json["total"] as? Int == 2)
        }
    }
}
