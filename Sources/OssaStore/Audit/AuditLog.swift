import Crypto
import FluentKit
import Foundation
import OssaCore
import SQLKit

/// What was done, as named in the audit log.
public enum AuditAction: String, Sendable, Hashable, CaseIterable {
    case create, read, list, update, delete, export, grant, revoke
    /// A session began (successful sign-in) or was ended by its user (sign-out); record type `session`.
    case signIn = "sign-in", signOut = "sign-out"
}

/// Whether the action was carried out or refused.
public enum AuditOutcome: String, Sendable, Hashable, CaseIterable {
    case ok, denied
}

/// One event to append: who, role, what, which record, from where. The store adds sequence, time and hashes.
public struct AuditEvent: Sendable, Hashable {
    public var actorUserID: UUID?
    public var actorRole: String
    public var action: AuditAction
    public var outcome: AuditOutcome
    public var recordType: RecordType
    public var recordID: String?
    public var fromAddress: String?

    /// An action of Ossa itself rather than of a user (the delivery worker): no user, the role `system`, and what
    /// did it (`delivery`) as the address.
    public init(system component: String, action: AuditAction, outcome: AuditOutcome = .ok, recordType: RecordType, recordID: String?) {
        (self.actorUserID, self.actorRole, self.fromAddress) = (nil, "system", component)
        (self.action, self.outcome, self.recordType, self.recordID) = (action, outcome, recordType, recordID)
    }

    public init(actor: ActingUser, action: AuditAction, outcome: AuditOutcome = .ok, recordType: RecordType, recordID: String?) {
        self.actorUserID = actor.userID
        self.actorRole = actor.role.rawValue
        self.action = action
        self.outcome = outcome
        self.recordType = recordType
        self.recordID = recordID
        self.fromAddress = actor.address
    }
}

/// One stored entry of the audit log, exactly as its row holds it.
public struct AuditEntry: Sendable, Hashable {
    public var sequence: Int64
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var atMicroseconds: Int64
    public var actorUserID: String?
    public var actorRole: String
    public var action: String
    public var outcome: String
    public var recordType: String
    public var recordID: String?
    public var fromAddress: String?
    public var previousHash: String
    public var hash: String

    public var date: Date { Date(timeIntervalSince1970: Double(atMicroseconds) / 1_000_000) }

    /// The canonical serialisation that is hashed (format version 1).
    ///
    /// The bytes are the ASCII line `ossa-audit-v1` and LF, then one line per field, in this fixed order:
    /// `seq`, `at_us`, `actor_user_id`, `actor_role`, `action`, `outcome`, `record_type`, `record_id`,
    /// `from_address`. A present field is written `NAME=LEN:VALUE` LF, where LEN is the decimal count of VALUE's
    /// UTF-8 bytes (so a value may hold any character, LF included, without ambiguity); an absent (NULL) field
    /// is written `NAME=-` LF, which differs from the empty string `NAME=0:` LF. Integers are written in decimal
    /// without leading zeros or `+`; UUIDs in lowercase with hyphens.
    public var canonicalBytes: [UInt8] {
        // Appended in place: an import hashes one entry per record written, and per-field arrays were most of it.
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: "ossa-audit-v1\n".utf8)
        func field(_ name: StaticString, _ value: String?) {
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "="))
            if let value {
                out.append(contentsOf: String(value.utf8.count).utf8)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: value.utf8)
            } else {
                out.append(UInt8(ascii: "-"))
            }
            out.append(UInt8(ascii: "\n"))
        }
        field("seq", String(sequence))
        field("at_us", String(atMicroseconds))
        field("actor_user_id", actorUserID)
        field("actor_role", actorRole)
        field("action", action)
        field("outcome", outcome)
        field("record_type", recordType)
        field("record_id", recordID)
        field("from_address", fromAddress)
        return out
    }

    /// `hash` = lowercase hex of SHA-256(the 64 ASCII hex characters of `previousHash` ‖ `canonicalBytes`).
    public var computedHash: String {
        AuditEntry.chainHash(previous: previousHash, canonical: canonicalBytes)
    }

    static func chainHash(previous: String, canonical: [UInt8]) -> String {
        var hasher = SHA256()
        var previous = previous
        previous.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        hasher.update(data: canonical)
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in hasher.finalize() {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The previous hash of the first entry: 64 zeros.
    public static let genesisHash = String(repeating: "0", count: 64)

    static let columns = ["seq", "at_us", "actor_user_id", "actor_role", "action", "outcome", "record_type", "record_id",
                          "from_address", "prev_hash", "hash"]

    init(row: any SQLRow) throws {
        sequence = try row.decode(column: "seq", as: Int64.self)
        atMicroseconds = try row.decode(column: "at_us", as: Int64.self)
        actorUserID = try row.decode(column: "actor_user_id", as: String?.self)
        actorRole = try row.decode(column: "actor_role", as: String.self)
        action = try row.decode(column: "action", as: String.self)
        outcome = try row.decode(column: "outcome", as: String.self)
        recordType = try row.decode(column: "record_type", as: String.self)
        recordID = try row.decode(column: "record_id", as: String?.self)
        fromAddress = try row.decode(column: "from_address", as: String?.self)
        previousHash = try row.decode(column: "prev_hash", as: String.self)
        hash = try row.decode(column: "hash", as: String.self)
    }

    init(sequence: Int64, atMicroseconds: Int64, actorUserID: String?, actorRole: String, action: String, outcome: String,
         recordType: String, recordID: String?, fromAddress: String?, previousHash: String) {
        self.sequence = sequence
        self.atMicroseconds = atMicroseconds
        self.actorUserID = actorUserID
        self.actorRole = actorRole
        self.action = action
        self.outcome = outcome
        self.recordType = recordType
        self.recordID = recordID
        self.fromAddress = fromAddress
        self.previousHash = previousHash
        hash = ""
        hash = computedHash
    }

    init(sequence: Int64, atMicroseconds: Int64, event: AuditEvent, previousHash: String) {
        self.sequence = sequence
        self.atMicroseconds = atMicroseconds
        actorUserID = event.actorUserID.map { $0.lowercasedString }
        actorRole = event.actorRole
        action = event.action.rawValue
        outcome = event.outcome.rawValue
        recordType = event.recordType.rawValue
        recordID = event.recordID
        fromAddress = event.fromAddress
        self.previousHash = previousHash
        hash = ""
        hash = computedHash
    }
}

/// The append-only, hash-chained audit log.
///
/// Entry n stores the hash of entry n−1 (`prev_hash`; 64 zeros for entry 1) and its own hash over that and its
/// canonical bytes (`AuditEntry.canonicalBytes`). Sequence numbers start at 1 and have no gaps.
///
/// Appends are serialised: on PostgreSQL the appending transaction first takes the transaction-scoped advisory
/// lock `AuditLog.advisoryLockKey`, so concurrent writers (several `ossa serve` processes) queue; on SQLite the
/// store has a single connection and every append runs inside a write transaction. An append always happens in the
/// transaction of the write it records, so a rolled-back write leaves no entry and a committed one always has one.
/// Each append also advances the one-row `audit_anchor` table to the new entry, so that removing entries from the
/// end of the log is detected (`AuditVerifier`).
public struct AuditLog: Sendable {
    let database: OssaDatabase

    /// `pg_advisory_xact_lock` key for audit appends ("OSSAAUDT" as ASCII bytes, as a signed 64-bit integer).
    public static let advisoryLockKey: Int64 = 0x4F53_5341_4155_4454

    /// Appends one entry inside the caller's transaction (opening one when `database` is not in a transaction).
    @discardableResult
    static func append(_ event: AuditEvent, on database: any Database) async throws -> AuditEntry {
        try await appendBatch([event], on: database)[0]
    }

    /// Appends entries in order inside the caller's transaction: one read of the chain's head, one multi-row
    /// INSERT, one anchor update.
    @discardableResult
    static func appendBatch(_ events: [AuditEvent], on database: any Database) async throws -> [AuditEntry] {
        guard !events.isEmpty else { return [] }
        guard database.inTransaction else {
            return try await database.transaction { try await appendBatch(events, on: $0) }
        }
        return try await appendBatch(events, inTransactionOn: database.sqlDatabase())
    }

    /// `appendBatch(_:on:)` for a caller that holds a transaction open on `sql` itself.
    @discardableResult
    static func appendBatch(_ events: [AuditEvent], inTransactionOn sql: any SQLDatabase) async throws -> [AuditEntry] {
        guard !events.isEmpty else { return [] }
        if sql.dialect.name == "postgresql" {
            try await sql.raw("SELECT pg_advisory_xact_lock(\(literal: Int(advisoryLockKey)))").run()
        }
        let last = try await sql.select().column("seq").column("at_us").column("hash").from("audit_log")
            .orderBy("seq", .descending).limit(1).first()
        var previousSequence = try last?.decode(column: "seq", as: Int64.self) ?? 0
        var previousAt = try last?.decode(column: "at_us", as: Int64.self) ?? 0
        var previousHash = try last?.decode(column: "hash", as: String.self) ?? AuditEntry.genesisHash
        // Time never runs backwards along the chain, even if the clock does.
        let now = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
        var entries: [AuditEntry] = []
        entries.reserveCapacity(events.count)
        for event in events {
            let entry = AuditEntry(sequence: previousSequence + 1, atMicroseconds: max(now, previousAt), event: event,
                                   previousHash: previousHash)
            entries.append(entry)
            (previousSequence, previousAt, previousHash) = (entry.sequence, entry.atMicroseconds, entry.hash)
        }
        try await BulkInsert.insertRows(into: "audit_log", columns: AuditEntry.columns, values: entries.map { entry in
            [.integer(entry.sequence), .integer(entry.atMicroseconds), .text(entry.actorUserID), .text(entry.actorRole), .text(entry.action),
             .text(entry.outcome), .text(entry.recordType), .text(entry.recordID), .text(entry.fromAddress), .text(entry.previousHash),
             .text(entry.hash)]
        }, on: sql)
        // Same transaction: the anchor always names the newest entry (see M0016_CreateAuditAnchor).
        let head = entries[entries.count - 1]
        try await sql.update("audit_anchor").set("seq", to: SQLBind(head.sequence)).set("hash", to: SQLBind(head.hash))
            .where("id", .equal, SQLBind(1)).run()
        return entries
    }

    /// The newest entry's sequence number and hash as the anchor row holds them: copy it somewhere the database's
    /// writers cannot reach (`AuditAnchor.write(to:)`) and pass it to `AuditVerifier.verify(_:externalAnchor:)` later.
    public func head() async throws -> AuditAnchor {
        try await AuditAnchor.read(on: database.sql())
    }

    /// Entries in sequence order, from `after` (exclusive). Admins only; reading the log is itself audited.
    public func entries(as actor: ActingUser, after sequence: Int64 = 0, limit: Int = 100) async throws -> [AuditEntry] {
        _ = try await Access.require(actor, .read, .auditLog, database: database)
        return try await database.transaction { db in
            try await AuditLog.append(AuditEvent(actor: actor, action: .read, recordType: .auditLog, recordID: nil), on: db)
            return try await AuditLog.readEntries(on: db.sqlDatabase(), after: sequence, limit: limit)
        }
    }

    static func readEntries(on sql: any SQLDatabase, after sequence: Int64, limit: Int) async throws -> [AuditEntry] {
        try await sql.select().columns(AuditEntry.columns.map { SQLColumn($0) }).from("audit_log")
            .where("seq", .greaterThan, SQLBind(sequence))
            .orderBy("seq").limit(max(1, limit))
            .all().map(AuditEntry.init(row:))
    }
}
