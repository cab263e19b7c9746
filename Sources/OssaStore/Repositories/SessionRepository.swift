import Crypto
import FluentKit
import Foundation
import OssaCore
import SQLKit

/// A signed-in browser session, as the web layer sees it. The cookie value itself is never stored or returned.
public struct SessionRecord: Sendable, Hashable {
    public var id: UUID
    public var userID: UUID
    /// The synchronizer token that unsafe cookie-authenticated requests must echo (form field or header).
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeenAt: Date
    /// The absolute end of the session, whatever the activity.
    public var expiresAt: Date

    init(_ model: SessionModel) throws {
        id = try model.requireID()
        userID = model.$user.id
        csrfToken = model.csrfToken
        createdAt = model.createdAt ?? model.lastSeenAt
        lastSeenAt = model.lastSeenAt
        expiresAt = model.expiresAt
    }

    /// From a row of `SessionRepository.authenticate`'s query (session columns prefixed `s_`).
    init(row: any SQLRow) throws {
        id = try row.decode(column: "s_id", as: UUID.self)
        userID = try row.decode(column: "user_id", as: UUID.self)
        csrfToken = try row.decode(column: "s_csrf_token", as: String.self)
        lastSeenAt = try row.decode(column: "s_last_seen_at", as: Date.self)
        createdAt = try row.decode(column: "s_created_at", as: Date?.self) ?? lastSeenAt
        expiresAt = try row.decode(column: "s_expires_at", as: Date.self)
    }
}

/// What a sign-in needs to know about an account: never leaves the server.
public struct LoginCredentials: Sendable {
    public var userID: UUID
    public var passwordHash: String?
    public var disabled: Bool
}

/// Server-side sessions (table `sessions`, M0013). The cookie carries a random token; the table holds only its
/// SHA-256, so reading the database does not let anyone take over a session.
///
/// These calls are made by the authentication layer before there is an acting user, so they take none; they
/// never return clinical data.
public struct SessionRepository: Sendable {
    let database: OssaDatabase

    /// Looks up an account by e-mail (case-insensitive) for a sign-in attempt; nil when there is none.
    public func credentials(email: String) async throws -> LoginCredentials? {
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !email.isEmpty else { return nil }
        return try await database.transaction { db in
            guard let user = try await UserModel.query(on: db).filter(\.$email == email).first() else { return nil }
            return LoginCredentials(userID: try user.requireID(), passwordHash: user.passwordHash, disabled: user.disabled)
        }
    }

    /// Starts a session for `userID` under a fresh random `token` (a new id at every sign-in, so a token planted
    /// before sign-in is worthless). `expiresAt` is the absolute timeout.
    public func create(userID: UUID, token: String, csrfToken: String, address: String?, now: Date,
                       expiresAt: Date) async throws -> SessionRecord {
        let hash = Self.hash(token)
        return try await database.transaction { db in
            let model = SessionModel()
            model.$user.id = userID
            model.tokenHash = hash
            model.csrfToken = csrfToken
            model.lastSeenAt = now
            model.expiresAt = expiresAt
            model.remoteAddress = address.map { String($0.prefix(100)) }
            try await model.create(on: db)
            // Who signed in, as what, from where: audited with the session it opened, in the same transaction.
            let role = try await Self.role(of: userID, on: db)
            try await AuditLog.append(AuditEvent(actor: ActingUser(userID: userID, role: role, address: address),
                                                 action: .signIn, recordType: .session,
                                                 recordID: try model.requireID().lowerString), on: db)
            // Fluent's timestamp is wall-clock time; the session's own clock (injectable in tests) wins.
            model.createdAt = now
            return try SessionRecord(model)
        }
    }

    /// The live session for a cookie token and its acting user (role, grants, patient link as stored now), read in
    /// one statement (or reused from `CredentialCache`): the per-request path of cookie authentication. Nil when the token is unknown, the session is
    /// past its absolute end or idle for longer than `idleTimeout` (it is then deleted), or the account is gone or
    /// disabled. Activity is recorded at most once per `touchInterval`, so that reads do not each cost a write.
    public func authenticate(token: String, now: Date, idleTimeout: TimeInterval, address: String?,
                             touchInterval: TimeInterval = 60) async throws -> (session: SessionRecord, user: ActingUser)? {
        let hash = Self.hash(token)
        let cache = database.credentials
        if case .session(let session, var user)? = cache.lookup(hash), session.expiresAt > now,
           session.lastSeenAt.addingTimeInterval(idleTimeout) > now, now.timeIntervalSince(session.lastSeenAt) < touchInterval {
            user.address = address
            return (session, user)
        }
        let generation = cache.generation
        // One statement, as for API tokens (see `APITokenRepository.authenticate`).
        let rows = try await database.readSQL().raw("""
            SELECT s.id AS s_id, s.csrf_token AS s_csrf_token, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at,
                   s.expires_at AS s_expires_at, \(unsafeRaw: Self.actingUserColumns)
            FROM sessions s \(unsafeRaw: Self.actingUserJoins(credential: "s"))
            WHERE s.token_hash = \(bind: hash)
            """).all()
        guard let first = rows.first else { return nil }
        var session = try SessionRecord(row: first)
        if session.expiresAt <= now || session.lastSeenAt.addingTimeInterval(idleTimeout) <= now {
            try await database.sql().delete(from: "sessions").where("id", .equal, SQLBind(session.id)).run()
            return nil
        }
        guard let user = try Self.actingUser(rows, address: address) else { return nil }
        if now.timeIntervalSince(session.lastSeenAt) >= touchInterval {
            try await database.sql().update("sessions").set("last_seen_at", to: SQLBind(now)).where("id", .equal, SQLBind(session.id)).run()
            session.lastSeenAt = now
        }
        cache.store(hash, .session(session, user), generation: generation)
        return (session, user)
    }

    /// The account and grant columns that `actingUser(_:address:)` reads, and the joins that supply them for a
    /// credential table aliased `credential` (one row per site grant, or one row with no grant).
    static let actingUserColumns = "u.id AS user_id, u.role AS u_role, u.disabled AS u_disabled, u.patient_id AS u_patient_id, g.site_id AS g_site_id"

    static func actingUserJoins(credential: String) -> String {
        "JOIN users u ON u.id = \(credential).user_id LEFT JOIN site_grants g ON g.user_id = \(credential).user_id"
    }

    /// The acting user of an enabled account from rows carrying `actingUserColumns`; nil when disabled or the role is
    /// unknown (the same rule as `UserRepository.actingUser(_:from:)`).
    static func actingUser(_ rows: [any SQLRow], address: String?) throws -> ActingUser? {
        guard let first = rows.first, !(try first.decode(column: "u_disabled", as: Bool.self)),
              let role = Role(rawValue: try first.decode(column: "u_role", as: String.self)) else { return nil }
        var sites = Set<UUID>()
        for row in rows {
            if let site = try row.decode(column: "g_site_id", as: UUID?.self) { sites.insert(site) }
        }
        return ActingUser(userID: try first.decode(column: "user_id", as: UUID.self), role: role, siteIDs: sites,
                          patientID: try first.decode(column: "u_patient_id", as: UUID?.self), address: address)
    }

    /// Ends the session for this token (sign-out). Unknown tokens are ignored.
    /// Ends the session of a cookie token (sign-out), audited as the user's sign-out from `address`.
    public func delete(token: String, address: String? = nil) async throws {
        defer { database.credentials.invalidateAll() }
        let hash = Self.hash(token)
        try await database.transaction { db in
            guard let session = try await SessionModel.query(on: db).filter(\.$tokenHash == hash).first() else { return }
            let userID = session.$user.id
            try await session.delete(on: db)
            let role = try await Self.role(of: userID, on: db)
            try await AuditLog.append(AuditEvent(actor: ActingUser(userID: userID, role: role, address: address),
                                                 action: .signOut, recordType: .session,
                                                 recordID: try session.requireID().lowerString), on: db)
        }
    }

    /// Removes sessions past their absolute end or idle timeout; returns how many.
    @discardableResult
    public func purgeExpired(now: Date, idleTimeout: TimeInterval) async throws -> Int {
        defer { database.credentials.invalidateAll() }
        return try await database.transaction { db in
            let idleCutoff = now.addingTimeInterval(-idleTimeout)
            let query = SessionModel.query(on: db).group(.or) { group in
                group.filter(\.$expiresAt <= now).filter(\.$lastSeenAt <= idleCutoff)
            }
            let count = try await query.copy().count()
            try await query.delete()
            return count
        }
    }

    /// Number of sessions a user has (tests, admin views).
    public func count(userID: UUID) async throws -> Int {
        try await database.transaction { db in
            try await SessionModel.query(on: db).filter(\.$user.$id == userID).count()
        }
    }

    /// The stored role of a user whose session is being opened or closed (for its audit entry).
    static func role(of userID: UUID, on db: any Database) async throws -> Role {
        guard let model = try await UserModel.find(userID, on: db) else {
            throw StoreError.notFound(recordType: "user", id: userID.lowerString)
        }
        return try storedValue(Role.self, model.role, field: "role")
    }

    /// Lowercase hex SHA-256, the form in which session and API tokens are stored.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension OssaStore {
    public var sessions: SessionRepository { SessionRepository(database: database) }
}
