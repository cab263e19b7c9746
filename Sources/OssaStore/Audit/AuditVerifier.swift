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
    /// Entries are missing from the end: the anchor names entry `anchoredSequence`, the log ends before it.
    /// The reported sequence is the first missing one.
    case truncated(anchoredSequence: Int64)
    /// The anchor (the database's `audit_anchor` row, or an external copy) disagrees with the entry it names, or
    /// entries follow the anchored head without having advanced it (appended behind the store's back).
    case anchorMismatch(String)

    public var description: String {
        switch self {
        case .missingEntry: "entry is missing"
        case .previousHashMismatch: "previous-hash link does not match the entry before it"
        case .hashMismatch: "stored hash does not match the entry's content"
        case .malformed(let detail): "malformed entry: \(detail)"
        case .truncated(let anchored): "entries are missing from the end of the log (the anchor names entry \(anchored))"
        case .anchorMismatch(let detail): "anchor mismatch: \(detail)"
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
/// forged entry (hash mismatch at it, or a broken link at the entry after it), reordered entries (broken link),
/// and entries removed from the end or appended without the store (the chain's head differs from the
/// `audit_anchor` row, which every append advances in its transaction). An attacker who also rewinds the anchor
/// row is caught by an anchor kept outside the database (`externalAnchor`).
public enum AuditVerifier {
    /// Checks the whole chain and the database's anchor, and an external anchor when given.
    public static func verify(_ database: OssaDatabase, externalAnchor: AuditAnchor? = nil,
                              pageSize: Int = 1000) async throws -> AuditVerification {
        try await verify(database.sql(), pageSize: pageSize, externalAnchor: externalAnchor)
    }

    /// What `ossa audit verify` reports: the first broken entry (sequence and reason), or nil when the log is intact.
    public static func firstBrokenEntry(_ database: OssaDatabase,
                                        externalAnchor: AuditAnchor? = nil) async throws -> (sequence: Int64, reason: AuditBreak)? {
        switch try await verify(database, externalAnchor: externalAnchor) {
        case .intact: nil
        case .broken(let sequence, let reason): (sequence, reason)
        }
    }

    static func verify(_ sql: any SQLDatabase, pageSize: Int, externalAnchor: AuditAnchor? = nil) async throws -> AuditVerification {
        var expected: Int64 = 1
        var previousHash = AuditEntry.genesisHash
        var count = 0
        var hashAtExternal: String? = externalAnchor?.sequence == 0 ? AuditEntry.genesisHash : nil
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
                if entry.sequence == externalAnchor?.sequence { hashAtExternal = entry.hash }
                expected += 1
                count += 1
            }
        }
        // Rows numbered below 1 are never written by the store.
        if let stray = try await sql.select().column("seq").from("audit_log").where("seq", .lessThan, SQLBind(Int64(1)))
            .orderBy("seq").limit(1).first() {
            return .broken(sequence: try stray.decode(column: "seq", as: Int64.self), reason: .malformed("sequence numbers start at 1"))
        }
        let last = Int64(count)
        for (anchor, name) in [(try await AuditAnchor.readRow(on: sql), "the audit_anchor row"), (externalAnchor, "the external anchor")] {
            guard let anchor else {
                if name == "the audit_anchor row" { return .broken(sequence: last + 1, reason: .anchorMismatch("the audit_anchor row is missing")) }
                continue
            }
            if anchor.sequence > last { return .broken(sequence: last + 1, reason: .truncated(anchoredSequence: anchor.sequence)) }
            let actual = name == "the external anchor" ? (hashAtExternal ?? "") : (anchor.sequence == last ? previousHash : "")
            if anchor.sequence < last, name == "the audit_anchor row" {
                return .broken(sequence: anchor.sequence + 1,
                               reason: .anchorMismatch("entries after \(anchor.sequence) were not appended by the store (\(name) names \(anchor.sequence))"))
            }
            if actual != anchor.hash {
                return .broken(sequence: anchor.sequence, reason: .anchorMismatch("\(name) holds a different hash for entry \(anchor.sequence)"))
            }
        }
        return .intact(count: count, lastHash: previousHash)
    }

    static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
