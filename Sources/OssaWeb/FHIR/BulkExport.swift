import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import OssaCore
import OssaFHIR
import OssaStore

/// FHIR Bulk Data Access (HL7 Bulk Data IG 2.0.0) `$export` jobs of this server process: kick-off, status with
/// `X-Progress`, a manifest of NDJSON files (one resource type per file, each at most `fileBytes`), the files, and
/// cancel. A job reads the store a page at a time (keyset pages of `pageSize`) and writes each page out before the
/// next is read, so memory stays bounded whatever the registry's size.
actor BulkExportJobs {
    enum State: Sendable {
        case running(String)
        case complete([FileEntry])
        case failed(String)
    }

    struct FileEntry: Sendable {
        var type: String
        var name: String
        var count: Int
    }

    struct Job: Sendable {
        var owner: UUID
        var request: String
        var transactionTime: Date
        var directory: URL
        var state: State
        var task: Task<Void, Never>?
    }

    /// The types an export writes, in this order (the `_type` values).
    static let types = ["Patient", "Condition", "Procedure", "QuestionnaireResponse", "Observation", "Consent"]

    let store: OssaStore
    let library: InstrumentLibrary
    let root: URL
    let fileBytes: Int
    let pageSize: Int
    private var jobs: [UUID: Job] = [:]

    init(store: OssaStore, library: InstrumentLibrary, root: URL, fileBytes: Int, pageSize: Int = 1000) {
        self.store = store
        self.library = library
        self.root = root
        self.fileBytes = fileBytes
        self.pageSize = pageSize
    }

    /// Starts a job for `actor` (already allowed and audited by the caller) and returns its id.
    func start(actor: ActingUser, request: String, types: [String], since: Date?, patients: Set<UUID>?) throws -> UUID {
        let id = UUID()
        let directory = root.appendingPathComponent("ossa-export-\(id.lowercasedString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let writer = BulkExportWriter(store: store, library: library, actor: actor, directory: directory, fileBytes: fileBytes, pageSize: pageSize,
                                      since: since, patients: patients)
        jobs[id] = Job(owner: actor.userID, request: request, transactionTime: Date(), directory: directory, state: .running("starting"), task: nil)
        let task = Task { [self] in
            do {
                let files = try await writer.run(types: types) { progress in await self.progress(id, progress) }
                self.finish(id, .complete(files))
            } catch is CancellationError {
                // Cancelled: the job is already gone.
            } catch {
                self.finish(id, .failed("the export failed; quote the job id \(id.lowercasedString) when reporting it"))
            }
        }
        jobs[id]?.task = task
        return id
    }

    private func progress(_ id: UUID, _ text: String) {
        guard case .running = jobs[id]?.state else { return }
        jobs[id]?.state = .running(text)
    }

    private func finish(_ id: UUID, _ state: State) {
        guard jobs[id] != nil else { return }
        jobs[id]?.state = state
        jobs[id]?.task = nil
    }

    /// The job, if it is `owner`'s (another user's job looks absent).
    func job(_ id: UUID, owner: UUID) -> Job? {
        guard let job = jobs[id], job.owner == owner else { return nil }
        return job
    }

    /// Cancels a running job or deletes a finished one's files. False when there is no such job of `owner`'s.
    func cancel(_ id: UUID, owner: UUID) async -> Bool {
        guard let job = jobs[id], job.owner == owner else { return false }
        jobs[id] = nil
        job.task?.cancel()
        _ = await job.task?.value
        try? FileManager.default.removeItem(at: job.directory)
        return true
    }

    /// Cancels every job and deletes their files (the server is stopping).
    func shutdown() async {
        for id in Array(jobs.keys) {
            if let owner = jobs[id]?.owner { _ = await cancel(id, owner: owner) }
        }
    }
}

/// Writes one export: each type's resources, a page at a time, into NDJSON files of at most `fileBytes`.
struct BulkExportWriter: Sendable {
    let store: OssaStore
    let library: InstrumentLibrary
    let actor: ActingUser
    let directory: URL
    let fileBytes: Int
    let pageSize: Int
    let since: Date?
    let patients: Set<UUID>?
    var siteFilter: Set<UUID>? = nil

    /// The files written, in order.
    func run(types: [String], progress: @Sendable (String) async -> Void) async throws -> [BulkExportJobs.FileEntry] {
        let sites = Dictionary(try await store.sites.list(actor, PageRequest(limit: PageRequest.maximumLimit)).items.map { ($0.id, $0) },
                               uniquingKeysWith: { a, _ in a })
        let siteIDs = try await store.export.siteIDs(actor, sites: siteFilter)
        let json = FHIRJSONWriter()
        var files: [BulkExportJobs.FileEntry] = []
        // The score Observations are made from the responses: when both types are exported (responses first), one
        // read of the responses writes both, and the Observation files stay open for the imaging findings after.
        var observations: NDJSONOutput?
        let scoresWithResponses = types.firstIndex(of: "QuestionnaireResponse").map { responses in
            types.firstIndex(of: "Observation").map { $0 > responses } ?? false
        } ?? false
        let (store, actor, since, pageSize, patients, library) = (store, actor, since, pageSize, patients, library)
        for type in types {
            var output = NDJSONOutput(directory: directory, type: type, limit: fileBytes)
            switch type {
            case "Patient":
                try await pages(siteIDs, { try await store.export.patients(actor, after: $0, since: since, limit: pageSize, patients: patients, sites: [$1]) }, id: { $0.id },
                                encode: { try await Self.encode($0, streams: 1) { patient, out in try out[0].add(FHIRMapping.patient(patient, site: sites[patient.siteID]), with: json) } }) {
                    for part in $0 { try output.append(part[0]) }
                    await progress("Patient: \(output.total) resources")
                }
            case "Condition":
                try await pages(siteIDs, { try await store.export.episodes(actor, after: $0, since: since, limit: pageSize, patients: patients, sites: [$1]) }, id: { $0.id },
                                encode: { try await Self.encode($0, streams: 1) { episode, out in try out[0].add(FHIRMapping.condition(episode), with: json) } }) {
                    for part in $0 { try output.append(part[0]) }
                    await progress("Condition: \(output.total) resources")
                }
            case "Procedure":
                try await pages(siteIDs, { try await store.export.procedures(actor, after: $0, since: since, limit: pageSize, patients: patients, sites: [$1]) }, id: { $0.0.id },
                                encode: { try await Self.encode($0, streams: 1) { row, out in try out[0].add(FHIRMapping.procedure(row.0, patientID: row.patientID), with: json) } }) {
                    for part in $0 { try output.append(part[0]) }
                    await progress("Procedure: \(output.total) resources")
                }
            case "QuestionnaireResponse":
                var scores = scoresWithResponses ? NDJSONOutput(directory: directory, type: "Observation", limit: fileBytes) : nil
                let withScores = scores != nil
                try await pages(siteIDs, { try await store.export.responses(actor, after: $0, since: since, limit: pageSize, patients: patients, sites: [$1]) }, id: { $0.0.id }, encode: { try await Self.encode($0, streams: 2) { row, out in
                        let (response, patientID) = row
                        let definition = library.instrument(id: response.instrumentID)
                        try out[0].add(FHIRMapping.questionnaireResponse(response, patientID: patientID, definition: definition), with: json)
                        if withScores {
                            for observation in FHIRMapping.scoreObservations(response, patientID: patientID, definition: definition) {
                                try out[1].add(observation, with: json)
                            }
                        }
                    } }) { parts in
                    for part in parts {
                        try output.append(part[0])
                        try scores?.append(part[1])
                    }
                    await progress("QuestionnaireResponse: \(output.total) resources" + (scores.map { ", Observation: \($0.total)" } ?? ""))
                }
                observations = scores
            case "Consent":
                try await pages(siteIDs, { try await store.export.consents(actor, after: $0, since: since, limit: pageSize, patients: patients, sites: [$1]) },
                                id: { $0.0.id },
                                encode: { try await Self.encode($0, streams: 1) { row, out in try out[0].add(FHIRMapping.consent(row.0, active: row.active), with: json) } }) {
                    for part in $0 { try output.append(part[0]) }
                    await progress("Consent: \(output.total) resources")
                }
            default:
                // Observations: the scores of the responses (unless written beside them), then the imaging findings.
                if let observations {
                    output = observations
                } else {
                    try await pages(siteIDs, { try await store.export.responses(actor, after: $0, since: since, limit: pageSize, patients: patients, sites: [$1]) }, id: { $0.0.id }, encode: { try await Self.encode($0, streams: 1) { row, out in
                            for observation in FHIRMapping.scoreObservations(row.0, patientID: row.patientID, definition: library.instrument(id: row.0.instrumentID)) {
                                try out[0].add(observation, with: json)
                            }
                        } }) { parts in
                        for part in parts { try output.append(part[0]) }
                        await progress("Observation: \(output.total) resources")
                    }
                }
                try await pages(siteIDs, { try await store.export.imaging(actor, after: $0, since: since, limit: pageSize, patients: patients, sites: [$1]) }, id: { $0.0.id }, encode: { try await Self.encode($0, streams: 1) { row, out in
                        for observation in FHIRMapping.imagingObservations(row.0, patientID: row.patientID, side: row.side) { try out[0].add(observation, with: json) }
                    } }) { parts in
                    for part in parts { try output.append(part[0]) }
                    await progress("Observation: \(output.total) resources")
                }
            }
            files += try output.close()
        }
        return files
    }

    /// Maps and encodes a page's records in as many concurrent parts as there are cores, each record into `streams`
    /// outputs (a response: its QuestionnaireResponse and its score Observations), and returns the parts in order.
    /// Encoding is most of an export's time (perf: 89 % on the one task that wrote), so it is what is split.
    static func encode<T: Sendable>(_ items: [T], streams: Int,
                                    _ body: @escaping @Sendable (T, inout [EncodedLines]) throws -> Void) async throws -> [[EncodedLines]] {
        // Four parts a core, so that one part taking longer leaves no core idle for long.
        let parts = max(1, min(items.count / 64, 4 * ProcessInfo.processInfo.activeProcessorCount))
        guard parts > 1 else {
            var out = Array(repeating: EncodedLines(), count: streams)
            for item in items { try body(item, &out) }
            return [out]
        }
        let size = (items.count + parts - 1) / parts
        return try await withThrowingTaskGroup(of: (Int, [EncodedLines]).self) { group in
            for part in 0..<parts {
                let chunk = Array(items[(part * size)..<min(items.count, (part + 1) * size)])
                group.addTask(executorPreference: DispatchPoolExecutor.shared) {
                    var out = Array(repeating: EncodedLines(), count: streams)
                    for item in chunk { try body(item, &out) }
                    return (part, out)
                }
            }
            var results = Array(repeating: [EncodedLines](), count: parts)
            for try await (part, out) in group { results[part] = out }
            return results
        }
    }

    /// Reads page after page (keyset: each after the last id of the one before), encodes each (`encode`) and hands it
    /// to `body`. The next page is read and encoded while `body` writes this one out: the read runs on the database's
    /// thread and the encoding on every core, so no core waits for the writing.
    ///
    /// One site at a time (`siteIDs`, each read with `sites: [site]`): each page is then one range of the
    /// `(site_id, id)` index (M0037), where pages of several sites at once in id order would be sorted every time.
    private func pages<T: Sendable, U: Sendable>(_ siteIDs: [UUID], _ read: @escaping @Sendable (UUID?, UUID) async throws -> [T],
                                                 id: @escaping @Sendable (T) -> UUID, encode: @escaping @Sendable ([T]) async throws -> U,
                                                 _ body: (U) async throws -> Void) async throws {
        let pageSize = pageSize
        /// Reads a page and encodes it: the next page is read and encoded while `body` writes this one out.
        @Sendable func fetch(_ after: UUID?, _ site: UUID) async throws -> (full: Bool, last: UUID?, encoded: U?) {
            let page = try await read(after, site)
            return (page.count == pageSize, page.last.map(id), page.isEmpty ? nil : try await encode(page))
        }
        var remaining = siteIDs[...]
        guard var site = remaining.popFirst() else { return }
        var pending: Task<(full: Bool, last: UUID?, encoded: U?), any Error>? = Task { [site] in try await fetch(nil, site) }
        do {
            while let reading = pending {
                try Task.checkCancellation()
                let page = try await reading.value
                if page.full, let after = page.last {
                    pending = Task { [site] in try await fetch(after, site) }
                } else if let next = remaining.popFirst() {
                    site = next
                    pending = Task { [site] in try await fetch(nil, site) }
                } else {
                    pending = nil
                }
                if let encoded = page.encoded { try await body(encoded) }
            }
        } catch {
            // A read still running when this returns could outlive the database: the caller may shut it down next
            // (a cancelled job, a failed write), and SQLite would then read freed memory.
            if let pending {
                pending.cancel()
                _ = try? await pending.value
            }
            throw error
        }
    }
}

/// Runs tasks on Dispatch's global concurrent pool, one thread a core. `ossa serve` makes NIO's event loops the
/// global executor, and there a task group's children were enqueued on the loop of the task that added them: an
/// export's encoding parts then ran one after another on one thread (measured: 1.0 core of 2 busy, where
/// `ossa export fhir` on the same registry used 1.35). The parts also stay off the loops that serve HTTP.
final class DispatchPoolExecutor: TaskExecutor {
    static let shared = DispatchPoolExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue.global().async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// `ossa export fhir` (issue #12): the `$export` files (one type per NDJSON file, at most `fileBytes` each) written
/// into a directory by the command line, staged like the research files so that a failed export leaves nothing.
public struct FHIRFileExport: Sendable {
    public static let types = BulkExportJobs.types
    let store: OssaStore
    let library: InstrumentLibrary

    public init(store: OssaStore, library: InstrumentLibrary) {
        (self.store, self.library) = (store, library)
    }

    /// Writes `types` into `directory` (which must not hold an earlier export's `manifest.json`), with
    /// `manifest.json` (the Bulk Data manifest, file URLs relative to it); returns type, file and count per file.
    public func run(_ actor: ActingUser, into directory: URL, types: [String] = FHIRFileExport.types, sites: Set<UUID>? = nil, since: Date? = nil,
                    fileBytes: Int = 64 << 20, what: String, progress: @Sendable (String) async -> Void = { _ in }) async throws -> [(type: String, name: String, count: Int)] {
        let clashes: (String) -> Bool = { name in name == "manifest.json" || types.contains { name.hasPrefix("\($0)-") && name.hasSuffix(".ndjson") } }
        return try await ExportStage.run(into: directory, clashes: clashes) { stage in
            try await store.export.start(actor, what: what)
            let transactionTime = Date()
            var writer = BulkExportWriter(store: store, library: library, actor: actor, directory: stage, fileBytes: fileBytes, pageSize: 1000,
                                          since: since, patients: nil)
            writer.siteFilter = sites
            let files = try await writer.run(types: types, progress: progress)
            let object: [String: Any] = [
                "transactionTime": ISO8601DateFormatter().string(from: transactionTime), "request": what, "requiresAccessToken": false,
                "output": files.map { ["type": $0.type, "url": $0.name, "count": $0.count] as [String: Any] }, "error": [Any](),
            ]
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                .write(to: stage.appendingPathComponent("manifest.json"))
            return files.map { ($0.type, $0.name, $0.count) }
        }
    }
}

/// Resources encoded away from the writing task: one buffer of their JSON, with where each one ends.
struct EncodedLines: Sendable {
    var bytes: [UInt8] = []
    var ends: [Int] = []

    mutating func add<T: Encodable>(_ resource: T, with json: FHIRJSONWriter) throws {
        try json.append(resource, to: &bytes)
        ends.append(bytes.count)
    }
}

/// One type's NDJSON files: `<Type>-1.ndjson`, `<Type>-2.ndjson`, … each at most `limit` bytes (a single resource
/// larger than that gets a file of its own).
struct NDJSONOutput {
    let directory: URL
    let type: String
    let limit: Int
    private var handle: FileHandle?
    private var bytes = 0
    private var buffer: [UInt8] = []
    private var files: [BulkExportJobs.FileEntry] = []
    private(set) var total = 0

    init(directory: URL, type: String, limit: Int) {
        self.directory = directory
        self.type = type
        self.limit = limit
    }

    /// Appends each of `lines` as one line; starts the next file first when this one would pass `limit` bytes.
    mutating func append(_ lines: EncodedLines) throws {
        var start = 0
        for end in lines.ends {
            let count = end - start
            if handle == nil || (bytes > 0 && bytes + count + 1 > limit) { try next() }
            buffer.append(contentsOf: lines.bytes[start..<end])
            buffer.append(UInt8(ascii: "\n"))
            bytes += count + 1
            files[files.count - 1].count += 1
            total += 1
            if buffer.count >= 1 << 20 { try flush() }
            start = end
        }
    }

    private mutating func flush() throws {
        guard let handle, !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func next() throws {
        try flush()
        try handle?.close()
        let name = "\(type)-\(files.count + 1).ndjson"
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        handle = try FileHandle(forWritingTo: url)
        files.append(BulkExportJobs.FileEntry(type: type, name: name, count: 0))
        bytes = 0
    }

    mutating func close() throws -> [BulkExportJobs.FileEntry] {
        try flush()
        try handle?.close()
        handle = nil
        return files
    }
}

extension FHIRRoutes {
    /// GET /fhir/$export, /fhir/Patient/$export, /fhir/Group/{id}/$export: the kick-off. `Prefer: respond-async`
    /// is required; `_type` (comma-separated), `_since` (an instant) and `_outputFormat` (NDJSON) are taken, any other
    /// parameter is refused. 202 with `Content-Location`, the status URL.
    @Sendable func exportSystem(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await kickOff(request, context, patients: nil)
    }

    @Sendable func exportGroup(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try FHIRIO.id(context, "groupID", type: "Group")
        guard let setup = analytics else { throw Problem(.notFound, detail: "Group/$export is not served") }
        // A Group is a saved cohort: its patients are those with an episode the cohort's filters select, among the
        // caller's sites.
        let cohort = try await store.savedCohorts.get(actor, id)
        let extract = try await store.analytics(protocol: setup.followUp).extract(actor, minimumCellCount: setup.minimumCellCount,
                                                                                  maxStaleness: 0, audit: "fhir:Group/\(id.lowercasedString)/$export")
        // (A researcher's extract is de-identified; the kick-off refuses them before anything is written.)
        let members = Set(extract.extract.episodes.filter { cohort.definition.filter.matches($0) }.map(\.patientKey))
        return try await kickOff(request, context, patients: members)
    }

    private func kickOff(_ request: Request, _ context: OssaRequestContext, patients: Set<UUID>?) async throws -> Response {
        let actor = try context.requireUser()
        guard let jobs = exports else { throw Problem(.notFound, detail: "$export is not served") }
        guard (request.headers[FHIRIO.prefer] ?? "").lowercased().contains("respond-async") else {
            throw Problem(.badRequest, detail: "$export runs asynchronously: send Prefer: respond-async",
                          errors: [FieldProblem(field: "Prefer", message: "must be respond-async")])
        }
        var types = BulkExportJobs.types
        var since: Date?
        for (name, value) in request.uri.queryParameters {
            let value = String(value)
            switch String(name) {
            case "_type":
                let asked = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                if asked.contains("") { throw Problem.badParameter("_type", "names an empty type; give resource types separated by commas") }
                if let unknown = asked.first(where: { !BulkExportJobs.types.contains($0) }) {
                    throw Problem.badParameter("_type", "\(unknown) is not exported; these are: \(BulkExportJobs.types.joined(separator: ", "))")
                }
                types = BulkExportJobs.types.filter(asked.contains)
            case "_since":
                guard let date = FHIRIO.parseInstant(value) else {
                    throw Problem.badParameter("_since", "\"\(value)\" is not a FHIR instant (2026-11-01T00:00:00Z)")
                }
                since = date
            case "_outputFormat":
                guard ["application/fhir+ndjson", "application/ndjson", "ndjson"].contains(value) else {
                    throw Problem.badParameter("_outputFormat", "only application/fhir+ndjson is written")
                }
            case let other:
                throw Problem.badParameter(other, "is not a parameter of $export here; these are: _type, _since, _outputFormat")
            }
        }
        let what = "$export " + types.joined(separator: ",") + (since.map { " since \(FHIRMapping.instant($0) ?? "")" } ?? "")
            + (patients.map { " of \($0.count) patients" } ?? "")
        try await store.export.start(actor, what: what)
        let id = try await jobs.start(actor: actor, request: baseURL + request.uri.description, types: types, since: since, patients: patients)
        var response = Response(status: .accepted, headers: [.contentType: FHIRRoutes.contentType])
        response.headers[.contentLocation] = baseURL + Paths.FHIR.exportStatus.url(id)
        return response
    }

    /// GET the status URL: 202 with `X-Progress` while running, 200 with the manifest when done, 500 with an
    /// OperationOutcome when it failed. Only the user who started the job sees it.
    @Sendable func exportStatus(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        guard let jobs = exports else { throw Problem(.notFound, detail: "$export is not served") }
        let id = try FHIRIO.id(context, "jobID", type: "export job")
        guard let job = await jobs.job(id, owner: actor.userID) else { throw Problem(.notFound, detail: "no export job \(id.lowercasedString)") }
        switch job.state {
        case .running(let progress):
            var response = Response(status: .accepted)
            response.headers[FHIRIO.xProgress] = progress
            response.headers[.retryAfter] = "2"
            return response
        case .failed(let message):
            throw Problem(.internalServerError, detail: message)
        case .complete(let files):
            let manifest: [String: Any] = [
                "transactionTime": FHIRMapping.instant(job.transactionTime) ?? "",
                "request": job.request,
                "requiresAccessToken": true,
                "output": files.map { ["type": $0.type, "url": baseURL + Paths.FHIR.exportFile.url(id.lowercasedString, $0.name), "count": $0.count] as [String: Any] },
                "error": [Any](),
            ]
            let data = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes])
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    /// DELETE the status URL: cancels the job (or deletes a finished one's files). 202.
    @Sendable func exportCancel(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        guard let jobs = exports else { throw Problem(.notFound, detail: "$export is not served") }
        let id = try FHIRIO.id(context, "jobID", type: "export job")
        guard await jobs.cancel(id, owner: actor.userID) else { throw Problem(.notFound, detail: "no export job \(id.lowercasedString)") }
        return Response(status: .accepted)
    }

    /// GET a file of a finished job (`application/fhir+ndjson`), streamed from disk.
    @Sendable func exportFile(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        guard let jobs = exports else { throw Problem(.notFound, detail: "$export is not served") }
        let id = try FHIRIO.id(context, "jobID", type: "export job")
        let name = context.parameters.get("file") ?? ""
        guard let job = await jobs.job(id, owner: actor.userID), case .complete(let files) = job.state, files.contains(where: { $0.name == name }) else {
            throw Problem(.notFound, detail: "no export file \(name)")
        }
        let url = job.directory.appendingPathComponent(name)
        let handle = try FileHandle(forReadingFrom: url)
        let body = ResponseBody { writer in
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/fhir+ndjson", .cacheControl: "no-store"], body: body)
    }
}

extension FHIRIO {
    static let xProgress = HTTPField.Name("X-Progress")!
    static let prefer = HTTPField.Name("Prefer")!

    /// A FHIR `instant` (`2026-11-01T00:00:00Z`, with fractional seconds or an offset).
    static func parseInstant(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return plain.date(from: text) ?? fractional.date(from: text)
    }
}
