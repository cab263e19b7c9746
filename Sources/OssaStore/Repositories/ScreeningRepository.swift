import FluentKit
import Foundation
import OssaCore
import SQLKit

extension ScreeningDecisionRecord {
    init(_ model: ScreeningDecisionModel) throws {
        self.init(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id, rulesetID: model.rulesetID,
                  rulesetVersion: model.rulesetVersion, category: try storedValue(ScreeningCategory.self, model.category, field: "category"),
                  excluded: model.excluded, evaluationDate: try parseStoredDate(model.evaluationDate, field: "evaluationDate"),
                  decision: try StoredJSON.decode(ScreeningDecision.self, model.decisionJSON, field: "decision"),
                  decidedBy: model.decidedBy, signedBy: model.$signedBy.id, signedAt: model.signedAt,
                  overrideCategory: try storedValue(ScreeningCategory.self, model.overrideCategory, field: "overrideCategory"),
                  overrideReason: model.overrideReason, overriddenBy: model.overriddenBy, overriddenAt: model.overriddenAt,
                  createdAt: model.createdAt)
    }

    /// A row of `ScreeningDecisionRecord.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        self.init(id: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID?.self),
                  siteID: try row.decode(column: "site_id", as: UUID.self), rulesetID: try row.decode(column: "ruleset_id", as: String.self),
                  rulesetVersion: try row.decode(column: "ruleset_version", as: String.self),
                  category: try storedValue(ScreeningCategory.self, try row.decode(column: "category", as: String.self), field: "category"),
                  excluded: try row.decode(column: "excluded", as: Bool.self),
                  evaluationDate: try parseStoredDate(try row.decode(column: "evaluation_date", as: String.self), field: "evaluationDate"),
                  decision: try StoredJSON.decode(ScreeningDecision.self, try row.decode(column: "decision_json", as: String.self), field: "decision"),
                  decidedBy: try row.decode(column: "decided_by", as: UUID?.self), signedBy: try row.decode(column: "signed_by", as: UUID?.self),
                  signedAt: try row.decode(column: "signed_at", as: Date?.self),
                  overrideCategory: try storedValue(ScreeningCategory.self, try row.decode(column: "override_category", as: String?.self),
                                                    field: "overrideCategory"),
                  overrideReason: try row.decode(column: "override_reason", as: String?.self),
                  overriddenBy: try row.decode(column: "overridden_by", as: UUID?.self),
                  overriddenAt: try row.decode(column: "overridden_at", as: Date?.self), createdAt: try row.decode(column: "created_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "episode_id", "site_id", "ruleset_id", "ruleset_version", "category", "excluded", "evaluation_date",
                                 "decision_json", "decided_by", "signed_by", "signed_at", "override_category", "override_reason",
                                 "overridden_by", "overridden_at", "created_at"])
    }
}

/// Filters for listing screening decisions.
public struct ScreeningFilter: Sendable, Hashable {
    public var episodeID: UUID?
    public var patientID: UUID?
    /// Effective category (override when present, else the engine's).
    public var category: ScreeningCategory?
    /// true: signed only; false: awaiting signature only.
    public var signed: Bool?
    /// On the evaluation date.
    public var evaluated: DateRange?

    public init(episodeID: UUID? = nil, patientID: UUID? = nil, category: ScreeningCategory? = nil, signed: Bool? = nil,
                evaluated: DateRange? = nil) {
        self.episodeID = episodeID
        self.patientID = patientID
        self.category = category
        self.signed = signed
        self.evaluated = evaluated
    }
}

/// Candidacy screening decisions: evaluate with the versioned ruleset, store the decision with
/// its input snapshot, then a clinician signs it or overrides its category with a reason.
public struct ScreeningRepository: Sendable {
    let database: OssaDatabase

    /// Runs the screening engine on `input` for the episode and stores the decision (unsigned).
    /// The input's joint and side must be the episode's. `ruleset` defaults to the bundled default ruleset.
    public func evaluate(_ actor: ActingUser, episodeID: UUID, _ input: ScreeningInput,
                         ruleset: Ruleset? = nil) async throws -> ScreeningDecisionRecord {
        let scope = try await Access.require(actor, .create, .screeningDecision, recordID: episodeID.lowerString, database: database)
        let engine = try ruleset.map(ScreeningEngine.init(ruleset:)) ?? ScreeningEngine.withDefaultRuleset()
        let decision: ScreeningDecision
        do {
            decision = try engine.evaluate(input)
        } catch {
            throw error.storeError(under: "input")
        }
        let decisionJSON = try StoredJSON.encode(decision)
        // Dates the engine derives (washout ends, MRI due) must be days the store can read back (1900–2200); an
        // evaluation date at the edge of that range can push them out, which is refused now rather than stored.
        do {
            _ = try StoredJSON.decode(ScreeningDecision.self, decisionJSON, field: "decision")
        } catch {
            throw StoreError.invalid(field: "input.evaluationDate",
                                     message: "dates derived from \(decision.evaluationDate) fall outside \(CalendarDate.plausibleYears.lowerBound)–\(CalendarDate.plausibleYears.upperBound)")
        }
        let inputJSON = try StoredJSON.encode(decision.input)
        return try await database.transaction { db in
            let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
            guard episode.joint == input.joint.rawValue else {
                throw StoreError.conflictingField(field: "input.joint", message: "\"\(input.joint.rawValue)\" is not the episode's joint (\(episode.joint))")
            }
            guard episode.side == input.side.rawValue else {
                throw StoreError.conflictingField(field: "input.side", message: "\"\(input.side.rawValue)\" is not the episode's side (\(episode.side))")
            }
            let model = ScreeningDecisionModel()
            model.$episode.id = episodeID
            model.$site.id = episode.$site.id
            model.rulesetID = decision.ruleset.id
            model.rulesetVersion = decision.ruleset.version
            model.category = decision.category.rawValue
            model.excluded = decision.excluded
            model.evaluationDate = decision.evaluationDate.iso
            model.inputSnapshot = inputJSON
            model.decisionJSON = decisionJSON
            model.decidedBy = actor.userID
            try await model.create(on: db)
            try await Access.audit(actor, .create, .screeningDecision, model.id, on: db)
            return try ScreeningDecisionRecord(model)
        }
    }

    /// Reads one decision; audited as a chart read.
    public func get(_ actor: ActingUser, _ id: UUID) async throws -> ScreeningDecisionRecord {
        let scope = try await Access.require(actor, .read, .screeningDecision, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await ClinicalScope.apply(ScreeningDecisionModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "screening decision", id: id.lowerString)
            }
            try await Access.audit(actor, .read, .screeningDecision, id, on: db)
            return try ScreeningDecisionRecord(model)
        }
    }

    /// Decisions the actor may see, newest evaluation first; audited as a list.
    public func list(_ actor: ActingUser, _ filter: ScreeningFilter = ScreeningFilter(),
                     _ page: PageRequest = PageRequest()) async throws -> Page<ScreeningDecisionRecord> {
        let scope = try await Access.require(actor, .list, .screeningDecision, recordID: filter.episodeID?.lowerString, database: database)
        let page = try page.validated()
        let evaluated = filter.evaluated
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(ScreeningDecisionModel.query(on: db), actor, scope) else { return try await ClinicalScope.emptyPage(page, episode: filter.episodeID, actor, on: db) }
            if let episodeID = filter.episodeID { query = query.filter(\.$episode.$id == episodeID) }
            query = query.filterPatient(filter.patientID).filterDates("evaluation_date", evaluated)
            if let category = filter.category {
                query = query.group(.or) { group in
                    group.filter(\.$overrideCategory == category.rawValue)
                    group.group(.and) { both in
                        both.filter(\.$overrideCategory == nil).filter(\.$category == category.rawValue)
                    }
                }
            }
            if let signed = filter.signed { query = signed ? query.filter(\.$signedBy.$id != nil) : query.filter(\.$signedBy.$id == nil) }
            let result = try await query.sort(\.$evaluationDate, .descending).sort(\.$createdAt, .descending).sort(\.$id)
                .page(page, map: ScreeningDecisionRecord.init)
            try await ClinicalScope.requireEpisode(filter.episodeID, ifEmpty: result.total == 0, actor, on: db)
            try await Access.audit(actor, .list, .screeningDecision, filter.episodeID, on: db)
            return result
        }
    }

    /// The clinician signs the decision as it stands. A decision is signed once.
    public func sign(_ actor: ActingUser, _ id: UUID) async throws -> ScreeningDecisionRecord {
        let scope = try await Access.require(actor, .update, .screeningDecision, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            let model = try await Self.load(id, actor, scope, on: db)
            guard model.$signedBy.id == nil else { throw StoreError.conflict("screening decision \(id.lowerString) is already signed") }
            model.$signedBy.id = actor.userID
            model.signedAt = Date()
            try await model.update(on: db)
            try await Access.audit(actor, .update, .screeningDecision, id, on: db)
            return try ScreeningDecisionRecord(model)
        }
    }

    /// The clinician replaces the category with `category`, giving a reason; this also signs the decision.
    /// The engine's category, fired rules and input stay as they were. A decision is overridden once.
    public func override(_ actor: ActingUser, _ id: UUID, category: ScreeningCategory, reason: String) async throws -> ScreeningDecisionRecord {
        let scope = try await Access.require(actor, .update, .screeningDecision, recordID: id.lowerString, database: database)
        let reason = try requiredText(reason, field: "reason", max: 2000)
        return try await database.transaction { db in
            let model = try await Self.load(id, actor, scope, on: db)
            guard model.overrideCategory == nil else { throw StoreError.conflict("screening decision \(id.lowerString) is already overridden") }
            guard model.category != category.rawValue else {
                throw StoreError.conflictingField(field: "category", message: "\"\(category.rawValue)\" is the engine's own category; sign the decision instead")
            }
            let now = Date()
            model.overrideCategory = category.rawValue
            model.overrideReason = reason
            model.overriddenBy = actor.userID
            model.overriddenAt = now
            if model.$signedBy.id == nil {
                model.$signedBy.id = actor.userID
                model.signedAt = now
            }
            try await model.update(on: db)
            try await Access.audit(actor, .update, .screeningDecision, id, on: db)
            return try ScreeningDecisionRecord(model)
        }
    }

    static func load(_ id: UUID, _ actor: ActingUser, _ scope: AccessPolicy.Scope, on db: any Database) async throws -> ScreeningDecisionModel {
        guard let model = try await ClinicalScope.apply(ScreeningDecisionModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
            throw StoreError.notFound(recordType: "screening decision", id: id.lowerString)
        }
        return model
    }
}
