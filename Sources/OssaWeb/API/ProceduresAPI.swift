import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// A procedure on the wire, injections in recorded order. Nested objects (`prp`, `bmc`, `injections`,
/// `complications`) use OssaCore's JSON shape. Signed by a clinician through `POST /procedures/{id}/sign`.
struct ProcedureDTO: Codable, Sendable {
    var id: String
    var episodeId: String
    var siteId: String
    var kind: ProcedureKind
    var date: CalendarDate
    var setting: ProcedureSetting
    var anaesthesia: Anaesthesia
    var guidance: [Guidance]
    var fluoroscopySeconds: Double?
    var doseAreaProduct: Double?
    var prp: PRPDetails?
    var bmc: BMCDetails?
    var injections: [Injection]
    var complications: [Complication]
    var dischargeInstructions: String?
    var `operator`: String
    /// The operator's user account (`operator` is the name as written).
    var operatorId: String?
    var signed: Bool
    var signedBy: String?
    var signedAt: String?
    var createdAt: String?

    init(_ stored: StoredProcedure) {
        let record = stored.record
        id = stored.id.lowercasedID
        episodeId = stored.episodeID.lowercasedID
        siteId = stored.siteID.lowercasedID
        kind = stored.kind
        date = record.date
        setting = record.setting
        anaesthesia = record.anaesthesia
        guidance = record.guidance
        fluoroscopySeconds = record.fluoroscopySeconds
        doseAreaProduct = record.doseAreaProduct
        prp = record.prp
        bmc = record.bmc
        injections = record.injections
        complications = record.complications
        dischargeInstructions = record.dischargeInstructions
        self.`operator` = record.operator_
        operatorId = stored.operatorID?.lowercasedID
        signed = stored.signedBy != nil
        signedBy = stored.signedBy?.lowercasedID
        signedAt = WireDate.string(stored.signedAt)
        createdAt = WireDate.string(stored.createdAt)
    }
}

/// POST body. `kind` defaults to `io`; `guidance` and `complications` to none.
struct NewProcedureDTO: Codable, Sendable {
    var kind: ProcedureKind?
    var date: CalendarDate
    var setting: ProcedureSetting
    var anaesthesia: Anaesthesia
    var guidance: [Guidance]?
    var fluoroscopySeconds: Double?
    var doseAreaProduct: Double?
    var prp: PRPDetails?
    var bmc: BMCDetails?
    var injections: [Injection]
    var complications: [Complication]?
    var dischargeInstructions: String?
    var `operator`: String
    /// The operator's user account; the caller when left out.
    var operatorId: UUID?
}

/// Procedures and their per-site injections. Clinicians record and sign; coordinators read.
struct ProceduresAPI: APIRouteGroup {
    let store: OssaStore

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.procedures, use: list)
        api.on(.get, Paths.API.procedure, use: get)
        api.on(.post, Paths.API.procedureSign, use: sign)
        api.on(.get, Paths.API.episodeProcedures, use: listForEpisode)
        api.on(.post, Paths.API.episodeProcedures, use: create)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: nil)
    }

    @Sendable func listForEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: try context.uuidParameter("episodeID"))
    }

    /// In date order. Filters: `episode`, `patient`, `kind`, `signed`, `from`/`to` (procedure date).
    func listing(_ request: Request, context: OssaRequestContext, episodeID pathEpisode: UUID?) async throws -> Response {
        let actor = try context.requireUser()
        let query = ClinicalQuery(request)
        let filter = ProcedureFilter(episodeID: try pathEpisode ?? query.uuid("episode"), patientID: try query.uuid("patient"),
                                     kind: try query.value("kind", as: ProcedureKind.self),
                                     performed: try query.dateRange(), signed: try query.bool("signed"))
        let result = try await store.procedures.list(actor, filter, try query.page())
        return try JSONIO.response(PageDTO(result, ProcedureDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.procedures.get(try context.requireUser(), try context.uuidParameter("procedureID"))
        return try JSONIO.response(ProcedureDTO(record))
    }

    @Sendable func create(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let episodeID = try context.uuidParameter("episodeID")
        let body = try await JSONIO.decode(NewProcedureDTO.self, from: request, context: context)
        let record = ProcedureRecord(
            date: body.date, setting: body.setting, anaesthesia: body.anaesthesia, guidance: body.guidance ?? [],
            fluoroscopySeconds: body.fluoroscopySeconds, doseAreaProduct: body.doseAreaProduct, prp: body.prp, bmc: body.bmc,
            injections: body.injections, complications: body.complications ?? [], dischargeInstructions: body.dischargeInstructions,
            operator_: body.`operator`)
        let stored = try await store.procedures.create(actor, NewProcedure(episodeID: episodeID, kind: body.kind ?? .io,
                                                                           record: record, operatorID: body.operatorId))
        return try JSONIO.response(ProcedureDTO(stored), status: .created,
                                   headers: [.location: Paths.API.procedure.url(stored.id)])
    }

    /// A clinician of the site signs the procedure record (no body). Signed once: a second signature is a 409.
    @Sendable func sign(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.procedures.sign(try context.requireUser(), try context.uuidParameter("procedureID"))
        return try JSONIO.response(ProcedureDTO(record))
    }
}
