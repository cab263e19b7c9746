import FluentKit
import Foundation
import SQLKit

/// Why an entry breaks the chain.
public enum AuditBreak: Sendable, Hashable, CustomStringConvertible {
    /// No entry has this sequence number, but a later one exists (a row was deleted).
    case missingEntry
    /// The entry's `prev_hash` is not the hash of the entry before it (rows deleted, inserted or reordered).
    case previousHashMismatch
    /// The entry's stored hash is not the hash of its content (a field was edited, or the row was forged).
    case hashMismatch
    /// The row cannot be read as an entry (bad sequence number, hash not 64 lowercase hex digits, …).
    case malformed(String)

    public var description: String {
        switch self {
        case .missingEntry: "entry is missing"
        case .previousHashMismatch: "previous-hash link does not match the entry before it"
        case .hashMismatch: "stored hash does not match the entry's content"
        case .malformed(let detail): "malformed entry: \(detail)"
        }
    }
}

public enum AuditVerification: Sendable, Hashable, CustomStringConvertible {
    /// Every entry links to the one before it and hashes to its stored hash. `lastHash` is the head of the chain
    /// (the genesis hash for an empty log): record it elsewhere to detect a later truncation of the tail.
    case intact(count: Int, lastHash: String)
    /// The first entry that fails, by sequence number, and why.
    case broken(sequence: Int64, reason: AuditBreak)

    public var description: String {
        switch self {
        case .intact(let count, let last): "audit log intact: \(count) entries, last hash \(last)"
        case .broken(let sequence, let reason): "audit log broken at entry \(sequence): \(reason)"
        }
    }
}

/// Checks the audit log's hash chain from the first entry, reading it in pages.
///
/// Detects an edited field (hash mismatch at that entry), a deleted entry (missing sequence), an inserted or
/// forged entry (hash mismatch at it, or a broken link at the entry after it) and reordered entries (broken link).
/// Not detectable from the table alone: removing entries from the end; compare `lastHash` with a copy kept
/// elsewhere for that.
public enum AuditVerifier {
    public static func verify(_ database: OssaDatabase, pageSize: Int = 1000) async throws -> AuditVerification {
        try await verify(database.sql(), pageSize: pageSize)
    }

    static func verify(_ sql: any SQLDatabase, pageSize: Int) async throws -> AuditVerification {
        var expected: Int64 = 1
        var previousHash = AuditEntry.genesisHash
        var count = 0
        while true {
            let rows = try await sql.select().columns(AuditEntry.columns.map { SQLColumn($0) }).from("audit_log")
                .where("seq", .greaterThanOrEqual, SQLBind(expected))
                .orderBy("seq").limit(pageSize).all()
            if rows.isEmpty { break }
            for row in rows {
                let entry: AuditEntry
                do {
                    entry = try AuditEntry(row: row)
                } catch {
                    return .broken(sequence: expected, reason: .malformed("\(error)"))
                }
                if entry.sequence > expected { return .broken(sequence: expected, reason: .missingEntry) }
                guard entry.previousHash == previousHash else {
                    return .broken(sequence: entry.sequence, reason: .previousHashMismatch)
                }
                guard isHash(entry.hash) else {
                    return .broken(sequence: entry.sequence, reason: .malformed("hash is not 64 lowercase hex digits"))
                }
                guard entry.computedHash == entry.hash else {
                    return .broken(sequence: entry.sequence, reason: .hashMismatch)
                }
                previousHash = entry.hash
                expected += 1
                count += 1
            }
        }
        // Rows numbered below 1 are never written by the store.
        if let stray = try await sql.select().column("seq").from("audit_log").where("seq", .lessThan, SQLBind(Int64(1)))
            .orderBy("seq").limit(1).first() {
            return .broken(sequence: try stray.decode(column: "seq", as: Int64.self), reason: .malformed("sequence numbers start at 1"))
        }
        return .intact(count: count, lastHash: previousHash)
    }

    static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
