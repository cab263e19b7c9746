import FluentKit
import Foundation

final class LoginFailureModel: Model, @unchecked Sendable {  // Fluent models: see the note in Models.swift.
    static let schema = "login_failures"
    @ID(key: .id) var id: UUID?
    @Field(key: "kind") var kind: String
    @Field(key: "key") var key: String
    @Field(key: "at") var at: Date
    init() {}
}

/// Limits on failed sign-ins within a sliding window.
public struct LoginThrottlePolicy: Sendable, Hashable {
    public var maxFailuresPerAccount: Int
    public var maxFailuresPerAddress: Int
    public var window: TimeInterval

    /// 5 failures per account and 20 per address in 15 minutes: an address may be a clinic's shared NAT, so it
    /// gets more room than one account.
    public init(maxFailuresPerAccount: Int = 5, maxFailuresPerAddress: Int = 20, window: TimeInterval = 15 * 60) {
        self.maxFailuresPerAccount = maxFailuresPerAccount
        self.maxFailuresPerAddress = maxFailuresPerAddress
        self.window = window
    }
}

/// Failed sign-in counting per account (folded e-mail, whether or not it exists, so that throttling does not
/// reveal which accounts exist) and per client address. Stored in the database so that every server process
/// sharing it sees the same counts.
public struct LoginThrottle: Sendable {
    let database: OssaDatabase

    /// An attempt the throttle let through; it already counts as a failure until `succeeded(_:)` says otherwise.
    public struct Attempt: Sendable, Hashable {
        let email: String
        let rowIDs: [UUID]
    }

    /// Whether an attempt may proceed now: `.throttled(seconds)` when the account or the address has reached its
    /// limit, otherwise `.allowed` with the attempt counted against both.
    public enum Decision: Sendable, Hashable {
        case allowed(Attempt)
        case throttled(retryAfter: Int)
    }

    /// Checks the limits and counts the attempt in one transaction, serialised (an advisory lock on PostgreSQL, the
    /// single writer connection on SQLite): a parallel burst of attempts cannot all pass the check before any of
    /// them is recorded. The attempt is counted before the password is checked; `succeeded(_:)` takes it back.
    public func begin(email: String, address: String?, now: Date, policy: LoginThrottlePolicy) async throws -> Decision {
        let keys = Self.keys(email: email, address: address)
        let since = now.addingTimeInterval(-policy.window)
        return try await database.transaction { db in
            try await serialize(Self.advisoryLockKey, on: db)
            var wait: TimeInterval?
            for (kind, key) in keys {
                let limit = kind == "account" ? policy.maxFailuresPerAccount : policy.maxFailuresPerAddress
                let recent = try await LoginFailureModel.query(on: db).filter(\.$kind == kind).filter(\.$key == key)
                    .filter(\.$at > since).sort(\.$at, .descending).limit(limit).all()
                // Blocked until the oldest of the last `limit` failures leaves the window.
                if recent.count >= limit, let oldest = recent.last {
                    let until = oldest.at.addingTimeInterval(policy.window).timeIntervalSince(now)
                    wait = max(wait ?? 0, until)
                }
            }
            if let wait { return .throttled(retryAfter: max(1, Int(wait.rounded(.up)))) }
            var ids: [UUID] = []
            for (kind, key) in keys {
                let model = LoginFailureModel()
                model.kind = kind
                model.key = key
                model.at = now
                try await model.create(on: db)
                ids.append(try model.requireID())
            }
            return .allowed(Attempt(email: email, rowIDs: ids))
        }
    }

    /// The attempt signed in: it no longer counts, and the account's earlier failures are forgotten (the address
    /// keeps its earlier count).
    public func succeeded(_ attempt: Attempt) async throws {
        let key = Self.accountKey(attempt.email)
        try await database.transaction { db in
            try await LoginFailureModel.query(on: db).filter(\.$id ~~ attempt.rowIDs).delete()
            try await LoginFailureModel.query(on: db).filter(\.$kind == "account").filter(\.$key == key).delete()
        }
    }

    /// `pg_advisory_xact_lock` key for throttle decisions ("OSSATHRT" as ASCII bytes).
    static let advisoryLockKey: Int64 = 0x4F53_5341_5448_5254

    /// Drops failures older than the window.
    public func purge(now: Date, policy: LoginThrottlePolicy) async throws {
        let since = now.addingTimeInterval(-policy.window)
        try await database.transaction { db in
            try await LoginFailureModel.query(on: db).filter(\.$at <= since).delete()
        }
    }

    static func accountKey(_ email: String) -> String {
        String(email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().prefix(254))
    }

    static func keys(email: String, address: String?) -> [(String, String)] {
        var keys = [("account", accountKey(email))]
        if let address, !address.isEmpty { keys.append(("address", String(address.prefix(100)))) }
        return keys
    }
}

extension OssaStore {
    public var loginThrottle: LoginThrottle { LoginThrottle(database: database) }
}
