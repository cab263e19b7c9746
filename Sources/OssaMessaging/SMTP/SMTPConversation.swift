import Foundation
import NIOCore
import NIOSSL

/// One SMTP session on one connection, in lock-step (no PIPELINING): a command, then its reply.
///
/// Owned by the single task running `SMTPClient.send` and never shared, so it is deliberately not Sendable. Every
/// method throws only `SessionFailure`; a message-level refusal is a returned `DeliveryResult` instead.
final class SMTPConversation {
    private let client: SMTPClient
    private let channel: any Channel
    private var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
    private let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var capabilities = EHLOCapabilities()
    private var tlsActive: Bool
    /// The code of the last reply, for the per-message log line.
    private(set) var lastCode: Int?

    init(client: SMTPClient, channel: any Channel, inbound: NIOAsyncChannelInboundStream<SMTPReply>,
         outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.client = client
        self.channel = channel
        self.replies = inbound.makeAsyncIterator()
        self.writer = outbound
        self.tlsActive = client.server.security == .implicitTLS
    }

    // MARK: Session

    /// Greeting, EHLO, STARTTLS (+ EHLO again), AUTH: afterwards the session is ready for messages.
    func open() async throws {
        let greeting = try await exchange(nil, .greeting)
        guard greeting.code == 220 else { throw SessionFailure.refused(.greeting, greeting) }
        try await hello()
        switch (client.server.security, capabilities.startTLS) {
        case (.implicitTLS, _): break
        case (_, true): try await startTLS()
        case (.startTLSRequired, false):
            throw SessionFailure.policy(.startTLS, "STARTTLS is required (starttls=required) but the server does not offer it")
        case (.startTLSWhenOffered, false): break
        }
        if let credentials = client.server.credentials { try await authenticate(credentials) }
    }

    /// Best effort: the messages' fate is already known, so errors here change nothing.
    func quit() async {
        _ = try? await exchange(line("QUIT"), .quit)
    }

    private func hello() async throws {
        let ehlo = try await exchange(line("EHLO \(client.heloName)"), .ehlo)
        if ehlo.code == 250 {
            capabilities = EHLOCapabilities(ehlo)
            return
        }
        // A server that does not know EHLO (5xx) gets HELO and no extensions; a 4xx or 421 is a refusal.
        guard (500..<600).contains(ehlo.code) else { throw SessionFailure.refused(.ehlo, ehlo) }
        let helo = try await exchange(line("HELO \(client.heloName)"), .helo)
        guard helo.code == 250 else { throw SessionFailure.refused(.helo, helo) }
        capabilities = EHLOCapabilities()
    }

    private func startTLS() async throws {
        let channel = self.channel, context = client.tlsContext, serverName = client.serverNameIndication
        try await onEventLoop { try channel.pipeline.syncOperations.handler(type: SMTPReplyDecoder.self).armTLSFence() }
        let reply = try await exchange(line("STARTTLS"), .startTLS)
        guard reply.code == 220 else {
            try await onEventLoop { try channel.pipeline.syncOperations.handler(type: SMTPReplyDecoder.self).disarmTLSFence() }
            throw SessionFailure.refused(.startTLS, reply)
        }
        // TLS goes in front of the decoder and the fence comes down in the same event-loop tick (see the decoder).
        try await onEventLoop {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
            try sync.handler(type: SMTPReplyDecoder.self).disarmTLSFence()
        }
        tlsActive = true
        // RFC 3207: forget what was learnt in plain text and ask again; handshake errors surface here.
        try await hello()
    }

    private func authenticate(_ credentials: SMTPCredentials) async throws {
        guard Self.mayAuthenticate(overTLS: tlsActive, host: client.server.host) else {
            throw SessionFailure.policy(.auth, "credentials are sent only over TLS or to a loopback host, and the server offers no STARTTLS")
        }
        let mechanisms = capabilities.authMechanisms
        if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
            let token = base64("\u{0}\(credentials.username)\u{0}\(credentials.password)")
            let reply = try await exchange(line("AUTH PLAIN \(token)"), .auth)
            guard reply.code == 235 else { throw SessionFailure.refused(.auth, reply) }
            return
        }
        for (text, expected) in [("AUTH LOGIN", 334), (base64(credentials.username), 334), (base64(credentials.password), 235)] {
            let reply = try await exchange(line(text), .auth)
            guard reply.code == expected else { throw SessionFailure.refused(.auth, reply) }
        }
    }

    /// Credentials never travel in plain text across a network; a local relay may take them without TLS.
    static func mayAuthenticate(overTLS: Bool, host: String) -> Bool {
        overTLS || isLoopbackHost(host)
    }

    // MARK: Messages

    /// One transaction. A refusal of the message is returned (after RSET, so the session can go on); a broken or
    /// refused session throws.
    func deliver(_ message: OutgoingEmail, date: Date) async throws -> DeliveryResult {
        let mail = try await exchange(line("MAIL FROM:<\(message.from.address)>"), .mail)
        guard mail.code == 250 else { return try await refused(.mail, mail) }
        let rcpt = try await exchange(line("RCPT TO:<\(message.to.address)>"), .rcpt)
        guard rcpt.code == 250 || rcpt.code == 251 else { return try await refused(.rcpt, rcpt) }
        let data = try await exchange(line("DATA"), .data)
        guard data.code == 354 else { return try await refused(.data, data) }
        let payload = DotStuffing.payload(MIMEMessage.render(message, date: date), allocator: channel.allocator)
        let accepted = try await exchange(payload, .data)
        guard accepted.code == 250 else { return try await refused(.data, accepted) }
        return .sent
    }

    /// 5xx: permanent (at MAIL FROM, the sender itself is refused: the channel is unavailable), anything else:
    /// transient; then RSET to clear the transaction for the next message.
    /// 421 means the server is closing the session, which ends the batch.
    private func refused(_ step: SMTPStep, _ reply: SMTPReply) async throws -> DeliveryResult {
        guard reply.code != 421 else { throw SessionFailure.refused(step, reply) }
        let text = "\(step.rawValue) \(reply.code) \(reply.shortText)"
        let result: DeliveryResult = !(500..<600).contains(reply.code) ? .transient(text) : step == .mail ? .unavailable(text) : .permanent(text)
        let reset = try await exchange(line("RSET"), .rset)
        guard reset.code == 250 else { throw SessionFailure.refused(.rset, reset) }
        lastCode = reply.code
        return result
    }

    // MARK: Wire

    private func line(_ text: String) -> ByteBuffer {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count + 2)
        buffer.writeString(text)
        buffer.writeString("\r\n")
        return buffer
    }

    /// Writes `bytes` (if any) and reads one reply, all within the command timeout. On expiry the timer closes the
    /// channel — which also unblocks a write stuck on a full socket — and the step reports a timeout; the session is
    /// over either way, since its state is unknown.
    private func exchange(_ bytes: ByteBuffer?, _ step: SMTPStep) async throws -> SMTPReply {
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(client.commandTimeout)) { channel.close(promise: nil) }
        let outcome: Result<SMTPReply?, any Error>
        do {
            if let bytes { try await writer.write(bytes) }
            outcome = .success(try await replies.next())
        } catch {
            outcome = .failure(error)
        }
        timer.cancel()
        // The timer's future succeeds only if it ran (a cancelled one fails), whatever the read saw meanwhile.
        if (try? await timer.futureResult.get()) != nil { throw SessionFailure.timedOut(step, after: client.commandTimeout) }
        switch outcome {
        case .success(let reply?):
            lastCode = reply.code
            return reply
        case .success(nil):
            throw SessionFailure.closedByServer(step)
        case .failure(let error):
            throw SessionFailure.broken(step, error)
        }
    }

    private func onEventLoop(_ body: @escaping @Sendable () throws -> Void) async throws {
        do {
            try await channel.eventLoop.submit(body).get()
        } catch {
            throw SessionFailure.broken(.startTLS, error)
        }
    }

    private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}

/// What an EHLO reply says the server can do; only what this client uses.
struct EHLOCapabilities: Sendable, Hashable {
    var startTLS = false
    var authMechanisms: Set<String> = []

    init() {}

    /// The first line is the server's greeting; each further line is `KEYWORD [params]`.
    init(_ reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            let words = line.uppercased().split(separator: " ")
            guard let keyword = words.first else { continue }
            if keyword == "STARTTLS" { startTLS = true }
            if keyword == "AUTH" { authMechanisms.formUnion(words.dropFirst().map(String.init)) }
            // Pre-RFC 4954 servers (old Exchange) announce "AUTH=LOGIN PLAIN".
            if keyword.hasPrefix("AUTH=") {
                authMechanisms.insert(String(keyword.dropFirst(5)))
                authMechanisms.formUnion(words.dropFirst().map(String.init))
            }
        }
    }
}
