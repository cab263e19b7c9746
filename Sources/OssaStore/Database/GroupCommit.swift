import FluentKit
import Foundation
import SQLKit

/// Group commit: writes that arrive while a transaction is committing wait and then commit together in the next one.
///
/// With synchronous=FULL every SQLite commit waits for an fsync of the WAL (about 3 ms on the machines measured),
/// and on PostgreSQL every audited write holds the audit advisory lock until its commit is flushed; one transaction
/// per request therefore caps throughput at a few hundred writes per second whatever the CPU. Batching concurrent
/// requests into one transaction keeps full durability (a request is acknowledged only after the commit that holds
/// it) and divides the flush cost among them. At low load a batch has one request and nothing waits.
///
/// `write` receives up to `maxBatch` requests and returns one result per request, in order. It must isolate
/// failures: one bad request may not fail the others (see `QuestionnaireRepository.writeBatch`).
actor GroupCommit<Request: Sendable, Response: Sendable> {
    typealias Writer = @Sendable ([Request]) async -> [Result<Response, any Error>]

    private var pending: [(request: Request, continuation: CheckedContinuation<Response, any Error>)] = []
    private var draining = false
    let maxBatch: Int
    /// Where batches are written (see `OssaDatabase.writerExecutor`); nil = the global executor.
    let executor: (any TaskExecutor)?

    init(maxBatch: Int = 256, executor: (any TaskExecutor)? = nil) {
        self.maxBatch = maxBatch
        self.executor = executor
    }

    func submit(_ request: Request, write: @escaping Writer) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((request, continuation))
            if !draining {
                draining = true
                Task(executorPreference: executor) { await self.drain(write) }
            }
        }
    }

    private func drain(_ write: Writer) async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            // While this batch commits, new requests queue up for the next one (the actor is re-entrant here).
            let results = await write(batch.map(\.request))
            for (index, item) in batch.enumerated() {
                if index < results.count {
                    item.continuation.resume(with: results[index])
                } else {
                    item.continuation.resume(throwing: StoreError.invalid(field: "batch", message: "no result for a batched write"))
                }
            }
        }
        draining = false
    }
}

extension OssaDatabase {
    /// Runs a page's read model — its queries and its audit events — and answers once the audit entries are durable.
    ///
    /// SQLite: the page's queries run in one read transaction on one of the read-only connections
    /// (`readTransaction`), in parallel with other pages and with the writer (WAL); only its audit events go to the
    /// writer, group-committed with those of the pages that arrive while another batch commits, which divides the
    /// cost of the durable commit (an fsync) among them. A refused or failed page (a record the actor may not see)
    /// writes no audit event. PostgreSQL: each page is its own transaction on the pool.
    func auditedRead<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> (T, [AuditEvent])) async throws -> T {
        guard let (value, events) = try await readTransaction(body) else {
            // PostgreSQL: each page in its own transaction on the pool, so that pages read in parallel; only the
            // audit append (which takes the audit chain's lock) and the commit are serial. Batching them would run
            // every page's reads one after another on one connection.
            return try await transaction { db in
                let (value, events) = try await body(db)
                if !events.isEmpty { try await AuditLog.appendBatch(events, on: db) }
                return value
            }
        }
        if !events.isEmpty {
            _ = try await appendAudit(AuditAppend(events: events, ifRevision: nil))
        }
        return value
    }

    /// Appends a page's audit events in the next group commit; false if `ifRevision` was given and the write
    /// revision is no longer it (then nothing of this page is appended).
    func appendAudit(_ append: AuditAppend) async throws -> Bool {
        let database = self
        return try await auditCommits.submit(append) { batch in await database.appendAudits(batch) }
    }

    /// One transaction on the writer for the audit events of a batch of pages: all of them are written, or none.
    /// A page kept in `readModelCache` is appended only if the revision it was read at is still the newest, read
    /// once for the batch under the write lock (`BEGIN IMMEDIATE`), so no write can come between the check and
    /// the commit of the audit entries.
    private func appendAudits(_ batch: [AuditAppend]) async -> [Result<Bool, any Error>] {
        do {
            let conditional = batch.contains { $0.ifRevision != nil }
            let taken = try await sqlTransaction(immediate: conditional) { session in
                let revision = conditional ? try await Self.writeRevision(on: session.sql) : nil
                // Every kept page read before it is stale now: dropped at once, not at each one's next failed check.
                if let revision { self.readModelCache.observe(revision) }
                let taken = batch.map { $0.ifRevision == nil || $0.ifRevision == revision }
                let events = zip(batch, taken).flatMap { $1 ? $0.events : [] }
                if !events.isEmpty { try await AuditLog.appendBatch(events, inTransactionOn: session.sql) }
                return taken
            }
            return taken.map { .success($0) }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }
}

/// The audit events of one page view, for the group commit (`appendAudit`).
struct AuditAppend: Sendable {
    var events: [AuditEvent]
    /// Append only while the store's write revision is this one (a kept read model's); nil: always.
    var ifRevision: Int64?
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
        if hasReaders, let kept = cache.entry(key), kept.revision >= cache.newest, let value = kept.value.value as? T,
           try await appendAudit(AuditAppend(events: addressed(kept.value.events), ifRevision: kept.revision)) {
            return (value, kept.revision)
        }
        return try await auditedRead { db in
            let revision = try await Self.writeRevision(on: db.sqlDatabase())
            if let hit = cache.value(key, revision: revision), let value = hit.value as? T {
                return ((value, revision), addressed(hit.events))
            }
            let (value, events) = try await body(db)
            cache.store(key, revision: revision, CachedReadModel(value: value, events: events))
            return ((value, revision), events)
        }
    }
}
