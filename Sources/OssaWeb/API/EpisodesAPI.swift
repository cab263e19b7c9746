import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// A treatment episode on the wire. `diagnosis` uses OssaCore's own JSON shape (`{"type": …, grades…}`).
struct EpisodeDTO: Codable, Sendable {
    var id: String
    var patientId: String
    var siteId: String
    var joint: Joint
    var side: Side
    var diagnosis: Diagnosis
    var status: EpisodeStatus
    var lastContactDate: CalendarDate?
    var createdAt: String?
    var updatedAt: String?

    init(_ record: EpisodeRecord) {
        id = record.id.lowercasedID
        patientId = record.patientID.lowercasedID
        siteId = record.siteID.lowercasedID
        joint = record.joint
        side = record.side
        diagnosis = record.diagnosis
        status = record.status
        lastContactDate = record.lastContactDate
        createdAt = WireDate.string(record.createdAt)
        updatedAt = WireDate.string(record.updatedAt)
    }
}

struct NewEpisodeDTO: Codable, Sendable {
    var joint: Joint
    var side: Side
    var diagnosis: Diagnosis
}

struct EpisodePatchDTO: Codable, Sendable {
    var diagnosis: Diagnosis?
    var status: EpisodeStatus?
    var lastContactDate: CalendarDate?
}

/// Episodes: listed and created under their patient, read and changed by id.
struct EpisodesAPI: APIRouteGroup {
    let store: OssaStore

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.patientEpisodes, use: list)
        api.on(.post, Paths.API.patientEpisodes, use: create)
        api.on(.get, Paths.API.episode, use: get)
        api.on(.patch, Paths.API.episode, use: update)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let patientID = try context.uuidParameter("patientID")
        let query = QueryParameters(request: request)
        let page = PageRequest(limit: try query.int("limit", default: 50, range: 1...PageRequest.maximumLimit),
                               offset: try query.int("offset", default: 0, range: 0...Int(Int32.max)))
        let result = try await store.episodes.list(actor, patient: patientID, page)
        return try JSONIO.response(PageDTO(result, EpisodeDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.episodes.get(try context.requireUser(), try context.uuidParameter("episodeID"))
        return try JSONIO.response(EpisodeDTO(record))
    }

    @Sendable func create(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let patientID = try context.uuidParameter("patientID")
        let body = try await JSONIO.decode(NewEpisodeDTO.self, from: request, context: context)
        let record = try await store.episodes.create(actor, NewEpisode(patientID: patientID, joint: body.joint, side: body.side,
                                                                       diagnosis: body.diagnosis))
        return try JSONIO.response(EpisodeDTO(record), status: .created,
                                   headers: [.location: Paths.API.episode.url(record.id)])
    }

    @Sendable func update(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try context.uuidParameter("episodeID")
        let body = try await JSONIO.decode(EpisodePatchDTO.self, from: request, context: context)
        let record = try await store.episodes.update(actor, id, EpisodeChanges(
            diagnosis: body.diagnosis, status: body.status,
            lastContactDate: body.lastContactDate))
        return try JSONIO.response(EpisodeDTO(record))
    }
}
