import Foundation
import Hummingbird
import OssaCore
import OssaStore

extension ConsentKind: WireEnum {}
extension ConsentDecision: WireEnum {}

/// A consent decision on the wire.
struct ConsentDTO: Codable, Sendable {
    var id: String
    var patientId: String
    var siteId: String
    var kind: ConsentKind
    var decision: ConsentDecision
    var date: CalendarDate
    var recordedBy: String
    var recordedByName: String?
    var recordedAt: String
    var formReference: String?

    init(_ record: ConsentRecord) {
        id = record.id.lowercasedID
        patientId = record.patientID.lowercasedID
        siteId = record.siteID.lowercasedID
        kind = record.kind
        decision = record.decision
        date = record.date
        recordedBy = record.recordedBy.lowercasedID
        recordedByName = record.recordedByName
        recordedAt = WireDate.string(record.recordedAt) ?? ""
        formReference = record.formReference
    }
}

struct NewConsentDTO: Codable, Sendable {
    var kind: ConsentKind
    var decision: ConsentDecision
    var date: CalendarDate
    var formReference: String?
}

/// A patient's consents: the history, oldest first, and the standing decision of each kind.
struct ConsentListDTO: Codable, Sendable {
    var items: [ConsentDTO]
    var current: [ConsentDTO]
}

/// `GET|POST /api/v1/patients/{patientID}/consents`, `GET /api/v1/consents/{consentID}` (issue #12).
struct ConsentsAPI: APIRouteGroup {
    let store: OssaStore

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.patientConsents, use: list)
        api.on(.post, Paths.API.patientConsents, use: create)
        api.on(.get, Paths.API.consent, use: get)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let records = try await store.consents.list(try context.requireUser(), patientID: try context.uuidParameter("patientID"))
        let current = ConsentRecord.current(records)
        return try JSONIO.response(ConsentListDTO(items: records.map(ConsentDTO.init),
                                                  current: ConsentKind.allCases.compactMap { current[$0] }.map(ConsentDTO.init)))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try JSONIO.response(ConsentDTO(try await store.consents.get(try context.requireUser(), id: try context.uuidParameter("consentID"))))
    }

    @Sendable func create(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let patientID = try context.uuidParameter("patientID")
        let body = try await JSONIO.decode(NewConsentDTO.self, from: request, context: context)
        let record = try await store.consents.create(actor, patientID: patientID,
                                                     NewConsent(kind: body.kind, decision: body.decision, date: body.date, formReference: body.formReference))
        return try JSONIO.response(ConsentDTO(record), status: .created, headers: [.location: Paths.API.consent.url(record.id)])
    }
}
