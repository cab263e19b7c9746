import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// One text message for the SMS gateway.
public struct OutgoingSMS: Sendable, Hashable {
    /// Sent as `Idempotency-Key`, so a gateway can drop a retry of a request whose answer was lost.
    public let messageID: String
    /// The phone number as stored (the gateway normalises it).
    public let to: String
    public let body: String

    public init(messageID: String, to: String, body: String) {
        self.messageID = messageID
        self.to = to
        self.body = body
    }
}

/// Hands SMS to the gateway behind `OSSA_SMS_WEBHOOK_URL`: `POST` of `{"to": …, "body": …}` as JSON.
///
/// Lifecycle: the client either owns its `HTTPClient` (the convenience initialiser) or uses one it is given; call
/// `shutdown()` once when done — it shuts down an owned client and leaves a given one to its owner. An owned client
/// never follows redirects: following one could turn the POST into a GET and report a message as sent that never
/// was, so a 3xx counts as a permanent failure (the setting points at the wrong URL).
public final class SMSWebhookClient: Sendable {
    public let url: URL
    /// Bound on the whole request, connecting to reading the answer's head.
    public let timeout: Duration
    private let httpClient: HTTPClient
    private let ownsHTTPClient: Bool
    private let logger: Logger

    /// Creates and owns an `HTTPClient` (no redirects, `timeout` for connect and read).
    public convenience init(url: URL, timeout: Duration = .seconds(10),
                            logger: Logger = Logger(label: "ossa.messaging.sms")) {
        let configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(timeout), read: TimeAmount(timeout)))
        self.init(url: url, httpClient: HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration),
                  owns: true, timeout: timeout, logger: logger)
    }

    /// Uses `httpClient`, which the caller shuts down; it should not follow redirects (see the type's comment).
    public convenience init(url: URL, httpClient: HTTPClient, timeout: Duration = .seconds(10),
                            logger: Logger = Logger(label: "ossa.messaging.sms")) {
        self.init(url: url, httpClient: httpClient, owns: false, timeout: timeout, logger: logger)
    }

    private init(url: URL, httpClient: HTTPClient, owns: Bool, timeout: Duration, logger: Logger) {
        self.url = url
        self.httpClient = httpClient
        self.ownsHTTPClient = owns
        self.timeout = timeout
        self.logger = logger
    }

    /// Shuts the owned `HTTPClient` down; a no-op for a given one. Call once, after the last `send`.
    public func shutdown() async throws {
        if ownsHTTPClient { try await httpClient.shutdown() }
    }

    /// Posts the message. Never throws: every failure is a `DeliveryResult` whose text holds the HTTP status or the
    /// kind of network error, never the number, the text or the gateway's answer.
    /// AsyncHTTPClient keeps retrying a refused connection until the deadline, so an unreachable gateway is
    /// reported after `timeout`, not at once.
    public func send(_ message: OutgoingSMS) async -> DeliveryResult {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: message.messageID)
        if let authorization = basicAuthorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(bytes: Self.jsonBody(message)))
        let result: DeliveryResult
        do {
            let response = try await httpClient.execute(request, timeout: TimeAmount(timeout), logger: nil)
            // Drain (bounded) so the connection can be reused; the content is not looked at.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            result = Self.classify(status: Int(response.status.code))
            logger.debug("sms webhook", metadata: ["message_id": "\(message.messageID)", "http.status": "\(response.status.code)",
                                                   "outcome": "\(result.outcome)"])
        } catch {
            result = .transient("network: \(Self.describe(error))")
            logger.warning("sms webhook failed", metadata: ["message_id": "\(message.messageID)", "outcome": "transient"])
        }
        return result
    }

    /// 2xx sent; 408, 429 and 5xx transient (the gateway is busy or down); 1xx, 3xx, 401, 403, 404 and 405
    /// unavailable (the URL or its credentials are not the gateway's: no message can go); any other status
    /// permanent — this request will never be accepted.
    public static func classify(status: Int) -> DeliveryResult {
        switch status {
        case 200..<300: .sent
        case 408, 429, 500..<600: .transient("HTTP \(status)")
        case 100..<200, 300..<400, 401, 403, 404, 405: .unavailable("HTTP \(status)")
        default: .permanent("HTTP \(status)")
        }
    }

    /// `{"to":"…","body":"…"}`, keys sorted so the bytes are stable.
    static func jsonBody(_ message: OutgoingSMS) -> [UInt8] {
        struct Payload: Encodable { let to: String; let body: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding two strings cannot fail.
        return Array((try? encoder.encode(Payload(to: message.to, body: message.body))) ?? Data())
    }

    /// `user:password@` in the URL becomes HTTP Basic authentication (AsyncHTTPClient does not do that itself).
    private var basicAuthorization: String? {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false), let user = components.user else { return nil }
        return "Basic " + Data("\(user):\(components.password ?? "")".utf8).base64EncodedString()
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "timed out" }
            if error == .remoteConnectionClosed { return "connection closed by the gateway" }
        }
        return String(String(describing: error).prefix(100))
    }
}
