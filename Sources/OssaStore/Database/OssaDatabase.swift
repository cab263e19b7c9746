import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SQLKit

/// The SQL engine behind an `OssaDatabase`.
public enum DatabaseEngine: String, Sendable, Hashable {
    case sqlite, postgres
}

/// One open database: owns its event loop group, thread pool and Fluent `Databases`, and shuts them down.
///
/// SQLite: every connection runs `PRAGMA journal_mode=WAL`, `PRAGMA synchronous=FULL` and `PRAGMA foreign_keys=ON`
/// (the driver issues the last one on each new connection; this type sets and checks the other two when opening).
/// The SQLite driver keeps one connection per event loop and this type gives SQLite a one-thread loop, so there is
/// exactly one connection: transactions, and with them audit-log appends, are serialised in this process.
/// PostgreSQL: a pool of connections on a small loop group; audit appends serialise on an advisory lock.
///
/// Call `shutdown()` before dropping the value.
public final class OssaDatabase: Sendable {
    public let location: DatabaseLocation
    public let engine: DatabaseEngine
    public let logger: Logger
    private let eventLoopGroup: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let databases: Databases
    private let state = NIOLockedValueBox(State.open)
    /// Group commit for questionnaire submissions (see `GroupCommit`).
    let submissionCommits = GroupCommit<SubmissionRequest, QuestionnaireResponseRecord>()

    private enum State { case open, shutDown }

    /// Opens (creating the SQLite file and its directory when needed) and checks the connection. Does not migrate.
    ///
    /// - Parameter postgresSearchPath: schemas for PostgreSQL's `search_path` (tests use a schema per test).
    public static func open(
        _ location: DatabaseLocation,
        logger: Logger = Logger(label: "ossa.store"),
        postgresSearchPath: [String]? = nil,
        postgresConnections: Int = 4
    ) async throws -> OssaDatabase {
        let database = try OssaDatabase(location: location, logger: logger, postgresSearchPath: postgresSearchPath,
                                        postgresConnections: postgresConnections)
        do {
            try await database.prepareConnection()
        } catch {
            await database.shutdown()
            throw error
        }
        return database
    }

    private init(location: DatabaseLocation, logger: Logger, postgresSearchPath: [String]?, postgresConnections: Int) throws {
        self.location = location
        self.logger = logger
        let configuration: DatabaseConfigurationFactory
        let threads: Int
        switch location {
        case .sqlite(let path):
            engine = .sqlite
            let url = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            var sqlite = SQLiteConfiguration.file(url.path)
            sqlite.enableForeignKeys = true
            configuration = .sqlite(sqlite, sqlLogLevel: .trace)
            threads = 1
        case .postgres(let urlString):
            engine = .postgres
            var postgres: SQLPostgresConfiguration
            do {
                postgres = try SQLPostgresConfiguration(url: urlString)
            } catch {
                throw DatabaseLocationError(input: urlString, reason: "is not a usable PostgreSQL URL (\(error))")
            }
            if let postgresSearchPath { postgres.searchPath = postgresSearchPath }
            configuration = .postgres(configuration: postgres, maxConnectionsPerEventLoop: max(1, postgresConnections / 2),
                                      connectionPoolTimeout: .seconds(30), sqlLogLevel: .trace)
            threads = 2
        }
        eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        databases = Databases(threadPool: threadPool, on: eventLoopGroup)
        databases.use(configuration, as: .init(string: engine.rawValue), isDefault: true)
    }

    /// A Fluent database handle; cheap, make one per unit of work.
    public func fluent() throws -> any Database {
        guard state.withLockedValue({ $0 }) == .open,
              let database = databases.database(logger: logger, on: eventLoopGroup.any()) else {
            throw OssaDatabaseError.shutDown
        }
        return database
    }

    /// The same handle seen through SQLKit (both drivers are SQL drivers).
    public func sql() throws -> any SQLDatabase {
        try Self.sql(try fluent())
    }

    static func sql(_ database: any Database) throws -> any SQLDatabase {
        guard let sql = database as? any SQLDatabase else { throw OssaDatabaseError.notSQL }
        return sql
    }

    /// Runs `body` in one transaction; everything it writes commits together or not at all.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        try await fluent().transaction(body)
    }

    private func prepareConnection() async throws {
        let sql = try sql()
        switch engine {
        case .sqlite:
            // journal_mode=WAL is stored in the file; synchronous is per connection (and FULL is also the
            // compiled-in default of the bundled SQLite, so a reconnected connection keeps it).
            try await sql.raw("PRAGMA journal_mode=WAL").run()
            try await sql.raw("PRAGMA synchronous=FULL").run()
            let pragmas = try await sqlitePragmas()
            guard pragmas.journalMode == "wal", pragmas.synchronous == 2, pragmas.foreignKeys else {
                throw OssaDatabaseError.pragmas("journal_mode=\(pragmas.journalMode) synchronous=\(pragmas.synchronous) foreign_keys=\(pragmas.foreignKeys)")
            }
        case .postgres:
            try await sql.raw("SELECT 1").run()
        }
    }

    /// The SQLite settings in force on the connection (journal mode, synchronous level 0–3, foreign keys).
    public func sqlitePragmas() async throws -> (journalMode: String, synchronous: Int, foreignKeys: Bool) {
        guard engine == .sqlite else { throw OssaDatabaseError.notSQLite }
        let sql = try sql()
        let mode = try await sql.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self) ?? ""
        let sync = try await sql.raw("PRAGMA synchronous").first()?.decode(column: "synchronous", as: Int.self) ?? -1
        let fk = try await sql.raw("PRAGMA foreign_keys").first()?.decode(column: "foreign_keys", as: Int.self) ?? 0
        return (mode.lowercased(), sync, fk == 1)
    }

    /// Applies every migration not yet applied, in number order. Safe to run again.
    public func migrate() async throws {
        let migrations = Migrations()
        migrations.add(OssaMigrations.all)
        let migrator = Migrator(databases: databases, migrations: migrations, logger: logger, on: eventLoopGroup.any(),
                                migrationLogLevel: .debug)
        try await migrator.setupIfNeeded().get()
        try await migrator.prepareBatch().get()
    }

    /// Names of the migrations applied so far, in number order.
    public func appliedMigrations() async throws -> [String] {
        try await sql().select().column("name").from("_fluent_migrations").orderBy("name")
            .all().map { try $0.decode(column: "name", as: String.self) }
    }

    /// Closes connections, then stops the thread pool and the event loops. Idempotent.
    public func shutdown() async {
        let wasOpen = state.withLockedValue { state -> Bool in
            defer { state = .shutDown }
            return state == .open
        }
        guard wasOpen else { return }
        await databases.shutdownAsync()
        try? await threadPool.shutdownGracefully()
        try? await eventLoopGroup.shutdownGracefully()
    }
}

public enum OssaDatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    case shutDown
    case notSQL
    case notSQLite
    case pragmas(String)

    public var description: String {
        switch self {
        case .shutDown: "the database has been shut down"
        case .notSQL: "the database driver is not an SQL driver"
        case .notSQLite: "not a SQLite database"
        case .pragmas(let found): "SQLite did not accept WAL journaling with synchronous=FULL and foreign keys (found \(found))"
        }
    }
}
