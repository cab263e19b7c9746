import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

@Suite("Audit log")
struct AuditTests {
    /// Canonical bytes and hashes computed independently (Python hashlib) from the documented format.
    @Test func canonicalEntryAndHashMatchIndependentVectors() {
        let first = AuditEntry(sequence: 1, atMicroseconds: 1_767_225_600_000_000,
                               actorUserID: "00000000-0000-0000-0000-000000000001", actorRole: "clinician", action: "read",
                               outcome: "ok", recordType: "patient", recordID: "00000000-0000-0000-0000-0000000000aa",
                               fromAddress: nil, previousHash: AuditEntry.genesisHash)
        let expected = "ossa-audit-v1\nseq=1:1\nat_us=16:1767225600000000\nactor_user_id=36:00000000-0000-0000-0000-000000000001\n"
            + "actor_role=9:clinician\naction=4:read\noutcome=2:ok\nrecord_type=7:patient\n"
            + "record_id=36:00000000-0000-0000-0000-0000000000aa\nfrom_address=-\n"
        #expect(String(decoding: first.canonicalBytes, as: UTF8.self) == expected)
        #expect(first.hash == "eb4777a40c4e3a9628be2abe4395d42f1bb86659006794c228a2341d5544f0c7")

        // NULL vs empty, multi-byte characters and a newline inside a value.
        let second = AuditEntry(sequence: 2, atMicroseconds: 1_767_225_600_000_001, actorUserID: nil, actorRole: "admin",
                                action: "update", outcome: "denied", recordType: "site", recordID: "Zürich\nline2",
                                fromAddress: "", previousHash: first.hash)
        #expect(String(decoding: second.canonicalBytes, as: UTF8.self).contains("actor_user_id=-\n"))
        #expect(String(decoding: second.canonicalBytes, as: UTF8.self).contains("record_id=13:Zürich\nline2\nfrom_address=0:\n"))
        #expect(second.hash == "d1b81096d0e67657abe85323ba6fce87fe7b73dbe6e438e6d993b60ea7b0a8e4")
    }

    @Test(arguments: Engine.available)
    func emptyLogIsIntact(engine: Engine) async throws {
        try await withStore(engine) { store in
            let verification = try await AuditVerifier.verify(store.database)
            #expect(verification == .intact(count: 0, lastHash: AuditEntry.genesisHash))
        }
    }

    @Test(arguments: Engine.available)
    func chainLinksEveryEntry(engine: Engine) async throws {
        try await withStore(engine) { store in
            _ = try await Fixture.make(store)
            let entries = try await auditEntries(store)
            #expect(entries.count > 10)
            #expect(entries.map(\.sequence) == Array(1...Int64(entries.count)))
            #expect(entries.first?.previousHash == AuditEntry.genesisHash)
            for (previous, entry) in zip(entries, entries.dropFirst()) {
                #expect(entry.previousHash == previous.hash)
                #expect(entry.atMicroseconds >= previous.atMicroseconds)
            }
            #expect(try await AuditVerifier.verify(store.database) == .intact(count: entries.count, lastHash: entries.last!.hash))
            // Small pages read the same chain.
            #expect(try await AuditVerifier.verify(store.database.sql(), pageSize: 3) == .intact(count: entries.count, lastHash: entries.last!.hash))
        }
    }

    @Test(arguments: Engine.available)
    func everyWriteAndChartReadIsAudited(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let before = try await auditEntries(store).count
            _ = try await store.patients.get(clinician, f.patientA.id)
            _ = try await store.patients.update(clinician, f.patientA.id, PatientChanges(email: "anna@example.org"))
            _ = try await store.episodes.get(clinician, f.episodeA.id)
            let entries = try await auditEntries(store).dropFirst(before)
            #expect(entries.map(\.action) == ["read", "update", "read"])
            #expect(entries.map(\.recordType) == ["patient", "patient", "episode"])
            #expect(entries.map(\.recordID) == [f.patientA.id, f.patientA.id, f.episodeA.id].map { $0.uuidString.lowercased() })
            #expect(entries.allSatisfy { $0.fromAddress == clinician.address && $0.actorRole == "clinician" })
        }
    }

    @Test(arguments: Engine.available)
    func aFailedWriteLeavesNoEntry(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let before = try await auditEntries(store).count
            // Duplicate MRN at the same site: the insert fails, the transaction rolls back, nothing is audited.
            await #expect(throws: StoreError.self) {
                _ = try await store.patients.create(f.seeder, NewPatient(siteID: f.siteA.id, mrn: "A-1", familyName: "Dup",
                                                                         givenName: "X", birthDate: date("1990-01-01")))
            }
            #expect(try await auditEntries(store).count == before)
            #expect(try await AuditVerifier.verify(store.database) == .intact(count: before, lastHash: auditEntries(store).last!.hash))
        }
    }

    @Test(arguments: Engine.available)
    func triggersRefuseUpdateAndDelete(engine: Engine) async throws {
        try await withStore(engine) { store in
            _ = try await Fixture.make(store)
            let sql = try store.database.sql()
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE audit_log SET action = 'x' WHERE seq = 1").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM audit_log WHERE seq = 1").run() }
            if engine == .postgres {
                await #expect(throws: (any Error).self) { try await sql.raw("TRUNCATE audit_log").run() }
            }
            #expect(try await AuditVerifier.verify(store.database).isIntact)
        }
    }

    @Test(arguments: Engine.available)
    func concurrentAppendsStayChained(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let before = try await auditEntries(store).count
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        _ = try await store.patients.create(f.seeder, NewPatient(siteID: i.isMultiple(of: 2) ? f.siteA.id : f.siteB.id,
                                                                                 familyName: "Parallel \(i)", givenName: "P",
                                                                                 birthDate: date("1970-01-01")))
                    }
                }
                try await group.waitForAll()
            }
            let entries = try await auditEntries(store)
            #expect(entries.count == before + 24)
            #expect(try await AuditVerifier.verify(store.database) == .intact(count: entries.count, lastHash: entries.last!.hash))
        }
    }

    // MARK: Tampering (the triggers are dropped first, as someone with direct database access could)

    /// A store with a fixture's worth of entries and no append-only triggers.
    func tamperable(_ engine: Engine, _ body: @escaping @Sendable (OssaStore, any SQLDatabase, [AuditEntry]) async throws -> Void) async throws {
        try await withStore(engine) { store in
            _ = try await Fixture.make(store)
            try await dropAuditTriggers(store)
            let entries = try await auditEntries(store)
            #expect(entries.count >= 8)
            #expect(try await AuditVerifier.verify(store.database).isIntact)
            try await body(store, try store.database.sql(), entries)
        }
    }

    @Test(arguments: Engine.available)
    func editingAFieldIsDetectedAtThatEntry(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, _ in
            try await sql.raw("UPDATE audit_log SET action = 'delete' WHERE seq = 5").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 5, reason: .hashMismatch))
        }
    }

    @Test(arguments: Engine.available)
    func editingTheTimeOrAddressIsDetected(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, _ in
            try await sql.raw("UPDATE audit_log SET from_address = '203.0.113.9' WHERE seq = 3").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 3, reason: .hashMismatch))
        }
        try await tamperable(engine) { store, sql, _ in
            try await sql.raw("UPDATE audit_log SET at_us = at_us + 1 WHERE seq = 7").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 7, reason: .hashMismatch))
        }
    }

    @Test(arguments: Engine.available)
    func editingAnEntryAndItsHashIsDetectedAtTheNextEntry(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, entries in
            // Rewrite entry 4 consistently (new content, recomputed hash): entry 5 no longer links to it.
            var forged = entries[3]
            forged.recordID = "someone-else"
            let rehashed = AuditEntry(sequence: forged.sequence, atMicroseconds: forged.atMicroseconds, actorUserID: forged.actorUserID,
                                      actorRole: forged.actorRole, action: forged.action, outcome: forged.outcome,
                                      recordType: forged.recordType, recordID: forged.recordID, fromAddress: forged.fromAddress,
                                      previousHash: forged.previousHash)
            try await sql.update("audit_log").set("record_id", to: SQLBind(rehashed.recordID)).set("hash", to: SQLBind(rehashed.hash))
                .where("seq", .equal, SQLBind(Int64(4))).run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 5, reason: .previousHashMismatch))
        }
    }

    @Test(arguments: Engine.available)
    func deletingARowIsDetected(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, _ in
            try await sql.raw("DELETE FROM audit_log WHERE seq = 4").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 4, reason: .missingEntry))
        }
        try await tamperable(engine) { store, sql, _ in
            try await sql.raw("DELETE FROM audit_log WHERE seq = 1").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 1, reason: .missingEntry))
        }
    }

    @Test(arguments: Engine.available)
    func deletingAndRenumberingIsDetected(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, entries in
            // Remove entry 4 and close the gap: entry 5 (now numbered 4) does not hash to its stored value.
            try await sql.raw("DELETE FROM audit_log WHERE seq = 4").run()
            try await sql.raw("UPDATE audit_log SET seq = -seq WHERE seq > 4").run()
            try await sql.raw("UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0").run()
            #expect(try await auditEntries(store).count == entries.count - 1)
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 4, reason: .previousHashMismatch))
        }
    }

    @Test(arguments: Engine.available)
    func insertingAForgedRowIsDetected(engine: Engine) async throws {
        // At the end, with a made-up hash.
        try await tamperable(engine) { store, sql, entries in
            let last = entries.last!
            let next = last.sequence + 1
            try await insert(AuditEntry(sequence: next, atMicroseconds: last.atMicroseconds, actorUserID: nil, actorRole: "admin",
                                        action: "export", outcome: "ok", recordType: "export", recordID: nil, fromAddress: nil,
                                        previousHash: last.hash), hash: String(repeating: "a", count: 64), into: sql)
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: next, reason: .hashMismatch))
        }
        // In the middle, correctly chained to its predecessor, later rows renumbered to make room:
        // the row after it no longer links.
        try await tamperable(engine) { store, sql, entries in
            try await sql.raw("UPDATE audit_log SET seq = -seq WHERE seq > 3").run()
            try await sql.raw("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0").run()
            let forged = AuditEntry(sequence: 4, atMicroseconds: entries[2].atMicroseconds, actorUserID: nil, actorRole: "clinician",
                                    action: "read", outcome: "ok", recordType: "patient", recordID: "x", fromAddress: nil,
                                    previousHash: entries[2].hash)
            try await insert(forged, hash: forged.hash, into: sql)
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 5, reason: .previousHashMismatch))
        }
        // A row numbered below 1.
        try await tamperable(engine) { store, sql, entries in
            let forged = AuditEntry(sequence: 0, atMicroseconds: 0, actorUserID: nil, actorRole: "admin", action: "read", outcome: "ok",
                                    recordType: "patient", recordID: nil, fromAddress: nil, previousHash: AuditEntry.genesisHash)
            try await insert(forged, hash: forged.hash, into: sql)
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 0, reason: .malformed("sequence numbers start at 1")))
            _ = entries
        }
    }

    @Test(arguments: Engine.available)
    func reorderingRowsIsDetected(engine: Engine) async throws {
        try await tamperable(engine) { store, sql, _ in
            // Swap entries 3 and 6.
            try await sql.raw("UPDATE audit_log SET seq = -1 WHERE seq = 3").run()
            try await sql.raw("UPDATE audit_log SET seq = 3 WHERE seq = 6").run()
            try await sql.raw("UPDATE audit_log SET seq = 6 WHERE seq = -1").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 3, reason: .previousHashMismatch))
        }
        try await tamperable(engine) { store, sql, _ in
            // Swap two neighbours, 5 and 6.
            try await sql.raw("UPDATE audit_log SET seq = -1 WHERE seq = 5").run()
            try await sql.raw("UPDATE audit_log SET seq = 5 WHERE seq = 6").run()
            try await sql.raw("UPDATE audit_log SET seq = 6 WHERE seq = -1").run()
            #expect(try await AuditVerifier.verify(store.database) == .broken(sequence: 5, reason: .previousHashMismatch))
        }
    }

    func insert(_ entry: AuditEntry, hash: String, into sql: any SQLDatabase) async throws {
        try await sql.insert(into: "audit_log").columns(AuditEntry.columns)
            .values(SQLBind(entry.sequence), SQLBind(entry.atMicroseconds), SQLBind(entry.actorUserID), SQLBind(entry.actorRole),
                    SQLBind(entry.action), SQLBind(entry.outcome), SQLBind(entry.recordType), SQLBind(entry.recordID),
                    SQLBind(entry.fromAddress), SQLBind(entry.previousHash), SQLBind(hash))
            .run()
    }
}

extension AuditVerification {
    var isIntact: Bool { if case .intact = self { true } else { false } }
}
