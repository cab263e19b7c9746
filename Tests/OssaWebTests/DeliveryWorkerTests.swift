import Foundation
import NIOConcurrencyHelpers
import OssaCore
import OssaMessaging
import OssaStore
@testable import OssaWeb
import SQLKit
import Testing

/// Transports that record what they were given and answer as told.
final class RecordingEmail: EmailTransport, Sendable {
    let sent = NIOLockedValueBox<[OutgoingEmail]>([])
    let answer: @Sendable (OutgoingEmail) -> DeliveryResult

    init(answer: @escaping @Sendable (OutgoingEmail) -> DeliveryResult = { _ in .sent }) { self.answer = answer }

    func send(_ messages: [OutgoingEmail], date: Date) async -> [DeliveryResult] {
        sent.withLockedValue { $0 += messages }
        return messages.map(answer)
    }
}

final class RecordingSMS: SMSTransport, Sendable {
    let sent = NIOLockedValueBox<[OutgoingSMS]>([])

    func send(_ message: OutgoingSMS) async -> DeliveryResult {
        sent.withLockedValue { $0.append(message) }
        return .sent
    }
}

@Suite("Delivery worker: the outbox through the transports")
struct DeliveryWorkerTests {
    /// An e-mail invitation, an e-mail reminder three days later and an SMS, for the month-3 timepoint.
    func queue(_ f: WebFixture, now: Date) async throws -> [OutboxMessageRecord] {
        let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
        // Index day three months ago, so that the month-3 window is open now (the worker checks the real clock too).
        let today = try CalendarDate(iso: String(ISO8601DateFormatter().string(from: now).prefix(10)))
        let schedule = try await f.store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: today.adding(days: -91))
        let month3 = try #require(schedule.first { $0.code == "month-3" })
        let invitation = try await f.store.invitations.create(coordinator, timepointID: month3.id, channel: .email, now: now)
        var messages: [OutboxMessageRecord] = []
        for (kind, channel, at) in [("invitation", InvitationChannel.email, now), ("reminder", .email, now.addingTimeInterval(3 * 86_400)),
                                    ("invitation", .sms, now)] {
            messages.append(try await f.store.outbox.enqueue(coordinator, NewOutboxMessage(
                invitationID: invitation.invitation.id, kind: kind, channel: channel,
                recipient: channel == .email ? "anna@example.org" : "+43660000000", subject: "Your 3-month questionnaire",
                body: "Please answer: https://ossa.example/q/\(invitation.token)", notBefore: at)))
        }
        return messages
    }

    @Test(arguments: Engine.available)
    func dueMessagesAreSentOnceWithTheirMessageID(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await WebFixture.make(store)
            let now = Date()
            let messages = try await queue(f, now: now)
            let email = RecordingEmail()
            let worker = DeliveryWorker(store: store, mailFrom: try EmailAddress(parsing: "Vienna Bone Clinic <noreply@ossa.example>"),
                                        email: email, sms: nil, messageDomain: "ossa.example")
            #expect(worker.channels == [.email])
            let round = try await worker.runOnce(now: now)
            #expect(round.claimed == 1 && round.summary == DeliverySummary(sent: 1))
            let mail = try #require(email.sent.withLockedValue { $0 }.first)
            #expect(mail.messageID == "\(messages[0].id.uuidString.lowercased())@ossa.example")
            #expect(mail.to.address == "anna@example.org" && mail.from.address == "noreply@ossa.example")
            #expect(mail.subject == "Your 3-month questionnaire" && mail.textBody.hasPrefix("Please answer: https://ossa.example/q/"))
            // Nothing more is due: the reminder waits for its day, the SMS for an SMS transport.
            #expect(try await worker.runOnce(now: now).claimed == 0)
            let queued = try await store.outbox.list(f.admin, status: .queued).items.map(\.id)
            #expect(Set(queued) == [messages[1].id, messages[2].id])
            // A worker that also has SMS sends the SMS under the same rules.
            let sms = RecordingSMS()
            let both = DeliveryWorker(store: store, mailFrom: worker.mailFrom, email: email, sms: sms, messageDomain: "ossa.example")
            #expect(try await both.runOnce(now: now).summary == DeliverySummary(sent: 1))
            #expect(sms.sent.withLockedValue { $0 }.map(\.to) == ["+43660000000"])
            #expect(email.sent.withLockedValue { $0 }.count == 1)
        }
    }

    @Test
    func refusalsAreRetriedOrFailedAsTheTransportSays() async throws {
        try await withStore(.sqlite) { store in
            let f = try await WebFixture.make(store)
            let now = Date()
            let messages = try await queue(f, now: now)
            let refusing = RecordingEmail { _ in .transient("451 4.7.1 greylisted") }
            let worker = DeliveryWorker(store: store, mailFrom: try EmailAddress(parsing: "noreply@ossa.example"), email: refusing, sms: nil,
                                        messageDomain: "ossa.example", retry: RetryPolicy(maxAttempts: 2, firstDelay: 60, maxDelay: 60))
            #expect(try await worker.runOnce(now: now).summary == DeliverySummary(retried: 1))
            let retry = try #require(try await store.outbox.list(f.admin, status: .queued).items.first { $0.id == messages[0].id })
            #expect(retry.notBefore > now.addingTimeInterval(50) && retry.lastError == "451 4.7.1 greylisted" && retry.attempts == 1)
            #expect(try await worker.runOnce(now: retry.notBefore.addingTimeInterval(1)).summary == DeliverySummary(failed: 1))
            let failed = try await store.outbox.list(f.admin, status: .failed).items
            #expect(failed.map(\.id) == [messages[0].id] && failed[0].attempts == 2)
            // The same Message-ID on both attempts.
            let ids = refusing.sent.withLockedValue { $0 }.map(\.messageID)
            #expect(ids.count == 2 && ids[0] == ids[1])
        }
    }
}

extension DeliveryWorkerTests {
    @Test(arguments: Engine.available)
    func anUnavailableChannelHoldsItsMessagesBackWithoutUsingAttempts(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await WebFixture.make(store)
            let now = Date()
            let messages = try await queue(f, now: now)
            // A misconfigured sender: every message would be refused the same way.
            let refusing = RecordingEmail { _ in .unavailable("MAIL 550 5.7.1 sender not allowed") }
            let sms = RecordingSMS()
            let worker = DeliveryWorker(store: store, mailFrom: try EmailAddress(parsing: "noreply@ossa.example"), email: refusing, sms: sms,
                                        messageDomain: "ossa.example", retry: RetryPolicy(maxAttempts: 2, unavailableDelay: 600))
            for round in 0..<3 {
                // Each round after the hold-back time: still no message is used up or failed.
                let at = now.addingTimeInterval(Double(round) * 1000)  // well past the 600 s, however slow the machine
                let summary = try await worker.runOnce(now: at).summary
                #expect(summary.failed == 0 && summary.deferred == 1, "\(summary)")
            }
            let email = try #require(try await store.outbox.list(f.admin, status: .queued).items.first { $0.id == messages[0].id })
            #expect(email.attempts == 0 && email.lastError == "MAIL 550 5.7.1 sender not allowed")
            #expect(try await store.outbox.list(f.admin, status: .failed).total == 0)
            // The SMS went: one channel's trouble holds back only its own messages.
            #expect(sms.sent.withLockedValue { $0 }.count == 1)
        }
    }
}

/// The whole way on a real SMTP server (aiosmtpd through Tests/smtp/smtp_sink.py, writing a Maildir): an invitation
/// queued with its message in one transaction, the worker and the SMTP client, the message in the mailbox with its
/// link and Message-ID, the outbox row sent. Gated like the other external-tool suites: `OSSA_TEST_AIOSMTPD` names
/// a python3 with aiosmtpd==1.4.6 (`.ci/run` sets it); without it the test says so and passes.
@Suite("Delivery worker against aiosmtpd", .serialized)
struct DeliveryOverSMTPTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test
    func anInvitationReachesTheMailboxWithItsLink() async throws {
        try await Self.withSink { port, maildir in try await deliver(smtpPort: port, maildir: maildir) }
    }

    /// The issue's "done when", over HTTP: a coordinator sends the link (the JSON API), the worker delivers it to the
    /// SMTP server, the test reads the link out of the mailbox, a phone answers every page and submits, and the
    /// timepoint is complete with its reminders cancelled — the worker, run again after the reminders' time, sends
    /// nothing more.
    @Test
    func theMailedLinkIsAnsweredOnAPhoneAndItsRemindersAreNeverSent() async throws {
        try await Self.withSink { port, maildir in
            try await withServer(setup: .live) { server, client in
                let f = server.fixture
                // The application's clock is the real one here: the worker compares with it too.
                server.clock.advance(Date().timeIntervalSince(server.clock.now))
                let coordinator = try await f.store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
                _ = try await f.store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
                // No quiet hours at this site, so that the invitation goes now whatever the hour of the test.
                try await f.store.database.sql().update("sites").set("quiet_hours_start", to: SQLBind("00:00"))
                    .set("quiet_hours_end", to: SQLBind("00:00")).where("id", .equal, SQLBind(f.siteA.id)).run()
                let today = CalendarDate(utc: server.clock.now)
                let schedule = try await f.store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: today.adding(days: -91))
                let month3 = try #require(schedule.first { $0.code == "month-3" })

                let session = try await signIn(client, "coordinator@example.org")
                var headers = session.headers
                headers[.contentType] = "application/json"
                headers[.init("X-CSRF-Token")!] = session.csrf
                let sent = try await client.execute(uri: "/api/v1/timepoints/\(month3.id.lowercasedID)/invitations", method: .post,
                                                    headers: headers, body: jsonBody(#"{"channel": "email"}"#))
                #expect(sent.status == .created, "\(sent.text)")
                let messages = try #require(sent.json["messages"] as? [[String: Any]])
                #expect(messages.count >= 2 && messages.first?["kind"] as? String == "invitation")

                let smtp = try SMTPClient(server: SMTPServerConfiguration(host: "127.0.0.1", port: port, security: .startTLSWhenOffered),
                                          heloName: "ossa.example")
                let worker = DeliveryWorker(store: f.store, mailFrom: try EmailAddress(parsing: "Vienna Bone Clinic <noreply@ossa.example>"),
                                            email: smtp, sms: nil, messageDomain: "ossa.example")
                #expect(try await worker.runOnce(now: Date()).summary == DeliverySummary(sent: 1))
                let files = try FileManager.default.contentsOfDirectory(at: maildir.appendingPathComponent("new"), includingPropertiesForKeys: nil)
                #expect(files.count == 1)
                let mail = try String(contentsOf: try #require(files.first), encoding: .utf8)
                    .replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "")
                #expect(!mail.contains(f.patientA.familyName) && !mail.contains("1961-04-03"))
                // The plain-text part holds the link on a line of its own.
                let line = try #require(mail.split(whereSeparator: \.isNewline).first { $0.hasPrefix(server.configuration.linkBase + "/q/") && !$0.hasSuffix("/stop") })
                let path = String(line.dropFirst(server.configuration.linkBase.count)).trimmingCharacters(in: .whitespaces)

                var phone = PortalTests.Phone()
                #expect(try await phone.get(client, path).status == .ok)
                #expect(try await phone.post(client, path, [("day", "3"), ("month", "4"), ("year", "1961")]).status == .seeOther)
                let questionnaire = try PortalTests.questionnaire("month-3")
                for section in questionnaire.sections {
                    let fields = section.items.map { (PortalQuestionnaire.field(section.instrument.id, $0.code), String(section.instrument.options(for: $0).first!.value)) }
                    #expect(try await phone.post(client, "\(path)/pages/\(section.number)", fields + [("go", "next")]).status == .seeOther)
                }
                #expect(try await phone.post(client, "\(path)/submit", []).status == .seeOther)
                #expect(try await phone.get(client, path).text.contains("Thank you"))

                #expect(try await f.store.timepoints.get(coordinator, month3.id).status == .completed)
                let outbox = try await f.store.outbox.list(f.admin, timepoint: month3.id).items
                #expect(outbox.filter { $0.kind == "reminder" }.allSatisfy { $0.status == .cancelled })
                #expect(outbox.first { $0.kind == "invitation" }?.status == .sent)
                // Past every reminder's time (but before the window closes), the worker finds nothing to send.
                let last = try #require(outbox.map(\.notBefore).max())
                #expect(try await worker.runOnce(now: last.addingTimeInterval(60)).claimed == 0)
                #expect(try FileManager.default.contentsOfDirectory(at: maildir.appendingPathComponent("new"), includingPropertiesForKeys: nil).count == 1)
            }
        }
    }

    /// Runs `body` with an aiosmtpd sink (its port and Maildir); without OSSA_TEST_AIOSMTPD the test says so and passes.
    static func withSink(_ body: (Int, URL) async throws -> Void) async throws {
        guard let python = ProcessInfo.processInfo.environment["OSSA_TEST_AIOSMTPD"], !python.isEmpty else {
            print("aiosmtpd delivery suite not run: set OSSA_TEST_AIOSMTPD to a python3 with aiosmtpd==1.4.6; .ci/run does")
            return
        }
        let interpreter = python == "1" ? "/usr/bin/env" : python
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-delivery-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let maildir = directory.appendingPathComponent("Maildir"), output = directory.appendingPathComponent("sink.txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = (python == "1" ? ["python3"] : []) + [Self.packageRoot.appendingPathComponent("Tests/smtp/smtp_sink.py").path,
                                                                 "--port", "0", "--maildir", maildir.path]
        let handle = try FileHandle(forWritingTo: output)
        (process.standardOutput, process.standardError) = (handle, handle)
        try process.run()
        do {
            try await body(try await Self.port(of: process, output: output), maildir)
        } catch {
            await Self.stop(process)
            throw error
        }
        await Self.stop(process)
    }

    /// SIGTERM, then SIGKILL after 5 s, and in both cases until the child has exited: Foundation's `Process` must
    /// not be released while its child still runs. Polls instead of `waitUntilExit()`, which would block a thread
    /// of the concurrency pool.
    static func stop(_ process: Process) async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
    }

    /// The sink prints `ready <port>` once it listens.
    static func port(of process: Process, output: URL) async throws -> Int {
        var port: Int?
        // Up to 90 s: on CI's two cores a python3 importing aiosmtpd while hundreds of tests start has taken over 20 s.
        for _ in 0..<900 where port == nil && process.isRunning {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            port = text.split(separator: "\n").first { $0.hasPrefix("ready ") }.flatMap { Int($0.dropFirst(6)) }
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        return try #require(port, "smtp_sink.py did not get ready: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
    }

    func deliver(smtpPort: Int, maildir: URL) async throws {
        try await withStore(.sqlite) { store in
            let f = try await WebFixture.make(store)
            let coordinator = try await store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
            _ = try await store.patients.update(coordinator, f.patientA.id, PatientChanges(email: "anna@example.org"))
            // No quiet hours at this site: the invitation goes now whatever the hour of the test.
            try await store.database.sql().update("sites").set("quiet_hours_start", to: SQLBind("00:00"))
                .set("quiet_hours_end", to: SQLBind("00:00")).where("id", .equal, SQLBind(f.siteA.id)).run()
            let now = Date()
            let today = try CalendarDate(iso: String(ISO8601DateFormatter().string(from: now).prefix(10)))
            let schedule = try await store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: today.adding(days: -91))
            let month3 = try #require(schedule.first { $0.code == "month-3" })
            let sent = try await store.invitations.send(coordinator, timepointID: month3.id, channel: .email, now: now) { context in
                ComposedMessage(subject: "Your questionnaire from \(context.clinic.name)",
                                text: "Please answer: https://ossa.example/q/\(context.token)\nUntil \(context.windowEnd.iso).")
            }
            let smtp = try SMTPClient(server: SMTPServerConfiguration(host: "127.0.0.1", port: smtpPort, security: .startTLSWhenOffered),
                                      heloName: "ossa.example")
            let worker = DeliveryWorker(store: store, mailFrom: try EmailAddress(parsing: "Vienna Bone Clinic <noreply@ossa.example>"),
                                        email: smtp, sms: nil, messageDomain: "ossa.example")
            #expect(try await worker.runOnce(now: now).summary == DeliverySummary(sent: 1))
            let files = try FileManager.default.contentsOfDirectory(at: maildir.appendingPathComponent("new"), includingPropertiesForKeys: nil)
            let mail = try String(contentsOf: try #require(files.first), encoding: .utf8)
            #expect(files.count == 1)
            #expect(mail.contains("Message-ID: <\(sent.messageID.uuidString.lowercased())@ossa.example>"), "\(mail.prefix(600))")
            // The body is quoted-printable: long lines end in a soft break (`=` and a line end).
            let body = mail.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "")
            #expect(body.contains("https://ossa.example/q/\(sent.token)"))
            #expect(!mail.contains(f.patientA.familyName) && !mail.contains("1961-04-03"))
            let row = try #require(try await store.outbox.list(f.admin, status: .sent).items.first)
            #expect(row.id == sent.messageID && row.attempts == 1)
        }
    }
}
