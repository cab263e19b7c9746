import FluentKit
import Foundation
import SQLKit

final class APITokenModel: Model, @unchecked Sendable {  // Fluent models: see the note in Models.swift.
    static let schema = "api_tokens"
    @ID(key: .id) var id: UUID?
    @Parent(key: "user_id") var user: UserModel
    @Field(key: "name") var name: String
    /// SHA-256 (hex) of the bearer token.
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "created_by") var createdBy: UUID
    @OptionalField(key: "created_at") var createdAt: Date?
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "expires_at") var expiresAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    init() {}
}

/// An API token's metadata; the token itself is shown once, at creation, and never stored.
public struct APITokenRecord: Sendable, Hashable {
    public var id: UUID
    public var userID: UUID
    public var name: String
    public var createdBy: UUID
    public var createdAt: Date?
    public var lastUsedAt: Date?
    public var expiresAt: Date?
    public var revokedAt: Date?

    init(_ model: APITokenModel) throws {
        id = try model.requireID()
        userID = model.$user.id
        name = model.name
        createdBy = model.createdBy
        createdAt = model.createdAt
        lastUsedAt = model.lastUsedAt
        expiresAt = model.expiresAt
        revokedAt = model.revokedAt
    }

    /// From a row of `APITokenRepository.authenticate`'s query (token columns prefixed `t_`).
    init(row: any SQLRow) throws {
        id = try row.decode(column: "t_id", as: UUID.self)
        userID = try row.decode(column: "user_id", as: UUID.self)
        name = try row.decode(column: "t_name", as: String.self)
        createdBy = try row.decode(column: "t_created_by", as: UUID.self)
        createdAt = try row.decode(column: "t_created_at", as: Date?.self)
        lastUsedAt = try row.decode(column: "t_last_used_at", as: Date?.self)
        expiresAt = try row.decode(column: "t_expires_at", as: Date?.self)
        revokedAt = try row.decode(column: "t_revoked_at", as: Date?.self)
    }
}

/// API tokens for machine clients. A user manages their own tokens; an admin manages anyone's. Creation and
/// revocation are audited (record type `api-token`, record id = the token's id).
public struct APITokenRepository: Sendable {
    let database: OssaDatabase

    /// Stores a new token for `userID`. `token` is the random secret the caller hands to the client once.
    public func create(_ actor: ActingUser, user userID: UUID, name: String, token: String, now: Date,
                       expiresAt: Date? = nil) async throws -> APITokenRecord {
        try await requireManage(actor, userID, .create)
        let name = try requiredText(name, field: "name", max: 100)
        if let expiresAt, expiresAt <= now { throw StoreError.invalid(field: "expiresAt", message: "is not in the future") }
        let hash = SessionRepository.hash(token)
        return try await database.transaction { db in
            guard let user = try await UserModel.find(userID, on: db) else {
                throw StoreError.notFound(recordType: "user", id: userID.lowerString)
            }
            guard !user.disabled else { throw StoreError.invalid(field: "user", message: "the account is disabled") }
            let model = APITokenModel()
            model.$user.id = userID
            model.name = name
            model.tokenHash = hash
            model.createdBy = actor.userID
            model.createdAt = now
            model.expiresAt = expiresAt
            try await model.create(on: db)
            try await AuditLog.append(AuditEvent(actor: actor, action: .create, recordType: .apiToken,
                                                 recordID: try model.requireID().lowerString), on: db)
            return try APITokenRecord(model)
        }
    }

    /// The tokens of one user (revoked ones included), newest first.
    public func list(_ actor: ActingUser, user userID: UUID) async throws -> [APITokenRecord] {
        try await requireManage(actor, userID, .read)
        return try await database.transaction { db in
            try await APITokenModel.query(on: db).filter(\.$user.$id == userID)
                .sort(\.$createdAt, .descending).sort(\.$id).all().map(APITokenRecord.init)
        }
    }

    /// Revokes one token. Revoking a revoked token changes nothing; another user's token is reported as not found
    /// unless the actor is an admin.
    public func revoke(_ actor: ActingUser, _ id: UUID, now: Date) async throws -> APITokenRecord {
        defer { database.credentials.invalidateAll() }
        return try await database.transaction { db in
            guard let model = try await APITokenModel.find(id, on: db),
                  actor.role == .admin || model.$user.id == actor.userID else {
                throw StoreError.notFound(recordType: "api-token", id: id.lowerString)
            }
            if model.revokedAt == nil {
                model.revokedAt = now
                try await model.update(on: db)
                try await AuditLog.append(AuditEvent(actor: actor, action: .revoke, recordType: .apiToken,
                                                     recordID: id.lowerString), on: db)
            }
            return try APITokenRecord(model)
        }
    }

    /// The token's record and its owner's acting user, read in one statement (or reused from `CredentialCache`):
    /// the per-request path of bearer authentication. Nil when the token is unknown, revoked or expired, or the account is gone or disabled. Use is
    /// recorded at most once per `touchInterval`.
    public func authenticate(token: String, now: Date, address: String?,
                             touchInterval: TimeInterval = 60) async throws -> (token: APITokenRecord, user: ActingUser)? {
        let hash = SessionRepository.hash(token)
        let cache = database.credentials
        if case .apiToken(let record, var user)? = cache.lookup(hash), record.revokedAt == nil,
           record.expiresAt.map({ $0 > now }) ?? true,
           let lastUsedAt = record.lastUsedAt, now.timeIntervalSince(lastUsedAt) < touchInterval {
            user.address = address
            return (record, user)
        }
        let generation = cache.generation
        // One statement (token, account and grants joined): this runs before every API call. A single statement
        // reads one consistent snapshot, so no transaction is needed; the rare touch is its own statement.
        let rows = try await database.readSQL().raw("""
            SELECT t.id AS t_id, t.name AS t_name, t.created_by AS t_created_by, t.created_at AS t_created_at,
                   t.last_used_at AS t_last_used_at, t.expires_at AS t_expires_at, t.revoked_at AS t_revoked_at,
                   \(unsafeRaw: SessionRepository.actingUserColumns)
            FROM api_tokens t \(unsafeRaw: SessionRepository.actingUserJoins(credential: "t"))
            WHERE t.token_hash = \(bind: hash)
            """).all()
        guard let first = rows.first else { return nil }
        var record = try APITokenRecord(row: first)
        guard record.revokedAt == nil else { return nil }
        if let expiresAt = record.expiresAt, expiresAt <= now { return nil }
        guard let user = try SessionRepository.actingUser(rows, address: address) else { return nil }
        if record.lastUsedAt.map({ now.timeIntervalSince($0) >= touchInterval }) ?? true {
            try await database.sql().update("api_tokens").set("last_used_at", to: SQLBind(now)).where("id", .equal, SQLBind(record.id)).run()
            record.lastUsedAt = now
        }
        cache.store(hash, .apiToken(record, user), generation: generation)
        return (record, user)
    }

    /// Users manage their own tokens; admins anyone's. Refusals are audited like every other refusal.
    private func requireManage(_ actor: ActingUser, _ userID: UUID, _ action: AuditAction) async throws {
        let scope = try await Access.require(actor, action, .apiToken, recordID: "user:\(userID.lowerString)", database: database)
        guard scope == .all || (scope == .ownRecord && actor.userID == userID) else {
            try await Access.deny(actor, action, .apiToken, recordID: "user:\(userID.lowerString)",
                                  reason: "users manage only their own API tokens", database: database)
        }
    }
}

extension OssaStore {
    public var apiTokens: APITokenRepository { APITokenRepository(database: database) }
}
