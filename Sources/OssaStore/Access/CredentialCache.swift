import Foundation
import Synchronization

/// Credentials recently checked against the database (API tokens and sessions, by the SHA-256 of the secret), so
/// that a client sending many requests is not looked up again on each one.
///
/// Freshness: every write this process makes to accounts, site grants, API tokens or sessions empties the cache
/// once it has committed, so a change made through this server (a revoked token, a disabled account, a removed
/// site grant, a sign-out) applies to the very next request. A change made by another process — `ossa user
/// disable` on the same SQLite file, another server on the same PostgreSQL — is seen once the entry is older than
/// `lifetime` (one second by default). Expiry and idle timeouts are checked against the entry on every hit, and
/// a miss that raced with an invalidation is not stored (the generation check), so an entry is never older than
/// the newest change this process has committed. Only successful look-ups are kept: unknown tokens always go to
/// the database and cannot fill the cache.
final class CredentialCache: Sendable {
    enum Credential: Sendable {
        case apiToken(APITokenRecord, ActingUser)
        case session(SessionRecord, ActingUser)
    }

    private struct Entry {
        var credential: Credential
        var loadedAt: ContinuousClock.Instant
    }

    private struct State {
        var generation: UInt64 = 0
        var entries: [String: Entry] = [:]
    }

    /// How long an entry may be used before the database is asked again; zero turns the cache off.
    let lifetime: Duration
    /// Entries beyond this start the cache afresh (a bound on memory, not an eviction policy).
    let capacity: Int
    private let state = Mutex(State())

    init(lifetime: Duration = .seconds(1), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The generation to pass to `store` after loading a credential: take it before the database read.
    var generation: UInt64 { state.withLock { $0.generation } }

    func lookup(_ hash: String) -> Credential? {
        guard lifetime > .zero else { return nil }
        let now = ContinuousClock.now
        return state.withLock { state -> Credential? in
            guard let entry = state.entries[hash] else { return nil }
            guard now - entry.loadedAt < lifetime else {
                state.entries[hash] = nil
                return nil
            }
            return entry.credential
        }
    }

    /// Keeps a credential loaded under `generation`, unless something was invalidated since.
    func store(_ hash: String, _ credential: Credential, generation: UInt64) {
        guard lifetime > .zero else { return }
        let now = ContinuousClock.now
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[hash] = Entry(credential: credential, loadedAt: now)
        }
    }

    /// Forgets everything; called after a committed change to accounts, grants, tokens or sessions.
    func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }
}
