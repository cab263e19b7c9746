import Foundation

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
