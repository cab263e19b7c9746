import FluentKit
import Foundation
import OssaCore
import SQLKit


extension EpisodeRecord {
    init(_ model: EpisodeModel) throws {
        try self.init(id: try model.requireID(), patientID: model.$patient.id, siteID: model.$site.id, joint: model.joint, side: model.side,
                      diagnosisJSON: model.diagnosisJSON, status: model.status, lastContactDate: model.lastContactDate,
                      createdAt: model.createdAt, updatedAt: model.updatedAt)
    }

    /// A row of `EpisodeRecord.selectList` (read through SQLKit: a Fluent model's reflection was the largest part of
    /// a page read afresh).
    init(row: any SQLRow) throws {
        try self.init(id: try row.decode(column: "id", as: UUID.self), patientID: try row.decode(column: "patient_id", as: UUID.self),
                      siteID: try row.decode(column: "site_id", as: UUID.self), joint: try row.decode(column: "joint", as: String.self),
                      side: try row.decode(column: "side", as: String.self), diagnosisJSON: try row.decode(column: "diagnosis_json", as: String.self),
                      status: try row.decode(column: "status", as: String.self),
                      lastContactDate: try row.decode(column: "last_contact_date", as: String?.self),
                      createdAt: try row.decode(column: "created_at", as: Date?.self), updatedAt: try row.decode(column: "updated_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "patient_id", "site_id", "joint", "side", "diagnosis_json", "status", "last_contact_date",
                                 "created_at", "updated_at"])
    }

    /// From the stored columns (a model's, or a read model's SQL row).
    init(id: UUID, patientID: UUID, siteID: UUID, joint: String, side: String, diagnosisJSON: String, status: String,
         lastContactDate: String?, createdAt: Date?, updatedAt: Date?) throws {
        let diagnosis: Diagnosis
        let lastContact: CalendarDate?
        do {
            diagnosis = try StrictJSON.decode(Diagnosis.self, from: Data(diagnosisJSON.utf8))
            lastContact = try lastContactDate.map { try CalendarDate(iso: $0) }
        } catch {
            throw StoreError.unreadable(field: "episode", value: "diagnosis or last contact date (\(error))")
        }
        self.init(id: id, patientID: patientID, siteID: siteID,
                  joint: try storedValue(Joint.self, joint, field: "joint"), side: try storedValue(Side.self, side, field: "side"),
                  diagnosis: diagnosis, status: try storedValue(EpisodeStatus.self, status, field: "status"),
                  lastContactDate: lastContact, createdAt: createdAt, updatedAt: updatedAt)
    }
}

public struct NewEpisode: Sendable, Hashable {
    public var patientID: UUID
    public var joint: Joint
    public var side: Side
    public var diagnosis: Diagnosis

    public init(patientID: UUID, joint: Joint, side: Side, diagnosis: Diagnosis) {
        self.patientID = patientID
        self.joint = joint
        self.side = side
        self.diagnosis = diagnosis
    }
}

public struct EpisodeChanges: Sendable, Hashable {
    public var diagnosis: Diagnosis?
    public var status: EpisodeStatus?
    public var lastContactDate: CalendarDate?

    public init(diagnosis: Diagnosis? = nil, status: EpisodeStatus? = nil, lastContactDate: CalendarDate? = nil) {
        self.diagnosis = diagnosis
        self.status = status
        self.lastContactDate = lastContactDate
    }
}

/// Treatment episodes. The episode's site is always its patient's site; queries filter on it in SQL.
public struct EpisodeRepository: Sendable {
    let database: OssaDatabase

    public func create(_ actor: ActingUser, _ new: NewEpisode) async throws -> EpisodeRecord {
        let scope = try await Access.require(actor, .create, .episode, database: database)
        try Self.validate(new.diagnosis, joint: new.joint)
        return try await database.transaction { db in try await Self.insert(actor, new, scope: scope, on: db) }
    }

    /// Inserts an episode inside the caller's transaction with `create`'s checks (the diagnosis fits the joint, the
    /// patient is visible to the actor under `scope`, their create-episode scope) and audits it there.
    /// `status` and `lastContact`: an import's, as the other system had them (a new episode is open).
    static let columns = ["id", "patient_id", "site_id", "joint", "side", "diagnosis_type", "diagnosis_json", "status", "last_contact_date",
                          "created_at", "updated_at"]

    /// `patientSite`: the patient's site when the caller wrote the patient in this transaction (no read then).
    static func insert(_ actor: ActingUser, _ new: NewEpisode, status: EpisodeStatus = .open, lastContact: CalendarDate? = nil,
                       scope: AccessPolicy.Scope, patientSite: UUID? = nil, audits: AuditBuffer? = nil,
                       on db: any Database) async throws -> EpisodeRecord {
        try validate(new.diagnosis, joint: new.joint)
        let diagnosisJSON = try json(new.diagnosis)
        // The patient must be visible to the actor; the episode inherits its site.
        let siteID: UUID
        if let patientSite, PatientRepository.visible(patient: new.patientID, site: patientSite, actor, scope) {
            siteID = patientSite
        } else if patientSite == nil, let patient = try await PatientRepository.scoped(PatientModel.query(on: db), actor, scope)?
            .filter(\.$id == new.patientID).first() {
            siteID = patient.$site.id
        } else {
            throw StoreError.notFound(recordType: "patient", id: new.patientID.lowerString)
        }
        let (id, now, row) = Self.row(new, siteID: siteID, status: status, lastContact: lastContact, diagnosisJSON: diagnosisJSON)
        // Written through SQLKit, as patients are (Fluent's create reflects over the model).
        try await BulkInsert.insertRows(into: EpisodeModel.schema, columns: Self.columns, values: [row], on: db.sqlDatabase())
        try await Access.audit(actor, .create, .episode, id, on: db, into: audits)
        return EpisodeRecord(id: id, patientID: new.patientID, siteID: siteID, joint: new.joint, side: new.side, diagnosis: new.diagnosis,
                             status: status, lastContactDate: lastContact, createdAt: now, updatedAt: now)
    }

    /// A validated new episode's row of `columns`, with its new id and creation time (a batch inserts many at once).
    static func row(_ new: NewEpisode, siteID: UUID, status: EpisodeStatus, lastContact: CalendarDate?,
                    diagnosisJSON: String) -> (id: UUID, at: Date, row: [BulkValue]) {
        let id = UUID(), now = Date()
        let row: [BulkValue] = [
            .uuid(id), .uuid(new.patientID), .uuid(siteID), .text(new.joint.rawValue), .text(new.side.rawValue), .text(new.diagnosis.kind.rawValue),
            .text(diagnosisJSON), .text(status.rawValue), .text(lastContact?.iso), .date(now), .date(now),
        ]
        return (id, now, row)
    }

    /// Reads one episode (part of the chart); audited as a read.
    public func get(_ actor: ActingUser, _ id: UUID) async throws -> EpisodeRecord {
        let scope = try await Access.require(actor, .read, .episode, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await Self.scoped(EpisodeModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "episode", id: id.lowerString)
            }
            try await Access.audit(actor, .read, .episode, id, on: db)
            return try EpisodeRecord(model)
        }
    }

    /// Episodes the actor may see, optionally of one patient, newest first; audited as a list.
    /// - Parameter updated: only episodes last changed in this span (FHIR `_lastUpdated`).
    public func list(_ actor: ActingUser, patient patientID: UUID? = nil, _ page: PageRequest = PageRequest(),
                     updated: InstantRange? = nil) async throws -> Page<EpisodeRecord> {
        let scope = try await Access.require(actor, .list, .episode, recordID: patientID?.lowerString, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            guard var query = Self.scoped(EpisodeModel.query(on: db), actor, scope) else {
                try await Self.requirePatient(patientID, actor, on: db)
                return Page(items: [], total: 0, limit: page.limit, offset: page.offset)
            }
            if let patientID { query = query.filter(\.$patient.$id == patientID) }
            query = query.filterSpan("updated_at", updated)
            let result = try await query.sort(\.$createdAt, .descending).sort(\.$id).page(page, map: EpisodeRecord.init)
            // "No such patient" rather than "no episodes" for a patient the actor may not see.
            if result.total == 0 { try await Self.requirePatient(patientID, actor, on: db) }
            try await Access.audit(actor, .list, .episode, patientID, on: db)
            return result
        }
    }

    /// Clinical changes: clinicians of the episode's site only.
    public func update(_ actor: ActingUser, _ id: UUID, _ changes: EpisodeChanges) async throws -> EpisodeRecord {
        let scope = try await Access.require(actor, .update, .episode, recordID: id.lowerString, database: database)
        let diagnosisJSON = try changes.diagnosis.map(Self.json)
        return try await database.transaction { db in
            guard let model = try await Self.scoped(EpisodeModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "episode", id: id.lowerString)
            }
            if let diagnosis = changes.diagnosis, let diagnosisJSON {
                guard let joint = Joint(rawValue: model.joint) else {
                    throw StoreError.unreadable(field: "joint", value: model.joint)
                }
                // The stored episode's joint decides which grades apply: a mismatch conflicts with the record (409).
                do {
                    try diagnosis.validate(joint: joint, at: "diagnosis")
                } catch let error as FieldValidationError {
                    throw StoreError.conflictingField(field: error.path, message: error.message)
                }
                model.diagnosisType = diagnosis.kind.rawValue
                model.diagnosisJSON = diagnosisJSON
            }
            if let status = changes.status { model.status = status.rawValue }
            if let last = changes.lastContactDate { model.lastContactDate = last.iso }
            try await model.update(on: db)
            try await Access.audit(actor, .update, .episode, id, on: db)
            return try EpisodeRecord(model)
        }
    }

    static func requirePatient(_ id: UUID?, _ actor: ActingUser, on db: any Database) async throws {
        guard let id else { return }
        guard try await PatientRepository.scoped(PatientModel.query(on: db), actor, AccessPolicy.scope(actor.role, .read, .patient))?
            .filter(\.$id == id).count() ?? 0 > 0 else {
            throw StoreError.notFound(recordType: "patient", id: id.lowerString)
        }
    }

    static func scoped(_ query: QueryBuilder<EpisodeModel>, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> QueryBuilder<EpisodeModel>? {
        switch scope {
        case .all: query
        case .grantedSites: actor.siteIDs.isEmpty ? nil : query.filter(\.$site.$id ~~ actor.siteIDList)
        case .ownRecord: actor.patientID.map { query.filter(\.$patient.$id == $0) }
        case .denied: nil
        }
    }

    static func validate(_ diagnosis: Diagnosis, joint: Joint) throws {
        do {
            try diagnosis.validate(joint: joint, at: "diagnosis")
        } catch {
            throw StoreError.invalid(field: error.path, message: error.message)
        }
    }

    static func json(_ diagnosis: Diagnosis) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(diagnosis), as: UTF8.self)
    }
}
