import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import OssaCore
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
/// Reads go to two more, read-only connections, each on its own loop and thread: every request's authentication
/// (`readSQL()`) and every page's read model (`readTransaction`, one snapshot per page). WAL lets them run in
/// parallel with each other and while the writer commits: otherwise each read would queue behind the writer's
/// transaction and its fsync, and a page's reads would run one page after another on the writer's thread.
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
    /// SQLite only: the read-only connection behind `readSQL()`, and the one that checkpoints the WAL.
    private let reader: SideConnection?
    /// SQLite: pages read on the read-only connections (`readTransaction`).
    var hasReaders: Bool { reader != nil }
    private let checkpointer: SideConnection?
    /// SQLite only: the read-only connection of exports (`bulkReadTransaction`).
    private let bulkReader: SideConnection?
    private let checkpoints = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let checkpointInterval: Duration
    private let state = NIOLockedValueBox(State.open)
    /// Group commit for questionnaire submissions (see `GroupCommit`).
    let submissionCommits: GroupCommit<SubmissionRequest, QuestionnaireResponseRecord>
    /// The audit entries of page reads, committed in batches (`auditedRead`).
    let auditCommits: GroupCommit<AuditAppend, Bool>
    /// SQLite: runs tasks on the connection's event loop (see `transaction(_:)`); nil on PostgreSQL.
    let writerExecutor: EventLoopExecutor?
    /// Recently authenticated API tokens and sessions (see `CredentialCache`).
    let credentials: CredentialCache
    /// Registry analytics' in-memory extract (see `AnalyticsRepository`).
    let analyticsCache = AnalyticsCache()
    /// Page read models at the newest write revision (see `cachedAuditedRead`).
    let readModelCache: RevisionedCache<ReadModelKey, CachedReadModel>
    /// The page read models being read afresh now, one read per key (see `ReadFlights`).
    let readFlights = ReadFlights<ReadModelKey>()
    /// How many page read models are kept by default (`OSSA_PAGE_CACHE_ENTRIES` overrides it in `ossa serve`).
    public static let defaultReadModelCacheEntries = 2_000

    private enum State { case open, shutDown }

    /// Opens (creating the SQLite file and its directory when needed) and checks the connection. Does not migrate.
    ///
    /// - Parameter postgresSearchPath: schemas for PostgreSQL's `search_path` (tests use a schema per test).
    /// - Parameter credentialCacheLifetime: how long an authenticated token or session is reused before it is
    ///   looked up again, bounding how late another process's change to it is seen (`CredentialCache`); zero
    ///   turns the cache off.
    /// - Parameter checkpointInterval: SQLite: how often the WAL is checkpointed in the background.
    /// - Parameter readModelCacheEntries: how many page read models are kept between views (`cachedAuditedRead`);
    ///   zero turns the cache off.
    /// - Parameter mustExist: refuse (with `OssaDatabaseError.noDatabase` or `.notOssa`) a location that holds no
    ///   Ossa database instead of creating one; nothing is created or changed at the location then.
    public static func open(
        _ location: DatabaseLocation,
        logger: Logger = Logger(label: "ossa.store"),
        postgresSearchPath: [String]? = nil,
        postgresConnections: Int = 4,
        credentialCacheLifetime: Duration = .seconds(1),
        checkpointInterval: Duration = OssaDatabase.defaultCheckpointInterval,
        readModelCacheEntries: Int = OssaDatabase.defaultReadModelCacheEntries,
        mustExist: Bool = false
    ) async throws -> OssaDatabase {
        if mustExist, case .sqlite(let path) = location {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw OssaDatabaseError.noDatabase(location.description)
            }
        }
        let database = try OssaDatabase(location: location, logger: logger, postgresSearchPath: postgresSearchPath,
                                        postgresConnections: postgresConnections, credentialCacheLifetime: credentialCacheLifetime,
                                        checkpointInterval: checkpointInterval, readModelCacheEntries: readModelCacheEntries)
        do {
            // Checked before the connection is prepared: preparing sets WAL mode, which would change a foreign file.
            if mustExist, !(await database.holdsOssaSchema()) {
                throw OssaDatabaseError.notOssa(location.description)
            }
            try await database.prepareConnection()
        } catch {
            await database.shutdown()
            throw error
        }
        return database
    }

    private init(location: DatabaseLocation, logger: Logger, postgresSearchPath: [String]?, postgresConnections: Int,
                 credentialCacheLifetime: Duration, checkpointInterval: Duration, readModelCacheEntries: Int) throws {
        self.checkpointInterval = checkpointInterval
        readModelCache = RevisionedCache(capacity: readModelCacheEntries)
        self.location = location
        credentials = CredentialCache(lifetime: credentialCacheLifetime)
        self.logger = logger
        let configuration: DatabaseConfigurationFactory
        let threads: Int
        var readerConfiguration: DatabaseConfigurationFactory?
        switch location {
        case .sqlite(let path):
            engine = .sqlite
            let url = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            var sqlite = SQLiteConfiguration.file(url.path)
            sqlite.enableForeignKeys = true
            // The writer too: a burst of writes queues for the one connection instead of failing after 10 s (measured:
            // 24 concurrent writes on a loaded CI machine waited longer).
            configuration = .sqlite(sqlite, connectionPoolTimeout: .seconds(120), dataEncoder: .init(), dataDecoder: .init(), sqlLogLevel: .trace)
            // A page waits for a reader in turn, however long a burst keeps both busy, instead of failing after the
            // driver's default 10 s (measured: 40 concurrent pages on a loaded CI machine waited longer); the HTTP
            // client's own time-out still bounds what a user waits.
            readerConfiguration = .sqlite(sqlite, connectionPoolTimeout: .seconds(120), dataEncoder: .init(), dataDecoder: .init(),
                                          sqlLogLevel: .trace)
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
        writerExecutor = engine == .sqlite ? EventLoopExecutor(eventLoopGroup.next()) : nil
        submissionCommits = GroupCommit(executor: writerExecutor)
        auditCommits = GroupCommit(maxBatch: 256, executor: writerExecutor)
        threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        databases = Databases(threadPool: threadPool, on: eventLoopGroup)
        databases.use(configuration, as: .init(string: engine.rawValue), isDefault: true)
        // Two read-only connections (one per loop and thread): page reads run on them in parallel, beside the writer.
        reader = readerConfiguration.map { SideConnection($0, name: "sqlite-reader", connections: Self.sqliteReaders) }
        checkpointer = readerConfiguration.map { SideConnection($0, name: "sqlite-checkpointer") }
        bulkReader = readerConfiguration.map { SideConnection($0, name: "sqlite-bulk-reader") }
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

    /// A handle for single-statement reads outside any transaction, such as authentication: on SQLite the
    /// read-only connection, which sees every commit made before the statement starts; on PostgreSQL the pool.
    public func readSQL() throws -> any SQLDatabase {
        guard let reader else { return try sql() }
        guard state.withLockedValue({ $0 }) == .open else { throw OssaDatabaseError.shutDown }
        return try reader.sql(logger: logger)
    }

    /// SQLite: read-only connections for page reads and authentication.
    static let sqliteReaders = 2

    /// SQLite: runs `body` in one read transaction (one snapshot) on one of the read-only connections, on that
    /// connection's own loop; nil on PostgreSQL. WAL lets it run while the writer writes and commits.
    func readTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T? {
        guard let reader else { return nil }
        guard state.withLockedValue({ $0 }) == .open else { throw OssaDatabaseError.shutDown }
        let (database, executor) = try reader.next(logger: logger)
        return try await withTaskExecutorPreference(executor) {
            try await database.transaction { db in try await body(db) }
        }
    }

    /// Runs `body` in one read transaction for an export's page: on SQLite on a read-only connection of its own, beside
    /// the writer and the page readers, that reads the file with read(2) into a 16 MiB page cache rather than through
    /// the memory map. An export reads the whole registry once, and through the map every page of it would stay
    /// resident in the process (measured: 550 MB for the 20,000-patient demo registry against 21 MB of heap). On
    /// PostgreSQL it is `transaction(_:)`.
    func bulkReadTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        guard let bulkReader else { return try await transaction(body) }
        guard state.withLockedValue({ $0 }) == .open else { throw OssaDatabaseError.shutDown }
        let (database, executor) = try bulkReader.next(logger: logger)
        return try await withTaskExecutorPreference(executor) {
            try await database.transaction { db in try await body(db) }
        }
    }

    static func sql(_ database: any Database) throws -> any SQLDatabase {
        guard let sql = database as? any SQLDatabase else { throw OssaDatabaseError.notSQL }
        return sql
    }

    /// Runs `body` in one transaction; everything it writes commits together or not at all.
    ///
    /// On SQLite the body runs on the connection's own event loop (`writerExecutor`), so that each statement's
    /// completion resumes it at once rather than after whatever HTTP work the server's loops have queued.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        let executor = writerExecutor
        return try await fluent().transaction { db in
            try await withTaskExecutorPreference(executor) { try await body(db) }
        }
    }

    /// A transaction for SQL-level writers that never call Fluent inside it (the group commit). On SQLite it
    /// leases the connection without a task of its own and runs BEGIN, the body and COMMIT as one task on the
    /// database's event loop: Fluent's `transaction` would start a task on the server's loops, which are busy
    /// with HTTP, and hop back to them for BEGIN and COMMIT. On PostgreSQL it is `transaction(_:)`.
    ///
    /// `immediate`: SQLite takes the write lock at BEGIN (`BEGIN IMMEDIATE`), so that what the body reads is the
    /// newest state and stays so until COMMIT, whatever another process does; otherwise a read followed by a write
    /// could fail with SQLITE_BUSY_SNAPSHOT.
    func sqlTransaction<T: Sendable>(immediate: Bool = false, _ body: @escaping @Sendable (SQLWriteSession) async throws -> T) async throws -> T {
        guard let executor = writerExecutor, let sqlite = try fluent() as? any SQLiteDatabase else {
            return try await transaction { db in try await body(SQLWriteSession(sql: try db.sqlDatabase(), sqlite: nil)) }
        }
        return try await sqlite.withConnection { connection -> EventLoopFuture<T> in
            let promise = connection.eventLoop.makePromise(of: T.self)
            Task(executorPreference: executor) {
                let sql = connection.sql(queryLogLevel: .trace)
                do {
                    try await sql.raw(immediate ? "BEGIN IMMEDIATE TRANSACTION" : "BEGIN TRANSACTION").run()
                    do {
                        let result = try await body(SQLWriteSession(sql: sql, sqlite: connection))
                        try await sql.raw("COMMIT TRANSACTION").run()
                        promise.succeed(result)
                    } catch {
                        try? await sql.raw("ROLLBACK TRANSACTION").run()
                        throw error
                    }
                } catch {
                    promise.fail(error)
                }
            }
            return promise.futureResult
        }.get()
    }

    private func prepareConnection() async throws {
        let sql = try sql()
        switch engine {
        case .sqlite:
            // Another process on the same file (`ossa import` or `ossa export` beside `ossa serve`) may hold the write
            // lock: a statement then waits for it, up to `sqliteBusyTimeout`, instead of failing at once with
            // "database is locked" (SQLite's default is not to wait). Set first: the pragmas below may need a lock.
            let busy = "PRAGMA busy_timeout=\(Self.sqliteBusyTimeoutMilliseconds)"
            try await sql.raw(SQLQueryString(busy)).run()
            // journal_mode=WAL is stored in the file; synchronous is per connection (and FULL is also the
            // compiled-in default of the bundled SQLite, so a reconnected connection keeps it).
            try await sql.raw("PRAGMA journal_mode=WAL").run()
            try await sql.raw("PRAGMA synchronous=FULL").run()
            // Statement journals (each multi-row INSERT inside a transaction keeps one) in memory rather than in
            // temporary files, and a 64 MiB page cache: both only change speed, never what is durable.
            try await sql.raw("PRAGMA temp_store=MEMORY").run()
            try await sql.raw("PRAGMA cache_size=-65536").run()
            // Pages are read through a memory map (up to 1 GiB of the file) instead of a read(2) call per page: on a
            // large registry most of a page view's time was copying pages into the page cache. Speed only.
            try await sql.raw("PRAGMA mmap_size=1073741824").run()
            // The readers may only read, whatever a caller sends them.
            for reader in try reader?.each(logger: logger) ?? [] {
                try await reader.raw(SQLQueryString(busy)).run()
                try await reader.raw("PRAGMA mmap_size=1073741824").run()
                try await reader.raw("PRAGMA query_only=ON").run()
            }
            if let bulk = try bulkReader?.sql(logger: logger) {
                try await bulk.raw(SQLQueryString(busy)).run()
                try await bulk.raw("PRAGMA mmap_size=0").run()
                try await bulk.raw("PRAGMA cache_size=-16384").run()
                try await bulk.raw("PRAGMA query_only=ON").run()
            }
            // Checkpoints (copying committed pages from the WAL into the database file, and its fsync) run on
            // their own connection and thread, so that a commit never waits for one; the writer still checkpoints
            // by itself should the WAL ever pass 10,000 pages (about 40 MB), so it cannot grow without bound.
            try await sql.raw("PRAGMA wal_autocheckpoint=10000").run()
            try await checkpointer?.sql(logger: logger).raw(SQLQueryString(busy)).run()
            startCheckpoints()
            let pragmas = try await sqlitePragmas()
            guard pragmas.journalMode == "wal", pragmas.synchronous == 2, pragmas.foreignKeys else {
                throw OssaDatabaseError.pragmas("journal_mode=\(pragmas.journalMode) synchronous=\(pragmas.synchronous) foreign_keys=\(pragmas.foreignKeys)")
            }
        case .postgres:
            try await sql.raw("SELECT 1").run()
        }
    }

    /// Whether the database has Ossa's migration table with its first migration applied (false for an empty file,
    /// a foreign SQLite file, a file that is not SQLite at all, or a PostgreSQL database without the schema).
    func holdsOssaSchema() async -> Bool {
        do {
            let row = try await sql().select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                .from("_fluent_migrations").where("name", .equal, SQLBind(OssaMigrations.all[0].name)).first()
            return try (row?.decode(column: "n", as: Int.self) ?? 0) > 0
        } catch {
            return false
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
        try await migrate(OssaMigrations.all)
    }

    /// Applies `migrations` that are not applied yet, each in a transaction of its own together with its row in
    /// `_fluent_migrations` (both engines have transactional DDL): a migration that fails leaves no trace — no
    /// half-made table, no log row — so the next start runs it again from the beginning. Each transaction first
    /// takes a lock (PostgreSQL: an advisory lock; SQLite: the single writer) and checks the log again, so that
    /// several servers starting together on one database apply each migration once.
    func migrate(_ migrations: [any Migration]) async throws {
        try await transaction { db in
            try await serialize(Self.migrationLockKey, on: db)
            try await MigrationLog.migration.prepare(on: db).get()
        }
        let batch = try await transaction { db in
            (try await MigrationLog.query(on: db).max(\.$batch) ?? 0) + 1
        }
        for migration in migrations {
            let name = migration.name
            try await transaction { db in
                try await serialize(Self.migrationLockKey, on: db)
                guard try await MigrationLog.query(on: db).filter(\.$name == name).count() == 0 else { return }
                self.logger.debug("migrating", metadata: ["migration": .string(name)])
                try await migration.prepare(on: db).get()
                try await MigrationLog(name: name, batch: batch).create(on: db)
            }
        }
        try await optimize()
    }

    /// Refreshes the query planner's statistics where they are missing or stale (SQLite's `PRAGMA optimize`, with
    /// a bounded sample so it takes milliseconds even on a large registry). Without them SQLite cannot tell that
    /// `site_id` matches a quarter of the table and `id` one row, and reads a whole site's rows for a list of ids.
    /// Run after migrations and every ten minutes with the checkpoints; PostgreSQL's autovacuum does the same there.
    public func optimize() async throws {
        guard engine == .sqlite else { return }
        let sql = try sql()
        try await sql.raw("PRAGMA analysis_limit=1000").run()
        try await sql.raw("PRAGMA optimize=0x10002").run()
    }

    /// `pg_advisory_xact_lock` key for migrations ("OSSAMIGR" as ASCII bytes).
    static let migrationLockKey: Int64 = 0x4F53_5341_4D49_4752

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
        if let task = checkpoints.withLockedValue({ $0 }) {
            task.cancel()
            await task.value
        }
        await reader?.shutdown()
        await checkpointer?.shutdown()
        await bulkReader?.shutdown()
        await databases.shutdownAsync()
        try? await threadPool.shutdownGracefully()
        try? await eventLoopGroup.shutdownGracefully()
    }
}

extension OssaDatabase {
    /// How often the WAL is checkpointed in the background unless `open` is told otherwise. Often and small, because a checkpoint's fsync of the
    /// database file delays the writer's own fsync of the WAL on the same disk: measured under the submission
    /// benchmark, p99 latency was 41–49 ms checkpointing every 100 ms, 52–56 ms every second and 58–67 ms every
    /// 5 s. A checkpoint with nothing to copy costs next to nothing.
    /// How long an SQLite statement waits for another connection's or process's write lock before it fails with
    /// SQLITE_BUSY. Long enough for another process's import of a large file to commit; a page or API write that
    /// waits longer fails with a clear error rather than hanging.
    public static let sqliteBusyTimeoutMilliseconds = 30_000

    public static let defaultCheckpointInterval: Duration = .milliseconds(100)

    /// A PASSIVE checkpoint every `checkpointInterval`: it copies what no reader still needs and never blocks the
    /// writer or the readers. A failure is logged and retried at the next tick.
    private func startCheckpoints() {
        guard let checkpointer else { return }
        let logger = logger, interval = checkpointInterval
        checkpoints.withLockedValue { task in
            guard task == nil else { return }
            task = Task.detached {
                let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
                let ticksPerOptimize = max(1, Int(600 / max(seconds, 0.001)))
                var ticks = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    guard let sql = try? checkpointer.sql(logger: logger) else { continue }
                    do {
                        try await sql.raw("PRAGMA wal_checkpoint(PASSIVE)").run()
                    } catch {
                        logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
                    }
                    ticks += 1
                    // About every ten minutes: the planner's statistics follow the registry as it grows.
                    if ticks % ticksPerOptimize == 0 {
                        do {
                            try await sql.raw("PRAGMA analysis_limit=1000").run()
                            try await sql.raw("PRAGMA optimize").run()
                        } catch {
                            logger.notice("planner statistics not refreshed this time", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
    }
}

/// An open transaction for `OssaDatabase.sqlTransaction`: SQLKit on its connection and, on SQLite, the driver's
/// connection itself (for `BulkInsert`'s direct path).
struct SQLWriteSession: Sendable {
    let sql: any SQLDatabase
    let sqlite: (any SQLiteDatabase)?
}

/// Runs tasks on one event loop. The group commit writes its batches on the SQLite connection's own loop: each
/// statement's completion then resumes the writer on the thread that is already there, instead of queueing the
/// writer behind HTTP work on the server's loops once per statement (a batch is seven statements).
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// More SQLite connections beside the writer, each with its own event loop and thread (the driver keeps one
/// connection per loop).
private struct SideConnection: Sendable {
    let eventLoopGroup: MultiThreadedEventLoopGroup
    let threadPool: NIOThreadPool
    let databases: Databases
    /// One per loop, in the group's order: a read runs its Swift code on its connection's thread.
    let executors: [EventLoopExecutor]

    init(_ configuration: DatabaseConfigurationFactory, name: String, connections: Int = 1) {
        eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: connections)
        threadPool = NIOThreadPool(numberOfThreads: connections)
        threadPool.start()
        databases = Databases(threadPool: threadPool, on: eventLoopGroup)
        databases.use(configuration, as: .init(string: name), isDefault: true)
        executors = eventLoopGroup.makeIterator().map { EventLoopExecutor($0) }
    }

    func sql(logger: Logger) throws -> any SQLDatabase {
        guard let database = databases.database(logger: logger, on: eventLoopGroup.any()) else { throw OssaDatabaseError.shutDown }
        return try OssaDatabase.sql(database)
    }

    /// The next connection in turn, with the executor of its loop.
    func next(logger: Logger) throws -> (any Database, EventLoopExecutor) {
        let loop = eventLoopGroup.next()
        guard let executor = executors.first(where: { $0.eventLoop === loop }),
              let database = databases.database(logger: logger, on: loop) else { throw OssaDatabaseError.shutDown }
        return (database, executor)
    }

    /// Every connection once (for per-connection settings).
    func each(logger: Logger) throws -> [any SQLDatabase] {
        try executors.map { executor in
            guard let database = databases.database(logger: logger, on: executor.eventLoop) else { throw OssaDatabaseError.shutDown }
            return try OssaDatabase.sql(database)
        }
    }

    func shutdown() async {
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
    /// `mustExist`: nothing at the location (the location as `DatabaseLocation.description` gives it).
    case noDatabase(String)
    /// `mustExist`: the location holds something that is not an Ossa database.
    case notOssa(String)

    public var description: String {
        switch self {
        case .noDatabase(let location):
            "no Ossa database at \(location); run `ossa migrate --database …` to create one (or `ossa serve`, or `ossa demo`)"
        case .notOssa(let location):
            "\(location) is not an Ossa database (no Ossa migrations in it); point --database at an Ossa database, or run `ossa migrate` to set one up"
        case .shutDown: "the database has been shut down"
        case .notSQL: "the database driver is not an SQL driver"
        case .notSQLite: "not a SQLite database"
        case .pragmas(let found): "SQLite did not accept WAL journaling with synchronous=FULL and foreign keys (found \(found))"
        }
    }
}
