import Foundation
import Hummingbird
import HummingbirdTesting
@testable import OssaWeb
import Testing

@Suite("The served OpenAPI document matches the routes")
struct OpenAPITests {
    /// `METHOD /path/{param}` for every operation in the document.
    func documented(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: Set<String> = []
        for (path, item) in paths {
            for method in item.keys where ["get", "put", "post", "patch", "delete", "head", "options"].contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    /// `METHOD /path/{param}` for every route whose path `includes` says (Hummingbird writes parameters as `:name`,
    /// OpenAPI as `{name}`).
    func routedOperations(_ router: Router<OssaRequestContext>, _ includes: (String) -> Bool) -> Set<String> {
        Set(router.routes.compactMap { route -> String? in
            let path = route.path.description
            guard includes(path) else { return nil }
            let openAPIPath = path.split(separator: "/", omittingEmptySubsequences: false).map { component in
                component.hasPrefix(":") ? "{\(component.dropFirst())}" : String(component)
            }.joined(separator: "/")
            return "\(route.method.rawValue) \(openAPIPath)"
        })
    }

    @Test("every /api/v1 route is documented with its method, and every documented operation is routed")
    func coverage() async throws {
        try await withServer { server, client in
            let response = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            #expect(response.status == .ok)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")

            let router = try await buildRouter(configuration: server.configuration, store: server.fixture.store,
                                               environment: server.environment)
            let routed = routedOperations(router) { $0.hasPrefix("/api/v1/") }
            let described = try documented(document)
            #expect(routed.subtracting(described).sorted() == [], "routes missing from openapi.json")
            #expect(described.subtracting(routed).sorted() == [], "documented operations with no route")
            #expect(routed.count >= 14)
        }
    }

    @Test("every schema reference resolves")
    func references() async throws {
        try await withServer { _, client in
            let text = try await client.execute(uri: "/api/v1/openapi.json", method: .get).text
            let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(try danglingReferences(text, document) == [])
        }
    }

    /// Every `$ref` of the document's text that names no component.
    func danglingReferences(_ text: String, _ document: [String: Any]) throws -> [String] {
        let components = try #require(document["components"] as? [String: [String: Any]])
        let regex = try Regex(##""\$ref": "#/components/(\w+)/(\w+)""##)
        return text.matches(of: regex).compactMap { match in
            let kind = String(match.output[1].substring ?? "")
            let name = String(match.output[2].substring ?? "")
            return components[kind]?[name] == nil ? "\(kind)/\(name)" : nil
        }
    }

    /// The FHIR document (`Resources/fhir-openapi.json`), as the schemathesis suite reads it.
    func fhirDocument() throws -> (text: String, json: [String: Any]) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/OssaWeb/Resources/fhir-openapi.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        return (text, try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]))
    }

    @Test("every /fhir route is in fhir-openapi.json with its method, every documented FHIR operation is routed, and its references resolve")
    func fhirCoverage() async throws {
        try await withServer { server, _ in
            let (text, document) = try fhirDocument()
            #expect(document["openapi"] as? String == "3.1.0")
            let router = try await buildRouter(configuration: server.configuration, store: server.fixture.store,
                                               environment: server.environment)
            let routed = routedOperations(router) { $0 == "/fhir" || $0.hasPrefix("/fhir/") }
            let described = try documented(document)
            #expect(routed.subtracting(described).sorted() == [], "FHIR routes missing from fhir-openapi.json")
            #expect(described.subtracting(routed).sorted() == [], "documented FHIR operations with no route")
            #expect(routed.count >= 40)
            #expect(try danglingReferences(text, document) == [])
        }
    }
}
