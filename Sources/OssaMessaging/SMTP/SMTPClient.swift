import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Sends e-mail to one SMTP server (a relay or submission port), several messages per connection.
///
/// A value type holding only configuration, so it is freely shared between tasks: every `send` opens its own
/// connection, and the delivery worker may run several at once. TLS uses the system trust roots with certificate
/// and host name verification unless other roots are given (tests); there is no way to turn verification off.
///
/// Logs carry step, reply code and outcome only — never a recipient, a subject, a body or server text.
public struct SMTPClient: Sendable {
    public let server: SMTPServerConfiguration
    /// Bound on each step: connecting, and every command until its reply (DATA: sending the body and the reply).
    public let commandTimeout: Duration
    /// The name given in EHLO/HELO; some servers check that it is a plausible host name.
    public let heloName: String
    let tlsContext: NIOSSLContext
    private let group: any EventLoopGroup
    private let logger: Logger

    /// - Parameters:
    ///   - trustRoots: Certificates that may sign the server's; `.default` is the system store.
    ///   - heloName: Defaults to this machine's host name (gethostname); the delivery worker may pass the public URL's host.
    /// - Throws: When the TLS context cannot be built (unreadable trust roots).
    public init(server: SMTPServerConfiguration, trustRoots: NIOSSLTrustRoots = .default,
                commandTimeout: Duration = .seconds(30), heloName: String? = nil,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "ossa.messaging.smtp")) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = trustRoots
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        self.tlsContext = try NIOSSLContext(configuration: tls)
        self.server = server
        self.commandTimeout = commandTimeout
        self.heloName = Self.validHeloName(heloName ?? Self.machineName())
        self.group = eventLoopGroup
        var logger = logger
        logger[metadataKey: "smtp.server"] = "\(server.host):\(server.port)"
        self.logger = logger
    }

    /// Sends one message on its own connection.
    public func send(_ message: OutgoingEmail, date: Date = Date()) async -> DeliveryResult {
        await send([message], date: date)[0]
    }

    /// Sends `messages` in order on one connection; the results line up with the messages.
    ///
    /// A refused message (4xx/5xx to MAIL, RCPT or DATA) is reset and the next one tried. When the session itself
    /// fails — no connection, a timeout, TLS, a refused greeting/EHLO/AUTH, STARTTLS required but absent — the
    /// message in flight and all later ones get that failure; earlier results stand. A message whose DATA was sent
    /// but whose reply was lost is reported transient and will be sent again, with the same Message-ID.
    /// `date` is the Date header of every message.
    public func send(_ messages: [OutgoingEmail], date: Date = Date()) async -> [DeliveryResult] {
        guard !messages.isEmpty else { return [] }
        var results: [DeliveryResult] = []
        results.reserveCapacity(messages.count)
        do {
            let connection: NIOAsyncChannel<SMTPReply, ByteBuffer>
            do { connection = try await connect() } catch { throw SessionFailure.broken(.connect, error) }
            try await connection.executeThenClose { inbound, outbound in
                let conversation = SMTPConversation(client: self, channel: connection.channel, inbound: inbound, outbound: outbound)
                do {
                    try await conversation.open()
                    for message in messages {
                        guard !Task.isCancelled else {
                            throw SessionFailure(result: .transient("cancelled before sending"), step: .mail, code: nil, quitPolitely: true)
                        }
                        let result = try await conversation.deliver(message, date: date)
                        logger.debug("smtp message", metadata: [
                            "message_id": "\(message.messageID)", "outcome": "\(result.outcome)",
                            "smtp.code": "\(conversation.lastCode.map(String.init) ?? "-")",
                        ])
                        results.append(result)
                    }
                    await conversation.quit()
                } catch let failure as SessionFailure where failure.quitPolitely {
                    await conversation.quit()
                    throw failure
                }
            }
        } catch {
            let failure = error as? SessionFailure ?? SessionFailure.broken(.connect, error)
            logger.warning("smtp session failed", metadata: [
                "smtp.step": "\(failure.step.rawValue)", "smtp.code": "\(failure.code.map(String.init) ?? "-")",
                "outcome": "\(failure.result.outcome)", "messages.unsent": "\(messages.count - results.count)",
            ])
            results += Array(repeating: failure.result, count: messages.count - results.count)
        }
        return results
    }

    /// TCP (+ TLS at once for smtps), the reply decoder, and the async wrapper the conversation reads from.
    private func connect() async throws -> NIOAsyncChannel<SMTPReply, ByteBuffer> {
        let implicitTLS = server.security == .implicitTLS
        let context = tlsContext, serverName = serverNameIndication
        return try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(commandTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: server.host, port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if implicitTLS { try sync.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName)) }
                    try sync.addHandler(SMTPReplyDecoder())
                    return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// The TLS server name: the host, unless it is an IP address (SNI forbids those; NIOSSL then verifies the
    /// certificate against the peer's IP instead).
    var serverNameIndication: String? {
        (try? SocketAddress(ipAddress: server.host, port: 0)) == nil ? server.host : nil
    }

    /// gethostname(2), which, unlike `ProcessInfo.hostName`, never waits for DNS.
    static func machineName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A host name made of letters, digits, hyphens and dots, else `localhost` (an EHLO argument must be a domain).
    static func validHeloName(_ name: String) -> String {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy(isDomainLabel) ? name : "localhost"
    }
}
