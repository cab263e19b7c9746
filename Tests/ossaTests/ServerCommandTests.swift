import Foundation
import Logging
import OssaStore
import Testing

/// The operator commands, run as an operator would: `ossa demo`, `migrate`, `audit verify`, `backup`/`restore`,
/// `user`, `token`, and the configuration errors of `serve`.
@Suite("Server commands", .serialized)
struct ServerCommandTests {
    let directory: URL
    var database: String { directory.appendingPathComponent("ossa.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-commands-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func run(_ arguments: [String]) throws -> CLIResult { try CLI.run(arguments, in: directory) }

    @Test("demo fills an empty database once, prints one login per role, and refuses a non-empty one")
    func demoRegistry() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try run(["demo", "--patients", "8", "--seed", "4", "--database", database])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("8 patients"))
        let logins = ServerHarness.demoLogins(first.stdout)
        #expect(Set(logins.keys) == ["clinician", "coordinator", "researcher", "admin", "patient"])
        #expect(first.stderr.contains("8/8 patients"), "progress is shown on standard error")

        let again = try run(["demo", "--patients", "8", "--database", database])
        #expect(again.status != 0)
        #expect(again.stderr.contains("Error:"))
        #expect(again.stdout.isEmpty)
    }

    @Test("audit verify passes on an intact log and names the first broken entry after tampering")
    func auditVerify() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try run(["demo", "--patients", "3", "--database", database]).status == 0)
        let anchor = directory.appendingPathComponent("head.txt").path
        let intact = try run(["audit", "verify", "--database", database, "--write-anchor", anchor])
        #expect(intact.status == 0, "\(intact.stderr)")
        #expect(intact.stdout.contains("audit log intact"))

        // Tamper with entry 2 behind the store's back (the triggers that forbid it dropped first).
        let store = try await OssaDatabase.open(.sqlite(path: database), logger: Logger(label: "test"))
        let sql = try store.sql()
        for row in try await sql.raw("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").all() {
            let name = try row.decode(column: "name", as: String.self)
            try await sql.raw("DROP TRIGGER \(unsafeRaw: name)").run()
        }
        try await sql.raw("UPDATE audit_log SET record_id = 'forged' WHERE seq = 2").run()
        await store.shutdown()

        let broken = try run(["audit", "verify", "--database", database])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("broken at entry 2"), "\(broken.stdout)")
    }

    @Test("backup then restore brings back the backed-up state; the backup is checked first")
    func backupRestoreRoundTrip() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try run(["demo", "--patients", "3", "--database", database]).status == 0)
        let backup = directory.appendingPathComponent("backup.sqlite").path
        let made = try run(["backup", "--database", database, backup])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try run(["backup", "--database", database, backup]).status != 0, "an existing file is not overwritten")

        // A change after the backup…
        let added = try run(["user", "add", "--database", database, "--email", "late@example.org", "--name", "Late User",
                             "--role", "coordinator", "--as", "demo.admin@example.org"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("password: "), "a generated password is printed once")
        // …is gone after the restore.
        let restored = try run(["restore", "--database", database, backup])
        #expect(restored.status == 0, "\(restored.stderr)")
        let token = try run(["token", "create", "--database", database, "--user", "late@example.org", "--name", "x",
                             "--as", "demo.admin@example.org"])
        #expect(token.status != 0)
        #expect(token.stderr.contains("no such user"))
        #expect(try run(["audit", "verify", "--database", database]).status == 0)

        // Something that is not an Ossa backup is refused and the database is left alone.
        let junk = directory.appendingPathComponent("junk.sqlite")
        try Data("not a database".utf8).write(to: junk)
        let refused = try run(["restore", "--database", database, junk.path])
        #expect(refused.status != 0)
        #expect(try run(["audit", "verify", "--database", database]).status == 0)
    }

    @Test("user and token commands: bad input is refused with a message and a non-zero status")
    func accountCommands() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try run(["demo", "--patients", "2", "--database", database]).status == 0)
        let badRole = try run(["user", "add", "--database", database, "--email", "x@example.org", "--name", "X",
                               "--role", "surgeon", "--as", "demo.admin@example.org"])
        #expect(badRole.status != 0 && badRole.stderr.contains("--role surgeon"))
        let notAdmin = try run(["user", "add", "--database", database, "--email", "x@example.org", "--name", "X",
                                "--role", "coordinator", "--as", "demo.clinician1.lis@example.org"])
        #expect(notAdmin.status != 0 && notAdmin.stderr.contains("not an admin"))
        let disabled = try run(["user", "disable", "--database", database, "demo.coordinator.lis@example.org",
                                "--as", "demo.admin@example.org"])
        #expect(disabled.status == 0, "\(disabled.stderr)")
        let token = try run(["token", "create", "--database", database, "--user", "demo.coordinator.lis@example.org",
                             "--name", "t", "--as", "demo.admin@example.org"])
        #expect(token.status != 0, "a disabled user gets no token")
        let badDays = try run(["token", "create", "--database", database, "--user", "demo.clinician1.lis@example.org",
                               "--name", "t", "--days", "0", "--as", "demo.admin@example.org"])
        #expect(badDays.status != 0 && badDays.stderr.contains("--days"))
    }

    @Test("serve fails loudly on an invalid setting instead of falling back to a default")
    func invalidSettings() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let badPort = try run(["serve", "--database", database, "--port", "eighty"])
        #expect(badPort.status != 0 && badPort.stderr.contains("ossa.port"))
        let badURL = try run(["migrate", "--database", "mysql://nope"])
        #expect(badURL.status != 0 && badURL.stderr.contains("OSSA_DATABASE_URL"))
        let badLevel = try CLI.run(["migrate", "--database", database], in: directory, environment: ["OSSA_LOG_LEVEL": "verbose"])
        #expect(badLevel.status != 0)
        #expect(badLevel.stderr.contains("OSSA_LOG_LEVEL: \"verbose\" is not a log level"), "\(badLevel.stderr)")
        #expect(!FileManager.default.fileExists(atPath: database), "a refused setting creates nothing")
    }

    @Test("commands that need an Ossa database refuse a missing or foreign one, name it, and create nothing")
    func missingDatabase() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("nowhere/ossa.sqlite").path
        for arguments in [["audit", "verify"], ["backup", directory.appendingPathComponent("copy.sqlite").path],
                          ["user", "disable", "x@example.org", "--as", "admin@example.org"]] {
            let result = try run(arguments + ["--database", missing])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains("no Ossa database at sqlite:\(missing)"), "\(result.stderr)")
            #expect(result.stderr.contains("ossa migrate"))
            #expect(!result.stderr.contains("no such table"))
            #expect(result.stdout.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("nowhere").path))

        // A file that is not an Ossa database is refused and left as it was.
        let foreign = directory.appendingPathComponent("notes.sqlite")
        try Data("not a database".utf8).write(to: foreign)
        let result = try run(["audit", "verify", "--database", foreign.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("is not an Ossa database"), "\(result.stderr)")
        #expect(try Data(contentsOf: foreign) == Data("not a database".utf8))
    }
}
