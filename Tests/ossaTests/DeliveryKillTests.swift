import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import OssaCore
import OssaStore
import Testing

/// `ossa serve` killed with SIGKILL while it is handing e-mails to the SMTP server: nothing queued is lost. The
/// first server claims the due invitations and stalls in SMTP `DATA` (aiosmtpd through `Tests/smtp/smtp_sink.py
/// --mode stall`), so that it dies with messages `sending` under its lease; a restarted server takes them over once
/// the lease (`OSSA_DELIVERY_LEASE_SECONDS`, 5 s here) has run out and delivers them to an accepting sink. Every
/// outbox row reaches the Maildir, with the Message-ID of its first claim; a copy sent twice would carry the same
/// Message-ID, and nothing arrives that no row accounts for.
///
/// Gated like the other aiosmtpd suites: runs when `OSSA_TEST_AIOSMTPD` names a python3 with `aiosmtpd==1.4.6`
/// (`1` takes `python3` from PATH); `.ci/run` sets it.
@Suite("Delivery survives kill -9", .serialized)
struct DeliveryKillTests {
    static let admin = "admin@example.org"
    static let messages = 6

    @Test("OSSA_DELIVERY_LEASE_SECONDS outside 5…3600 or not a number stops the server at start, naming it")
    func invalidLeaseIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-lease-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = dir.appendingPathComponent("ossa.sqlite").path
        for value in ["4", "3601", "five", "-1"] {
            let result = try CLI.run(["serve", "--database", database, "--port", "0"], environment: ["OSSA_DELIVERY_LEASE_SECONDS": value])
            #expect(result.status != 0, "\(value) was accepted")
            #expect(result.stderr.contains("OSSA_DELIVERY_LEASE_SECONDS") && result.stderr.contains("5…3600"), "\(value): \(result.stderr)")
        }
        // Refused before anything was opened: no database was created.
        #expect(!FileManager.default.fileExists(atPath: database))
    }

    @Test("a server killed with SIGKILL mid-delivery loses no queued message; the restarted one sends each with its Message-ID")
    func killedMidDeliveryLosesNothing() async throws {
        guard let python = ProcessInfo.processInfo.environment["OSSA_TEST_AIOSMTPD"], !python.isEmpty else {
            print("kill -9 delivery test not run: set OSSA_TEST_AIOSMTPD to a python3 with aiosmtpd==1.4.6; .ci/run does")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-delivery-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = dir.appendingPathComponent("ossa.sqlite").path
        let maildir = dir.appendingPathComponent("Maildir")

        let queued = try await Self.prepare(database: database)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        // Open beside the servers (WAL): the test watches the outbox while they work.
        let db = try await OssaDatabase.open(.sqlite(path: database), logger: logger)
        do {
            try await run(db, database: database, directory: dir, maildir: maildir, python: python, queued: queued)
        } catch {
            await db.shutdown()
            throw error
        }
        await db.shutdown()
    }

    func run(_ db: OssaDatabase, database: String, directory: URL, maildir: URL, python: String, queued: Set<UUID>) async throws {
        func settings(_ port: Int) -> [String: String] {
            ["OSSA_SMTP_URL": "smtp://127.0.0.1:\(port)", "OSSA_MAIL_FROM": "Ossa test <noreply@ossa.example>",
             "OSSA_PUBLIC_URL": "https://ossa.example", "OSSA_DELIVERY_LEASE_SECONDS": "5"]
        }
        // 1. A server whose SMTP server never answers DATA: it dies holding the messages.
        let stalling = try await SMTPSink.start(python: python, mode: "stall", maildir: maildir, directory: directory)
        defer { stalling.stop() }
        let first = try await ServerHarness.start(database: database, directory: directory, environment: settings(stalling.port))
        var claimed: [UUID: Row] = [:]
        do {
            let deadline = ContinuousClock.now + .seconds(30)
            while claimed.isEmpty, ContinuousClock.now < deadline {
                claimed = try await Self.rows(db).filter { queued.contains($0.key) && $0.value.status == "sending" }
                if claimed.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
        } catch {
            first.kill()
            throw error
        }
        first.kill()
        let log = first.log.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
        try #require(!claimed.isEmpty, "the first server never claimed a message:\n\(log.suffix(2000))")
        stalling.stop()
        let atKill = try await Self.rows(db)
        #expect(atKill.values.allSatisfy { $0.status != "sent" }, "the stalling sink accepted nothing, so nothing can be sent")
        #expect(claimed.values.allSatisfy { $0.messageID != nil }, "a claim gives the Message-ID")

        // 2. A restarted server with an SMTP server that accepts: after the lease it sends what the dead one held.
        let accepting = try await SMTPSink.start(python: python, mode: "accept", maildir: maildir, directory: directory)
        defer { accepting.stop() }
        let second = try await ServerHarness.start(database: database, directory: directory, environment: settings(accepting.port))
        var final = atKill
        do {
            let until = ContinuousClock.now + .seconds(40)
            while ContinuousClock.now < until, !queued.allSatisfy({ final[$0]?.status == "sent" }) {
                try await Task.sleep(for: .milliseconds(100))
                final = try await Self.rows(db)
            }
        } catch {
            second.kill()
            throw error
        }
        // Stopped before the Maildir is read, so that nothing arrives after the count.
        second.kill()
        final = try await Self.rows(db)
        let secondLog = second.log.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
        let unsent = queued.filter { final[$0]?.status != "sent" }
        #expect(unsent.isEmpty, "not delivered after the restart: \(unsent.map { final[$0]?.status ?? "missing" })\n\(secondLog.suffix(2000))")
        accepting.stop()

        // 3. The Maildir: every sent row at least once, each copy with its row's Message-ID, nothing else.
        let mail = try Self.messageIDs(in: maildir)
        let sent = final.values.filter { $0.status == "sent" }
        let sentIDs = Set(sent.compactMap(\.messageID))
        #expect(sentIDs.count == sent.count, "every sent row has its own Message-ID")
        for id in queued {
            let messageID = try #require(final[id]?.messageID)
            #expect(mail.contains(messageID), "\(messageID) (row \(id)) is not in the Maildir")
        }
        let strays = mail.filter { !sentIDs.contains($0) }
        #expect(strays.isEmpty, "mail no sent row accounts for (a duplicate with a new Message-ID?): \(strays)")
        #expect(Set(mail).count == sent.count, "one message per sent row (\(mail.count) files for \(sent.count) rows)")
        // The messages taken over kept the Message-ID they were given when the killed server claimed them.
        for (id, row) in claimed {
            #expect(final[id]?.messageID == row.messageID, "row \(id) changed its Message-ID")
            #expect((final[id]?.attempts ?? 0) >= 2, "row \(id) was claimed by both servers")
        }
    }

    // MARK: Setup

    /// A new database: an admin (CLI), a site without quiet hours, a coordinator, `messages` patients with an e-mail
    /// address and a month-3 window open today, each sent their link (an invitation due now, reminders later).
    /// Returns the invitations' outbox ids.
    static func prepare(database: String) async throws -> Set<UUID> {
        let migrate = try CLI.run(["migrate", "--database", database])
        try #require(migrate.status == 0, "\(migrate.stderr)")
        let add = try CLI.run(["user", "add", "--database", database, "--email", admin, "--name", "Admin", "--role", "admin"])
        try #require(add.status == 0, "\(add.stderr)")
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let db = try await OssaDatabase.open(.sqlite(path: database), logger: logger)
        do {
            let store = OssaStore(database: db)
            let adminID = try #require(try await store.sessions.credentials(email: admin)).userID
            let adminActor = try await store.users.actingUser(adminID, from: "test")
            let site = try await store.sites.create(adminActor, code: "K", name: "Kill Test Clinic")
            // No quiet hours: the invitations are due now, whatever the hour of the test.
            try await db.sql().raw("UPDATE sites SET quiet_hours_start = '00:00', quiet_hours_end = '00:00' WHERE id = \(bind: site.id)").run()
            let user = try await store.users.create(adminActor, NewUser(email: "coordinator@example.org", displayName: "Coordinator", role: .coordinator))
            try await store.users.grantSite(adminActor, user: user.id, site: site.id)
            let coordinator = try await store.users.actingUser(user.id, from: "test")
            let now = Date()
            let today = CalendarDate(dayNumber: Int((now.timeIntervalSince1970 / 86_400).rounded(.down)))
            let compose: MessageComposer = { context in
                ComposedMessage(subject: "Your questionnaire", text: "https://ossa.example/q/\(context.token) #\(context.sequence)")
            }
            var queued: Set<UUID> = []
            for index in 0..<messages {
                let patient = try await store.patients.create(coordinator, NewPatient(
                    siteID: site.id, mrn: "K-\(index)", familyName: "Kill\(index)", givenName: "Test", birthDate: try CalendarDate(iso: "1960-01-0\(index + 1)"),
                    email: "patient\(index)@example.org"))
                let episode = try await store.episodes.create(coordinator, NewEpisode(patientID: patient.id, joint: .knee, side: .left,
                                                                                     diagnosis: .boneMarrowLesion))
                let schedule = try await store.timepoints.generate(coordinator, episodeID: episode.id, indexDate: today.adding(months: -3))
                let month3 = try #require(schedule.first { $0.code == "month-3" })
                let sent = try await store.invitations.send(coordinator, timepointID: month3.id, channel: .email, now: now, compose: compose)
                queued.insert(sent.messageID)
            }
            let due = try await db.sql().raw("SELECT id FROM outbox_messages WHERE status = 'queued' AND not_before <= \(bind: Date())").all()
                .map { try $0.decode(column: "id", as: UUID.self) }
            try #require(queued.isSubset(of: Set(due)), "the invitations are due now")
            await db.shutdown()
            return queued
        } catch {
            await db.shutdown()
            throw error
        }
    }

    struct Row: Sendable {
        var status: String
        var messageID: String?
        var attempts: Int
    }

    static func rows(_ db: OssaDatabase) async throws -> [UUID: Row] {
        var rows: [UUID: Row] = [:]
        for row in try await db.sql().raw("SELECT id, status, message_id, attempts FROM outbox_messages").all() {
            rows[try row.decode(column: "id", as: UUID.self)] = Row(status: try row.decode(column: "status", as: String.self),
                                                                   messageID: try row.decode(column: "message_id", as: String?.self),
                                                                   attempts: try row.decode(column: "attempts", as: Int.self))
        }
        return rows
    }

    /// The Message-ID (without angle brackets) of every message in the Maildir, one per file.
    static func messageIDs(in maildir: URL) throws -> [String] {
        let folder = maildir.appendingPathComponent("new")
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).map { file in
            let text = try String(contentsOf: file, encoding: .utf8)
            let head = text.components(separatedBy: "\r\n\r\n").first ?? text
            // Unfolded header lines: a continuation starts with white space.
            let unfolded = head.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ")
                .replacingOccurrences(of: "\n ", with: " ")
            let line = try #require(unfolded.split(whereSeparator: \.isNewline).first { $0.lowercased().hasPrefix("message-id:") },
                                    "\(file.lastPathComponent) has no Message-ID")
            return line.dropFirst("message-id:".count).trimmingCharacters(in: CharacterSet(charactersIn: " \t<>\r"))
        }
    }
}

/// `Tests/smtp/smtp_sink.py` (aiosmtpd) as a child of the test process, started with posix_spawn like every child of
/// this target (never Foundation's `Process`).
struct SMTPSink: Sendable {
    let pid: pid_t
    let port: Int

    static func start(python: String, mode: String, maildir: URL, directory: URL) async throws -> SMTPSink {
        let output = directory.appendingPathComponent("sink-\(mode)-\(UUID().uuidString.prefix(8)).txt")
        let script = CLI.packageRoot.appendingPathComponent("Tests/smtp/smtp_sink.py").path
        let interpreter = python == "1" ? ["/usr/bin/env", "python3"] : [python]
        let pid = try CLI.spawn(interpreter + [script, "--port", "0", "--maildir", maildir.path, "--mode", mode], stdout: output, stderr: output)
        var status: Int32 = 0
        for _ in 0..<900 { // up to 90 s: a python3 importing aiosmtpd on CI's two cores under load has taken over 20 s
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let port = text.split(separator: "\n").first(where: { $0.hasPrefix("ready ") }).flatMap({ Int($0.dropFirst(6)) }) {
                return SMTPSink(pid: pid, port: port)
            }
            guard CLI.isRunning(pid, status: &status) else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        SMTPSink(pid: pid, port: 0).stop()
        throw CLI.HarnessError(message: "smtp_sink.py --mode \(mode) did not get ready: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
    }

    /// SIGTERM, SIGKILL after 5 s, and waits until the child has been reaped; harmless when it already has.
    func stop() {
        var status: Int32 = 0
        guard CLI.isRunning(pid, status: &status) else { return }
        kill(pid, SIGTERM)
        for _ in 0..<500 where CLI.isRunning(pid, status: &status) { usleep(10_000) }
        if CLI.isRunning(pid, status: &status) {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
        }
    }
}
