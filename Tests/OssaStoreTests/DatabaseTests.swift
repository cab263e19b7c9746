import Foundation
@testable import OssaStore
import SQLKit
import Testing

@Suite("Database location")
struct DatabaseLocationTests {
    @Test func defaultIsSQLiteUnderOssaData() throws {
        #expect(try DatabaseLocation(parsing: nil) == .sqlite(path: "./ossa-data/ossa.sqlite"))
        #expect(try DatabaseLocation(parsing: "  ") == .sqlite(path: "./ossa-data/ossa.sqlite"))
    }

    @Test func pathsAreSQLite() throws {
        #expect(try DatabaseLocation(parsing: "/var/lib/ossa/db.sqlite") == .sqlite(path: "/var/lib/ossa/db.sqlite"))
        #expect(try DatabaseLocation(parsing: "data/x.sqlite") == .sqlite(path: "data/x.sqlite"))
        #expect(try DatabaseLocation(parsing: "sqlite:///tmp/a.sqlite") == .sqlite(path: "/tmp/a.sqlite"))
        #expect(try DatabaseLocation(parsing: "sqlite:b.sqlite") == .sqlite(path: "b.sqlite"))
    }

    @Test func postgresURLs() throws {
        let url = "postgres://ossa:secret@db.example:5433/ossa"
        #expect(try DatabaseLocation(parsing: url) == .postgres(url: url))
        let long = "postgresql://ossa@127.0.0.1/registry?sslmode=disable"
        #expect(try DatabaseLocation(parsing: long) == .postgres(url: long))
        #expect(DatabaseLocation.postgres(url: url).description == "postgres://ossa:***@db.example:5433/ossa")
    }

    @Test(arguments: [
        ("mysql://root:pw@host/db", "unsupported scheme \"mysql\""),
        ("http://example.org/db", "unsupported scheme \"http\""),
        ("postgres://ossa:pw@/db", "names no host"),
        ("postgres://host/db", "names no user"),
        ("postgres://ossa:pw@host", "names no database"),
        ("postgres://ossa:pw@host/", "names no database"),
        ("data/", "is a directory"),
        ("sqlite:", "names no file"),
    ])
    func rejectsOtherInput(input: String, reason: String) {
        do {
            _ = try DatabaseLocation(parsing: input)
            Issue.record("accepted \(input)")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(!error.description.contains(":pw@"), "password echoed: \(error.description)")
        }
    }

    @Test func createsTheSQLiteDirectory() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-loc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("nested/ossa.sqlite").path
        let database = try await OssaDatabase.open(.sqlite(path: path))
        await database.shutdown()
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func unreachablePostgresFailsToOpen() async throws {
        // Port 1 on loopback: nothing listens; opening must fail, not hang or crash.
        await #expect(throws: (any Error).self) {
            let db = try await OssaDatabase.open(.postgres(url: "postgres://ossa:x@127.0.0.1:1/ossa?sslmode=disable"))
            await db.shutdown()
        }
    }
}

@Suite("Database")
struct DatabaseTests {
    @Test func sqliteRunsWALWithFullSync() async throws {
        try await withStore(.sqlite) { store in
            let pragmas = try await store.database.sqlitePragmas()
            #expect(pragmas.journalMode == "wal")
            #expect(pragmas.synchronous == 2) // FULL
            #expect(pragmas.foreignKeys)
        }
    }

    @Test("SQLite: the read connection sees every commit at once and refuses writes")
    func sqliteReadConnection() async throws {
        try await withStore(.sqlite) { store in
            let sql = try store.database.sql()
            try await sql.raw("CREATE TABLE probe (n INTEGER)").run()
            for n in 1...3 {
                try await store.database.transaction { db in
                    try await db.sqlDatabase().raw("INSERT INTO probe (n) VALUES (\(bind: n))").run()
                }
                let seen = try await store.database.readSQL().raw("SELECT COUNT(*) AS c FROM probe").first()?.decode(column: "c", as: Int.self)
                #expect(seen == n)
            }
            await #expect(throws: (any Error).self) {
                try await store.database.readSQL().raw("INSERT INTO probe (n) VALUES (9)").run()
            }
            #expect(try await sql.raw("SELECT COUNT(*) AS c FROM probe").first()?.decode(column: "c", as: Int.self) == 3)
        }
    }

    @Test("SQLite: committed pages reach the database file in the background, without a commit waiting for it")
    func sqliteBackgroundCheckpoints() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-checkpoint-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ossa.sqlite").path
        // A longer interval than the default, so that the file can be seen before the first checkpoint.
        let database = try await OssaDatabase.open(.sqlite(path: path), checkpointInterval: .seconds(5))
        do {
            try await database.sql().raw("CREATE TABLE probe (payload BLOB)").run()
            // About 2 MB: far below the writer's own checkpoint threshold (10,000 pages), so only the background
            // checkpointer can move it into the main file.
            try await database.transaction { db in
                for _ in 0..<500 {
                    try await db.sqlDatabase().raw("INSERT INTO probe (payload) VALUES (randomblob(4000))").run()
                }
            }
            let size = { ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0 }
            let before = size()
            #expect(before < 1_000_000, "the main file grew before any checkpoint: \(before) bytes")
            let deadline = ContinuousClock.now + .seconds(15)
            while size() < 2_000_000, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(size() >= 2_000_000, "the WAL was not checkpointed into the main file")
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }

    @Test func sqlitePragmasHoldAfterReopen() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-reopen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ossa.sqlite").path
        for _ in 0..<2 {
            let database = try await OssaDatabase.open(.sqlite(path: path))
            try await database.migrate()
            let pragmas = try await database.sqlitePragmas()
            #expect(pragmas.journalMode == "wal" && pragmas.synchronous == 2 && pragmas.foreignKeys)
            await database.shutdown()
        }
    }

    /// Two processes on one file (`ossa import` beside `ossa serve`): a write while the other holds the write lock
    /// waits for its commit instead of failing with "database is locked".
    @Test func aSecondConnectionWaitsForTheWriteLock() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-busy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ossa.sqlite").path
        let first = try await OssaDatabase.open(.sqlite(path: path))
        let second = try await OssaDatabase.open(.sqlite(path: path))
        do {
            try await first.sql().raw("CREATE TABLE busy_probe (n INTEGER)").run()
            let holding = AsyncStream<Void>.makeStream()
            async let held: Void = first.transaction { db in
                let sql = try OssaDatabase.sql(db)
                try await sql.raw("INSERT INTO busy_probe (n) VALUES (1)").run()
                holding.continuation.yield()
                try await Task.sleep(for: .milliseconds(700))
            }
            for await _ in holding.stream { break }
            // The first connection now holds the write lock for 0.7 s more.
            try await second.transaction { db in
                try await OssaDatabase.sql(db).raw("INSERT INTO busy_probe (n) VALUES (2)").run()
            }
            try await held
            let rows = try await second.sql().raw("SELECT n FROM busy_probe ORDER BY n").all()
            #expect(try rows.map { try $0.decode(column: "n", as: Int.self) } == [1, 2])
        } catch {
            await first.shutdown(); await second.shutdown()
            throw error
        }
        await first.shutdown(); await second.shutdown()
    }

    @Test(arguments: Engine.available)
    func migrationsAreNumberedAndIdempotent(engine: Engine) async throws {
        try await withStore(engine) { store in
            let names = OssaMigrations.all.map(\.name)
            // Numbers increase strictly in run order. Blocks of numbers are reserved per line of work (M0015–M0019
            // clinical records, M0020–M0029 accounts), so the list may skip numbers, never go back.
            let numbers = names.map { Int($0.dropFirst().prefix(4)) ?? -1 }
            #expect(numbers.first == 1)
            for (name, (previous, number)) in zip(names.dropFirst(), zip(numbers, numbers.dropFirst())) {
                #expect(number > previous, "\(name) is out of sequence")
                #expect(name.hasPrefix(String(format: "M%04d_", number)), "\(name) is not named M####_…")
            }
            #expect(try await store.database.appliedMigrations() == names)
            try await store.database.migrate()
            #expect(try await store.database.appliedMigrations() == names)
        }
    }

    @Test(arguments: Engine.available)
    func everyTableExists(engine: Engine) async throws {
        try await withStore(engine) { store in
            let sql = try store.database.sql()
            for table in ["sites", "roles", "users", "site_grants", "patients", "episodes", "screening_decisions",
                          "imaging_studies", "subregion_findings", "procedures", "injections", "follow_up_timepoints",
                          "questionnaire_responses", "invitations", "outbox_messages", "outcome_events", "sessions", "audit_log"] {
                _ = try await sql.select().column(SQLLiteral.numeric("1")).from(table).limit(1).all()
            }
            let roles = try await sql.select().column("name").from("roles").orderBy("name").all()
                .map { try $0.decode(column: "name", as: String.self) }
            #expect(roles == ["admin", "clinician", "coordinator", "patient", "researcher"])
        }
    }

    @Test(arguments: Engine.available)
    func foreignKeysAreEnforced(engine: Engine) async throws {
        try await withStore(engine) { store in
            let sql = try store.database.sql()
            await #expect(throws: (any Error).self) {
                try await sql.insert(into: "site_grants").columns("id", "user_id", "site_id")
                    .values(SQLBind(UUID()), SQLBind(UUID()), SQLBind(UUID())).run()
            }
            await #expect(throws: (any Error).self) {
                try await sql.insert(into: "users").columns("id", "email", "display_name", "role", "disabled")
                    .values(SQLBind(UUID()), SQLBind("x@example.org"), SQLBind("X"), SQLBind("superuser"), SQLBind(false)).run()
            }
        }
    }

    @Test func shutdownIsIdempotentAndRefusesLaterUse() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-shutdown-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await OssaDatabase.open(.sqlite(path: dir.appendingPathComponent("ossa.sqlite").path))
        await database.shutdown()
        await database.shutdown()
        #expect(throws: OssaDatabaseError.shutDown) { _ = try database.fluent() }
    }
}
