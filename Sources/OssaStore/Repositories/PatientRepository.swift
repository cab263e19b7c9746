import FluentKit
import Foundation
import OssaCore
import SQLKit


extension PatientRecord {
    init(_ model: PatientModel) throws {
        let birthDate: CalendarDate
        do {
            birthDate = try CalendarDate(iso: model.birthDate)
        } catch {
            throw StoreError.unreadable(field: "birthDate", value: model.birthDate)
        }
        self.init(id: try model.requireID(), siteID: model.$site.id, mrn: model.mrn, familyName: model.familyName,
                  givenName: model.givenName, birthDate: birthDate, sex: try storedValue(PatientSex.self, model.sex, field: "sex"),
                  email: model.email, phone: model.phone, createdAt: model.createdAt, updatedAt: model.updatedAt)
    }

    /// A row of `PatientRecord.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        let stored = try row.decode(column: "birth_date", as: String.self)
        let birthDate: CalendarDate
        do {
            birthDate = try CalendarDate(iso: stored)
        } catch {
            throw StoreError.unreadable(field: "birthDate", value: stored)
        }
        self.init(id: try row.decode(column: "id", as: UUID.self), siteID: try row.decode(column: "site_id", as: UUID.self),
                  mrn: try row.decode(column: "mrn", as: String?.self), familyName: try row.decode(column: "family_name", as: String.self),
                  givenName: try row.decode(column: "given_name", as: String.self), birthDate: birthDate,
                  sex: try storedValue(PatientSex.self, try row.decode(column: "sex", as: String?.self), field: "sex"),
                  email: try row.decode(column: "email", as: String?.self), phone: try row.decode(column: "phone", as: String?.self),
                  createdAt: try row.decode(column: "created_at", as: Date?.self), updatedAt: try row.decode(column: "updated_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "site_id", "mrn", "family_name", "given_name", "birth_date", "sex", "email", "phone",
                                 "created_at", "updated_at"])
    }
}

public struct NewPatient: Sendable, Hashable {
    public var siteID: UUID
    public var mrn: String?
    public var familyName: String
    public var givenName: String
    public var birthDate: CalendarDate
    public var sex: PatientSex?
    public var email: String?
    public var phone: String?

    public init(siteID: UUID, mrn: String? = nil, familyName: String, givenName: String, birthDate: CalendarDate,
                sex: PatientSex? = nil, email: String? = nil, phone: String? = nil) {
        self.siteID = siteID
        self.mrn = mrn
        self.familyName = familyName
        self.givenName = givenName
        self.birthDate = birthDate
        self.sex = sex
        self.email = email
        self.phone = phone
    }
}

/// Changes to a patient record; nil leaves a field as it is. A record does not move between sites.
public struct PatientChanges: Sendable, Hashable {
    public var mrn: String?
    public var familyName: String?
    public var givenName: String?
    public var birthDate: CalendarDate?
    public var sex: PatientSex?
    public var email: String?
    public var phone: String?

    public init(mrn: String? = nil, familyName: String? = nil, givenName: String? = nil, birthDate: CalendarDate? = nil,
                sex: PatientSex? = nil, email: String? = nil, phone: String? = nil) {
        self.mrn = mrn
        self.familyName = familyName
        self.givenName = givenName
        self.birthDate = birthDate
        self.sex = sex
        self.email = email
        self.phone = phone
    }
}

/// Identified patient records. Every query is restricted to the actor's granted sites (or, for a patient login,
/// to their own record) in its WHERE clause; every chart read and every write is audited in its transaction.
public struct PatientRepository: Sendable {
    let database: OssaDatabase

    public func create(_ actor: ActingUser, _ new: NewPatient) async throws -> PatientRecord {
        let scope = try await Access.require(actor, .create, .patient, database: database)
        try await Access.requireSite(actor, new.siteID, scope: scope, .create, .patient, database: database)
        let checked = try Self.checked(new)
        return try await mapConstraint(Self.duplicateMRN(checked)) {
            try await database.transaction { db in try await Self.insert(actor, checked, on: db) }
        }
    }

    /// The new patient's text fields as stored (trimmed, within their lengths), or `StoreError.invalid` naming one.
    static func checked(_ new: NewPatient) throws -> NewPatient {
        var checked = new
        checked.familyName = try requiredText(new.familyName, field: "familyName")
        checked.givenName = try requiredText(new.givenName, field: "givenName")
        checked.mrn = try optionalText(new.mrn, field: "mrn", max: 64)
        checked.email = try optionalText(new.email, field: "email", max: 254)
        checked.phone = try optionalText(new.phone, field: "phone", max: 40)
        return checked
    }

    /// What a unique-constraint failure of `insert` means (wrap the caller's transaction in `mapConstraint`).
    static func duplicateMRN(_ new: NewPatient) -> String { "a patient with MRN \(new.mrn ?? "") already exists at this site" }

    /// Inserts a `checked` patient inside the caller's transaction and audits the creation there. The caller has
    /// checked the actor's right to create patients at the site (`create`, or a consult request's conversion).
    /// `siteChecked`: the caller has seen the site exist in this transaction. `audits`: audit into that buffer.
    static func insert(_ actor: ActingUser, _ new: NewPatient, siteChecked: Bool = false, audits: AuditBuffer? = nil,
                       on db: any Database) async throws -> PatientRecord {
        if !siteChecked, try await SiteModel.find(new.siteID, on: db) == nil {
            throw StoreError.notFound(recordType: "site", id: new.siteID.lowerString)
        }
        let (id, now, row) = Self.row(new)
        // Written through SQLKit: Fluent's create reflects over the model's properties, half of an import's time.
        try await BulkInsert.insertRows(into: PatientModel.schema, columns: Self.columns, values: [row], on: db.sqlDatabase())
        try await Access.audit(actor, .create, .patient, id, on: db, into: audits)
        return PatientRecord(id: id, siteID: new.siteID, mrn: new.mrn, familyName: new.familyName, givenName: new.givenName,
                             birthDate: new.birthDate, sex: new.sex, email: new.email, phone: new.phone, createdAt: now, updatedAt: now)
    }

    /// A checked new patient's row of `columns`, with its new id and creation time (a batch inserts many at once).
    static func row(_ new: NewPatient) -> (id: UUID, at: Date, row: [BulkValue]) {
        let id = UUID(), now = Date()
        let row: [BulkValue] = [
            .uuid(id), .uuid(new.siteID), .text(new.mrn), .text(new.familyName), .text(new.givenName),
            .text(foldForSearch(new.familyName + " " + new.givenName)), .text(new.birthDate.iso), .text(new.sex?.rawValue), .text(new.email),
            .text(new.phone), .date(now), .date(now), .text(foldMRN(new.mrn)),
        ]
        return (id, now, row)
    }

    /// Reads one chart; audited as a read.
    public func get(_ actor: ActingUser, _ id: UUID) async throws -> PatientRecord {
        let scope = try await Access.require(actor, .read, .patient, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await Self.scoped(PatientModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "patient", id: id.lowerString)
            }
            try await Access.audit(actor, .read, .patient, id, on: db)
            return try PatientRecord(model)
        }
    }

    /// Lists (and searches by name) the patients the actor may see, by family then given name; audited as a list.
    /// - Parameter updated: only patients last changed in this span (FHIR `_lastUpdated`).
    public func list(_ actor: ActingUser, _ page: PageRequest = PageRequest(), site: UUID? = nil,
                     updated: InstantRange? = nil) async throws -> Page<PatientRecord> {
        let scope = try await Access.require(actor, .list, .patient, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            guard var query = Self.scoped(PatientModel.query(on: db), actor, scope) else {
                return Page(items: [], total: 0, limit: page.limit, offset: page.offset)
            }
            if let site { query = query.filter(\.$site.$id == site) }
            query = query.filterSpan("updated_at", updated)
            let result = try await query.filterLike("name_search", page.likePattern)
                .sort(\.$familyName).sort(\.$givenName).sort(\.$id)
                .page(page, map: PatientRecord.init)
            try await Access.audit(actor, .list, .patient, nil, on: db)
            return result
        }
    }

    /// The caller's patients whose medical record number is exactly `mrn` (one per site at most), audited as a list.
    public func find(_ actor: ActingUser, mrn: String) async throws -> [PatientRecord] {
        let scope = try await Access.require(actor, .list, .patient, database: database)
        return try await database.transaction { db in
            guard let query = Self.scoped(PatientModel.query(on: db), actor, scope) else { return [] }
            let found = try await query.filter(\.$mrn == mrn).sort(\.$familyName).sort(\.$givenName).sort(\.$id).all().map(PatientRecord.init)
            try await Access.audit(actor, .list, .patient, nil, on: db)
            return found
        }
    }

    public func update(_ actor: ActingUser, _ id: UUID, _ changes: PatientChanges) async throws -> PatientRecord {
        let scope = try await Access.require(actor, .update, .patient, recordID: id.lowerString, database: database)
        let familyName = try changes.familyName.map { try requiredText($0, field: "familyName") }
        let givenName = try changes.givenName.map { try requiredText($0, field: "givenName") }
        let mrn = try optionalText(changes.mrn, field: "mrn", max: 64)
        let email = try optionalText(changes.email, field: "email", max: 254)
        let phone = try optionalText(changes.phone, field: "phone", max: 40)
        return try await mapConstraint("a patient with MRN \(mrn ?? "") already exists at this site") {
            try await database.transaction { db in
                guard let model = try await Self.scoped(PatientModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                    throw StoreError.notFound(recordType: "patient", id: id.lowerString)
                }
                if let mrn { model.mrn = mrn }
                model.mrnSearch = foldMRN(model.mrn)
                if let familyName { model.familyName = familyName }
                if let givenName { model.givenName = givenName }
                model.nameSearch = foldForSearch(model.familyName + " " + model.givenName)
                if let birthDate = changes.birthDate { model.birthDate = birthDate.iso }
                if let sex = changes.sex { model.sex = sex.rawValue }
                if let email { model.email = email }
                if let phone { model.phone = phone }
                try await model.update(on: db)
                try await Access.audit(actor, .update, .patient, id, on: db)
                return try PatientRecord(model)
            }
        }
    }

    /// The query restricted to what the actor may see, or nil when that is nothing.
    static let columns = ["id", "site_id", "mrn", "family_name", "given_name", "name_search", "birth_date", "sex", "email", "phone",
                          "created_at", "updated_at", "mrn_search"]

    /// What `scoped` lets through, for a patient whose site is known.
    static func visible(patient: UUID, site: UUID, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> Bool {
        switch scope {
        case .all: true
        case .grantedSites: actor.siteIDs.contains(site)
        case .ownRecord: actor.patientID == patient
        case .denied: false
        }
    }

    static func scoped(_ query: QueryBuilder<PatientModel>, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> QueryBuilder<PatientModel>? {
        switch scope {
        case .all: query
        case .grantedSites: actor.siteIDs.isEmpty ? nil : query.filter(\.$site.$id ~~ actor.siteIDList)
        case .ownRecord: actor.patientID.map { query.filter(\.$id == $0) }
        case .denied: nil
        }
    }
}
