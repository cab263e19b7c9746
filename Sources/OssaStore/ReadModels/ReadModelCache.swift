import FluentKit
import Foundation
import SQLKit
import Synchronization

/// A bounded map from a key to a value read at one write revision of the store (`OssaDatabase.writeRevision`): a
/// value is handed out only while the revision it was read at is still the newest, so no write is ever hidden.
///
/// Why: SQLite drops every reader's page cache (and its memory map) whenever any connection commits, and every page
/// view commits its audit entry; a page's read model was therefore read from scratch each time, about 9 ms of CPU.
/// Between two clinical writes nothing a page shows can change, so the model read once is still the answer.
///
/// Used by the store for page read models (`OssaDatabase.cachedAuditedRead`) and by the web layer for the HTML
/// rendered from them. The least recently used entries go first when it is full; entries of an older revision
/// are dropped as soon as a newer revision is stored.
public final class RevisionedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var revision: Int64
        var value: Value
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
        /// The newest revision stored; entries older than it can never be handed out again.
        var newest: Int64 = .min
    }

    private let state = Mutex(State())
    /// At most this many entries; 0 turns the cache off.
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The value stored for `key` at exactly `revision`, if any.
    public func value(_ key: Key, revision: Int64) -> Value? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard var entry = state.entries[key], entry.revision == revision else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.value
        }
    }

    /// The value stored for `key` and the revision it was read at, whatever that is (the caller checks it).
    public func entry(_ key: Key) -> (revision: Int64, value: Value)? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return (entry.revision, entry.value)
        }
    }

    /// The newest revision seen (stored or observed); `.min` before any.
    public var newest: Int64 { state.withLock { $0.newest } }

    /// Learns that the store has reached `revision` (read by someone else): older entries are dropped at once.
    public func observe(_ revision: Int64) {
        guard capacity > 0 else { return }
        state.withLock { state in
            if revision > state.newest {
                state.newest = revision
                state.entries = state.entries.filter { $0.value.revision >= revision }
            }
        }
    }

    public func store(_ key: Key, revision: Int64, _ value: Value) {
        guard capacity > 0 else { return }
        state.withLock { state in
            if revision > state.newest {
                state.newest = revision
                state.entries = state.entries.filter { $0.value.revision >= revision }
            } else if revision < state.newest {
                return  // read before a write another request has already seen: never current again
            }
            state.clock += 1
            state.entries[key] = Entry(revision: revision, value: value, lastUse: state.clock)
            if state.entries.count > capacity {
                // Drop the least recently used quarter at once, so that a full cache sorts rarely.
                let drop = state.entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(max(1, capacity / 4))
                for (key, _) in drop { state.entries[key] = nil }
            }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}

/// One fresh read per key at a time. Requests for a page that is not kept (a server just started, or the first
/// views after a write) would otherwise each read it afresh at once: at 64 connections the worklist alone was read
/// about twenty times over in the same instant. The first one reads; the others wait for it to end and are then
/// answered from what it kept.
final class ReadFlights<Key: Hashable & Sendable>: Sendable {
    private let waiting = Mutex<[Key: [CheckedContinuation<Void, Never>]]>([:])

    /// Runs `body` and returns its result if no read of `key` is under way; otherwise waits until that read ends
    /// (however it ends) and returns nil, so the caller looks at what it kept.
    func lead<T: Sendable>(_ key: Key, _ body: @Sendable () async throws -> T) async throws -> T? {
        let leads = waiting.withLock { waiting -> Bool in
            guard waiting[key] == nil else { return false }
            waiting[key] = []
            return true
        }
        guard leads else {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ended = waiting.withLock { waiting -> Bool in
                    guard waiting[key] != nil else { return true }
                    waiting[key]!.append(continuation)
                    return false
                }
                if ended { continuation.resume() }
            }
            return nil
        }
        defer {
            for waiter in waiting.withLock({ $0.removeValue(forKey: key) ?? [] }) { waiter.resume() }
        }
        return try await body()
    }

    /// How many keys are being read now (tests).
    var count: Int { waiting.withLock { $0.count } }

    /// How many requests wait for the read of `key` (tests).
    func waiters(_ key: Key) -> Int { waiting.withLock { $0[key]?.count ?? 0 } }
}

/// Who reads which page read model with which parameters: a cached model is handed only to the same user with the
/// same role and site grants (which decided what it holds); the address is not part of it.
struct ReadModelKey: Hashable, Sendable {
    var page: String
    var actor: ActingUser
    var parameters: [String]

    init(page: String, actor: ActingUser, parameters: [String]) {
        var actor = actor
        actor.address = nil
        (self.page, self.actor, self.parameters) = (page, actor, parameters)
    }
}

/// A page read model and the audit events its read appended, appended again at every view it answers.
struct CachedReadModel: Sendable {
    var value: any Sendable
    var events: [AuditEvent]
}

extension OssaDatabase {
    /// The store's write revision: the sequence number of the newest audited write (M0036's partial index), 0 on a
    /// new database. Every write appends its audit entry in its own transaction, so the revision moves with every
    /// change a read model could show.
    static func writeRevision(on sql: any SQLDatabase) async throws -> Int64 {
        let hint = sql.dialect.name == "sqlite" ? " INDEXED BY ix_audit_log_writes" : ""
        let statement = "SELECT MAX(seq) AS seq FROM audit_log" + hint + " WHERE " + M0036_AddWriteRevisionIndex.writes
        let row = try await sql.raw(SQLQueryString(statement)).first()
        guard let row, try !row.decodeNil(column: "seq") else { return 0 }
        return try row.decode(column: "seq", as: Int64.self)
    }

    /// `auditedRead` for a page read model that may answer from `readModelCache`: the revision is read first, in
    /// the page's own transaction, and a model read at that same revision for the same key is the answer (its
    /// audit events appended again, from this request's address); otherwise `body` reads it and it is kept.
    ///
    /// Reading the revision before the data means a kept model is never older than its revision (on PostgreSQL a
    /// write committed in between makes it newer, and the next view reads again). Access is decided in the store
    /// as before: the key holds the actor's role and sites, and a change to a record's site is a write.
    func cachedAuditedRead<T: Sendable>(_ key: ReadModelKey, actor: ActingUser,
                                        _ body: @escaping @Sendable (any Database) async throws -> (T, [AuditEvent])) async throws -> (T, revision: Int64) {
        let cache = readModelCache
        @Sendable func addressed(_ events: [AuditEvent]) -> [AuditEvent] {
            events.map { event in
                var event = event
                event.fromAddress = actor.address
                return event
            }
        }
        // SQLite: a kept model is checked by the audit append itself (one revision probe for the whole batch, on the
        // writer), so a repeated view reads nothing on a reader connection: after any commit those start with an
        // empty page cache. The revision it was read at is the one checked, so a model read before the newest write
        // is never the answer.
        @Sendable func kept() async throws -> (T, revision: Int64)? {
            guard hasReaders, let kept = cache.entry(key), kept.revision >= cache.newest, let value = kept.value.value as? T,
                  try await appendAudit(AuditAppend(events: addressed(kept.value.events), ifRevision: kept.revision)) else { return nil }
            return (value, kept.revision)
        }
        if let answer = try await kept() { return answer }
        @Sendable func fresh() async throws -> (T, revision: Int64) {
            try await auditedRead { db in
                let revision = try await Self.writeRevision(on: db.sqlDatabase())
                if let hit = cache.value(key, revision: revision), let value = hit.value as? T {
                    return ((value, revision), addressed(hit.events))
                }
                let (value, events) = try await body(db)
                cache.store(key, revision: revision, CachedReadModel(value: value, events: events))
                return ((value, revision), events)
            }
        }
        if let answer = try await readFlights.lead(key, fresh) { return answer }
        // Another request has just read this page: its kept model is the answer (on PostgreSQL found inside the
        // page's own transaction), unless a write came in between.
        if let answer = try await kept() { return answer }
        return try await fresh()
    }
}
