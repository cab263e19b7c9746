import Foundation
import SQLKit

/// The head of the audit chain: the newest entry's sequence number and hash (sequence 0 and the genesis hash for
/// an empty log).
///
/// The database keeps one in `audit_anchor`, advanced with every append. A copy kept elsewhere (a file written
/// by the CLI after each verification, a ticket, a printout) also detects an attacker who rolls back both the
/// log and the anchor row. The file format is one line: `ossa-audit-anchor-v1 SEQ HASH` and LF.
public struct AuditAnchor: Sendable, Hashable, CustomStringConvertible {
    public var sequence: Int64
    public var hash: String

    public init(sequence: Int64, hash: String) {
        self.sequence = sequence
        self.hash = hash
    }

    public static let empty = AuditAnchor(sequence: 0, hash: AuditEntry.genesisHash)
    static let fileMagic = "ossa-audit-anchor-v1"

    public var description: String { "\(Self.fileMagic) \(sequence) \(hash)" }

    /// Parses the one-line file format.
    public init(fileContents text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard parts.count == 3, parts[0] == Self.fileMagic, let sequence = Int64(parts[1]), sequence >= 0,
              AuditVerifier.isHash(String(parts[2])) else {
            throw StoreError.invalid(field: "anchor", message: "not an audit anchor line (\(Self.fileMagic) SEQ HASH)")
        }
        self.sequence = sequence
        hash = String(parts[2])
    }

    public static func read(from path: String) throws -> AuditAnchor {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try AuditAnchor(fileContents: String(decoding: data, as: UTF8.self))
    }

    /// Writes the anchor atomically (a temporary file renamed over `path`).
    public func write(to path: String) throws {
        try Data((description + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The anchor row; nil when it is missing.
    static func readRow(on sql: any SQLDatabase) async throws -> AuditAnchor? {
        guard let row = try await sql.select().column("seq").column("hash").from("audit_anchor")
            .where("id", .equal, SQLBind(1)).first() else { return nil }
        return AuditAnchor(sequence: try row.decode(column: "seq", as: Int64.self), hash: try row.decode(column: "hash", as: String.self))
    }

    static func read(on sql: any SQLDatabase) async throws -> AuditAnchor {
        guard let anchor = try await readRow(on: sql) else {
            throw StoreError.invalid(field: "audit_anchor", message: "the audit anchor row is missing")
        }
        return anchor
    }
}
