import FluentKit
import Foundation
import OssaCore
import SQLKit

extension StoredPlan {
    init(_ model: ProcedurePlanModel) throws {
        self.init(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id, decisionID: model.decisionID,
                  plan: try StoredJSON.decode(InjectionPlan.self, model.planJSON, field: "plan_json"),
                  updatedBy: model.updatedBy, updatedAt: model.updatedAt ?? model.createdAt)
    }

    /// A row of `StoredPlan.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        self.init(id: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID.self),
                  siteID: try row.decode(column: "site_id", as: UUID.self), decisionID: try row.decode(column: "decision_id", as: UUID?.self),
                  plan: try StoredJSON.decode(InjectionPlan.self, try row.decode(column: "plan_json", as: String.self), field: "plan_json"),
                  updatedBy: try row.decode(column: "updated_by", as: UUID.self),
                  updatedAt: try row.decode(column: "updated_at", as: Date?.self) ?? row.decode(column: "created_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "episode_id", "site_id", "decision_id", "plan_json", "updated_by", "updated_at", "created_at"])
    }
}

extension StoredAdjunct {
    init(_ model: AdjunctSessionModel) throws {
        self.init(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id,
                  session: try StoredJSON.decode(AdjunctSession.self, model.sessionJSON, field: "session_json"),
                  createdBy: model.createdBy, createdAt: model.createdAt)
    }

    /// A row of `StoredAdjunct.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        self.init(id: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID.self),
                  siteID: try row.decode(column: "site_id", as: UUID.self),
                  session: try StoredJSON.decode(AdjunctSession.self, try row.decode(column: "session_json", as: String.self), field: "session_json"),
                  createdBy: try row.decode(column: "created_by", as: UUID.self), createdAt: try row.decode(column: "created_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "episode_id", "site_id", "session_json", "created_by", "created_at"])
    }
}

extension ProcedureAddendum {
    init(_ model: ProcedureAddendumModel) throws {
        self.init(id: try model.requireID(), procedureID: model.$procedure.id, text: model.text, reason: model.reason,
                  authorID: model.authorID, createdAt: model.createdAt)
    }

    /// A row of `ProcedureAddendum.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        self.init(id: try row.decode(column: "id", as: UUID.self), procedureID: try row.decode(column: "procedure_id", as: UUID.self),
                  text: try row.decode(column: "text", as: String.self), reason: try row.decode(column: "reason", as: String.self),
                  authorID: try row.decode(column: "author_id", as: UUID.self), createdAt: try row.decode(column: "created_at", as: Date.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "procedure_id", "text", "reason", "author_id", "created_at"])
    }
}

/// The injection plan of an episode, its adjunct sessions, and addenda to signed procedure records. Clinicians of the
/// episode's site write; staff of the site read (the episode page's read model loads them). Every write is audited
/// in its transaction.
public struct PlanRepository: Sendable {
    let database: OssaDatabase

    /// Saves the episode's plan, replacing the one before (one plan per episode).
    public func save(_ actor: ActingUser, episodeID: UUID, _ plan: InjectionPlan, decisionID: UUID?) async throws -> StoredPlan {
        let scope = try await Access.require(actor, .update, .procedurePlan, recordID: episodeID.lowerString, database: database)
        try validating { try plan.validate() }
        let json = try StoredJSON.encode(plan)
        return try await database.transaction { db in
            let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
            try Self.checkTargets(plan.injections.map(\.target), joint: episode.joint)
            let model = try await ProcedurePlanModel.query(on: db).filter(\.$episode.$id == episodeID).first() ?? ProcedurePlanModel()
            let isNew = model.id == nil
            model.$episode.id = episodeID
            model.$site.id = episode.$site.id
            model.decisionID = decisionID
            model.plannedDate = plan.plannedDate?.iso
            model.planJSON = json
            model.updatedBy = actor.userID
            if isNew { try await model.create(on: db) } else { try await model.update(on: db) }
            try await Access.audit(actor, isNew ? .create : .update, .procedurePlan, model.id, on: db)
            return try StoredPlan(model)
        }
    }

    /// Records an adjunct session (a shockwave course or an intra-articular injection).
    public func addAdjunct(_ actor: ActingUser, episodeID: UUID, _ session: AdjunctSession) async throws -> StoredAdjunct {
        let scope = try await Access.require(actor, .create, .adjunctSession, recordID: episodeID.lowerString, database: database)
        try validating { try session.validate(at: "") }
        guard let date = session.firstDate else {
            throw StoreError.invalid(field: "shockwave.sessionDates", message: "give the date of at least one session")
        }
        let json = try StoredJSON.encode(session)
        return try await database.transaction { db in
            let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
            let model = AdjunctSessionModel()
            model.$episode.id = episodeID
            model.$site.id = episode.$site.id
            if case .shockwave = session { model.kind = "shockwave" } else { model.kind = "intra-articular" }
            model.sessionDate = date.iso
            model.sessionJSON = json
            model.createdBy = actor.userID
            try await model.create(on: db)
            try await Access.audit(actor, .create, .adjunctSession, model.id, on: db)
            return try StoredAdjunct(model)
        }
    }

    /// Adds a correction to a signed procedure record. Before signing the record is simply not final; an addendum
    /// is for a record that is locked.
    public func addAddendum(_ actor: ActingUser, procedureID: UUID, text: String, reason: String) async throws -> ProcedureAddendum {
        let scope = try await Access.require(actor, .create, .procedureAddendum, recordID: procedureID.lowerString, database: database)
        let text = try requiredText(text, field: "text", max: 4000)
        let reason = try requiredText(reason, field: "reason", max: 2000)
        return try await database.transaction { db in
            guard let procedure = try await ClinicalScope.apply(ProcedureModel.query(on: db), actor, scope)?.filter(\.$id == procedureID).first() else {
                throw StoreError.notFound(recordType: "procedure", id: procedureID.lowerString)
            }
            guard procedure.$signedBy.id != nil else {
                throw StoreError.conflict("procedure \(procedureID.lowerString) is not signed yet; correct the record itself before signing")
            }
            let model = ProcedureAddendumModel()
            model.$procedure.id = procedureID
            model.$site.id = procedure.$site.id
            model.text = text
            model.reason = reason
            model.authorID = actor.userID
            model.createdAt = Date()
            try await model.create(on: db)
            try await AuditLog.appendBatch([
                AuditEvent(actor: actor, action: .create, recordType: .procedureAddendum, recordID: try model.requireID().lowerString),
                AuditEvent(actor: actor, action: .update, recordType: .procedure, recordID: procedureID.lowerString),
            ], on: db)
            return try ProcedureAddendum(model)
        }
    }

    /// Bone targets must be bones of the episode's joint, and a subregion must lie in its bone.
    static func checkTargets(_ targets: [InjectionTarget], joint: String) throws {
        guard let joint = Joint(rawValue: joint) else { throw StoreError.unreadable(field: "joint", value: joint) }
        let bones = Set(BMLSubregion.subregions(of: joint).map(\.boneTarget))
        for (i, target) in targets.enumerated() {
            guard case .bone(let bone, let subregion) = target else { continue }
            if !bones.isEmpty, !bones.contains(bone) {
                throw StoreError.conflictingField(field: "injections[\(i)].target", message: "\"\(bone.rawValue)\" is not a bone of the \(joint.rawValue)")
            }
            if let subregion, subregion.boneTarget != bone {
                throw StoreError.invalid(field: "injections[\(i)].subregion", message: "\"\(subregion.rawValue)\" is not in the \(bone.displayName)")
            }
        }
    }
}

extension OssaStore {
    public var plans: PlanRepository { PlanRepository(database: database) }
}
