import FluentKit
import Foundation
import OssaCore
import SQLKit
import NIOConcurrencyHelpers

/// Paging and search for list calls.
public struct PageRequest: Sendable, Hashable {
    public static let maximumLimit = 500
    public var limit: Int
    public var offset: Int
    /// Case- and accent-insensitive substring of the name (patients, users, sites); nil or blank for all.
    public var search: String?

    public init(limit: Int = 50, offset: Int = 0, search: String? = nil) {
        self.limit = limit
        self.offset = offset
        self.search = search
    }

    func validated() throws -> PageRequest {
        guard (1...Self.maximumLimit).contains(limit) else {
            throw StoreError.invalid(field: "limit", message: "\(limit) is not 1–\(Self.maximumLimit)")
        }
        guard offset >= 0 else { throw StoreError.invalid(field: "offset", message: "\(offset) is negative") }
        if let search, search.unicodeScalars.count > 200 { throw StoreError.invalid(field: "search", message: "longer than 200 characters") }
        return self
    }

    /// The folded search term as a `LIKE` pattern with `\` escaping, or nil when there is no term.
    var likePattern: String? {
        guard let search else { return nil }
        let term = foldForSearch(search)
        guard !term.isEmpty else { return nil }
        var escaped = ""
        for character in term {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }
}

/// One page of results, with the total number of matches.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int
    public var limit: Int
    public var offset: Int
}

/// `Page` under a name that does not clash with OssaWeb's `Page` protocol (a page of the web application).
public typealias StorePage<Item: Sendable> = Page<Item>

/// Lowercase, accents removed, whitespace collapsed: what name searches compare.
func foldForSearch(_ text: String) -> String {
    // ASCII (most names): folding changes nothing but case, so lowercase and collapse the blanks byte by byte,
    // without Foundation's bridge (an import folds every patient's name).
    if text.utf8.allSatisfy({ $0 < 0x80 }) {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for byte in text.utf8 {
            if byte == 0x20 || (0x09...0x0D).contains(byte) {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(0x20) }
            pendingSpace = false
            out.append((0x41...0x5A).contains(byte) ? byte + 0x20 : byte)
        }
        return String(decoding: out, as: UTF8.self)
    }
    return text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
        .lowercased()
        .split(whereSeparator: { $0.isWhitespace })
        .joined(separator: " ")
}

/// A record number as the search compares it (`patients.mrn_search`): lowercased, so that PostgreSQL's
/// case-sensitive LIKE matches as SQLite's does, without a function call per row.
func foldMRN(_ mrn: String?) -> String? {
    mrn?.lowercased()
}

extension QueryBuilder {
    /// `column LIKE pattern ESCAPE '\'`, portable across SQLite and PostgreSQL (both fold via `foldForSearch`).
    func filterLike(_ column: String, _ pattern: String?) -> Self {
        guard let pattern else { return self }
        return filter(.sql(embed: "\(ident: column) LIKE \(bind: pattern) ESCAPE '\\'"))
    }

    /// `LOWER(a) LIKE pattern ESCAPE '\' OR LOWER(b) LIKE …`, for short ASCII-mostly fields (codes, e-mail).
    func filterLowerLike(_ columns: [String], _ pattern: String?) -> Self {
        guard let pattern, !columns.isEmpty else { return self }
        return group(.or) { group in
            for column in columns {
                group.filter(.sql(embed: "LOWER(\(ident: column)) LIKE \(bind: pattern) ESCAPE '\\'"))
            }
        }
    }

    /// Count and one page, both under the same filters.
    func page<Item: Sendable>(_ request: PageRequest, map: (Model) throws -> Item) async throws -> Page<Item> {
        let total = try await copy().count()
        let models = try await range(request.offset..<(request.offset + request.limit)).all()
        return Page(items: try models.map(map), total: total, limit: request.limit, offset: request.offset)
    }
}

/// Access checks shared by the repositories.
enum Access {
    /// Audits the refusal (in its own transaction) and throws `AccessDenied`.
    static func deny(_ actor: ActingUser, _ action: AuditAction, _ recordType: RecordType, recordID: String?,
                     reason: String? = nil, database: OssaDatabase) async throws -> Never {
        do {
            _ = try await database.transaction { db in
                try await AuditLog.append(AuditEvent(actor: actor, action: action, outcome: .denied, recordType: recordType,
                                                     recordID: recordID), on: db)
            }
        } catch {
            database.logger.error("could not audit an access refusal", metadata: ["error": "\(error)"])
        }
        throw AccessDenied(role: actor.role, action: action, recordType: recordType,
                           reason: reason ?? AccessPolicy.reason(actor.role, recordType))
    }

    /// The scope the actor has for this action, or an audited `AccessDenied`.
    static func require(_ actor: ActingUser, _ action: AuditAction, _ recordType: RecordType, recordID: String? = nil,
                        database: OssaDatabase) async throws -> AccessPolicy.Scope {
        let scope = AccessPolicy.scope(actor.role, action, recordType)
        if scope == .denied { try await deny(actor, action, recordType, recordID: recordID, database: database) }
        return scope
    }

    /// Refuses a write to a site the actor holds no grant for (the site is an input, not a loaded record).
    static func requireSite(_ actor: ActingUser, _ siteID: UUID, scope: AccessPolicy.Scope, _ action: AuditAction,
                            _ recordType: RecordType, database: OssaDatabase) async throws {
        switch scope {
        case .all: return
        case .grantedSites where actor.siteIDs.contains(siteID): return
        default:
            try await deny(actor, action, recordType, recordID: nil, reason: "no grant for site \(siteID.lowercasedString)",
                           database: database)
        }
    }

    static func audit(_ actor: ActingUser, _ action: AuditAction, _ recordType: RecordType, _ recordID: UUID?,
                      on db: any Database, into buffer: AuditBuffer? = nil) async throws {
        let event = AuditEvent(actor: actor, action: action, recordType: recordType, recordID: recordID.map { $0.lowercasedString })
        if let buffer { buffer.add(event) } else { try await AuditLog.append(event, on: db) }
    }
}

/// Serialises transactions that check and then write (a "first admin" check, a throttle decision) across every
/// process sharing the database: on PostgreSQL a transaction-scoped advisory lock; on SQLite the one writer
/// connection already runs one transaction at a time in a process, and another process's concurrent writer is
/// refused with SQLITE_BUSY rather than interleaved.
func serialize(_ key: Int64, on db: any Database) async throws {
    let sql = try db.sqlDatabase()
    if sql.dialect.name == "postgresql" {
        try await sql.raw("SELECT pg_advisory_xact_lock(\(literal: Int(key)))").run()
    }
}

/// Maps unique-constraint failures to `StoreError.conflict`.
func mapConstraint<T>(_ message: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as any DatabaseError where error.isConstraintFailure {
        throw StoreError.conflict(message)
    }
}

/// Text as sent, at most `max` Unicode code points (what JSON Schema's `maxLength` counts, so the API refuses
/// exactly what its contract does), then trimmed; blank is refused.
func requiredText(_ value: String, field: String, max: Int = 200) throws -> String {
    guard value.unicodeScalars.count <= max else { throw StoreError.invalid(field: field, message: "longer than \(max) characters") }
    let trimmed = value.trimmedWhitespace
    guard !trimmed.isEmpty else { throw StoreError.invalid(field: field, message: "must not be empty") }
    return trimmed
}

/// `requiredText` for an optional field: blank reads as absent.
func optionalText(_ value: String?, field: String, max: Int = 200) throws -> String? {
    guard let value else { return nil }
    guard value.unicodeScalars.count <= max else { throw StoreError.invalid(field: field, message: "longer than \(max) characters") }
    let trimmed = value.trimmedWhitespace
    return trimmed.isEmpty ? nil : trimmed
}

extension UUID {
    var lowerString: String { lowercasedString }
}

/// The audit events of a batch write (an import), appended together by `flush` before its transaction commits: one
/// read of the chain's head and one INSERT for the whole batch, instead of three statements for every record.
final class AuditBuffer: Sendable {
    private let events = NIOLockedValueBox<[AuditEvent]>([])

    func add(_ event: AuditEvent) {
        events.withLockedValue { $0.append(event) }
    }

    /// Appends what was added, in order, inside the caller's transaction on `db`.
    func flush(on db: any Database) async throws {
        let pending = events.withLockedValue { events in
            defer { events = [] }
            return events
        }
        try await AuditLog.appendBatch(pending, on: db)
    }
}
