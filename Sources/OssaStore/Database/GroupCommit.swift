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

/// One page's read model in a batch of audited reads: its queries, and the audit events they make.
struct AuditedRead: Sendable {
    let body: @Sendable (any Database) async throws -> (any Sendable, [AuditEvent])
}

extension OssaDatabase {
    /// Runs a page's read model — its queries and its audit events — and answers once the audit entries are durable.
    ///
    /// SQLite (one writer): the page runs in one transaction shared with the page reads that arrive while another
    /// batch commits (group commit, as for questionnaire submissions), which divides the cost of the durable commit
    /// (an fsync) among the pages of a batch. Each page's queries run inside a savepoint, so a refused or failed page
    /// (a record the actor may not see) neither writes its audit events nor affects the others. At low load a batch
    /// has one page. PostgreSQL: each page is its own transaction on the pool (measured 1.7–3× the batched rate).
    func auditedRead<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> (T, [AuditEvent])) async throws -> T {
        if engine == .postgres {
            // PostgreSQL: each page in its own transaction on the pool, so that pages read in parallel; only the
            // audit append (which takes the audit chain's lock) and the commit are serial. Batching them would run
            // every page's reads one after another on one connection.
            return try await transaction { db in
                let (value, events) = try await body(db)
                if !events.isEmpty { try await AuditLog.appendBatch(events, on: db) }
                return value
            }
        }
        let read = AuditedRead { db in
            let (value, events) = try await body(db)
            return (value, events)
        }
        let database = self
        let value = try await readCommits.submit(read) { batch in await database.writeReads(batch) }
        guard let typed = value as? T else { throw StoreError.invalid(field: "batch", message: "a batched read returned another type") }
        return typed
    }

    private func writeReads(_ batch: [AuditedRead]) async -> [Result<any Sendable, any Error>] {
        do {
            return try await transaction { db in
                let sql = try db.sqlDatabase()
                var results: [Result<any Sendable, any Error>] = []
                var events: [AuditEvent] = []
                for (index, read) in batch.enumerated() {
                    // One page alone needs no savepoint: its failure rolls the whole transaction back.
                    let savepoint = batch.count > 1 ? "read_\(index)" : nil
                    if let savepoint { try await sql.raw("SAVEPOINT \(ident: savepoint)").run() }
                    do {
                        let (value, own) = try await read.body(db)
                        if let savepoint { try await sql.raw("RELEASE SAVEPOINT \(ident: savepoint)").run() }
                        results.append(.success(value))
                        events += own
                    } catch {
                        guard let savepoint else { throw error }
                        try await sql.raw("ROLLBACK TO SAVEPOINT \(ident: savepoint)").run()
                        try await sql.raw("RELEASE SAVEPOINT \(ident: savepoint)").run()
                        results.append(.failure(error))
                    }
                }
                if !events.isEmpty { try await AuditLog.appendBatch(events, on: db) }
                return results.map { result in result.map { $0 as any Sendable } }
            }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }
}
