import Foundation
import OssaCore
import Hummingbird
import OssaStore

struct SiteDTO: Codable, Sendable {
    var id: String
    var code: String
    var name: String

    init(_ record: SiteRecord) {
        id = record.id.lowercasedID
        code = record.code
        name = record.name
    }
}

/// The caller: who they are, their role and sites, and (for a browser session) the CSRF token that
/// cookie-authenticated writes must send as `X-CSRF-Token`.
struct MeDTO: Codable, Sendable {
    var id: String
    var email: String
    var displayName: String
    var role: String
    var siteIds: [String]
    var patientId: String?
    var authenticatedBy: String
    var csrfToken: String?
}

struct APITokenDTO: Codable, Sendable {
    var id: String
    var userId: String
    var name: String
    var createdAt: String?
    var lastUsedAt: String?
    var expiresAt: String?
    var revokedAt: String?

    init(_ record: APITokenRecord) {
        id = record.id.lowercasedID
        userId = record.userID.lowercasedID
        name = record.name
        createdAt = WireDate.string(record.createdAt)
        lastUsedAt = WireDate.string(record.lastUsedAt)
        expiresAt = WireDate.string(record.expiresAt)
        revokedAt = WireDate.string(record.revokedAt)
    }
}

struct NewAPITokenDTO: Codable, Sendable {
    var name: String
    /// Admins may create a token for another user; everyone else only for themselves.
    var userId: UUID?
    var expiresAt: String?
}

/// The token is in this answer only; the server keeps its hash.
struct CreatedAPITokenDTO: Codable, Sendable {
    var token: String
    var apiToken: APITokenDTO
}

/// `/me`, `/sites` and `/tokens`.
struct AccountAPI: APIRouteGroup {
    let store: OssaStore
    let environment: WebEnvironment

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.me, use: me)
        api.on(.get, Paths.API.sites, use: sites)
        api.on(.get, Paths.API.tokens, use: listTokens)
        api.on(.post, Paths.API.tokens, use: createToken)
        api.on(.delete, Paths.API.token, use: revokeToken)
    }

    @Sendable func me(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let record = try await store.users.get(actor, actor.userID)
        let method: String = if case .apiToken? = context.auth?.method { "api-token" } else { "session" }
        return try JSONIO.response(MeDTO(
            id: record.id.lowercasedID, email: record.email, displayName: record.displayName, role: record.role.rawValue,
            siteIds: actor.siteIDs.map(\.lowercasedID).sorted(), patientId: record.patientID?.lowercasedID,
            authenticatedBy: method, csrfToken: context.auth?.csrfToken))
    }

    @Sendable func sites(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = QueryParameters(request: request)
        let page = PageRequest(limit: try query.int("limit", default: 100, range: 1...PageRequest.maximumLimit),
                               offset: try query.int("offset", default: 0, range: 0...Int(Int32.max)), search: try query.text("q", max: 200))
        return try JSONIO.response(PageDTO(try await store.sites.list(actor, page), SiteDTO.init))
    }

    @Sendable func listTokens(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let user = try QueryParameters(request: request).uuid("userId") ?? actor.userID
        let tokens = try await store.apiTokens.list(actor, user: user)
        return try JSONIO.response(["items": tokens.map(APITokenDTO.init)])
    }

    @Sendable func createToken(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let body = try await JSONIO.decode(NewAPITokenDTO.self, from: request, context: context)
        let expiresAt = try body.expiresAt.map { try WireDate.parse($0, field: "expiresAt") }
        let token = "ossa_" + environment.makeToken()
        let record = try await store.apiTokens.create(actor, user: body.userId ?? actor.userID, name: body.name, token: token,
                                                      now: environment.now(), expiresAt: expiresAt)
        return try JSONIO.response(CreatedAPITokenDTO(token: token, apiToken: APITokenDTO(record)), status: .created)
    }

    @Sendable func revokeToken(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let record = try await store.apiTokens.revoke(actor, try context.uuidParameter("tokenID"), now: environment.now())
        return try JSONIO.response(APITokenDTO(record))
    }
}
