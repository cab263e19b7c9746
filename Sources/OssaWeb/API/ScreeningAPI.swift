import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// A clinician's override of the engine's category.
struct ScreeningOverrideDTO: Codable, Sendable {
    var category: ScreeningCategory
    var reason: String
    var overriddenBy: String?
    var overriddenAt: String?
}

/// A stored screening decision on the wire. `category` is the engine's and never changes; `effectiveCategory` is
/// the override's when there is one. Rules, next steps, targets and the input snapshot use OssaCore's JSON shape
/// (the same as `ossa screen --json`).
struct ScreeningDecisionDTO: Codable, Sendable {
    var id: String
    var episodeId: String?
    var siteId: String
    var rulesetId: String
    var rulesetVersion: String
    var category: ScreeningCategory
    var effectiveCategory: ScreeningCategory
    var excluded: Bool
    var evaluationDate: CalendarDate
    var summary: String
    var firedRules: [FiredRule]
    var nextSteps: [NextStep]
    var earliestEligibleDate: CalendarDate?
    var targets: [SuggestedTarget]
    var setting: SuggestedSetting?
    var adjuncts: [SuggestedAdjunct]
    var expectations: [String]
    var input: ScreeningInput
    var decidedBy: String?
    var signed: Bool
    var signedBy: String?
    var signedAt: String?
    var override: ScreeningOverrideDTO?
    var createdAt: String?

    init(_ record: ScreeningDecisionRecord) {
        id = record.id.lowercasedID
        episodeId = record.episodeID?.lowercasedID
        siteId = record.siteID.lowercasedID
        rulesetId = record.rulesetID
        rulesetVersion = record.rulesetVersion
        category = record.category
        effectiveCategory = record.effectiveCategory
        excluded = record.excluded
        evaluationDate = record.evaluationDate
        summary = record.decision.summary
        firedRules = record.decision.firedRules
        nextSteps = record.decision.nextSteps
        earliestEligibleDate = record.decision.earliestEligibleDate
        targets = record.decision.targets
        setting = record.decision.setting
        adjuncts = record.decision.adjuncts
        expectations = record.decision.expectations
        input = record.decision.input
        decidedBy = record.decidedBy?.lowercasedID
        signed = record.isSigned
        signedBy = record.signedBy?.lowercasedID
        signedAt = WireDate.string(record.signedAt)
        self.override = record.overrideCategory.map {
            ScreeningOverrideDTO(category: $0, reason: record.overrideReason ?? "",
                                 overriddenBy: record.overriddenBy?.lowercasedID, overriddenAt: WireDate.string(record.overriddenAt))
        }
        createdAt = WireDate.string(record.createdAt)
    }
}

/// POST body: what to screen (the JSON of `ossa screen --input`; its joint and side must be the episode's).
struct NewScreeningDecisionDTO: Codable, Sendable {
    var input: ScreeningInput
}

/// Override body: the category that stands instead of the engine's, and why (required).
struct ScreeningOverrideRequestDTO: Codable, Sendable {
    var category: ScreeningCategory
    var reason: String
}

/// Candidacy screening against the versioned ruleset. Coordinators and clinicians evaluate (the engine runs with the
/// versioned default ruleset and the decision is stored unsigned, with its input snapshot); only clinicians sign
/// or override. Researchers, administrators and patients are refused by the store.
struct ScreeningAPI: APIRouteGroup {
    let store: OssaStore

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.screeningDecisions, use: list)
        api.on(.get, Paths.API.screeningDecision, use: get)
        api.on(.post, Paths.API.screeningDecisionSign, use: sign)
        api.on(.post, Paths.API.screeningDecisionOverride, use: overrideDecision)
        api.on(.get, Paths.API.episodeScreeningDecisions, use: listForEpisode)
        api.on(.post, Paths.API.episodeScreeningDecisions, use: evaluate)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: nil)
    }

    @Sendable func listForEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: try context.uuidParameter("episodeID"))
    }

    /// Newest evaluation first. Filters: `episode`, `patient`, `category` (effective), `signed`, `from`/`to`
    /// (evaluation date).
    func listing(_ request: Request, context: OssaRequestContext, episodeID pathEpisode: UUID?) async throws -> Response {
        let actor = try context.requireUser()
        let query = ClinicalQuery(request)
        let filter = ScreeningFilter(episodeID: try pathEpisode ?? query.uuid("episode"), patientID: try query.uuid("patient"),
                                     category: try query.value("category", as: ScreeningCategory.self),
                                     signed: try query.bool("signed"), evaluated: try query.dateRange())
        let page = try query.page()
        let result = try await store.screening.list(actor, filter, page)
        // An episode the caller may not see is a 404, not an empty list (checked after the role check above).
        return try JSONIO.response(PageDTO(result, ScreeningDecisionDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.screening.get(try context.requireUser(), try context.uuidParameter("decisionID"))
        return try JSONIO.response(ScreeningDecisionDTO(record))
    }

    /// Runs the engine on the input and stores the (unsigned) decision.
    @Sendable func evaluate(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let episodeID = try context.uuidParameter("episodeID")
        let body = try await JSONIO.decode(NewScreeningDecisionDTO.self, from: request, context: context)
        // Every problem at once (the engine itself stops at the first).
        let problems = body.input.problems()
        if !problems.isEmpty {
            throw Problem.validation(problems.map { FieldProblem(field: FieldPath.join("input", $0.path), message: $0.message) })
        }
        let record = try await store.screening.evaluate(actor, episodeID: episodeID, body.input, ruleset: try await store.rulesets.active())
        return try JSONIO.response(ScreeningDecisionDTO(record), status: .created,
                                   headers: [.location: Paths.API.screeningDecision.url(record.id)])
    }

    /// A clinician signs the decision as it stands (no body). Signed once: a second signature is a 409.
    @Sendable func sign(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.screening.sign(try context.requireUser(), try context.uuidParameter("decisionID"))
        return try JSONIO.response(ScreeningDecisionDTO(record))
    }

    /// A clinician replaces the category, giving a reason; this also signs the decision.
    @Sendable func overrideDecision(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try context.uuidParameter("decisionID")
        let body = try await JSONIO.decode(ScreeningOverrideRequestDTO.self, from: request, context: context)
        let record = try await store.screening.override(actor, id, category: body.category, reason: body.reason)
        return try JSONIO.response(ScreeningDecisionDTO(record))
    }
}
