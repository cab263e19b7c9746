import FluentKit
import FluentSQLiteDriver
import Foundation
import SQLKit

/// Inserts many rows through SQLKit, in chunked transactions (for `ossa demo` and imports).
///
/// Rows go in multi-row `INSERT` statements (as many rows per statement as keep the bound parameters under
/// 30,000, below PostgreSQL's 65,535 limit); `chunkSize` rows make one transaction, which also appends one audit
/// entry (`create`, record type `bulk-insert`, record id `TABLE:N`). A failing chunk rolls back whole; chunks before
/// it stay committed and `BulkInsertError.committedRows` says how many rows that was. Callers check access first:
/// this is plumbing under commands that have already decided the actor may write these rows.
public struct BulkInsert: Sendable {
    public let table: String
    public let columns: [String]
    public var chunkSize: Int

    public init(into table: String, columns: [String], chunkSize: Int = 1000) {
        self.table = table
        self.columns = columns
        self.chunkSize = chunkSize
    }

    /// Inserts `rows` (each with one value per column, in column order); returns the number inserted.
    @discardableResult
    public func run(_ rows: [[any Encodable & Sendable]], as actor: ActingUser, on database: OssaDatabase) async throws -> Int {
        guard !columns.isEmpty else { throw StoreError.invalid(field: "columns", message: "no columns") }
        guard chunkSize >= 1 else { throw StoreError.invalid(field: "chunkSize", message: "\(chunkSize) is below 1") }
        if let bad = rows.firstIndex(where: { $0.count != columns.count }) {
            throw StoreError.invalid(field: "rows[\(bad)]", message: "has \(rows[bad].count) values for \(columns.count) columns")
        }
        let rowsPerStatement = max(1, min(chunkSize, 30_000 / columns.count))
        var committed = 0
        var start = 0
        while start < rows.count {
            let chunk = Array(rows[start..<min(start + chunkSize, rows.count)])
            do {
                try await database.transaction { [table, columns] db in
                    try await Self.insertRows(into: table, columns: columns, rows: chunk, on: db.sqlDatabase(),
                                              rowsPerStatement: rowsPerStatement)
                    try await AuditLog.append(AuditEvent(actor: actor, action: .create, recordType: .bulkInsert,
                                                         recordID: "\(table):\(chunk.count)"), on: db)
                }
            } catch {
                throw BulkInsertError(table: table, committedRows: committed, failedChunkStart: start, underlying: error)
            }
            committed += chunk.count
            start += chunk.count
        }
        return committed
    }
}

extension BulkInsert {
    /// Multi-row `INSERT`s of `rows` on `sql` (inside the caller's transaction; no audit entry): as many rows per
    /// statement as keep the bound parameters under 30,000 (or `rowsPerStatement`).
    static func insertRows(into table: String, columns: [String], rows: [[any Encodable & Sendable]], on sql: any SQLDatabase,
                           sqlite: (any SQLiteDatabase)? = nil, rowsPerStatement: Int? = nil) async throws {
        let perStatement = max(1, rowsPerStatement ?? (30_000 / max(1, columns.count)))
        if sql.dialect.name == "sqlite", let sqlite = sqlite ?? (sql as? any SQLiteDatabase) {
            try await insertRowsSQLite(into: table, columns: columns, rows: rows, on: sqlite, rowsPerStatement: perStatement)
            return
        }
        var offset = 0
        while offset < rows.count {
            var insert = sql.insert(into: table).columns(columns)
            for row in rows[offset..<min(offset + perStatement, rows.count)] {
                insert = insert.values(row.map { SQLBind($0) })
            }
            try await insert.run()
            offset += perStatement
        }
    }
}

extension BulkInsert {
    /// SQLite: the same statements with values bound straight as `SQLiteData`, in exactly the representation
    /// SQLKit's `SQLiteDataEncoder` gives them (UUID → its uppercase text, Date → seconds since 1970 as REAL, Bool →
    /// 0/1), so Fluent reads the rows back unchanged. It skips SQLKit's per-value expression tree and encoder, which
    /// cost as much as SQLite itself on the demo load.
    static func insertRowsSQLite(into table: String, columns: [String], rows: [[any Encodable & Sendable]], on sqlite: any SQLiteDatabase,
                                 rowsPerStatement: Int) async throws {
        let encoder = SQLiteDataEncoder()
        try await insertStatements(into: table, columns: columns, rowCount: rows.count, rowsPerStatement: rowsPerStatement, on: sqlite) { range, binds in
            for row in rows[range] {
                for value in row { binds.append(try sqliteData(value, encoder)) }
            }
        }
    }

    /// The multi-row statements for `rowCount` rows, `rowsPerStatement` at a time; `bind` appends a range's values.
    static func insertStatements(into table: String, columns: [String], rowCount: Int, rowsPerStatement: Int, on sqlite: any SQLiteDatabase,
                                 bind: (Range<Int>, inout [SQLiteData]) throws -> Void) async throws {
        let head = "INSERT INTO " + quoted(table) + " (" + columns.map(quoted).joined(separator: ", ") + ") VALUES "
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var offset = 0
        while offset < rowCount {
            let range = offset..<min(offset + rowsPerStatement, rowCount)
            var binds: [SQLiteData] = []
            binds.reserveCapacity(range.count * columns.count)
            try bind(range, &binds)
            _ = try await sqlite.query(head + Array(repeating: tuple, count: range.count).joined(separator: ", "), binds)
            offset += rowsPerStatement
        }
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    @inline(__always)
    static func sqliteData(_ value: any Encodable & Sendable, _ encoder: SQLiteDataEncoder) throws -> SQLiteData {
        switch value {
        case let v as String: .text(v)
        case let v as Int: .integer(v)
        case let v as UUID: .text(v.uppercasedString)
        case let v as Double: .float(v)
        case let v as Date: .float(v.timeIntervalSince1970)
        case let v as Bool: .integer(v ? 1 : 0)
        case let v as Int64: .integer(Int(v))
        default: try encoder.encode(value)
        }
    }
}

/// A value of a row written by `BulkInsert.insertRows(into:columns:values:on:)`: typed, so that SQLite binds it
/// without the dynamic casts an `any Encodable` needs (an import's tens of thousands of rows spent a quarter of their
/// binding time in them). Stored as `sqliteData` stores the same Swift value; nil is NULL.
enum BulkValue: Sendable {
    case text(String?)
    case integer(Int64?)
    case real(Double?)
    case uuid(UUID?)
    case date(Date?)

    var sqlite: SQLiteData {
        switch self {
        case .text(let v): v.map { .text($0) } ?? .null
        case .integer(let v): v.map { .integer(Int($0)) } ?? .null
        case .real(let v): v.map { .float($0) } ?? .null
        case .uuid(let v): v.map { .text($0.uppercasedString) } ?? .null
        case .date(let v): v.map { .float($0.timeIntervalSince1970) } ?? .null
        }
    }

    /// The Swift value, for SQLKit's binds (PostgreSQL).
    var bind: any Encodable & Sendable {
        switch self {
        case .text(let v): v
        case .integer(let v): v
        case .real(let v): v
        case .uuid(let v): v
        case .date(let v): v
        }
    }
}

extension BulkInsert {
    /// `insertRows(into:columns:rows:on:)` for typed rows.
    static func insertRows(into table: String, columns: [String], values rows: [[BulkValue]], on sql: any SQLDatabase) async throws {
        guard sql.dialect.name == "sqlite", let sqlite = sql as? any SQLiteDatabase else {
            try await insertRows(into: table, columns: columns, rows: rows.map { $0.map(\.bind) }, on: sql)
            return
        }
        try await insertStatements(into: table, columns: columns, rowCount: rows.count, rowsPerStatement: max(1, 30_000 / max(1, columns.count)),
                                   on: sqlite) { range, binds in
            for row in rows[range] {
                for value in row { binds.append(value.sqlite) }
            }
        }
    }
}

/// A chunk failed; the rows of earlier chunks are committed.
public struct BulkInsertError: Error, CustomStringConvertible {
    public let table: String
    public let committedRows: Int
    /// Index (in the input) of the first row of the chunk that was rolled back.
    public let failedChunkStart: Int
    public let underlying: any Error

    public var description: String {
        "bulk insert into \(table) failed in the chunk starting at row \(failedChunkStart) (\(committedRows) rows committed before it): \(String(reflecting: underlying))"
    }
}
