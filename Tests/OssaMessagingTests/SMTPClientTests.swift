import Foundation
import NIOCore
import NIOSSL
import Testing
@testable import OssaMessaging

/// The client against the in-process fake server (FakeSMTPServer.swift), one scripted behaviour per test.
@Suite("SMTP client")
struct SMTPClientTests {
    @Test("one message: envelope, dot-stuffed DATA with the terminator, QUIT")
    func sendsOne() async throws {
        try await FakeSMTPServer.with { server in
            let email = try Fixture.email(id: "one@ossa.test", text: ".hidden line\n.\n..two dots\nlast")
            let result = try await Fixture.client(port: server.port).send(email)
            #expect(result == .sent)
            #expect(server.log.commands == [
                "EHLO ossa.test", "MAIL FROM:<noreply@clinic.example>", "RCPT TO:<jane.doe@example.org>", "DATA", "QUIT",
            ])
            let payload = try #require(server.log.payloads.first)
            #expect(payload.contains("Message-ID: <one@ossa.test>\r\n"))
            #expect(payload.contains("\r\n\r\n..hidden line\r\n..\r\n...two dots\r\nlast\r\n"))
            #expect(payload.hasSuffix("last\r\n"))
            // Undoing the stuffing gives back exactly what MIME rendered.
            let unstuffed = payload.components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }
            #expect(unstuffed.contains(".hidden line") && unstuffed.contains("..two dots"))
        }
    }

    @Test("several messages share one connection")
    func batch() async throws {
        try await FakeSMTPServer.with { server in
            let emails = try (1...3).map { try Fixture.email(id: "batch\($0)@ossa.test", to: "p\($0)@example.org") }
            let results = try await Fixture.client(port: server.port).send(emails)
            #expect(results == [.sent, .sent, .sent])
            #expect(server.log.connections == 1)
            #expect(server.log.payloads.count == 3)
            #expect(server.log.commands.filter { $0.hasPrefix("RCPT") } == ["RCPT TO:<p1@example.org>", "RCPT TO:<p2@example.org>", "RCPT TO:<p3@example.org>"])
            #expect(!server.log.commands.contains("RSET"))
        }
    }

    @Test("RCPT 451 is transient, 550 permanent; each is reset and the next message still goes")
    func refusedRecipients() async throws {
        var script = FakeSMTPScript()
        script.rcptReply = { address in
            switch address {
            case "busy@example.org": "451 4.7.1 <busy@example.org>: greylisted, try again"
            case "gone@example.org": "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"
            default: "250 OK"
            }
        }
        try await FakeSMTPServer.with(script) { server in
            let emails = try ["busy@example.org", "ok@example.org", "gone@example.org", "ok2@example.org"].map { try Fixture.email(to: $0) }
            let results = try await Fixture.client(port: server.port).send(emails)
            #expect(results[0] == .transient("RCPT 451 4.7.1 [address] greylisted, try again"))
            #expect(results[1] == .sent)
            #expect(results[2] == .permanent("RCPT 550 5.1.1 [address] Recipient address rejected: User unknown"))
            #expect(results[3] == .sent)
            #expect(server.log.commands.filter { $0 == "RSET" }.count == 2)
            #expect(server.log.payloads.count == 2)
            for result in results { #expect(!result.reason.contains("@"), "\(result)") }
        }
    }

    @Test("421 ends the session: the message and all after it are transient, without RSET")
    func serviceClosing() async throws {
        var script = FakeSMTPScript()
        script.rcptReply = { _ in "421 4.3.2 shutting down" }
        try await FakeSMTPServer.with(script) { server in
            let results = try await Fixture.client(port: server.port).send([try Fixture.email(), try Fixture.email()])
            #expect(results == [.transient("RCPT 421 4.3.2 shutting down"), .transient("RCPT 421 4.3.2 shutting down")])
            #expect(!server.log.commands.contains("RSET"))
        }
    }

    @Test("5xx after DATA is permanent")
    func dataRefused() async throws {
        var script = FakeSMTPScript()
        script.dataReply = "554 5.7.1 message content rejected"
        try await FakeSMTPServer.with(script) { server in
            let result = try await Fixture.client(port: server.port).send(try Fixture.email())
            #expect(result == .permanent("DATA 554 5.7.1 message content rejected"))
            #expect(server.log.commands.suffix(2) == ["RSET", "QUIT"])
        }
    }

    @Test("a 554 greeting refuses the session: transient, QUIT, nothing sent")
    func greeting554() async throws {
        var script = FakeSMTPScript()
        script.greeting = "554 5.3.2 no service for you"
        try await FakeSMTPServer.with(script) { server in
            let results = try await Fixture.client(port: server.port).send([try Fixture.email(), try Fixture.email()])
            #expect(results == Array(repeating: .transient("greeting 554 5.3.2 no service for you"), count: 2))
            #expect(server.log.commands == ["QUIT"])
        }
    }

    @Test("a server that never answers DATA runs into the command timeout")
    func stall() async throws {
        var script = FakeSMTPScript()
        script.stallAfterData = true
        try await FakeSMTPServer.with(script) { server in
            let started = ContinuousClock.now
            // Five seconds per command, so that the greeting and EHLO come in time even on a loaded CI machine; should
            // one of them still be late, the session fails there the same way (checked below), not with a crash.
            let results = try await Fixture.client(port: server.port, timeout: .seconds(5)).send([try Fixture.email(), try Fixture.email()])
            let reasons = results.compactMap { result -> String? in if case .transient(let reason) = result { reason } else { nil } }
            #expect(reasons.count == 2 && reasons.allSatisfy { $0.contains(": no reply within 5") }, "\(results)")
            #expect(ContinuousClock.now - started < .seconds(30))
            if reasons.first?.hasPrefix("DATA") == true { #expect(server.log.payloads.count == 1) }
        }
    }

    @Test("nothing listening: transient connection refused")
    func refused() async throws {
        let port = try await Fixture.closedPort()
        let result = try await Fixture.client(port: port).send(try Fixture.email())
        // Usually "connect: connection refused"; while other suites open servers in parallel the freed port can be
        // taken again before the client connects, and the stranger's reset shows at the greeting instead.
        #expect({ if case .transient(let reason) = result { reason.hasPrefix("connect:") || reason.hasPrefix("greeting:") } else { false } }(), "\(result)")
    }

    @Test("an unresolvable host is transient")
    func unresolvable() async throws {
        let result = try await Fixture.client(port: 25, host: "no-such-host.invalid", timeout: .seconds(3)).send(try Fixture.email())
        #expect(result.isTransient, "\(result)")
    }

    @Test("STARTTLS when offered: TLS, EHLO again, the transaction encrypted")
    func startTLS() async throws {
        var script = FakeSMTPScript()
        script.startTLS = try TestCertificates.serverContext()
        try await FakeSMTPServer.with(script) { server in
            let result = try await Fixture.client(port: server.port, host: "localhost").send(try Fixture.email())
            #expect(result == .sent)
            #expect(server.log.entries == [
                .init(command: "EHLO ossa.test", overTLS: false), .init(command: "STARTTLS", overTLS: false),
                .init(command: "EHLO ossa.test", overTLS: true), .init(command: "MAIL FROM:<noreply@clinic.example>", overTLS: true),
                .init(command: "RCPT TO:<jane.doe@example.org>", overTLS: true), .init(command: "DATA", overTLS: true),
                .init(command: "QUIT", overTLS: true),
            ])
        }
    }

    @Test("STARTTLS also verifies a certificate issued for an IP address")
    func startTLSByIP() async throws {
        var script = FakeSMTPScript()
        script.startTLS = try TestCertificates.serverContext()
        try await FakeSMTPServer.with(script) { server in
            let result = try await Fixture.client(port: server.port, host: "127.0.0.1", security: .startTLSRequired).send(try Fixture.email())
            #expect(result == .sent)
        }
    }

    @Test("starttls=required but not offered: the channel is unavailable, QUIT, no MAIL")
    func startTLSRequiredMissing() async throws {
        try await FakeSMTPServer.with { server in
            let results = try await Fixture.client(port: server.port, security: .startTLSRequired).send([try Fixture.email(), try Fixture.email()])
            #expect(results == Array(repeating: .unavailable("STARTTLS is required (starttls=required) but the server does not offer it"), count: 2))
            #expect(server.log.commands == ["EHLO ossa.test", "QUIT"])
        }
    }

    @Test("smtps: TLS from the first byte")
    func implicitTLS() async throws {
        var script = FakeSMTPScript()
        script.implicitTLS = try TestCertificates.serverContext()
        try await FakeSMTPServer.with(script) { server in
            let result = try await Fixture.client(port: server.port, host: "localhost", security: .implicitTLS).send(try Fixture.email())
            #expect(result == .sent)
            let allOverTLS = server.log.entries.allSatisfy { $0.overTLS }
            #expect(allOverTLS)
            #expect(server.log.commands.first == "EHLO ossa.test")
        }
    }

    @Test("an untrusted certificate fails TLS (transient) before anything is sent")
    func untrusted() async throws {
        var script = FakeSMTPScript()
        script.startTLS = try TestCertificates.serverContext()
        try await FakeSMTPServer.with(script) { server in
            let result = try await Fixture.client(port: server.port, host: "localhost", trustTestCA: false).send(try Fixture.email())
            // The handshake's failure may reach the client first as the closed channel its next write meets.
            #expect(result == .transient("EHLO: TLS certificate not trusted") || result == .transient("EHLO: I/O on closed channel"), "\(result)")
            #expect(!server.log.commands.contains { $0.hasPrefix("MAIL") })
        }
    }

    @Test("a certificate for another host fails verification")
    func wrongHost() async throws {
        var script = FakeSMTPScript()
        script.implicitTLS = try TestCertificates.serverContext(other: true)
        try await FakeSMTPServer.with(script) { server in
            let result = try await Fixture.client(port: server.port, host: "localhost", security: .implicitTLS).send(try Fixture.email())
            #expect(result == .transient("greeting: TLS certificate does not match the host name"))
            #expect(server.log.commands.isEmpty)
        }
    }

    @Test("AUTH PLAIN with the percent-decoded credentials, to a loopback server without TLS")
    func authPlain() async throws {
        try await FakeSMTPServer.with { server in
            let configuration = try SMTPServerConfiguration.parse("smtp://clinic%40example.org:p%C3%A4ss%20w%3Ard@127.0.0.1:\(server.port)")
            let client = try SMTPClient(server: configuration, heloName: "ossa.test", logger: CapturedLogs().logger)
            #expect(await client.send(try Fixture.email()) == .sent)
            let auth = try #require(server.log.commands.first { $0.hasPrefix("AUTH PLAIN ") })
            let decoded = Data(base64Encoded: String(auth.dropFirst("AUTH PLAIN ".count))).map { String(decoding: $0, as: UTF8.self) }
            #expect(decoded == "\u{0}clinic@example.org\u{0}päss w:rd")
            #expect(server.log.commands.firstIndex(of: auth) == 1)  // right after EHLO, before MAIL
        }
    }

    @Test("AUTH LOGIN when the server offers only LOGIN; over STARTTLS the credentials go encrypted")
    func authLogin() async throws {
        var script = FakeSMTPScript()
        script.authMechanisms = "LOGIN"
        script.startTLS = try TestCertificates.serverContext()
        try await FakeSMTPServer.with(script) { server in
            let client = try Fixture.client(port: server.port, host: "localhost", credentials: SMTPCredentials(username: "ossa", password: "pw"))
            #expect(await client.send(try Fixture.email()) == .sent)
            let start = try #require(server.log.entries.firstIndex { $0.command == "AUTH LOGIN" })
            #expect(server.log.entries[start...].prefix(3) == [
                .init(command: "AUTH LOGIN", overTLS: true), .init(command: "b3NzYQ==", overTLS: true), .init(command: "cHc=", overTLS: true),
            ])
        }
    }

    @Test("credentials go only over TLS or to loopback")
    func authPolicy() {
        #expect(!SMTPConversation.mayAuthenticate(overTLS: false, host: "mail.example.com"))
        #expect(SMTPConversation.mayAuthenticate(overTLS: true, host: "mail.example.com"))
        #expect(SMTPConversation.mayAuthenticate(overTLS: false, host: "127.0.0.1"))
        #expect(SMTPConversation.mayAuthenticate(overTLS: false, host: "::1"))
    }

    @Test("logs carry codes and outcomes, never recipients, subjects, bodies or server text")
    func logsHoldNoPatientData() async throws {
        var script = FakeSMTPScript()
        script.rcptReply = { $0.hasPrefix("gone") ? "550 5.1.1 <gone.patient@example.org> unknown" : "250 OK" }
        try await FakeSMTPServer.with(script) { server in
            let logs = CapturedLogs()
            let client = try Fixture.client(port: server.port, logs: logs)
            let emails = try [
                Fixture.email(to: "gone.patient@example.org", subject: "Knee questionnaire for Jane", text: "Dear Jane Doe"),
                Fixture.email(to: "jane.doe@example.org", subject: "Knee questionnaire for Jane", text: "Dear Jane Doe"),
            ]
            _ = await client.send(emails)
            let port = try await Fixture.closedPort()
            _ = await (try Fixture.client(port: port, logs: logs)).send(emails)
            let text = logs.text
            #expect(text.contains("outcome=permanent") && text.contains("outcome=sent") && text.contains("smtp.code=550"), "\(text)")
            for secret in ["gone.patient", "jane.doe", "Jane", "questionnaire", "unknown", "@example.org"] {
                #expect(!text.contains(secret), "\(secret) in logs: \(text)")
            }
        }
    }

    @Test("an empty batch opens no connection")
    func emptyBatch() async throws {
        try await FakeSMTPServer.with { server in
            let results = await (try Fixture.client(port: server.port)).send([])
            #expect(results.isEmpty)
            #expect(server.log.connections == 0)
        }
    }
}
