import Foundation
import OssaCore
import HummingbirdBcrypt
import OssaStore

/// Account management for the command line (`ossa user add|passwd|disable`) and the admin API. Passwords are
/// hashed here with bcrypt; the store only ever sees the hash.
public enum Accounts {
    /// NIST SP 800-63B asks for at least 8; clinical accounts get more.
    public static let minimumPasswordLength = 12
    /// bcrypt reads at most 72 bytes; a longer password would be silently cut, so it is refused instead.
    public static let maximumPasswordBytes = 72
    public static let defaultCost: UInt8 = 12

    public struct PasswordError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { "password: \(message)" }
    }

    /// Checks the length rules and returns the bcrypt hash.
    public static func hashPassword(_ password: String, cost: UInt8 = defaultCost) throws -> String {
        guard password.count >= minimumPasswordLength else {
            throw PasswordError(message: "must be at least \(minimumPasswordLength) characters")
        }
        guard password.utf8.count <= maximumPasswordBytes else {
            throw PasswordError(message: "must be at most \(maximumPasswordBytes) bytes (bcrypt ignores the rest)")
        }
        return Bcrypt.hash(password, cost: cost)
    }

    /// Creates the first administrator of an empty database.
    public static func addFirstAdmin(store: OssaStore, email: String, displayName: String, password: String,
                                     cost: UInt8 = defaultCost) async throws -> UserRecord {
        try await store.users.createFirstAdmin(email: email, displayName: displayName,
                                               passwordHash: hashPassword(password, cost: cost), from: "cli")
    }

    /// Creates a user (admin only) with an optional password and site grants.
    public static func addUser(store: OssaStore, actor: ActingUser, email: String, displayName: String, role: Role,
                               password: String?, sites: [UUID] = [], patientID: UUID? = nil,
                               cost: UInt8 = defaultCost) async throws -> UserRecord {
        let hash = try password.map { try hashPassword($0, cost: cost) }
        return try await store.users.create(actor, NewUser(email: email, displayName: displayName, role: role,
                                                           passwordHash: hash, patientID: patientID), sites: sites)
    }

    /// Sets a new password and ends the user's sessions (whoever knew the old one is signed out), in one
    /// transaction.
    public static func setPassword(store: OssaStore, actor: ActingUser, userID: UUID, password: String,
                                   cost: UInt8 = defaultCost) async throws {
        try await store.users.setPassword(actor, userID, passwordHash: hashPassword(password, cost: cost))
    }

    /// Disables the account, ends its sessions and revokes its API tokens, in one transaction. Signing in, and
    /// every request with an old credential, is refused from then on.
    public static func disableUser(store: OssaStore, actor: ActingUser, userID: UUID, now: Date = Date()) async throws {
        try await store.users.disable(actor, userID, now: now)
    }

    /// The user with exactly this e-mail address (admin only), for commands that name users by e-mail.
    public static func findUser(store: OssaStore, actor: ActingUser, email: String) async throws -> UserRecord? {
        let wanted = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let page = try await store.users.list(actor, PageRequest(limit: PageRequest.maximumLimit, search: wanted))
        return page.items.first { $0.email == wanted }
    }
}
