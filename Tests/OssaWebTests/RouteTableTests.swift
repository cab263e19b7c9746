import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import OssaWeb
import Testing

/// The route table: every route is one of `Paths`, wrong methods answer 405 with `Allow`, and every state-changing
/// route refuses a signed-in browser's request that lacks the CSRF token.
@Suite("Route table, methods and CSRF")
struct RouteTableTests {
    func routes(_ server: TestServer) async throws -> [Router<OssaRequestContext>.RouteDescription] {
        try await buildRouter(configuration: server.configuration, store: server.fixture.store, environment: server.environment).routes
    }

    /// A concrete URL for a template: every parameter an id that exists nowhere.
    func concrete(_ template: String) -> String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") ? (segment == "{file}" ? "ossa.css" : UUID().uuidString.lowercased()) : String(segment)
        }.joined(separator: "/")
    }

    @Test("every registered route is declared in Paths, and every declared path is routed")
    func routesComeFromPaths() async throws {
        try await withServer { server, _ in
            let registered = Set(try await routes(server).map(\.path.description))
            let declared = Set(Paths.all.map(\.openAPI))
            #expect(registered.subtracting(declared).sorted() == [], "routes registered with a hand-written path")
            #expect(declared.subtracting(registered).sorted() == [], "declared paths with no route")
            #expect(Paths.API.patient.url(server.fixture.patientA.id) == "/api/v1/patients/\(server.fixture.patientA.id.uuidString.lowercased())")
            #expect(Paths.episode.url("a b") == "/episodes/a%20b")
        }
    }

    @Test("every POST, PUT, PATCH and DELETE refuses a signed-in browser's request without the CSRF token")
    func everyUnsafeRouteNeedsTheCSRFToken() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let writes = try await routes(server).filter { ![.get, .head, .options].contains($0.method) }
            #expect(writes.count >= 15)
            for route in writes where route.path.description != Paths.login.template {
                let uri = concrete(route.path.description)
                for contentType in ["application/json", "application/x-www-form-urlencoded"] {
                    var headers = session.headers
                    headers[.contentType] = contentType
                    let body = contentType == "application/json" ? jsonBody("{}") : formBody([("note", "x")])
                    let response = try await client.execute(uri: uri, method: route.method, headers: headers, body: body)
                    #expect(response.status == .forbidden, "\(route.method) \(route.path) (\(contentType)) answered \(response.status)")
                    #expect(response.text.contains("CSRF"), "\(route.method) \(route.path)")
                }
                // A wrong token is refused the same way.
                var headers = session.headers
                headers[.contentType] = "application/json"
                headers[.init("X-CSRF-Token")!] = session.csrf + "x"
                let wrong = try await client.execute(uri: uri, method: route.method, headers: headers, body: jsonBody("{}"))
                #expect(wrong.status == .forbidden, "\(route.method) \(route.path) with a wrong token")
            }
            // The token in the form field passes: sign-out works from the page's form.
            var headers = session.headers
            headers[.contentType] = "application/x-www-form-urlencoded"
            let out = try await client.execute(uri: Paths.logout.template, method: .post, headers: headers,
                                               body: formBody([("_csrf", session.csrf)]))
            #expect(out.status == .seeOther)
        }
    }

    @Test("a wrong method on a known path is 405 with Allow; OPTIONS lists the methods; TRACE never reaches a handler")
    func methodNotAllowed() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            let patient = Paths.API.patient.url(server.fixture.patientA.id)
            let delete = try await client.execute(uri: patient, method: .delete, headers: session.headers)
            #expect(delete.status == .methodNotAllowed)
            #expect(delete.headers[.allow] == "GET, HEAD, PATCH")
            #expect(delete.headers[.contentType] == "application/problem+json")

            let sign = try await client.execute(uri: concrete(Paths.API.procedureSign.template), method: .get)
            #expect(sign.status == .methodNotAllowed)
            #expect(sign.headers[.allow] == "POST")

            let options = try await client.execute(uri: Paths.API.patients.template, method: .options)
            #expect(options.status == .noContent)
            #expect(options.headers[.allow] == "GET, HEAD, POST")

            for method in [HTTPRequest.Method("TRACE")!, HTTPRequest.Method("PROPFIND")!] {
                let response = try await client.execute(uri: Paths.API.patients.template, method: method, headers: session.headers)
                #expect(response.status == .methodNotAllowed, "\(method)")
                #expect(!response.text.contains("familyName"))
            }
            let page = try await client.execute(uri: Paths.patients.template, method: .put, headers: session.headers)
            #expect(page.status == .methodNotAllowed)
            #expect(try await client.execute(uri: "/api/v1/no-such-thing", method: .delete).status == .notFound)
            // HEAD is answered wherever GET is.
            #expect(try await client.execute(uri: Paths.health.template, method: .head).status == .ok)
        }
    }
}
