import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import OssaMessaging

@Suite("SMS webhook client")
struct SMSWebhookClientTests {
    @Test("status classification: 2xx sent; 408, 429, 5xx transient; a wrong URL or credentials unavailable; other statuses permanent", arguments: [
        (200, "sent"), (201, "sent"), (202, "sent"), (204, "sent"),
        (408, "transient"), (429, "transient"), (500, "transient"), (502, "transient"), (503, "transient"), (599, "transient"),
        (400, "permanent"), (409, "permanent"), (422, "permanent"),
        (401, "unavailable"), (403, "unavailable"), (404, "unavailable"), (405, "unavailable"),
        (301, "unavailable"), (302, "unavailable"), (101, "unavailable"),
    ])
    func classification(_ status: Int, _ outcome: String) {
        let result = SMSWebhookClient.classify(status: status)
        #expect(result.outcome == outcome)
        if outcome != "sent" { #expect(result.reason == "HTTP \(status)") }
    }

    @Test("the body is exactly {\"body\":…,\"to\":…}")
    func body() {
        let bytes = SMSWebhookClient.jsonBody(OutgoingSMS(messageID: "m", to: "+15550100", body: "Grüße \"Jane\" https://ossa.test/q/a"))
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"body":"Grüße \"Jane\" https://ossa.test/q/a","to":"+15550100"}"#)
    }

    /// What the gateway saw.
    struct Received: Sendable, Equatable {
        let json: [String: String]
        let idempotencyKey: String?
        let contentType: String?
        let authorization: String?
    }

    /// A Hummingbird gateway on a random port: the phone number picks the answer (`+1555000<status>`), `+slow` sleeps.
    func withGateway(_ body: @Sendable @escaping (_ port: Int, _ received: @Sendable () -> [Received]) async throws -> Void) async throws {
        let log = NIOLockedValueBox<[Received]>([])
        let router = Router()
        router.post("/sms") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 64 * 1024)
            let json = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: String] ?? [:]
            log.withLockedValue {
                $0.append(Received(json: json, idempotencyKey: request.headers[.init("Idempotency-Key")!],
                                   contentType: request.headers[.contentType], authorization: request.headers[.authorization]))
            }
            let to = json["to"] ?? ""
            if to == "+slow" { try await Task.sleep(for: .seconds(12)) }
            if to == "+redirect" {
                return Response(status: .found, headers: [.location: "/elsewhere"])
            }
            let status = to.hasPrefix("+1555000") ? Int(to.dropFirst(8)) ?? 200 : 200
            return Response(status: .init(code: status))
        }
        router.get("/elsewhere") { _, _ in Response(status: .ok) }
        var quiet = Logger(label: "sms.gateway")
        quiet.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: quiet)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body(port) { log.withLockedValue { $0 } }
        }
    }

    @Test("a real request: JSON body, Idempotency-Key, status codes mapped, Basic auth from the URL")
    func liveGateway() async throws {
        try await withGateway { port, received in
            let url = try #require(URL(string: "http://gw:s3cret@127.0.0.1:\(port)/sms"))
            let logs = CapturedLogs()
            // Eight seconds: the answers come well within it even while every suite runs at once on a loaded machine (three
            // seconds once timed out a first request in CI); `+slow` takes twelve.
            let client = SMSWebhookClient(url: url, timeout: .seconds(8), logger: logs.logger)
            let sent = await client.send(OutgoingSMS(messageID: "sms-1@ossa.test", to: "+15550100123", body: "Your questionnaire: https://ossa.test/q/x"))
            let busy = await client.send(OutgoingSMS(messageID: "sms-2@ossa.test", to: "+1555000503", body: "b"))
            let limited = await client.send(OutgoingSMS(messageID: "sms-3@ossa.test", to: "+1555000429", body: "b"))
            let refused = await client.send(OutgoingSMS(messageID: "sms-4@ossa.test", to: "+1555000400", body: "b"))
            let redirected = await client.send(OutgoingSMS(messageID: "sms-5@ossa.test", to: "+redirect", body: "b"))
            let slow = await client.send(OutgoingSMS(messageID: "sms-6@ossa.test", to: "+slow", body: "b"))
            try await client.shutdown()

            #expect(sent == .sent)
            #expect(busy == .transient("HTTP 503"))
            #expect(limited == .transient("HTTP 429"))
            #expect(refused == .permanent("HTTP 400"))
            #expect(redirected == .unavailable("HTTP 302"))
            #expect(slow.isTransient, "\(slow)")
            let first = try #require(received().first)
            #expect(first == Received(json: ["to": "+15550100123", "body": "Your questionnaire: https://ossa.test/q/x"],
                                      idempotencyKey: "sms-1@ossa.test", contentType: "application/json",
                                      authorization: "Basic " + Data("gw:s3cret".utf8).base64EncodedString()))
            #expect(received().count == 6)  // the redirect was not followed
            for secret in ["+1555", "questionnaire", "s3cret"] { #expect(!logs.text.contains(secret), "\(logs.text)") }
        }
    }

    @Test("nothing listening: transient; a given HTTPClient is left running for its owner")
    func refusedConnection() async throws {
        let port = try await Fixture.closedPort()
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))
        let client = SMSWebhookClient(url: try #require(URL(string: "http://127.0.0.1:\(port)/sms")), httpClient: http,
                                      timeout: .milliseconds(500), logger: CapturedLogs().logger)
        let result = await client.send(OutgoingSMS(messageID: "m@ossa.test", to: "+15550100", body: "b"))
        try await client.shutdown()
        // Still usable: shutdown() did not touch the client it was given.
        let again = await client.send(OutgoingSMS(messageID: "m@ossa.test", to: "+15550100", body: "b"))
        try await http.shutdown()
        #expect(result.isTransient, "\(result)")
        #expect(result.reason.hasPrefix("network: "))
        // The same kind of answer (the kernel may report a reset or a refusal, whichever comes first).
        #expect(again.isTransient && again.reason.hasPrefix("network: "), "\(again)")
    }
}
