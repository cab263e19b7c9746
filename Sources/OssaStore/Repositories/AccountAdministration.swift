import FluentKit
import Foundation
import OssaCore

extension Access {
    /// For the administration pages: the action on every record of the type, or an audited refusal. A role that may
    /// only act on its own records (its own account, its own API tokens) is refused here as well.
    static func requireAll(_ actor: ActingUser, _ action: AuditAction, _ recordType: RecordType, recordID: String? = nil,
                           database: OssaDatabase) async throws {
        let scope = try await require(actor, action, recordType, recordID: recordID, database: database)
        guard scope == .all else {
            try await deny(actor, action, recordType, recordID: recordID,
                           reason: "other roles act on their own \(recordType.rawValue) records only; this is for administrators",
                           database: database)
        }
    }
}

extension UserRepository {
    /// Sets a staff or admin account's role and its site grants to exactly `sites`, in one transaction: the role
    /// change, each grant and each withdrawal are audited in one batch, or nothing changes. Patient logins keep their
    /// role and are granted no sites; an administrator cannot change their own role (the last one would lock every
    /// administrator out).
    public func setRoleAndSites(_ actor: ActingUser, _ id: UUID, role: Role, sites: Set<UUID>) async throws -> UserRecord {
        // Credentials loaded before this change must not be reused (see `CredentialCache`).
        defer { database.credentials.invalidateAll() }
        _ = try await Access.require(actor, .update, .user, recordID: id.lowerString, database: database)
        _ = try await Access.require(actor, .grant, .siteGrant, database: database)
        _ = try await Access.require(actor, .revoke, .siteGrant, database: database)
        return try await database.transaction { db in
            guard let model = try await UserModel.find(id, on: db) else {
                throw StoreError.notFound(recordType: "user", id: id.lowerString)
            }
            let current = try storedValue(Role.self, model.role, field: "role")
            if (role == .patient) != (current == .patient) {
                throw StoreError.invalid(field: "role", message: "a login becomes or stops being a patient login only by creating a new user")
            }
            if role == .patient, !sites.isEmpty {
                throw StoreError.invalid(field: "sites", message: "patients are not granted sites; they see their own record")
            }
            if id == actor.userID, role != current {
                throw StoreError.invalid(field: "role", message: "you cannot change your own role; another administrator can")
            }
            let granted = Set(try await SiteGrantModel.query(on: db).filter(\.$user.$id == id).all().map { $0.$site.id })
            let added = sites.subtracting(granted).sorted { $0.lowerString < $1.lowerString }
            let removed = granted.subtracting(sites).sorted { $0.lowerString < $1.lowerString }
            if !added.isEmpty {
                let known = Set(try await SiteModel.query(on: db).filter(\.$id ~~ added).all().map { try $0.requireID() })
                if let missing = added.first(where: { !known.contains($0) }) {
                    throw StoreError.notFound(recordType: "site", id: missing.lowerString)
                }
            }
            var events: [AuditEvent] = []
            if role != current {
                model.role = role.rawValue
                try await model.update(on: db)
                events.append(AuditEvent(actor: actor, action: .update, recordType: .user, recordID: id.lowerString))
            }
            for site in added {
                let grant = SiteGrantModel()
                grant.$user.id = id
                grant.$site.id = site
                try await grant.create(on: db)
                events.append(AuditEvent(actor: actor, action: .grant, recordType: .siteGrant, recordID: "\(id.lowerString)@\(site.lowerString)"))
            }
            if !removed.isEmpty {
                try await SiteGrantModel.query(on: db).filter(\.$user.$id == id).filter(\.$site.$id ~~ removed).delete()
                events += removed.map {
                    AuditEvent(actor: actor, action: .revoke, recordType: .siteGrant, recordID: "\(id.lowerString)@\($0.lowerString)")
                }
            }
            try await AuditLog.appendBatch(events, on: db)
            return try UserRecord(model)
        }
    }
}

extension APITokenRecord {
    /// A token's metadata as given (for page samples and tests; the store builds records from its rows).
    public init(id: UUID, userID: UUID, name: String, createdBy: UUID, createdAt: Date? = nil, lastUsedAt: Date? = nil,
                expiresAt: Date? = nil, revokedAt: Date? = nil) {
        (self.id, self.userID, self.name, self.createdBy) = (id, userID, name, createdBy)
        (self.createdAt, self.lastUsedAt, self.expiresAt, self.revokedAt) = (createdAt, lastUsedAt, expiresAt, revokedAt)
    }
}

extension APITokenRepository {
    /// `create` for the administration pages: admins only (a user creating their own token uses `create`), refusals
    /// audited.
    public func createAsAdministrator(_ actor: ActingUser, user userID: UUID, name: String, token: String, now: Date,
                                      expiresAt: Date? = nil) async throws -> APITokenRecord {
        try await Access.requireAll(actor, .create, .apiToken, recordID: "user:\(userID.lowerString)", database: database)
        return try await create(actor, user: userID, name: name, token: token, now: now, expiresAt: expiresAt)
    }

    /// `revoke` for the administration pages: admins only, refusals audited.
    public func revokeAsAdministrator(_ actor: ActingUser, _ id: UUID, now: Date) async throws -> APITokenRecord {
        try await Access.requireAll(actor, .revoke, .apiToken, recordID: id.lowerString, database: database)
        return try await revoke(actor, id, now: now)
    }
}

extension AuditLog {
    /// Checks the hash chain and the anchor (`AuditVerifier`) for an administrator; the check is audited as a read
    /// of the audit log (record id `verify`), appended after it.
    ///
    /// The chain is read in one transaction, so that entries appended meanwhile cannot look like a truncation: on
    /// PostgreSQL a read-only REPEATABLE READ snapshot (writers carry on); on SQLite a read transaction on the
    /// writer connection, so writes wait until the check is done.
    public func verify(as actor: ActingUser, externalAnchor: AuditAnchor? = nil) async throws -> AuditVerification {
        _ = try await Access.require(actor, .read, .auditLog, recordID: "verify", database: database)
        let result = try await database.transaction { db in
            let sql = try db.sqlDatabase()
            if sql.dialect.name == "postgresql" {
                try await sql.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").run()
            }
            return try await AuditVerifier.verify(sql, pageSize: 1000, externalAnchor: externalAnchor)
        }
        _ = try await database.transaction { db in
            try await AuditLog.append(AuditEvent(actor: actor, action: .read, recordType: .auditLog, recordID: "verify"), on: db)
        }
        return result
    }
}
