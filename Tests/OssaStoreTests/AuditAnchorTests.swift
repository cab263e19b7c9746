import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

@Suite("Audit anchor: truncating the tail")
struct AuditAnchorTests {
    /// A store with entries and no triggers on either the log or the anchor (an attacker with write access).
    func tamperable(_ engine: Engine, _ body: @escaping @Sendable (OssaStore, any SQLDatabase, [AuditEntry]) async throws -> Void) async throws {
        try await withStore(engine) { store in
            _ = try await Fixture.make(store)
            try await dropAuditTriggers(store)
            let sql = try store.database.sql()
            switch store.database.engine {
            case .sqlite:
                for trigger in ["audit_anchor_advance", "audit_anchor_no_delete", "audit_anchor_no_insert"] {
                    try await sql.raw("DROP TRIGGER \(ident: trigger)").run()
                }
            case .postgres:
                try await sql.raw("DROP TRIGGER audit_anchor_guard ON audit_anchor").run()
                try await sql.raw("DROP TRIGGER audit_anchor_no_truncate ON audit_anchor").run()
            }
            let entries = try await auditEntries(store)
            try #require(entries.count >= 8)
            try await body(store, sql, entries)
        }
    }

    @Test(arguments: Engine.available)
    func everyAppendAdvancesTheAnchor(engine: Engine) async throws {
        try await withStore(engine) { store in
            #expect(try await store.audit.head() == .empty)
            _ = try await Fixture.make(store)
            let entries = try await auditEntries(store)
            let head = try await store.audit.head()
            #expect(head == AuditAnchor(sequence: entries.last!.sequence, hash: entries.last!.hash))
            #expect(try await AuditVerifier.verify(store.database, externalAnchor: head) == .intact(count: entries.count, lastHash: head.hash))
            #expect(try await AuditVerifier.firstBrokenEntry(store.database) == nil)
        }
    }

    @Test(arguments: Engine.available)
    func theAnchorRefusesToMoveBackOrDisappear(engine: Engine) async throws {
        try await withStore(engine) { store in
            _ = try await Fixture.make(store)
            let sql = try store.database.sql()
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE audit_anchor SET seq = seq - 1").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE audit_anchor SET hash = 'x'").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM audit_anchor").run() }
            #expect(try await AuditVerifier.verify(store.database).isIntact)
        }
    }

    @Test(arguments: Engine.available)
    func truncatingTheTailIsDetected(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, entries in
            let last = entries.last!.sequence
            try await sql.raw("DELETE FROM audit_log WHERE seq > \(literal: Int(last - 3))").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: last - 2, reason: .truncated(anchoredSequence: last)))
            let broken = try #require(try await AuditVerifier.firstBrokenEntry(store.database))
            #expect(broken.sequence == last - 2)
            #expect(broken.reason.description.contains("missing from the end"))
        }
        // Only the last entry.
        try await tamperable(engine) { store, sql, entries in
            let last = entries.last!.sequence
            try await sql.raw("DELETE FROM audit_log WHERE seq = \(literal: Int(last))").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: last, reason: .truncated(anchoredSequence: last)))
        }
        // The whole log.
        try await tamperable(engine) { store, sql, entries in
            try await sql.raw("DELETE FROM audit_log").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 1, reason: .truncated(anchoredSequence: entries.last!.sequence)))
        }
    }

    @Test(arguments: Engine.available)
    func rewindingTheAnchorWithTheLogIsCaughtByAnExternalAnchor(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, entries in
            let external = try await store.audit.head()
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-anchor-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try external.write(to: file)
            #expect(try AuditAnchor.read(from: file) == external)

            let keep = entries[entries.count - 3]
            try await sql.raw("DELETE FROM audit_log WHERE seq > \(literal: Int(keep.sequence))").run()
            try await sql.update("audit_anchor").set("seq", to: SQLBind(keep.sequence)).set("hash", to: SQLBind(keep.hash)).run()
            // The database alone now looks intact …
            #expect(try await AuditVerifier.verify(store.database).isIntact)
            // … the copy kept elsewhere does not agree.
            #expect(try await AuditVerifier.verify(store.database, externalAnchor: AuditAnchor.read(from: file))
                    == .broken(sequence: keep.sequence + 1, reason: .truncated(anchoredSequence: external.sequence)))
        }
    }

    @Test(arguments: Engine.available)
    func appendingBehindTheStoresBackIsDetected(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, entries in
            // A correctly chained, correctly hashed entry that did not advance the anchor.
            let last = entries.last!
            let forged = AuditEntry(sequence: last.sequence + 1, atMicroseconds: last.atMicroseconds, actorUserID: nil, actorRole: "admin",
                                    action: "read", outcome: "ok", recordType: "audit-log", recordID: nil, fromAddress: nil,
                                    previousHash: last.hash)
            try await sql.insert(into: "audit_log").columns(AuditEntry.columns)
                .values(SQLBind(forged.sequence), SQLBind(forged.atMicroseconds), SQLBind(forged.actorUserID), SQLBind(forged.actorRole),
                        SQLBind(forged.action), SQLBind(forged.outcome), SQLBind(forged.recordType), SQLBind(forged.recordID),
                        SQLBind(forged.fromAddress), SQLBind(forged.previousHash), SQLBind(forged.hash))
                .run()
            guard case .broken(let sequence, .anchorMismatch) = try await AuditVerifier.verify(store.database) else {
                Issue.record("an entry appended without the anchor was not reported")
                return
            }
            #expect(sequence == forged.sequence)
        }
        // An anchor whose hash was changed.
        try await tamperable(engine) { store, sql, entries in
            try await sql.update("audit_anchor").set("hash", to: SQLBind(String(repeating: "b", count: 64))).run()
            guard case .broken(let sequence, .anchorMismatch) = try await AuditVerifier.verify(store.database) else {
                Issue.record("a changed anchor hash was not reported")
                return
            }
            #expect(sequence == entries.last!.sequence)
        }
        // A missing anchor row.
        try await tamperable(engine) { store, sql, entries in
            try await sql.raw("DELETE FROM audit_anchor").run()
            #expect(try await AuditVerifier.verify(store.database)
                    == .broken(sequence: entries.last!.sequence + 1, reason: .anchorMismatch("the audit_anchor row is missing")))
        }
    }

    @Test func anchorFileFormat() throws {
        let anchor = AuditAnchor(sequence: 42, hash: String(repeating: "0123456789abcdef", count: 4))
        #expect(anchor.description == "ossa-audit-anchor-v1 42 " + String(repeating: "0123456789abcdef", count: 4))
        #expect(try AuditAnchor(fileContents: anchor.description + "\n") == anchor)
        #expect(throws: StoreError.self) { try AuditAnchor(fileContents: "ossa-audit-anchor-v1 -1 " + anchor.hash) }
        #expect(throws: StoreError.self) { try AuditAnchor(fileContents: "ossa-audit-anchor-v1 1 XYZ") }
    }
}
