import FluentKit
import Foundation
import OssaCore
import SQLKit

/// Patients' consents (issue #12), recorded and read by the staff of the patient's site, every write and read
/// audited. A decision is never changed: a new one of the same kind supersedes it (`ConsentRecord.current`).
///
/// The research-use decision has teeth: a patient whose current research-use consent is `deny` is left out of
/// every de-identified export (`ExportRepository.charts(deidentified:)`, `ResearchRepository`) and of researchers'
/// analytics (`AnalyticsRepository`).
public struct ConsentRepository: Sendable {
    let database: OssaDatabase

    static let columns = ["id", "patient_id", "site_id", "kind", "decision", "consent_date", "recorded_by", "recorded_at", "form_reference"]

    public func create(_ actor: ActingUser, patientID: UUID, _ new: NewConsent, now: Date = Date()) async throws -> ConsentRecord {
        let scope = try await Access.require(actor, .create, .consent, recordID: patientID.lowerString, database: database)
        try Self.check(new, now: now)
        return try await database.transaction { db in
            try await Self.insert(actor, patientID: patientID, new, now: now, scope: scope, on: db)
        }
    }

    /// The checks that need no database.
    static func check(_ new: NewConsent, now: Date) throws {
        _ = try optionalText(new.formReference, field: "formReference", max: 500)
        guard new.date <= CalendarDate(utc: now).adding(days: 1) else { throw StoreError.invalid(field: "date", message: "\(new.date) is in the future") }
    }

    /// Writes a checked consent inside `db`'s transaction: the patient under the actor's scope, the row and its audit entry.
    static func insert(_ actor: ActingUser, patientID: UUID, _ new: NewConsent, now: Date, scope: AccessPolicy.Scope,
                       audits: AuditBuffer? = nil, on db: any Database) async throws -> ConsentRecord {
        let reference = try optionalText(new.formReference, field: "formReference", max: 500)
        do {
            guard let patient = try await PatientRepository.scoped(PatientModel.query(on: db), actor, scope)?.filter(\.$id == patientID).first() else {
                throw StoreError.notFound(recordType: "patient", id: patientID.lowerString)
            }
            guard new.date.iso >= patient.birthDate else {
                throw StoreError.conflictingField(field: "date", message: "\(new.date) is before the patient's birth")
            }
            let record = ConsentRecord(id: UUID(), patientID: patientID, siteID: patient.$site.id, kind: new.kind, decision: new.decision,
                                       date: new.date, recordedBy: actor.userID, recordedAt: now, formReference: reference)
            let sql = try db.sqlDatabase()
            try await sql.insert(into: "consents").columns(Self.columns)
                .values(SQLBind(record.id), SQLBind(patientID), SQLBind(record.siteID), SQLBind(new.kind.rawValue), SQLBind(new.decision.rawValue),
                        SQLBind(new.date.iso), SQLBind(actor.userID), SQLBind(now), SQLBind(reference))
                .run()
            let event = AuditEvent(actor: actor, action: .create, recordType: .consent, recordID: record.id.lowerString)
            if let audits { audits.add(event) } else { try await AuditLog.append(event, on: db) }
            return record
        }
    }

    /// A patient's consents, oldest first (the history; `ConsentRecord.current` gives the standing ones).
    public func list(_ actor: ActingUser, patientID: UUID) async throws -> [ConsentRecord] {
        let scope = try await Access.require(actor, .list, .consent, recordID: patientID.lowerString, database: database)
        return try await database.auditedRead { db in
            guard try await PatientRepository.scoped(PatientModel.query(on: db), actor, scope)?.filter(\.$id == patientID).first() != nil else {
                throw StoreError.notFound(recordType: "patient", id: patientID.lowerString)
            }
            let records = try await Self.records(patients: [patientID], on: try db.sqlDatabase())
            return (records, [AuditEvent(actor: actor, action: .list, recordType: .consent, recordID: patientID.lowerString)])
        }
    }

    /// One consent, for FHIR `Consent/{id}`.
    public func get(_ actor: ActingUser, id: UUID) async throws -> ConsentRecord {
        let scope = try await Access.require(actor, .read, .consent, recordID: id.lowerString, database: database)
        return try await database.auditedRead { db in
            let sql = try db.sqlDatabase()
            guard let record = try await Self.select(sql).where(SQLColumn("id", table: "c"), .equal, SQLBind(id)).all().map(Self.record).first,
                  scope == .all || (scope == .grantedSites && actor.siteIDs.contains(record.siteID)) else {
                throw StoreError.notFound(recordType: "consent", id: id.lowerString)
            }
            return (record, [AuditEvent(actor: actor, action: .read, recordType: .consent, recordID: id.lowerString)])
        }
    }

    static func select(_ sql: any SQLDatabase) -> SQLSelectBuilder {
        sql.select().columns(columns.map { SQLColumn($0, table: "c") }).column(SQLColumn("display_name", table: "u"))
            .from(SQLAlias(SQLIdentifier("consents"), as: SQLIdentifier("c")))
            .join(SQLAlias(SQLIdentifier("users"), as: SQLIdentifier("u")), method: SQLJoinMethod.left,
                  on: SQLColumn("id", table: "u"), .equal, SQLColumn("recorded_by", table: "c"))
    }

    static func records(patients: [UUID], on sql: any SQLDatabase) async throws -> [ConsentRecord] {
        guard !patients.isEmpty else { return [] }
        return try await select(sql).where(SQLColumn("patient_id", table: "c"), .in, SQLBind.group(patients))
            .orderBy(SQLColumn("consent_date", table: "c")).orderBy(SQLColumn("recorded_at", table: "c")).all().map(record)
    }

    static func record(_ row: any SQLRow) throws -> ConsentRecord {
        ConsentRecord(
            id: try row.decode(column: "id", as: UUID.self), patientID: try row.decode(column: "patient_id", as: UUID.self),
            siteID: try row.decode(column: "site_id", as: UUID.self),
            kind: try storedValue(ConsentKind.self, try row.decode(column: "kind", as: String.self), field: "kind"),
            decision: try storedValue(ConsentDecision.self, try row.decode(column: "decision", as: String.self), field: "decision"),
            date: try parseStoredDate(try row.decode(column: "consent_date", as: String.self), field: "consent_date"),
            recordedBy: try row.decode(column: "recorded_by", as: UUID.self),
            recordedByName: try row.decode(column: "display_name", as: String?.self),
            recordedAt: try row.decode(column: "recorded_at", as: Date.self),
            formReference: try row.decode(column: "form_reference", as: String?.self))
    }

    /// The patients (of `patients`, or all when nil) whose current research-use consent is `deny`.
    static func researchDenied(among patients: [UUID]?, on sql: any SQLDatabase) async throws -> Set<UUID> {
        if let patients, patients.isEmpty { return [] }
        var query = sql.select().column("patient_id").column("decision").column("consent_date").column("recorded_at").from("consents")
            .where("kind", .equal, SQLBind(ConsentKind.research.rawValue))
        if let patients { query = query.where("patient_id", .in, SQLBind.group(patients)) }
        var latest: [UUID: (String, Date, String)] = [:]
        for row in try await query.all() {
            let patient = try row.decode(column: "patient_id", as: UUID.self)
            let stamp = (try row.decode(column: "consent_date", as: String.self), try row.decode(column: "recorded_at", as: Date.self))
            if let known = latest[patient], (known.0, known.1) >= stamp { continue }
            latest[patient] = (stamp.0, stamp.1, try row.decode(column: "decision", as: String.self))
        }
        return Set(latest.filter { $0.value.2 == ConsentDecision.deny.rawValue }.keys)
    }
}

extension OssaStore {
    public var consents: ConsentRepository { ConsentRepository(database: database) }
}
