import FluentKit
import Foundation
import OssaCore

extension UserRecord {
    init(_ model: UserModel) throws {
        self.init(id: try model.requireID(), email: model.email, displayName: model.displayName,
                  role: try storedValue(Role.self, model.role, field: "role"), hasPassword: model.passwordHash != nil,
                  patientID: model.$patient.id, disabled: model.disabled, createdAt: model.createdAt)
    }
}

public struct NewUser: Sendable, Hashable {
    public var email: String
    public var displayName: String
    public var role: Role
    /// A bcrypt hash (`$2a$`/`$2b$`/`$2y$`, 60 characters), or nil for a user who cannot log in yet.
    public var passwordHash: String?
    /// Required for the patient role, refused for the others.
    public var patientID: UUID?

    public init(email: String, displayName: String, role: Role, passwordHash: String? = nil, patientID: UUID? = nil) {
        self.email = email
        self.displayName = displayName
        self.role = role
        self.passwordHash = passwordHash
        self.patientID = patientID
    }
}

public struct UserChanges: Sendable, Hashable {
    public var displayName: String?
    public var role: Role?
    public var passwordHash: String?
    public var disabled: Bool?

    public init(displayName: String? = nil, role: Role? = nil, passwordHash: String? = nil, disabled: Bool? = nil) {
        self.displayName = displayName
        self.role = role
        self.passwordHash = passwordHash
        self.disabled = disabled
    }
}

/// Users and their site grants: admins manage them; every user may read their own account.
public struct UserRepository: Sendable {
    let database: OssaDatabase

    /// Creates a user and grants it `sites`, all in one transaction: a refused grant leaves no user behind.
    public func create(_ actor: ActingUser, _ new: NewUser, sites: [UUID] = []) async throws -> UserRecord {
        defer { database.credentials.invalidateAll() }
        _ = try await Access.require(actor, .create, .user, database: database)
        if !sites.isEmpty { _ = try await Access.require(actor, .grant, .siteGrant, database: database) }
        let email = try Self.email(new.email)
        let displayName = try requiredText(new.displayName, field: "displayName")
        let hash = try new.passwordHash.map(Self.passwordHash)
        if new.role == .patient, new.patientID == nil {
            throw StoreError.invalid(field: "patientID", message: "a patient login must name its patient record")
        }
        if new.role != .patient, new.patientID != nil {
            throw StoreError.invalid(field: "patientID", message: "only a patient login is linked to a patient record")
        }
        return try await mapConstraint("a user with e-mail \(email) already exists") {
            try await database.transaction { db in
                if let patientID = new.patientID, try await PatientModel.find(patientID, on: db) == nil {
                    throw StoreError.notFound(recordType: "patient", id: patientID.lowerString)
                }
                let model = UserModel()
                model.email = email
                model.displayName = displayName
                model.role = new.role.rawValue
                model.passwordHash = hash
                model.$patient.id = new.patientID
                model.disabled = false
                try await model.create(on: db)
                try await Access.audit(actor, .create, .user, model.id, on: db)
                for site in sites { try await Self.grant(actor, user: model, site: site, on: db) }
                return try UserRecord(model)
            }
        }
    }

    /// Sets a new password hash and ends every session of the user, in one transaction (whoever knew the old
    /// password is signed out, or nothing changes).
    public func setPassword(_ actor: ActingUser, _ id: UUID, passwordHash: String) async throws {
        defer { database.credentials.invalidateAll() }
        _ = try await Access.require(actor, .update, .user, recordID: id.lowerString, database: database)
        let hash = try Self.passwordHash(passwordHash)
        try await database.transaction { db in
            guard let model = try await UserModel.find(id, on: db) else {
                throw StoreError.notFound(recordType: "user", id: id.lowerString)
            }
            model.passwordHash = hash
            try await model.update(on: db)
            try await Access.audit(actor, .update, .user, id, on: db)
            try await SessionModel.query(on: db).filter(\.$user.$id == id).delete()
        }
    }

    /// Disables the account, ends its sessions and revokes its API tokens, in one transaction (each revocation
    /// audited). Signing in, and every request with an old credential, is refused from then on.
    public func disable(_ actor: ActingUser, _ id: UUID, now: Date) async throws {
        defer { database.credentials.invalidateAll() }
        _ = try await Access.require(actor, .update, .user, recordID: id.lowerString, database: database)
        try await database.transaction { db in
            guard let model = try await UserModel.find(id, on: db) else {
                throw StoreError.notFound(recordType: "user", id: id.lowerString)
            }
            model.disabled = true
            try await model.update(on: db)
            var events = [AuditEvent(actor: actor, action: .update, recordType: .user, recordID: id.lowerString)]
            try await SessionModel.query(on: db).filter(\.$user.$id == id).delete()
            for token in try await APITokenModel.query(on: db).filter(\.$user.$id == id).filter(\.$revokedAt == nil).all() {
                token.revokedAt = now
                try await token.update(on: db)
                events.append(AuditEvent(actor: actor, action: .revoke, recordType: .apiToken, recordID: try token.requireID().lowerString))
            }
            try await AuditLog.appendBatch(events, on: db)
        }
    }

    /// `pg_advisory_xact_lock` key for `createFirstAdmin` ("OSSAADMN" as ASCII bytes).
    static let firstAdminLockKey: Int64 = 0x4F53_5341_4144_4D4E

    /// Creates the first administrator of an empty database (`ossa user create --admin` on a new install).
    /// Refused once any user exists. The audit entry names the new admin as actor, from `address`.

    public func createFirstAdmin(email: String, displayName: String, passwordHash: String? = nil,
                                 from address: String? = "cli") async throws -> UserRecord {
        let email = try Self.email(email)
        let displayName = try requiredText(displayName, field: "displayName")
        let hash = try passwordHash.map(Self.passwordHash)
        return try await database.transaction { db in
            // Two concurrent calls must not both see an empty table (PostgreSQL's READ COMMITTED would let them).
            try await serialize(Self.firstAdminLockKey, on: db)
            guard try await UserModel.query(on: db).count() == 0 else {
                throw StoreError.conflict("users exist already; an administrator creates further users")
            }
            let model = UserModel()
            model.email = email
            model.displayName = displayName
            model.role = Role.admin.rawValue
            model.passwordHash = hash
            model.disabled = false
            try await model.create(on: db)
            let id = try model.requireID()
            try await Access.audit(ActingUser(userID: id, role: .admin, address: address), .create, .user, id, on: db)
            return try UserRecord(model)
        }
    }

    public func get(_ actor: ActingUser, _ id: UUID) async throws -> UserRecord {
        let scope = try await Access.require(actor, .read, .user, recordID: id.lowerString, database: database)
        if scope == .ownRecord, id != actor.userID {
            try await Access.deny(actor, .read, .user, recordID: id.lowerString, reason: "users may only read their own account",
                                  database: database)
        }
        return try await database.transaction { db in
            guard let model = try await UserModel.find(id, on: db) else {
                throw StoreError.notFound(recordType: "user", id: id.lowerString)
            }
            return try UserRecord(model)
        }
    }

    public func list(_ actor: ActingUser, _ page: PageRequest = PageRequest()) async throws -> Page<UserRecord> {
        _ = try await Access.require(actor, .list, .user, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            try await UserModel.query(on: db)
                .filterLowerLike(["email", "display_name"], page.likePattern)
                .sort(\.$email).sort(\.$id)
                .page(page, map: UserRecord.init)
        }
    }

    public func update(_ actor: ActingUser, _ id: UUID, _ changes: UserChanges) async throws -> UserRecord {
        // Credentials loaded before this change must not be reused (see `CredentialCache`).
        defer { database.credentials.invalidateAll() }
        _ = try await Access.require(actor, .update, .user, recordID: id.lowerString, database: database)
        let displayName = try changes.displayName.map { try requiredText($0, field: "displayName") }
        let hash = try changes.passwordHash.map(Self.passwordHash)
        return try await database.transaction { db in
            guard let model = try await UserModel.find(id, on: db) else {
                throw StoreError.notFound(recordType: "user", id: id.lowerString)
            }
            if let displayName { model.displayName = displayName }
            if let role = changes.role {
                if (role == .patient) != (model.$patient.id != nil) {
                    throw StoreError.invalid(field: "role", message: "a login becomes or stops being a patient login only by creating a new user")
                }
                model.role = role.rawValue
            }
            if let hash { model.passwordHash = hash }
            if let disabled = changes.disabled { model.disabled = disabled }
            try await model.update(on: db)
            try await Access.audit(actor, .update, .user, id, on: db)
            return try UserRecord(model)
        }
    }

    /// Grants a staff user access to a site's records. Idempotent.
    public func grantSite(_ actor: ActingUser, user userID: UUID, site siteID: UUID) async throws {
        // Credentials loaded before this change must not be reused (see `CredentialCache`).
        defer { database.credentials.invalidateAll() }
        _ = try await Access.require(actor, .grant, .siteGrant, database: database)
        try await database.transaction { db in
            guard let user = try await UserModel.find(userID, on: db) else {
                throw StoreError.notFound(recordType: "user", id: userID.lowerString)
            }
            try await Self.grant(actor, user: user, site: siteID, on: db)
        }
    }

    /// Grants `site` to `user` inside the caller's transaction (idempotent, audited).
    static func grant(_ actor: ActingUser, user: UserModel, site siteID: UUID, on db: any Database) async throws {
        let userID = try user.requireID()
        guard user.role != Role.patient.rawValue else {
            throw StoreError.invalid(field: "user", message: "patients are not granted sites; they see their own record")
        }
        guard try await SiteModel.find(siteID, on: db) != nil else {
            throw StoreError.notFound(recordType: "site", id: siteID.lowerString)
        }
        let existing = try await SiteGrantModel.query(on: db).filter(\.$user.$id == userID).filter(\.$site.$id == siteID).first()
        guard existing == nil else { return }
        let grant = SiteGrantModel()
        grant.$user.id = userID
        grant.$site.id = siteID
        try await grant.create(on: db)
        try await AuditLog.append(AuditEvent(actor: actor, action: .grant, recordType: .siteGrant,
                                             recordID: "\(userID.lowerString)@\(siteID.lowerString)"), on: db)
    }

    /// Withdraws a site grant. Idempotent.
    public func revokeSite(_ actor: ActingUser, user userID: UUID, site siteID: UUID) async throws {
        // Credentials loaded before this change must not be reused (see `CredentialCache`).
        defer { database.credentials.invalidateAll() }
        _ = try await Access.require(actor, .revoke, .siteGrant, database: database)
        try await database.transaction { db in
            let grants = try await SiteGrantModel.query(on: db).filter(\.$user.$id == userID).filter(\.$site.$id == siteID).all()
            guard !grants.isEmpty else { return }
            for grant in grants { try await grant.delete(on: db) }
            try await AuditLog.append(AuditEvent(actor: actor, action: .revoke, recordType: .siteGrant,
                                                 recordID: "\(userID.lowerString)@\(siteID.lowerString)"), on: db)
        }
    }

    /// The acting user for an authenticated user id: role, site grants and patient link as stored now.
    /// Throws `StoreError.notFound` for an unknown user and `AccessDenied`-free `invalid` for a disabled one.
    public func actingUser(_ userID: UUID, from address: String?) async throws -> ActingUser {
        try await database.transaction { db in
            guard let user = try await UserModel.find(userID, on: db) else {
                throw StoreError.notFound(recordType: "user", id: userID.lowerString)
            }
            guard !user.disabled else { throw StoreError.invalid(field: "user", message: "the account is disabled") }
            let record = try UserRecord(user)
            let grants = try await SiteGrantModel.query(on: db).filter(\.$user.$id == userID).all()
            return ActingUser(userID: userID, role: record.role, siteIDs: Set(grants.map { $0.$site.id }),
                              patientID: record.patientID, address: address)
        }
    }

    static func email(_ text: String) throws -> String {
        let email = try requiredText(text, field: "email", max: 254).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(where: \.isWhitespace) else {
            throw StoreError.invalid(field: "email", message: "\"\(email)\" is not an e-mail address")
        }
        return email
    }

    static func passwordHash(_ hash: String) throws -> String {
        let prefixes = ["$2a$", "$2b$", "$2y$"]
        guard hash.utf8.count == 60, prefixes.contains(where: hash.hasPrefix) else {
            throw StoreError.invalid(field: "passwordHash", message: "not a bcrypt hash ($2b$…, 60 characters)")
        }
        return hash
    }
}
