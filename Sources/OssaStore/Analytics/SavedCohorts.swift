import FluentKit
import Foundation
import OssaAnalytics
import OssaCore
import SQLKit

/// A cohort saved by name: its filters, grouping and covariates (never patient data).
public struct SavedCohortRecord: Sendable, Hashable {
    public var id: UUID
    public var name: String
    public var definition: CohortDefinition
    public var createdBy: UUID
    public var createdAt: Date
}

/// Saved cohorts, shared by everyone who may view analytics; audited.
public struct SavedCohortRepository: Sendable {
    let database: OssaDatabase

    public func create(_ actor: ActingUser, _ definition: CohortDefinition, now: Date = Date()) async throws -> SavedCohortRecord {
        _ = try await Access.require(actor, .create, .cohort, database: database)
        guard let name = definition.name?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else {
            throw StoreError.invalid(field: "name", message: "give the cohort a name")
        }
        do { try definition.validate(jsonPaths: true) } catch { throw StoreError.invalid(field: error.path, message: error.message) }
        var stored = definition
        stored.name = name
        let json = String(decoding: try StrictJSON.encode(stored), as: UTF8.self)
        let id = UUID()
        let record = SavedCohortRecord(id: id, name: name, definition: stored, createdBy: actor.userID, createdAt: now)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let clash = try await sql.raw("SELECT id FROM saved_cohorts WHERE name = \(bind: name)").first()
            if clash != nil { throw StoreError.conflictingField(field: "name", message: "a cohort named \"\(name)\" exists already") }
            try await sql.raw("""
                INSERT INTO saved_cohorts (id, name, definition_json, created_by, created_at) \
                VALUES (\(bind: id), \(bind: name), \(bind: json), \(bind: actor.userID), \(bind: now))
                """).run()
            try await Access.audit(actor, .create, .cohort, id, on: db)
            return record
        }
    }

    public func list(_ actor: ActingUser) async throws -> [SavedCohortRecord] {
        _ = try await Access.require(actor, .list, .cohort, database: database)
        return try await database.auditedRead { db in
            let rows = try await db.sqlDatabase().raw("SELECT id, name, definition_json, created_by, created_at FROM saved_cohorts ORDER BY name").all()
            return (try rows.map(Self.record), [AuditEvent(actor: actor, action: .list, recordType: .cohort, recordID: nil)])
        }
    }

    public func get(_ actor: ActingUser, _ id: UUID) async throws -> SavedCohortRecord {
        _ = try await Access.require(actor, .read, .cohort, recordID: id.lowercasedString, database: database)
        let found: SavedCohortRecord? = try await database.auditedRead { db in
            let row = try await db.sqlDatabase().raw("SELECT id, name, definition_json, created_by, created_at FROM saved_cohorts WHERE id = \(bind: id)").first()
            return (try row.map(Self.record), [AuditEvent(actor: actor, action: .read, recordType: .cohort, recordID: id.lowercasedString)])
        }
        guard let found else { throw StoreError.notFound(recordType: "cohort", id: id.lowercasedString) }
        return found
    }

    static func record(_ row: any SQLRow) throws -> SavedCohortRecord {
        let json = try row.decode(column: "definition_json", as: String.self)
        let definition: CohortDefinition
        do { definition = try StrictJSON.decode(CohortDefinition.self, from: Data(json.utf8)) } catch {
            throw StoreError.unreadable(field: "saved_cohorts.definition_json", value: String(json.prefix(40)))
        }
        return SavedCohortRecord(id: try row.decode(column: "id", as: UUID.self), name: try row.decode(column: "name", as: String.self),
                                 definition: definition, createdBy: try row.decode(column: "created_by", as: UUID.self),
                                 createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}
