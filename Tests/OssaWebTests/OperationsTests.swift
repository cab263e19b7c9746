import Foundation
import Hummingbird
import HummingbirdTesting
@testable import OssaStore
@testable import OssaWeb
import Testing

@Suite("Security headers, request ids, health, readiness and metrics")
struct OperationsTests {
    func expectSecurityHeaders(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        let csp = response.headers[.contentSecurityPolicy] ?? ""
        #expect(csp.contains("default-src 'self'"), sourceLocation: sourceLocation)
        #expect(csp.contains("frame-ancestors 'none'"), sourceLocation: sourceLocation)
        #expect(response.headers[.xContentTypeOptions] == "nosniff", sourceLocation: sourceLocation)
        #expect(response.headers[.init("Referrer-Policy")!] == "no-referrer", sourceLocation: sourceLocation)
    }

    @Test("every kind of response carries the security headers")
    func securityHeaders() async throws {
        try await withServer { _, client in
            let session = try await signIn(client, "clinician@example.org")
            for (uri, headers) in [("/login", HTTPFields()), ("/patients", session.headers), ("/api/v1/me", session.headers),
                                   ("/api/v1/patients/nope", session.headers), ("/no/such/page", HTTPFields()),
                                   ("/healthz", HTTPFields()), ("/static/ossa.css", HTTPFields())] {
                let response = try await client.execute(uri: uri, method: .get, headers: headers)
                expectSecurityHeaders(response)
            }
            let page = try await client.execute(uri: "/patients", method: .get, headers: session.headers)
            #expect(page.headers[.cacheControl] == "no-store")
            #expect(!page.text.contains("style=") && !page.text.contains("<script"))
        }
    }

    @Test("X-Request-ID is echoed when sane and generated otherwise")
    func requestIDs() async throws {
        try await withServer { _, client in
            let echoed = try await client.execute(uri: "/healthz", method: .get, headers: [.init("X-Request-ID")!: "abc-123.x_y"])
            #expect(echoed.headers[.init("X-Request-ID")!] == "abc-123.x_y")
            let replaced = try await client.execute(uri: "/healthz", method: .get, headers: [.init("X-Request-ID")!: "bad id\u{7f}"])
            let generated = try #require(replaced.headers[.init("X-Request-ID")!])
            #expect(generated != "bad id\u{7f}" && !generated.isEmpty)
        }
    }

    @Test("behind a trusted proxy the address it added reaches the audit log, not one the client made up")
    func forwardedAddress() async throws {
        try await withServer { server, client in
            let session = try await signIn(client, "clinician@example.org")
            var headers = session.headers
            headers[.init("X-Forwarded-For")!] = "6.6.6.6, 203.0.113.5"
            let response = try await client.execute(uri: "/api/v1/patients/\(server.fixture.patientA.id.lowercasedID)", method: .get,
                                                    headers: headers)
            #expect(response.status == .ok)
            let entries = try await AuditLog.readEntries(on: server.fixture.store.database.sql(), after: 0, limit: 10_000)
            #expect(entries.last { $0.action == "read" && $0.recordType == "patient" }?.fromAddress == "203.0.113.5")
        }
    }

    @Test("health, readiness and metrics", arguments: Engine.available)
    func operations(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.json["status"] as? String == "ready")
            let session = try await signIn(client, "clinician@example.org")
            _ = try await client.execute(uri: "/api/v1/patients/\(server.fixture.patientA.id.lowercasedID)", method: .get, headers: session.headers)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"ossa_http_requests_total{method="GET",route="/api/v1/patients/{patientID}",status="200"} 1"#))
            #expect(metrics.text.contains("ossa_http_request_duration_seconds_bucket"))
            // Ids and names never become labels.
            #expect(!metrics.text.contains(server.fixture.patientA.id.lowercasedID))
        }
    }

    @Test("readiness fails with 503 when the database is gone")
    func notReady() async throws {
        try await withServer { server, client in
            await server.fixture.store.database.shutdown()
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.contentType] == "application/problem+json")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }
}
