import ArgumentParser
import Configuration
import Foundation
import Logging
import OssaAnalytics
import OssaCore
import OssaStore

/// Where the database is: `--database` first, then `OSSA_DATABASE_URL`, then `./ossa-data/ossa.sqlite`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"),
            help: ArgumentHelp("SQLite file path or postgres:// URL (default: $OSSA_DATABASE_URL, else \(DatabaseLocation.defaultSQLitePath)).",
                               valueName: "path-or-url"))
    var database: String?
}

/// Flags and environment read through one `ConfigReader` (flags win), each value parsed strictly: a value that is
/// set but invalid stops the program with a message naming its source, instead of falling back to a default.
struct Settings {
    let reader: ConfigReader

    /// `flags` maps configuration keys (e.g. `ossa.port`) to the values given on the command line.
    init(flags: [String: String?]) {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for case let (key, value?) in flags {
            values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(.string(value), isSecret: false)
        }
        // `ossa.database.url` ↔ OSSA_DATABASE_URL, `ossa.port` ↔ OSSA_PORT, …
        reader = ConfigReader(providers: [
            InMemoryProvider(name: "command line", values: values),
            EnvironmentVariablesProvider(secretsSpecifier: .specific(["OSSA_DATABASE_URL", "OSSA_SMTP_URL", "OSSA_SMS_WEBHOOK_URL"])),
        ])
    }

    static func environmentName(_ key: String) -> String {
        key.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    func string(_ key: String) -> String? {
        // URLs that may hold credentials are secrets: the configuration library never prints them.
        reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init)),
                      isSecret: key.contains("database") || key.contains("smtp") || key.contains("webhook"))
    }

    func int(_ key: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = string(key) else { return value }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw CommandLineError(message: "\(key) (or \(Self.environmentName(key))): \"\(text)\" is not a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let text = string(key) else { return value }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw CommandLineError(message: "\(Self.environmentName(key)): \"\(text)\" is not true or false")
        }
    }

    /// The clinic's literature file (`OSSA_LITERATURE_FILE`), read and validated now: a file that cannot be read or
    /// that has any problem stops the program with every problem named. Nil when unset (the built-in studies).
    func literatureFile() throws -> LiteratureFile? {
        guard let path = string("ossa.literature.file") else { return nil }
        return try Self.literatureFile(at: path, source: "OSSA_LITERATURE_FILE")
    }

    static func literatureFile(at path: String, source: String) throws -> LiteratureFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandLineError(message: "\(source) \(path): cannot read the file")
        }
        do {
            return try LiteratureFile.decode(from: data)
        } catch let error as FieldValidationError {
            throw CommandLineError(message: "\(source) \(path):\n" + error.all.map { "  \($0)" }.joined(separator: "\n"))
        } catch {
            throw CommandLineError(message: "\(source) \(path): \(error)")
        }
    }

    func databaseLocation() throws -> DatabaseLocation {
        do {
            return try DatabaseLocation(parsing: string("ossa.database.url"))
        } catch {
            throw CommandLineError(message: "--database / OSSA_DATABASE_URL: \(error)")
        }
    }
}

/// Logs go to standard error so that command output on standard output stays machine-readable.
/// `OSSA_LOG_LEVEL` (trace, debug, info, notice, warning, error, critical) overrides `level`; any other value stops
/// the command with a message naming it, rather than being ignored.
func makeLogger(_ label: String = "ossa", level: Logger.Level = .info) throws -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = try logLevel(ProcessInfo.processInfo.environment["OSSA_LOG_LEVEL"]) ?? level
    return logger
}

/// Parses `OSSA_LOG_LEVEL`: nil when unset or empty.
func logLevel(_ text: String?) throws -> Logger.Level? {
    guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
    guard let level = Logger.Level(rawValue: text.lowercased()) else {
        let known = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        throw CommandLineError(message: "OSSA_LOG_LEVEL: \"\(text)\" is not a log level (one of \(known))")
    }
    return level
}

/// Opens (and, unless told otherwise, migrates) the configured database; the caller shuts it down.
///
/// `create`: only `serve`, `migrate` and `demo` make a new database. Every other command refuses a path that holds
/// no Ossa database, naming it and what to run, and creates nothing there (no empty file, no directory).
func openStore(_ options: DatabaseOptions, migrate: Bool = true, create: Bool = false,
               pageCacheEntries: Int = OssaDatabase.defaultReadModelCacheEntries, logger: Logger) async throws -> OssaStore {
    let location = try Settings(flags: ["ossa.database.url": options.database]).databaseLocation()
    let database: OssaDatabase
    do {
        database = try await OssaDatabase.open(location, logger: logger, readModelCacheEntries: pageCacheEntries, mustExist: !create)
    } catch let error as OssaDatabaseError {
        throw CommandLineError(message: "\(error)")
    }
    if migrate {
        do { try await database.migrate() } catch {
            await database.shutdown()
            throw error
        }
    }
    return OssaStore(database: database)
}

/// Runs `body` with an open store and closes the store afterwards, whatever happens.
func withStore<T>(_ options: DatabaseOptions, migrate: Bool = true, create: Bool = false, logger: Logger,
                  _ body: (OssaStore) async throws -> T) async throws -> T {
    let store = try await openStore(options, migrate: migrate, create: create, logger: logger)
    do {
        let result = try await body(store)
        await store.database.shutdown()
        return result
    } catch {
        await store.database.shutdown()
        throw error
    }
}

/// The administrator on whose behalf a command acts (`--as`), as recorded in the audit log.
func administrator(_ store: OssaStore, email: String) async throws -> ActingUser {
    guard let credentials = try await store.sessions.credentials(email: email) else {
        throw CommandLineError(message: "--as \(email): no such user")
    }
    let actor = try await store.users.actingUser(credentials.userID, from: "cli")
    guard actor.role == .admin else {
        throw CommandLineError(message: "--as \(email): is a \(actor.role.rawValue), not an admin")
    }
    return actor
}
