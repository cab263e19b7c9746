import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import OssaStore
@testable import OssaWeb
import ServiceLifecycle
import Testing

@Suite("Over a real socket, in the logs, and at shutdown")
struct LiveTests {
    @Test("a live server: the socket's address reaches the audit log; forwarded headers are ignored by default")
    func live() async throws {
        let configuration = testConfiguration { $0.trustForwardedFor = false }
        try await withServer(configuration: configuration, setup: .live) { server, client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            let session = try await signIn(client, "clinician@example.org", address: "6.6.6.6")
            let patient = try await client.execute(uri: "/api/v1/patients/\(server.fixture.patientA.id.lowercasedID)", method: .get,
                                                   headers: session.headers)
            #expect(patient.status == .ok)
            let entries = try await AuditLog.readEntries(on: server.fixture.store.database.sql(), after: 0, limit: 10_000)
            let read = try #require(entries.last { $0.action == "read" && $0.recordType == "patient" })
            #expect(read.fromAddress == "127.0.0.1" || read.fromAddress == "::1")
            #expect(!entries.contains { $0.fromAddress == "6.6.6.6" })
            // Sending more than the limit over the wire is refused, not a server error.
            var headers = bearer(try await apiToken(client, session))
            headers[.contentType] = "application/json"
            let big = try await client.execute(uri: "/api/v1/patients", method: .post, headers: headers,
                                               body: jsonBody(String(repeating: " ", count: configuration.maxBodySize + 1) + "{}"))
            #expect(big.status == .contentTooLarge)
        }
    }

    @Test("request logs name the route template, status and request id, and no names, ids or query strings")
    func logs() async throws {
        let capture = LogCapture()
        try await withServer(logger: capture.logger(level: .info)) { server, client in
            let session = try await signIn(client, "clinician@example.org")
            _ = try await client.execute(uri: "/patients?q=M%C3%BCller", method: .get, headers: session.headers)
            _ = try await client.execute(uri: "/api/v1/patients?q=Novak", method: .get, headers: session.headers)
            _ = try await client.execute(uri: "/api/v1/patients/\(server.fixture.patientA.id.lowercasedID)", method: .get,
                                         headers: [.cookie: "ossa_session=\(session.cookie)", .init("X-Request-ID")!: "trace-42"])
            _ = try await postLogin(client, email: "clinician@example.org", password: "a wrong password")
        }
        let lines = capture.all
        let request = try #require(lines.first { $0.contains("request_id=trace-42") && $0.contains("info request") })
        #expect(request.contains("route=/api/v1/patients/{patientID}"))
        #expect(request.contains("status=200"))
        #expect(request.contains("method=GET"))
        #expect(request.contains("duration_ms="))
        for forbidden in ["Müller", "Muller", "Novak", "q=", "clinician@example.org", "a wrong password", "Anna"] {
            #expect(!lines.contains { $0.contains(forbidden) }, "logs contain \(forbidden)")
        }
    }

    @Test("graceful shutdown stops the server and then closes the store")
    func gracefulShutdown() async throws {
        try await withStore(.sqlite) { store in
            var logger = Logger(label: "ossa.web.test")
            logger.logLevel = .warning
            let configuration = testConfiguration { $0.port = 0 }
            let app = try await buildApplication(configuration: configuration, store: store, logger: logger)
            let group = OssaServer.serviceGroup(app, store: store, configuration: configuration, logger: logger, signals: [])
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await Task.sleep(for: .milliseconds(300))
                _ = try store.database.fluent()  // still open while serving
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(throws: OssaDatabaseError.shutDown) { _ = try store.database.fluent() }
        }
    }
}
