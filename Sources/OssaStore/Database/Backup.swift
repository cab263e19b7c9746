import FluentKit
import Foundation
import Logging
import SQLKit

/// A checked backup file.
public struct BackupInfo: Sendable, Hashable {
    public var path: String
    public var bytes: Int
    /// Migrations recorded in the file, in number order.
    public var migrations: [String]
    /// The audit chain's head in the file.
    public var auditHead: AuditAnchor
    /// The audit log of the file verifies (hash chain and anchor).
    public var auditIntact: Bool
}

public enum BackupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Backup and restore through Ossa are for SQLite; PostgreSQL has its own tools.
    case postgres(String)
    case targetExists(String)
    case missing(String)
    /// The file is not a usable Ossa database; `reason` says why.
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case .postgres(let message): message
        case .targetExists(let path): "\(path) exists already; choose a new file name for the backup"
        case .missing(let path): "no backup file at \(path)"
        case .invalid(let path, let reason): "\(path) is not a usable Ossa backup: \(reason)"
        }
    }
}

extension OssaDatabase {
    /// Writes a consistent copy of the open SQLite database to `path` with `VACUUM INTO` (safe while the server is
    /// running: it reads one snapshot, and writers wait only for the copy), then checks the copy.
    /// On PostgreSQL this throws `BackupError.postgres`, whose message says to use `pg_dump`.
    @discardableResult
    public func backup(to path: String) async throws -> BackupInfo {
        guard engine == .sqlite else {
            throw BackupError.postgres("ossa backup works on SQLite databases; for PostgreSQL use pg_dump (e.g. pg_dump -Fc -f ossa.dump DATABASE_URL) and pg_restore")
        }
        let url = URL(fileURLWithPath: path)
        guard !FileManager.default.fileExists(atPath: url.path) else { throw BackupError.targetExists(url.path) }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try await sql().raw("VACUUM INTO \(bind: url.path)").run()
        return try await Self.checkBackup(at: url.path, logger: logger)
    }

    /// Checks that `path` is a usable Ossa SQLite database (integrity check, Ossa migrations only, audit log),
    /// without changing it: the checks run on a temporary copy.
    public static func checkBackup(at path: String, logger: Logger = Logger(label: "ossa.store")) async throws -> BackupInfo {
        let source = URL(fileURLWithPath: path)
        let copy = source.deletingLastPathComponent().appendingPathComponent(".\(source.lastPathComponent).check-\(UUID().uuidString)")
        defer { removeSQLiteFiles(copy.path) }
        guard FileManager.default.fileExists(atPath: source.path) else { throw BackupError.missing(source.path) }
        try FileManager.default.copyItem(at: source, to: copy)
        return try await check(copy.path, reportAs: source.path, logger: logger)
    }

    /// Replaces the SQLite database at `location` with the backup at `backupPath` after checking the backup
    /// (`PRAGMA integrity_check` is `ok`, `_fluent_migrations` holds only migrations this Ossa knows, starting with
    /// the first). The current file, if any, is kept beside it as `NAME.before-restore-TIMESTAMP`; its WAL and
    /// shared-memory files are removed. Stop every process that has the database open first; run `migrate()`
    /// afterwards to bring an older backup up to date. On PostgreSQL this throws `BackupError.postgres`.
    @discardableResult
    public static func restore(from backupPath: String, to location: DatabaseLocation,
                               logger: Logger = Logger(label: "ossa.store")) async throws -> (info: BackupInfo, previous: String?) {
        guard case .sqlite(let targetPath) = location else {
            throw BackupError.postgres("ossa restore works on SQLite databases; for PostgreSQL use pg_restore (or psql for a plain dump)")
        }
        let source = URL(fileURLWithPath: backupPath)
        let target = URL(fileURLWithPath: targetPath)
        guard FileManager.default.fileExists(atPath: source.path) else { throw BackupError.missing(source.path) }
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        // Check a copy in the target's directory, so that the final step is a rename on one file system.
        let staged = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).restore-\(UUID().uuidString)")
        do {
            try FileManager.default.copyItem(at: source, to: staged)
            let info = try await check(staged.path, reportAs: source.path, logger: logger)
            // The check opened the copy in WAL mode and closed it cleanly; only the main file remains to move.
            removeSQLiteFiles(staged.path, keepMain: true)
            var previous: String?
            if FileManager.default.fileExists(atPath: target.path) {
                let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
                let kept = target.path + ".before-restore-" + stamp
                try FileManager.default.moveItem(atPath: target.path, toPath: kept)
                previous = kept
            }
            removeSQLiteFiles(target.path)
            try FileManager.default.moveItem(at: staged, to: target)
            return (info, previous)
        } catch {
            removeSQLiteFiles(staged.path)
            throw error
        }
    }

    private static func check(_ path: String, reportAs shownPath: String, logger: Logger) async throws -> BackupInfo {
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
        let database: OssaDatabase
        do {
            database = try await OssaDatabase.open(.sqlite(path: path), logger: logger)
        } catch {
            throw BackupError.invalid(path: shownPath, reason: "SQLite cannot open it (\(error))")
        }
        do {
            let sql = try database.sql()
            let integrity: [String]
            do {
                integrity = try await sql.raw("PRAGMA integrity_check").all().map { try $0.decode(column: "integrity_check", as: String.self) }
            } catch {
                throw BackupError.invalid(path: shownPath, reason: "not a SQLite database (\(error))")
            }
            guard integrity == ["ok"] else {
                throw BackupError.invalid(path: shownPath, reason: "integrity check failed: \(integrity.prefix(3).joined(separator: "; "))")
            }
            let migrations: [String]
            do {
                migrations = try await database.appliedMigrations()
            } catch {
                throw BackupError.invalid(path: shownPath, reason: "it has no migrations table (not an Ossa database)")
            }
            let known = OssaMigrations.all.map(\.name)
            guard migrations.first == known.first else {
                throw BackupError.invalid(path: shownPath, reason: "its migrations do not start with \(known[0]) (not an Ossa database)")
            }
            if let unknown = migrations.first(where: { !known.contains($0) }) {
                throw BackupError.invalid(path: shownPath, reason: "it was made by a newer Ossa (unknown migration \(unknown))")
            }
            let head = (try? await AuditAnchor.readRow(on: sql)) ?? nil
            let verification = try? await AuditVerifier.verify(database)
            let intact = if case .intact = verification { true } else { false }
            await database.shutdown()
            return BackupInfo(path: shownPath, bytes: bytes, migrations: migrations, auditHead: head ?? .empty, auditIntact: intact)
        } catch {
            await database.shutdown()
            throw error
        }
    }

    private static func removeSQLiteFiles(_ path: String, keepMain: Bool = false) {
        for suffix in keepMain ? ["-wal", "-shm", "-journal"] : ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}
