import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// A stored questionnaire response on the wire: the raw answers are always returned with the scores computed
/// at submission and the scoring rule's version, so that a score can be checked or recomputed.
struct QuestionnaireResponseDTO: Codable, Sendable {
    var id: String
    var episodeId: String
    var timepointId: String?
    var instrument: String
    var instrumentVersion: String
    /// Item code → ordinal answer; `null` = unanswered.
    var answers: [String: Int?]
    /// Score id → value; `null` when too few items were answered for the published rule.
    var scores: [String: Double?]
    var scoringVersion: String
    var source: String
    var completedAt: String
    var createdAt: String?

    init(_ record: QuestionnaireResponseRecord) {
        id = record.id.lowercasedID
        episodeId = record.episodeID.lowercasedID
        timepointId = record.timepointID?.lowercasedID
        instrument = record.instrumentID
        instrumentVersion = record.instrumentVersion
        answers = record.answers
        scores = Dictionary(uniqueKeysWithValues: record.scores.map { ($0.id, $0.value) })
        scoringVersion = record.scoringVersion
        source = record.source.rawValue
        completedAt = WireDate.string(record.completedAt) ?? ""
        createdAt = WireDate.string(record.createdAt)
    }
}

struct NewQuestionnaireResponseDTO: Codable, Sendable {
    /// Instrument id, e.g. `koos`, `hoos-jr`, `nrs-pain` (see `ossa instruments`).
    var instrument: String
    var answers: [String: Int?]
    var timepointId: String?
    /// When the patient completed the form (RFC 3339); now when absent.
    var completedAt: String?
}

extension NewQuestionnaireResponseDTO {
    /// `timepointId` and `completedAt` are declared nullable in the contract (null means "none" / "now"); every
    /// other optional field on the API refuses null (`StrictJSON` wire reading).
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        instrument = try c.decode(String.self, forKey: .instrument)
        answers = try c.decode([String: Int?].self, forKey: .answers)
        timepointId = try c.decodeNullable(String.self, forKey: .timepointId)
        completedAt = try c.decodeNullable(String.self, forKey: .completedAt)
    }
}

/// Questionnaire responses: submitted (scored and stored) and listed under their episode, read by id.
struct QuestionnairesAPI: APIRouteGroup {
    let store: OssaStore
    /// Loaded once: scoring must not re-read the instrument files on every submission.
    let library: InstrumentLibrary

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.episodeQuestionnaireResponses, use: list)
        api.on(.post, Paths.API.episodeQuestionnaireResponses, use: submit)
        api.on(.get, Paths.API.questionnaireResponse, use: get)
    }

    @Sendable func submit(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let episodeID = try context.uuidParameter("episodeID")
        let body = try await JSONIO.decode(NewQuestionnaireResponseDTO.self, from: request, context: context)
        let timepointID = try body.timepointId.map { text in
            guard let id = UUID(uuidString: text) else {
                throw Problem.validation([FieldProblem(field: "timepointId", message: "\"\(text)\" is not an id")])
            }
            return id
        }
        let completedAt = try body.completedAt.map { try WireDate.parse($0, field: "completedAt") } ?? Date()
        let record = try await store.questionnaires.submit(actor, episodeID: episodeID, instrumentID: body.instrument,
                                                           answers: body.answers, timepointID: timepointID,
                                                           completedAt: completedAt, library: library)
        return try JSONIO.response(QuestionnaireResponseDTO(record), status: .created,
                                   headers: [.location: Paths.API.questionnaireResponse.url(record.id)])
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let episodeID = try context.uuidParameter("episodeID")
        let query = ClinicalQuery(request)
        let filter = QuestionnaireFilter(episodeID: episodeID, instrumentID: query.query.string("instrument"),
                                         timepointID: try query.uuid("timepoint"), completed: try query.dateRange())
        let page = try query.page()
        let result = try await store.questionnaires.list(actor, filter, page)
        return try JSONIO.response(PageDTO(result, QuestionnaireResponseDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.questionnaires.get(try context.requireUser(), try context.uuidParameter("responseID"))
        return try JSONIO.response(QuestionnaireResponseDTO(record))
    }
}
