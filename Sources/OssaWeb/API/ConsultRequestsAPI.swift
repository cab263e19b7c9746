import Foundation
import Hummingbird
import OssaCore
import OssaStore

extension ConsultRequestStatus: WireEnum {}

/// A consult request from the public self-screen on the wire. The client address (kept only hashed, for the rate
/// limit) is never included.
struct ConsultRequestDTO: Codable, Sendable {
    struct SummaryLine: Codable, Sendable {
        var questionId: String
        var label: String
        var answer: String
    }
    struct Reason: Codable, Sendable {
        var ruleId: String
        var tone: SelfScreenReason.Tone
        var text: String
    }

    var id: String
    var siteId: String?
    var name: String
    var email: String?
    var phone: String?
    var consentToContact: Bool
    var status: ConsultRequestStatus
    var outcome: SelfScreenOutcome
    var headline: String
    /// The answers as the form sent them: question id → option values (or the number as text).
    var answers: [String: [String]]
    var summary: [SummaryLine]
    var reasons: [Reason]
    var suggestedDiagnosis: String?
    var rulesetId: String
    var rulesetVersion: String
    var definitionId: String
    var definitionVersion: String
    var evaluationDate: CalendarDate
    var createdAt: String
    var handledAt: String?
    var handledBy: String?
    var patientId: String?
    var episodeId: String?
    var closeReason: String?

    init(_ record: ConsultRequestRecord, definition: SelfScreenDefinition) {
        let draft = record.answers.episodeDraft(using: definition)
        id = record.id.lowercasedID
        siteId = record.siteID?.lowercasedID
        name = record.name
        email = record.email
        phone = record.phone
        consentToContact = record.consent
        status = record.status
        outcome = record.outcome
        headline = record.result.headline
        answers = record.answers.formValues
        summary = draft.summary.map { SummaryLine(questionId: $0.questionID, label: $0.label, answer: $0.answer) }
        reasons = record.result.reasons.map { Reason(ruleId: $0.ruleID, tone: $0.tone, text: $0.text) }
        suggestedDiagnosis = draft.suggestedDiagnosis?.rawValue
        rulesetId = record.result.rulesetID
        rulesetVersion = record.result.rulesetVersion
        definitionId = record.result.definitionID
        definitionVersion = record.result.definitionVersion
        evaluationDate = record.result.evaluationDate
        createdAt = WireDate.string(record.createdAt) ?? ""
        handledAt = WireDate.string(record.handledAt)
        handledBy = record.handledBy?.lowercasedID
        patientId = record.patientID?.lowercasedID
        episodeId = record.episodeID?.lowercasedID
        closeReason = record.closeReason
    }
}

/// Consult requests: coordinators and clinicians list their sites' (and those with no preferred site), newest first.
struct ConsultRequestsAPI: APIRouteGroup {
    let store: OssaStore
    let definition: SelfScreenDefinition

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.consultRequests, use: list)
    }

    /// Filters: `status` (new, converted, closed), `site` (the preferred site); paged.
    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = ClinicalQuery(request)
        let result = try await store.consultRequests.list(actor, status: try query.value("status", as: ConsultRequestStatus.self),
                                                          site: try query.uuid("site"), try query.page())
        return try JSONIO.response(PageDTO(result) { ConsultRequestDTO($0, definition: definition) })
    }
}
