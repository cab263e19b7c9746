import FluentKit
import Foundation
import OssaCore
import SQLKit


/// A procedure to record: OssaCore's `ProcedureRecord` (setting, anaesthesia, guidance, dose, PRP/BMC details,
/// injections, complications) for an episode. The record's `signature` is not taken from input: a clinician
/// signs through `ProcedureRepository.sign`.
public struct NewProcedure: Sendable, Hashable {
    public var episodeID: UUID
    public var kind: ProcedureKind
    public var record: ProcedureRecord
    /// The operator's user account (`record.operator_` is the name as written); defaults to the acting user.
    public var operatorID: UUID?

    public init(episodeID: UUID, kind: ProcedureKind = .io, record: ProcedureRecord, operatorID: UUID? = nil) {
        self.episodeID = episodeID
        self.kind = kind
        self.record = record
        self.operatorID = operatorID
    }
}

public struct ProcedureFilter: Sendable, Hashable {
    public var episodeID: UUID?
    public var patientID: UUID?
    public var kind: ProcedureKind?
    public var performed: DateRange?
    public var signed: Bool?
    /// When the record was written (FHIR `_lastUpdated`).
    public var updated: InstantRange?

    public init(episodeID: UUID? = nil, patientID: UUID? = nil, kind: ProcedureKind? = nil, performed: DateRange? = nil, signed: Bool? = nil,
                updated: InstantRange? = nil) {
        self.updated = updated
        self.episodeID = episodeID
        self.patientID = patientID
        self.kind = kind
        self.performed = performed
        self.signed = signed
    }
}

/// Procedures and their injections. Clinicians record and sign; coordinators read.
public struct ProcedureRepository: Sendable {
    let database: OssaDatabase

    public func create(_ actor: ActingUser, _ new: NewProcedure) async throws -> StoredProcedure {
        let scope = try await Access.require(actor, .create, .procedure, recordID: new.episodeID.lowerString, database: database)
        try Self.check(new)
        return try await database.transaction { db in
            try await Self.insert(actor, new, scope: scope, on: db)
        }
    }

    /// The checks that need no database (the record's own rules, the operator's name).
    static func check(_ new: NewProcedure) throws {
        var record = new.record
        record.signature = nil
        try validating { try record.validate(at: "") }
        _ = try requiredText(record.operator_, field: "operator")
    }

    /// Writes a checked procedure inside `db`'s transaction: the episode under the actor's scope, the targets against
    /// the episode's joint, the procedure, its injections and the audit entry. Unsigned whatever `new` says: a
    /// signature is given by signing.
    static func insert(_ actor: ActingUser, _ new: NewProcedure, scope: AccessPolicy.Scope, audits: AuditBuffer? = nil,
                       on db: any Database) async throws -> StoredProcedure {
        var unsigned = new.record
        unsigned.signature = nil
        let record = unsigned
        let prp = try record.prp.map(StoredJSON.encode)
        let bmc = try record.bmc.map(StoredJSON.encode)
        let complications = try record.complications.isEmpty ? nil : StoredJSON.encode(record.complications)
        let operatorName = try requiredText(record.operator_, field: "operator")
        do {
            let episode = try await ClinicalScope.episode(new.episodeID, actor, scope, on: db)
            if let joint = Joint(rawValue: episode.joint) {
                for (i, injection) in record.injections.enumerated() {
                    if case .bone(let bone, let subregion) = injection.target {
                        let allowed = Set(BMLSubregion.subregions(of: joint).map(\.boneTarget))
                        if !allowed.isEmpty, !allowed.contains(bone) {
                            throw StoreError.conflictingField(field: "injections[\(i)].target.bone",
                                                     message: "\"\(bone.rawValue)\" is not a bone of the \(joint.rawValue)")
                        }
                        if let subregion, subregion.boneTarget != bone {
                            throw StoreError.invalid(field: "injections[\(i)].target.subregion",
                                                     message: "\"\(subregion.rawValue)\" is not in the \(bone.displayName)")
                        }
                    }
                }
            }
            let operatorID = new.operatorID ?? actor.userID
            if operatorID != actor.userID, try await UserModel.find(operatorID, on: db) == nil {
                throw StoreError.notFound(recordType: "user", id: operatorID.lowerString)
            }
            let model = ProcedureModel()
            model.$episode.id = new.episodeID
            model.$site.id = episode.$site.id
            model.kind = new.kind.rawValue
            model.procedureDate = record.date.iso
            model.setting = record.setting.rawValue
            model.anaesthesia = record.anaesthesia.rawValue
            model.guidance = record.guidance.map(\.rawValue).joined(separator: ",")
            model.fluoroscopySeconds = record.fluoroscopySeconds
            model.dapMGyCm2 = record.doseAreaProduct
            model.prpJSON = prp
            model.bmcJSON = bmc
            model.complications = complications
            model.dischargeInstructions = record.dischargeInstructions
            model.$operator.id = operatorID
            model.operatorName = operatorName
            try await model.create(on: db)
            let id = try model.requireID()
            try await BulkInsert.insertRows(into: "injections", columns: Self.injectionColumns,
                                            rows: record.injections.enumerated().map { Self.injectionRow($1, ordinal: $0 + 1, procedure: id) },
                                            on: db.sqlDatabase())
            try await Access.audit(actor, .create, .procedure, id, on: db, into: audits)
            return try Self.stored(model, injections: record.injections)
        }
    }

    /// One procedure with its injections; audited as a chart read.
    public func get(_ actor: ActingUser, _ id: UUID) async throws -> StoredProcedure {
        let scope = try await Access.require(actor, .read, .procedure, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            let model = try await Self.load(id, actor, scope, on: db)
            let injections = try await Self.injections(of: [id], on: db)
            try await Access.audit(actor, .read, .procedure, id, on: db)
            return try Self.stored(model, injections: injections[id] ?? [])
        }
    }

    /// Procedures the actor may see, in date order; audited as a list.
    public func list(_ actor: ActingUser, _ filter: ProcedureFilter = ProcedureFilter(),
                     _ page: PageRequest = PageRequest()) async throws -> Page<StoredProcedure> {
        let scope = try await Access.require(actor, .list, .procedure, recordID: filter.episodeID?.lowerString, database: database)
        let page = try page.validated()
        let performed = filter.performed
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(ProcedureModel.query(on: db), actor, scope) else { return try await ClinicalScope.emptyPage(page, episode: filter.episodeID, actor, on: db) }
            if let episodeID = filter.episodeID { query = query.filter(\.$episode.$id == episodeID) }
            if let kind = filter.kind { query = query.filter(\.$kind == kind.rawValue) }
            if let signed = filter.signed { query = signed ? query.filter(\.$signedBy.$id != nil) : query.filter(\.$signedBy.$id == nil) }
            query = query.filterPatient(filter.patientID).filterDates("procedure_date", performed).filterSpan("created_at", filter.updated)
            let total = try await query.copy().count()
            let models = try await query.sort(\.$procedureDate).sort(\.$id).range(page.offset..<(page.offset + page.limit)).all()
            let injections = try await Self.injections(of: try models.map { try $0.requireID() }, on: db)
            let items = try models.map { try Self.stored($0, injections: injections[try $0.requireID()] ?? []) }
            try await ClinicalScope.requireEpisode(filter.episodeID, ifEmpty: total == 0, actor, on: db)
            try await Access.audit(actor, .list, .procedure, filter.episodeID, on: db)
            return Page(items: items, total: total, limit: page.limit, offset: page.offset)
        }
    }

    /// A clinician of the site signs the procedure record. Signed once.
    public func sign(_ actor: ActingUser, _ id: UUID) async throws -> StoredProcedure {
        let scope = try await Access.require(actor, .update, .procedure, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            let model = try await Self.load(id, actor, scope, on: db)
            guard model.$signedBy.id == nil else { throw StoreError.conflict("procedure \(id.lowerString) is already signed") }
            model.$signedBy.id = actor.userID
            model.signedAt = Date()
            try await model.update(on: db)
            let injections = try await Self.injections(of: [id], on: db)
            try await Access.audit(actor, .update, .procedure, id, on: db)
            return try Self.stored(model, injections: injections[id] ?? [])
        }
    }

    static func load(_ id: UUID, _ actor: ActingUser, _ scope: AccessPolicy.Scope, on db: any Database) async throws -> ProcedureModel {
        guard let model = try await ClinicalScope.apply(ProcedureModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
            throw StoreError.notFound(recordType: "procedure", id: id.lowerString)
        }
        return model
    }

    static let injectionColumns = ["id", "procedure_id", "ordinal", "target_kind", "bone_target", "subregion", "product", "approach",
                                   "needle_gauge", "volume_ml"]

    static func injectionRow(_ injection: Injection, ordinal: Int, procedure: UUID, id: UUID = UUID()) -> [any Encodable & Sendable] {
        let kind: String, bone: String?, subregion: String?
        switch injection.target {
        case .intraArticular: (kind, bone, subregion) = ("intra-articular", nil, nil)
        case .bone(let b, let s): (kind, bone, subregion) = ("bone", b.rawValue, s?.rawValue)
        }
        return [id, procedure, ordinal, kind, bone, subregion, injection.product.rawValue, injection.approach, injection.gauge, injection.volumeMl]
    }

    static func injections(of procedures: [UUID], on db: any Database) async throws -> [UUID: [Injection]] {
        try await injections(of: procedures, on: db.sqlDatabase())
    }

    /// The procedures' injections by procedure, each list in order (SQLKit rows: no Fluent model's reflection).
    static func injections(of procedures: [UUID], on sql: any SQLDatabase) async throws -> [UUID: [Injection]] {
        guard !procedures.isEmpty else { return [:] }
        var out: [UUID: [Injection]] = [:]
        for row in try await sql.raw("""
            SELECT \(qualifiedColumns("i", injectionColumns)) FROM injections i WHERE i.procedure_id IN (\(binds: procedures))
            ORDER BY i.ordinal
            """).all() {
            let target: InjectionTarget
            if try row.decode(column: "target_kind", as: String.self) == "intra-articular" {
                target = .intraArticular
            } else {
                guard let bone = try row.decode(column: "bone_target", as: String?.self).flatMap(BoneTarget.init(rawValue:)) else {
                    throw StoreError.invalid(field: "injections.target", message: "stored bone target is unreadable")
                }
                target = .bone(bone, subregion: try row.decode(column: "subregion", as: String?.self).flatMap(BMLSubregion.init(rawValue:)))
            }
            let storedProduct = try row.decode(column: "product", as: String.self)
            guard let product = InjectedProduct(rawValue: storedProduct) else {
                throw StoreError.unreadable(field: "injections.product", value: storedProduct)
            }
            out[try row.decode(column: "procedure_id", as: UUID.self), default: []].append(
                Injection(target: target, product: product, approach: try row.decode(column: "approach", as: String?.self),
                          gauge: try row.decode(column: "needle_gauge", as: Int?.self), volumeMl: try row.decode(column: "volume_ml", as: Double.self)))
        }
        return out
    }

    static func stored(_ model: ProcedureModel, injections: [Injection]) throws -> StoredProcedure {
        try stored(StoredColumns(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id, kind: model.kind,
                                 procedureDate: model.procedureDate, setting: model.setting, anaesthesia: model.anaesthesia,
                                 guidance: model.guidance, fluoroscopySeconds: model.fluoroscopySeconds, dapMGyCm2: model.dapMGyCm2,
                                 prpJSON: model.prpJSON, bmcJSON: model.bmcJSON, complications: model.complications,
                                 dischargeInstructions: model.dischargeInstructions, operatorName: model.operatorName,
                                 operatorID: model.$operator.id, signedBy: model.$signedBy.id, signedAt: model.signedAt,
                                 createdAt: model.createdAt), injections: injections)
    }

    /// The columns `stored(row:injections:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "episode_id", "site_id", "kind", "procedure_date", "setting", "anaesthesia", "guidance",
                                 "fluoroscopy_seconds", "dap_mgy_cm2", "prp_json", "bmc_json", "complications", "discharge_instructions",
                                 "operator_name", "operator_id", "signed_by", "signed_at", "created_at"])
    }

    /// A row of `selectList` (SQLKit, without a Fluent model's reflection).
    static func stored(row: any SQLRow, injections: [UUID: [Injection]]) throws -> StoredProcedure {
        let id = try row.decode(column: "id", as: UUID.self)
        return try stored(StoredColumns(
            id: id, episodeID: try row.decode(column: "episode_id", as: UUID.self), siteID: try row.decode(column: "site_id", as: UUID.self),
            kind: try row.decode(column: "kind", as: String.self), procedureDate: try row.decode(column: "procedure_date", as: String.self),
            setting: try row.decode(column: "setting", as: String?.self), anaesthesia: try row.decode(column: "anaesthesia", as: String?.self),
            guidance: try row.decode(column: "guidance", as: String?.self),
            fluoroscopySeconds: try row.decode(column: "fluoroscopy_seconds", as: Double?.self),
            dapMGyCm2: try row.decode(column: "dap_mgy_cm2", as: Double?.self), prpJSON: try row.decode(column: "prp_json", as: String?.self),
            bmcJSON: try row.decode(column: "bmc_json", as: String?.self), complications: try row.decode(column: "complications", as: String?.self),
            dischargeInstructions: try row.decode(column: "discharge_instructions", as: String?.self),
            operatorName: try row.decode(column: "operator_name", as: String?.self), operatorID: try row.decode(column: "operator_id", as: UUID?.self),
            signedBy: try row.decode(column: "signed_by", as: UUID?.self), signedAt: try row.decode(column: "signed_at", as: Date?.self),
            createdAt: try row.decode(column: "created_at", as: Date?.self)), injections: injections[id] ?? [])
    }

    /// A procedure row's stored values, from a Fluent model or an SQLKit row.
    private struct StoredColumns {
        var id: UUID, episodeID: UUID, siteID: UUID, kind: String, procedureDate: String
        var setting: String?, anaesthesia: String?, guidance: String?, fluoroscopySeconds: Double?, dapMGyCm2: Double?
        var prpJSON: String?, bmcJSON: String?, complications: String?, dischargeInstructions: String?, operatorName: String?
        var operatorID: UUID?, signedBy: UUID?, signedAt: Date?, createdAt: Date?
    }

    private static func stored(_ model: StoredColumns, injections: [Injection]) throws -> StoredProcedure {
        let kind = try storedValue(ProcedureKind.self, model.kind, field: "kind")
        guard let setting = try storedValue(ProcedureSetting.self, model.setting, field: "setting") else {
            throw StoreError.unreadable(field: "setting", value: "NULL")
        }
        guard let anaesthesia = try storedValue(Anaesthesia.self, model.anaesthesia, field: "anaesthesia") else {
            throw StoreError.unreadable(field: "anaesthesia", value: "NULL")
        }
        let guidance = try (model.guidance ?? "").split(separator: ",").map { try storedValue(Guidance.self, String($0), field: "guidance") }
        let record = ProcedureRecord(
            date: try parseStoredDate(model.procedureDate, field: "date"), setting: setting, anaesthesia: anaesthesia, guidance: guidance,
            fluoroscopySeconds: model.fluoroscopySeconds, doseAreaProduct: model.dapMGyCm2,
            prp: try model.prpJSON.map { try StoredJSON.decode(PRPDetails.self, $0, field: "prp") },
            bmc: try model.bmcJSON.map { try StoredJSON.decode(BMCDetails.self, $0, field: "bmc") },
            injections: injections,
            complications: try model.complications.map { try StoredJSON.decode([Complication].self, $0, field: "complications") } ?? [],
            dischargeInstructions: model.dischargeInstructions, operator_: model.operatorName ?? "")
        return StoredProcedure(id: model.id, episodeID: model.episodeID, siteID: model.siteID, kind: kind, record: record,
                               operatorID: model.operatorID, signedBy: model.signedBy, signedAt: model.signedAt, createdAt: model.createdAt)
    }
}
