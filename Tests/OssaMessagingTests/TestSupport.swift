import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
@testable import OssaMessaging

/// Builders for the messages and clients the tests use.
enum Fixture {
    static let sender = "Ossa Clinic <noreply@clinic.example>"

    static func email(id: String = "\(UUID().uuidString.lowercased())@ossa.test", to: String = "jane.doe@example.org",
                      subject: String = "Your 6-month knee questionnaire", text: String = "Please answer: https://ossa.test/q/abc",
                      html: String? = nil, headers: [MessageHeader] = []) throws -> OutgoingEmail {
        try OutgoingEmail(messageID: id, from: EmailAddress(parsing: sender), to: EmailAddress(parsing: to), subject: subject,
                          textBody: text, htmlBody: html, headers: headers)
    }

    /// `timeout`: 20 s by default, far above a local server's replies even on a loaded machine (5 s timed out EHLO
    /// to the in-process server while every suite and a build shared two cores); the stall tests pass their own.
    static func client(port: Int, host: String = "127.0.0.1", security: SMTPServerConfiguration.Security = .startTLSWhenOffered,
                       credentials: SMTPCredentials? = nil, trustTestCA: Bool = true, timeout: Duration = .seconds(20),
                       logs: CapturedLogs? = nil) throws -> SMTPClient {
        try SMTPClient(server: SMTPServerConfiguration(host: host, port: port, security: security, credentials: credentials),
                       trustRoots: trustTestCA ? .certificates([TestCertificates.ca]) : .default, commandTimeout: timeout,
                       heloName: "ossa.test", logger: (logs ?? CapturedLogs()).logger)
    }

    /// A port on which nothing listens (bound, then released).
    static func closedPort() async throws -> Int {
        let server = try await FakeSMTPServer.start()
        await server.stop()
        return server.port
    }
}

/// Every log line a logger wrote, rendered with its metadata, so tests can prove what logs do not contain.
final class CapturedLogs: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    var all: [String] { lines.withLockedValue { $0 } }
    var text: String { all.joined(separator: "\n") }

    var logger: Logger {
        var logger = Logger(label: "ossa.messaging.test") { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLockedValue { $0.append(line) } }

    private struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            sink.append("\(event.level) \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }
}

extension DeliveryResult {
    var isTransient: Bool { if case .transient = self { true } else { false } }
    var isPermanent: Bool { if case .permanent = self { true } else { false } }
    var reason: String {
        switch self {
        case .sent: ""
        case .transient(let text), .permanent(let text), .unavailable(let text): text
        }
    }
}

/// Decodes what `MIMEMessage` produces, independently of its encoder: quoted-printable bodies and RFC 2047 words.
enum Decode {
    static func quotedPrintable(_ text: String) -> String {
        var bytes: [UInt8] = []
        let source = Array(text.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "="), index + 2 < source.count {
                if source[index + 1] == 0x0D, source[index + 2] == 0x0A { index += 3; continue }  // soft break
                if let value = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                    bytes.append(value)
                    index += 3
                    continue
                }
            }
            bytes.append(source[index])
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An unstructured header value: encoded-words decoded, the white space between two adjacent encoded-words
    /// dropped (RFC 2047 §6.2), other text kept.
    static func encodedWords(_ value: String) -> String {
        var output: [UInt8] = []
        var previousWasEncoded = false
        for (index, token) in value.replacingOccurrences(of: "\r\n ", with: " ").split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            let parts = token.split(separator: "?", omittingEmptySubsequences: false)
            let encoded = parts.count == 5 && parts[0] == "=" && parts[1].uppercased() == "UTF-8" && parts[4] == "="
            if index > 0, !(encoded && previousWasEncoded) { output.append(UInt8(ascii: " ")) }
            previousWasEncoded = encoded
            guard encoded else { output += Array(token.utf8); continue }
            if parts[2].uppercased() == "B" {
                output += Array(Data(base64Encoded: String(parts[3])) ?? Data())
            } else {
                output += Array(quotedPrintable(parts[3].replacingOccurrences(of: "_", with: " ")).utf8)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The headers of a rendered message, unfolded, by lower-cased name (last one wins).
    static func headers(_ message: String) -> [String: String] {
        let head = message.components(separatedBy: "\r\n\r\n").first ?? ""
        var result: [String: String] = [:]
        for field in head.replacingOccurrences(of: "\r\n ", with: " ").components(separatedBy: "\r\n") {
            guard let colon = field.firstIndex(of: ":") else { continue }
            result[field[..<colon].lowercased()] = field[field.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }
}
