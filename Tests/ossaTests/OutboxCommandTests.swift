import Foundation
import Logging
import OssaCore
import OssaStore
import Testing

/// `ossa outbox list` and `ossa outbox retry` on a database with queued and failed messages, run as a user would.
@Suite("ossa outbox", .serialized)
struct OutboxCommandTests {
    static let admin = "admin@example.org"
    static let compose: MessageComposer = { context in
        ComposedMessage(subject: "Questionnaire", text: "https://old.example/q/\(context.token) #\(context.sequence)")
    }

    struct Setup {
        var database: String
        /// Anna's failed invitation (her month-3 window is open today); Piet's failed invitation, whose timepoint was
        /// then completed; a failed message whose last sending time has passed.
        var annaFailed: UUID
        var pietFailed: UUID
        var expiredFailed: UUID
        var annaTimepoint: UUID
    }

    /// A new database: an admin (through the CLI), a coordinator, three patients with an episode whose month-3
    /// window is open today, each link sent and its invitation failed (550).
    static func setUp() async throws -> Setup {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let database = dir.appendingPathComponent("ossa.sqlite").path
        let migrate = try CLI.run(["migrate", "--database", database])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let add = try CLI.run(["user", "add", "--database", database, "--email", admin, "--name", "Admin", "--role", "admin"])
        #expect(add.status == 0, "\(add.stderr)")

        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let db = try await OssaDatabase.open(.sqlite(path: database), logger: logger)
        do {
            let store = OssaStore(database: db)
            let adminID = try #require(try await store.sessions.credentials(email: admin)).userID
            let adminActor = try await store.users.actingUser(adminID, from: "test")
            let site = try await store.sites.create(adminActor, code: "A", name: "Site A")
            let user = try await store.users.create(adminActor, NewUser(email: "coordinator@example.org", displayName: "Coordinator", role: .coordinator))
            try await store.users.grantSite(adminActor, user: user.id, site: site.id)
            let coordinator = try await store.users.actingUser(user.id, from: "test")
            let now = Date()
            let today = CalendarDate(dayNumber: Int((now.timeIntervalSince1970 / 86_400).rounded(.down)))
            var failed: [UUID] = []
            var timepoints: [UUID] = []
            for (index, name) in ["Anna", "Piet", "Old"].enumerated() {
                let patient = try await store.patients.create(coordinator, NewPatient(
                    siteID: site.id, mrn: "M-\(index)", familyName: name, givenName: name, birthDate: try CalendarDate(iso: "1960-01-0\(index + 1)"),
                    email: "\(name.lowercased())@example.org"))
                let episode = try await store.episodes.create(coordinator, NewEpisode(patientID: patient.id, joint: .knee, side: .left,
                                                                                     diagnosis: .boneMarrowLesion))
                let schedule = try await store.timepoints.generate(coordinator, episodeID: episode.id, indexDate: today.adding(months: -3))
                let month3 = try #require(schedule.first { $0.code == "month-3" })
                let sent = try await store.invitations.send(coordinator, timepointID: month3.id, channel: .email, now: now, compose: compose)
                // The invitation is due at once or after the night's quiet hours: claim it then.
                let due = try #require(try await store.outbox.list(adminActor, timepoint: month3.id).items.first { $0.id == sent.messageID })
                let at = max(now, due.notBefore).addingTimeInterval(1)
                let claimed = try await store.outbox.claimForDelivery(owner: "test", lease: 60, channels: [.email], limit: 1, now: at,
                                                                      messageDomain: "ossa.example")
                #expect(claimed.map(\.id) == [sent.messageID])
                _ = try await store.outbox.finishDeliveries(owner: "test", [(sent.messageID, .permanent("550 5.1.1 no such user"))], now: at)
                failed.append(sent.messageID)
                timepoints.append(month3.id)
            }
            _ = try await store.timepoints.mark(coordinator, timepoints[1], .completed, at: now)
            // As if the window had closed: its last sending time in the past.
            try await db.sql().raw("UPDATE outbox_messages SET not_after = \(bind: now.addingTimeInterval(-60)) WHERE id = \(bind: failed[2])").run()
            await db.shutdown()
            return Setup(database: database, annaFailed: failed[0], pietFailed: failed[1], expiredFailed: failed[2], annaTimepoint: timepoints[0])
        } catch {
            await db.shutdown()
            throw error
        }
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }

    static func objects(_ result: CLIResult) throws -> [[String: Any]] {
        try lines(result.stdout).map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    @Test("list: table and JSON lines, filters, never the text; bad arguments are refused")
    func list() async throws {
        let setup = try await Self.setUp()
        defer { try? FileManager.default.removeItem(at: URL(fileURLWithPath: setup.database).deletingLastPathComponent()) }
        let db = ["--database", setup.database, "--as", Self.admin]

        let table = try CLI.run(["outbox", "list"] + db)
        #expect(table.status == 0, "\(table.stderr)")
        let rows = Self.lines(table.stdout)
        #expect(rows.first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                == ["ID", "KIND", "SEQ", "CHANNEL", "RECIPIENT", "STATUS", "NOT", "BEFORE", "ATTEMPTS", "LAST", "ERROR", "SENT", "AT"])
        // Three links of four messages each (Piet's reminders were cancelled when his timepoint was completed).
        #expect(rows.last == "12 messages")
        #expect(rows.count == 14)
        #expect(table.stdout.contains(setup.annaFailed.uuidString.lowercased()) && table.stdout.contains("550 5.1.1 no such user"))
        // The text (the link) is never printed, nor the subject in the table.
        #expect(!table.stdout.contains("/q/") && !table.stdout.contains("Questionnaire"))

        let failed = try CLI.run(["outbox", "list", "--status", "failed", "--format", "json"] + db)
        #expect(failed.status == 0, "\(failed.stderr)")
        let objects = try Self.objects(failed)
        #expect(Set(objects.compactMap { $0["id"] as? String }) == Set([setup.annaFailed, setup.pietFailed, setup.expiredFailed].map { $0.uuidString.lowercased() }))
        for object in objects {
            #expect(Set(object.keys) == ["id", "invitationId", "timepointId", "siteId", "kind", "sequence", "channel", "recipient", "subject",
                                         "status", "notBefore", "notAfter", "attempts", "lastError", "sentAt", "createdAt"])
            #expect(object["status"] as? String == "failed" && object["kind"] as? String == "invitation" && object["sequence"] as? Int == 0)
            #expect(object["attempts"] as? Int == 1 && object["lastError"] as? String == "550 5.1.1 no such user" && object["sentAt"] is NSNull)
            #expect(object["body"] == nil && (object["channel"] as? String) == "email")
        }
        #expect(!failed.stdout.contains("/q/"))

        let one = try CLI.run(["outbox", "list", "--timepoint", setup.annaTimepoint.uuidString, "--limit", "2", "--format", "json"] + db)
        #expect(one.status == 0, "\(one.stderr)")
        let page = try Self.objects(one)
        #expect(page.count == 2 && page.allSatisfy { $0["timepointId"] as? String == setup.annaTimepoint.uuidString.lowercased() })
        let limited = try CLI.run(["outbox", "list", "--limit", "5"] + db)
        #expect(Self.lines(limited.stdout).last == "5 of 12 messages (--limit to see more)")
        let none = try CLI.run(["outbox", "list", "--status", "sending"] + db)
        #expect(none.status == 0 && Self.lines(none.stdout).last == "0 messages")

        for (arguments, message) in [
            (["--status", "lost"], "--status lost: expected one of queued, sending, sent, failed, cancelled"),
            (["--timepoint", "tomorrow"], "--timepoint tomorrow: not an id"),
            (["--limit", "0"], "--limit 0: must be between 1 and 100000"),
            (["--format", "xml"], "xml"),
        ] {
            let result = try CLI.run(["outbox", "list"] + arguments + db)
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        let coordinator = try CLI.run(["outbox", "list", "--database", setup.database, "--as", "coordinator@example.org"])
        #expect(coordinator.status != 0 && coordinator.stderr.contains("is a coordinator, not an admin"), "\(coordinator.stderr)")
        let missing = try CLI.run(["outbox", "list", "--database", setup.database])
        #expect(missing.status != 0 && missing.stderr.contains("--as"), "\(missing.stderr)")
    }

    @Test("retry: a new link for a failed message whose window is open; expired, not pending and unknown ids reported")
    func retry() async throws {
        let setup = try await Self.setUp()
        defer { try? FileManager.default.removeItem(at: URL(fileURLWithPath: setup.database).deletingLastPathComponent()) }
        let db = ["--database", setup.database, "--as", Self.admin]
        let url = ["OSSA_PUBLIC_URL": "https://ossa.example.org"]
        let anna = setup.annaFailed.uuidString.lowercased()

        // Without the public URL the new links would lead nowhere: refused, naming the setting, nothing changed.
        let noURL = try CLI.run(["outbox", "retry", anna] + db, environment: ["OSSA_PUBLIC_URL": ""])
        #expect(noURL.status != 0 && noURL.stderr.contains("OSSA_PUBLIC_URL is not set"), "\(noURL.stderr)")
        let badURL = try CLI.run(["outbox", "retry", anna] + db, environment: ["OSSA_PUBLIC_URL": "ftp://x"])
        #expect(badURL.status != 0 && badURL.stderr.contains("OSSA_PUBLIC_URL"), "\(badURL.stderr)")
        for (arguments, message) in [
            ([String](), "give the ids of failed messages, or --all-failed"),
            ([anna, "--all-failed"], "give message ids or --all-failed, not both"),
            (["42"], "message id 42: not an id"),
        ] {
            let result = try CLI.run(["outbox", "retry"] + arguments + db, environment: url)
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let stillFailed = try Self.objects(try CLI.run(["outbox", "list", "--status", "failed", "--format", "json"] + db))
        #expect(stillFailed.count == 3)

        // Anna's message and an id that names no message: Anna's is retried, the unknown id makes the exit status 1.
        let unknown = UUID().uuidString.lowercased()
        let retried = try CLI.run(["outbox", "retry", anna, unknown] + db, environment: url)
        #expect(retried.status == 1, "\(retried.stderr)")
        let lines = Self.lines(retried.stdout)
        let newID = try #require(lines.first.flatMap { $0.firstMatch(of: /^[0-9a-f-]{36}: retried as ([0-9a-f-]{36}) \(new link, 4 messages queued; 3 queued messages of the old link cancelled\)$/) }.map { String($0.1) },
                                 "\(retried.stdout)")
        #expect(lines.first?.hasPrefix(anna) == true)
        #expect(lines.dropFirst().first == "\(unknown): unknown: no such message")
        #expect(lines.last == "1 retried, 0 expired, 0 not retried, 1 unknown (of 2)")
        #expect(retried.stderr.contains("no such message: \(unknown)"))

        let queued = try Self.objects(try CLI.run(["outbox", "list", "--status", "queued", "--timepoint", setup.annaTimepoint.uuidString,
                                                   "--format", "json"] + db))
        #expect(queued.count == 4 && queued.first?["id"] as? String == newID && queued.allSatisfy { $0["recipient"] as? String == "anna@example.org" })
        let cancelled = try Self.objects(try CLI.run(["outbox", "list", "--status", "cancelled", "--timepoint", setup.annaTimepoint.uuidString,
                                                      "--format", "json"] + db))
        #expect(cancelled.first { $0["id"] as? String == anna }?["lastError"] as? String == "retried as \(newID)")

        // The rest: Anna's is no longer failed; Piet's timepoint is completed; the third one's window has closed.
        let rest = try CLI.run(["outbox", "retry", "--all-failed"] + db, environment: url)
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(Set(Self.lines(rest.stdout).dropLast()) == [
            "\(setup.pietFailed.uuidString.lowercased()): not retried: the timepoint is completed, not pending",
            "\(setup.expiredFailed.uuidString.lowercased()): expired: not retried (its window has closed)",
        ])
        #expect(Self.lines(rest.stdout).last == "0 retried, 1 expired, 1 not retried, 0 unknown (of 2)")
        let again = try CLI.run(["outbox", "retry", anna] + db, environment: url)
        #expect(again.status == 0 && again.stdout.hasPrefix("\(anna): not retried: it is cancelled, not failed (retried as \(newID))"), "\(again.stdout)")

        // The new link starts with OSSA_PUBLIC_URL and is written with the clinic's template, as the server's.
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let database = try await OssaDatabase.open(.sqlite(path: setup.database), logger: logger)
        let row = try await database.sql().raw("SELECT body FROM outbox_messages WHERE id = \(bind: UUID(uuidString: newID)!)").first()
        await database.shutdown()
        let body = try #require(try row?.decode(column: "body", as: String.self))
        // The bundled template, the link on a line of its own.
        #expect(body.contains("\nhttps://ossa.example.org/q/") && !body.contains("old.example"), "\(body)")
    }
}
