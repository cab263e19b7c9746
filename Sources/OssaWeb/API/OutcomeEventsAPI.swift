import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// An outcome event on the wire, flat: `replacementKind` for a joint replacement, `description` for other
/// surgery and adverse events, `severity` for adverse events. For `lost-to-follow-up`, `date` is the last contact.
struct OutcomeEventDTO: Codable, Sendable {
    var id: String
    var episodeId: String
    var siteId: String
    var kind: OutcomeKind
    var date: CalendarDate
    var replacementKind: ReplacementKind?
    var description: String?
    var severity: AdverseEventSeverity?
    /// Adverse events: how likely the procedure caused it, when assessed.
    var relatedness: AdverseEventRelatedness?
    var createdAt: String?

    init(_ record: OutcomeEventRecord) {
        id = record.id.lowercasedID
        episodeId = record.episodeID.lowercasedID
        siteId = record.siteID.lowercasedID
        kind = record.kind
        date = record.date
        switch record.event {
        case .jointReplacement(let kind, _): replacementKind = kind
        case .otherSurgery(let text, _): description = text
        case .adverseEvent(let text, let level, _):
            description = text
            severity = level
        case .repeatIO, .death, .withdrawal, .lostToFollowUp: break
        }
        relatedness = record.relatedness
        createdAt = WireDate.string(record.createdAt)
    }
}

struct NewOutcomeEventDTO: Codable, Sendable {
    var kind: OutcomeKind
    var date: CalendarDate
    var replacementKind: ReplacementKind?
    var description: String?
    var severity: AdverseEventSeverity?
    var relatedness: AdverseEventRelatedness?

    /// The domain event; a field the kind needs is required, a field it does not take is refused.
    func event() throws -> OutcomeEvent {
        func required<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else {
                throw Problem.validation([FieldProblem(field: field, message: "is required for a \(kind.rawValue) event")])
            }
            return value
        }
        func refused<T>(_ value: T?, _ field: String) throws {
            if value != nil {
                throw Problem.validation([FieldProblem(field: field, message: "is not recorded for a \(kind.rawValue) event")])
            }
        }
        if kind != .jointReplacement { try refused(replacementKind, "replacementKind") }
        if kind != .otherSurgery, kind != .adverseEvent { try refused(description, "description") }
        if kind != .adverseEvent { try refused(severity, "severity") }
        if kind != .adverseEvent { try refused(relatedness, "relatedness") }
        switch kind {
        case .jointReplacement: return .jointReplacement(kind: try required(replacementKind, "replacementKind"), date: date)
        case .otherSurgery: return .otherSurgery(description: try required(description, "description"), date: date)
        case .repeatIO: return .repeatIO(date: date)
        case .adverseEvent:
            return .adverseEvent(description: try required(description, "description"), severity: try required(severity, "severity"),
                                 date: date)
        case .death: return .death(date: date)
        case .withdrawal: return .withdrawal(date: date)
        case .lostToFollowUp: return .lostToFollowUp(lastContact: date)
        }
    }
}

/// Outcome events after treatment: joint replacement, other surgery, repeat IO, adverse events,
/// death, withdrawal, loss to follow-up. Coordinators and clinicians of the site record and read them.
struct OutcomeEventsAPI: APIRouteGroup {
    let store: OssaStore

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.outcomeEvents, use: list)
        api.on(.get, Paths.API.outcomeEvent, use: get)
        api.on(.get, Paths.API.episodeOutcomeEvents, use: listForEpisode)
        api.on(.post, Paths.API.episodeOutcomeEvents, use: create)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: nil)
    }

    @Sendable func listForEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: try context.uuidParameter("episodeID"))
    }

    /// In date order. Filters: `episode`, `patient`, `kind`, `from`/`to` (event date).
    func listing(_ request: Request, context: OssaRequestContext, episodeID pathEpisode: UUID?) async throws -> Response {
        let actor = try context.requireUser()
        let query = ClinicalQuery(request)
        let filter = OutcomeFilter(episodeID: try pathEpisode ?? query.uuid("episode"), patientID: try query.uuid("patient"),
                                   kind: try query.value("kind", as: OutcomeKind.self), occurred: try query.dateRange())
        let result = try await store.outcomes.list(actor, filter, try query.page())
        return try JSONIO.response(PageDTO(result, OutcomeEventDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.outcomes.get(try context.requireUser(), try context.uuidParameter("eventID"))
        return try JSONIO.response(OutcomeEventDTO(record))
    }

    /// Refused (422 on `date`) before the episode's first IO procedure or after a recorded death; a second death is a 409.
    @Sendable func create(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let episodeID = try context.uuidParameter("episodeID")
        let body = try await JSONIO.decode(NewOutcomeEventDTO.self, from: request, context: context)
        let record = try await store.outcomes.create(actor, episodeID: episodeID, try body.event(), relatedness: body.relatedness)
        return try JSONIO.response(OutcomeEventDTO(record), status: .created,
                                   headers: [.location: Paths.API.outcomeEvent.url(record.id)])
    }
}
