import Foundation
import Hummingbird
import NIOCore
import OssaCore
import OssaFHIR
import OssaStore

/// FHIR R4 under `/fhir` (`application/fhir+json`): the CapabilityStatement, and Patient and Condition read and
/// search. Every call goes through the store with the caller as acting user, so a search returns only the caller's
/// sites' records whatever its parameters, and every read and search is audited there. Errors are OperationOutcome
/// (`ProblemMiddleware`, `FHIRIO.operationOutcome`).
struct FHIRRoutes: Sendable {
    let store: OssaStore
    let baseURL: String
    let version: String

    static let contentType = "application/fhir+json; charset=utf-8"

    /// The metadata is public (clients read it before they authenticate); the rest takes an API token or a session.
    func registerPublic(on router: Router<OssaRequestContext>) {
        router.on(.get, Paths.FHIR.metadata, use: metadata)
    }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.FHIR.patients, use: searchPatients)
        group.on(.get, Paths.FHIR.patient, use: readPatient)
        group.on(.get, Paths.FHIR.conditions, use: searchConditions)
        group.on(.get, Paths.FHIR.condition, use: readCondition)
        group.on(.get, Paths.FHIR.procedures, use: searchProcedures)
        group.on(.get, Paths.FHIR.procedure, use: readProcedure)
    }

    @Sendable func metadata(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let date = FHIRMapping.instant(Date()) ?? ""
        let statement = FHIRCapabilities.statement(version: version, baseURL: baseURL + "/fhir", date: date)
        let data = try JSONSerialization.data(withJSONObject: statement, options: [.sortedKeys, .withoutEscapingSlashes])
        return FHIRIO.response(data)
    }

    @Sendable func readPatient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try FHIRIO.id(context, "patientID", type: "Patient")
        let record = try await store.patients.get(actor, id)
        return try FHIRIO.response(FHIRMapping.patient(record, siteName: try await siteNames(actor)[record.siteID]))
    }

    @Sendable func readCondition(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try FHIRIO.id(context, "conditionID", type: "Condition")
        return try FHIRIO.response(FHIRMapping.condition(try await store.episodes.get(actor, id)))
    }

    @Sendable func readProcedure(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let procedure = try await store.procedures.get(actor, try FHIRIO.id(context, "procedureID", type: "Procedure"))
        // The subject: the episode's patient (the procedure record names its episode).
        let episode = try await store.episodes.get(actor, procedure.episodeID)
        return try FHIRIO.response(FHIRMapping.procedure(procedure, patientID: episode.patientID))
    }

    /// GET /fhir/Procedure?patient=(required)&date=&_count=&_offset=
    @Sendable func searchProcedures(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Procedure")
        guard let reference = try query.string("patient") else {
            throw Problem.badParameter("patient", "is required: Procedure searches are per patient (Patient/<id>)")
        }
        let patientID = try FHIRSearch.patient(reference)
        let performed = try query.string("date").map(FHIRSearch.dayRange)
        let found: (total: Int, items: [StoredProcedure])
        do {
            let page = try await store.procedures.list(actor, ProcedureFilter(patientID: patientID, performed: performed),
                                                       PageRequest(limit: query.count, offset: query.offset))
            found = (page.total, page.items)
        } catch StoreError.notFound(_, _) {
            found = (0, [])
        }
        return try FHIRIO.response(query.bundle(total: found.total, offset: query.offset, count: query.count, base: baseURL,
                                                entries: found.items.map { .procedure(FHIRMapping.procedure($0, patientID: patientID)) }))
    }

    /// GET /fhir/Patient?name=&identifier=&_count=&_offset=
    @Sendable func searchPatients(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Patient")
        let name = try query.string("name")
        let names = try await siteNames(actor)
        if let identifier = try query.string("identifier") {
            // A token: `value` or `system|value`, matched exactly (MRNs are unique per site: the matches are few, one page).
            let parts = identifier.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let system = parts.count == 2 ? parts[0] : nil
            let value = parts.count == 2 ? parts[1] : parts[0]
            guard !value.isEmpty else { throw Problem.badParameter("identifier", "give a value, or system|value") }
            let candidates = try await store.patients.find(actor, mrn: value)
            let matches = candidates.filter { p in
                p.mrn == value && (system == nil || system == FHIRSystems.mrn(site: p.siteID))
                    && (name.map { n in "\(p.familyName) \(p.givenName)".localizedCaseInsensitiveContains(n) } ?? true)
            }
            return try FHIRIO.response(query.bundle(total: matches.count, offset: 0, count: matches.count, base: baseURL,
                                                    entries: matches.map { .patient(FHIRMapping.patient($0, siteName: names[$0.siteID])) }))
        }
        let page = try await store.patients.list(actor, PageRequest(limit: query.count, offset: query.offset, search: name))
        return try FHIRIO.response(query.bundle(total: page.total, offset: page.offset, count: query.count, base: baseURL,
                                                entries: page.items.map { .patient(FHIRMapping.patient($0, siteName: names[$0.siteID])) }))
    }

    /// GET /fhir/Condition?patient=&_count=&_offset=
    @Sendable func searchConditions(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Condition")
        let patientID = try query.string("patient").map(FHIRSearch.patient)
        let found: (total: Int, items: [EpisodeRecord])
        do {
            let page = try await store.episodes.list(actor, patient: patientID, PageRequest(limit: query.count, offset: query.offset))
            found = (page.total, page.items)
        } catch StoreError.notFound(_, _) {
            // A patient the caller cannot see (or none): no matches, the same answer either way.
            found = (0, [])
        }
        return try FHIRIO.response(query.bundle(total: found.total, offset: query.offset, count: query.count, base: baseURL,
                                                entries: found.items.map { .condition(FHIRMapping.condition($0)) }))
    }

    /// The names of the caller's sites (a patient's managing organisation).
    private func siteNames(_ actor: ActingUser) async throws -> [UUID: String] {
        Dictionary(try await store.sites.list(actor, PageRequest(limit: PageRequest.maximumLimit)).items.map { ($0.id, $0.name) },
                   uniquingKeysWith: { a, _ in a })
    }
}

/// A FHIR search's parameters, checked against `FHIRCapabilities`: an unknown parameter, a repeated one or a bad
/// number is refused (400, OperationOutcome naming it) rather than ignored, so a search never answers more than was
/// asked for.
struct FHIRSearch {
    let type: String
    let path: String
    let values: [String: String]
    let count: Int
    let offset: Int

    init(_ request: Request, type: String) throws {
        self.type = type
        path = request.uri.path
        guard let resource = FHIRCapabilities.resource(type) else { throw Problem(.notFound, detail: "\(type) is not served") }
        let known = Set((resource.searchParameters + FHIRCapabilities.common).map(\.name))
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard known.contains(name) else {
                throw Problem.badParameter(name, "is not a search parameter of \(type); these are: \(known.sorted().joined(separator: ", "))")
            }
            guard values[name] == nil else { throw Problem.badParameter(name, "is given more than once") }
            values[name] = String(value)
        }
        self.values = values
        func number(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let raw = values[name] else { return fallback }
            guard let n = Int(raw), range.contains(n) else {
                throw Problem.badParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
        count = try number("_count", 50, 1...100)
        offset = try number("_offset", 0, 0...Int(Int32.max))
    }

    /// A patient reference: `Patient/<id>` or `<id>`.
    static func patient(_ reference: String) throws -> UUID {
        let raw = reference.hasPrefix("Patient/") ? String(reference.dropFirst("Patient/".count)) : reference
        guard let id = UUID(uuidString: raw) else {
            throw Problem.badParameter("patient", "\"\(reference)\" is not a patient (Patient/<id> or <id>)")
        }
        return id
    }

    /// A `date` parameter on a day: `YYYY-MM-DD` (that day) or one prefix, `eq` `ge` `gt` `le` `lt`.
    static func dayRange(_ value: String) throws -> DateRange {
        let prefixes = ["eq", "ge", "gt", "le", "lt"]
        let prefix = prefixes.first { value.hasPrefix($0) }
        let text = prefix.map { String(value.dropFirst($0.count)) } ?? value
        guard let day = try? CalendarDate(iso: text) else {
            throw Problem.badParameter("date", "\"\(value)\" is not a day (YYYY-MM-DD, optionally after eq, ge, gt, le or lt)")
        }
        switch prefix {
        case "ge": return DateRange(from: day)
        case "gt": return DateRange(from: day.adding(days: 1))
        case "le": return DateRange(to: day)
        case "lt": return DateRange(to: day.adding(days: -1))
        default: return DateRange(from: day, to: day)
        }
    }

    func string(_ name: String) throws -> String? {
        guard let value = values[name] else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw Problem.badParameter(name, "is empty") }
        guard trimmed.count <= 200 else { throw Problem.badParameter(name, "is longer than 200 characters") }
        return trimmed
    }

    /// The page as a searchset Bundle with `self`, and `next` / `previous` where there are more.
    func bundle(total: Int, offset: Int, count: Int, base: String, entries: [FHIRResource]) -> FHIRBundle {
        func url(_ at: Int) -> String {
            var items = values.filter { $0.key != "_offset" && $0.key != "_count" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            items.append(("_count", String(max(count, 1))))
            items.append(("_offset", String(at)))
            let query = items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .fhirQueryValue) ?? $0.1)" }.joined(separator: "&")
            return base + path + "?" + query
        }
        let next = offset + entries.count < total && !entries.isEmpty ? url(offset + entries.count) : nil
        let previous = offset > 0 ? url(max(0, offset - count)) : nil
        return FHIRBundle.searchset(total: total, entries: entries, base: base + "/fhir", selfURL: url(offset), nextURL: next, previousURL: previous)
    }
}

extension CharacterSet {
    /// Query values: unreserved characters and `|` `:` `/` (tokens and references read better unescaped).
    static let fhirQueryValue: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~|:/")
        return set
    }()
}

/// FHIR responses and errors.
enum FHIRIO {
    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return response(try encoder.encode(value), status: status)
    }

    static func response(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: FHIRRoutes.contentType, .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A path id, or a 404 OperationOutcome: FHIR ids of Ossa resources are UUIDs.
    static func id(_ context: OssaRequestContext, _ name: String, type: String) throws -> UUID {
        guard let raw = context.parameters.get(name), let id = UUID(uuidString: raw) else {
            throw Problem(.notFound, detail: "no \(type) with id \(context.parameters.get(name) ?? "")")
        }
        return id
    }

    /// The problem as an OperationOutcome: one issue per field problem, located by `expression`, or one for the whole.
    static func operationOutcome(_ problem: Problem) -> Response {
        let code: String
        switch problem.status.code {
        case 401: code = "login"
        case 403: code = "forbidden"
        case 404: code = "not-found"
        case 405: code = "not-supported"
        case 409: code = "conflict"
        case 400, 413, 415, 422: code = "invalid"
        case 500...: code = "exception"
        default: code = "processing"
        }
        let issues = problem.errors.isEmpty
            ? [FHIROperationOutcome.Issue(code: code, diagnostics: problem.detail ?? problem.title)]
            : problem.errors.map { FHIROperationOutcome.Issue(code: code, diagnostics: $0.message, expression: [$0.field]) }
        var result = (try? response(FHIROperationOutcome(issue: issues), status: problem.status)) ?? response(Data(), status: problem.status)
        for field in problem.headers { result.headers.append(field) }
        return result
    }
}
