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
