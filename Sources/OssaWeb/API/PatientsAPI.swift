import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// A patient on the wire.
struct PatientDTO: Codable, Sendable {
    var id: String
    var siteId: String
    var mrn: String?
    var familyName: String
    var givenName: String
    var birthDate: CalendarDate
    var sex: PatientSex?
    var email: String?
    var phone: String?
    var createdAt: String?
    var updatedAt: String?

    init(_ record: PatientRecord) {
        id = record.id.lowercasedID
        siteId = record.siteID.lowercasedID
        mrn = record.mrn
        familyName = record.familyName
        givenName = record.givenName
        birthDate = record.birthDate
        sex = record.sex
        email = record.email
        phone = record.phone
        createdAt = WireDate.string(record.createdAt)
        updatedAt = WireDate.string(record.updatedAt)
    }
}

struct NewPatientDTO: Codable, Sendable {
    var siteId: UUID
    var mrn: String?
    var familyName: String
    var givenName: String
    var birthDate: CalendarDate
    var sex: PatientSex?
    var email: String?
    var phone: String?
}

/// PATCH body: a present field is changed, an absent (or null) one is left as it is.
struct PatientPatchDTO: Codable, Sendable {
    var mrn: String?
    var familyName: String?
    var givenName: String?
    var birthDate: CalendarDate?
    var sex: PatientSex?
    var email: String?
    var phone: String?
}

/// `/api/v1/patients`: list (name search, site filter, paging), read, create, change. Every call goes through the
/// store with the caller as acting user, so site scoping and role rules are the store's.
struct PatientsAPI: APIRouteGroup {
    let store: OssaStore

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.patients, use: list)
        api.on(.post, Paths.API.patients, use: create)
        api.on(.get, Paths.API.patient, use: get)
        api.on(.patch, Paths.API.patient, use: update)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = QueryParameters(request: request)
        let page = PageRequest(limit: try query.int("limit", default: 50, range: 1...PageRequest.maximumLimit),
                               offset: try query.int("offset", default: 0, range: 0...Int(Int32.max)),
                               search: try query.text("q", max: 200))
        let result = try await store.patients.list(actor, page, site: try query.uuid("site"))
        return try JSONIO.response(PageDTO(result, PatientDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.patients.get(try context.requireUser(), try context.uuidParameter("patientID"))
        return try JSONIO.response(PatientDTO(record))
    }

    @Sendable func create(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let body = try await JSONIO.decode(NewPatientDTO.self, from: request, context: context)
        let record = try await store.patients.create(actor, NewPatient(
            siteID: body.siteId, mrn: body.mrn, familyName: body.familyName, givenName: body.givenName,
            birthDate: body.birthDate, sex: body.sex, email: body.email,
            phone: body.phone))
        return try JSONIO.response(PatientDTO(record), status: .created,
                                   headers: [.location: Paths.API.patient.url(record.id)])
    }

    @Sendable func update(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try context.uuidParameter("patientID")
        let body = try await JSONIO.decode(PatientPatchDTO.self, from: request, context: context)
        let record = try await store.patients.update(actor, id, PatientChanges(
            mrn: body.mrn, familyName: body.familyName, givenName: body.givenName, birthDate: body.birthDate,
            sex: body.sex, email: body.email, phone: body.phone))
        return try JSONIO.response(PatientDTO(record))
    }
}
