import Foundation
import Hummingbird
import NIOCore
import OssaAnalytics
import OssaCore
import OssaStats
import OssaStore

/// What an analytics request asks for: the cohort (from query parameters or a saved cohort) and the analysis
/// context of the viewer. Shared by the API, the page and the downloads.
struct AnalyticsRequest: Sendable {
    var definition: CohortDefinition
    /// The query that reproduces the cohort (for audit entries and download links).
    var query: String

    /// Reads the cohort parameters (`CohortQuery.names`, plus `cohort` = a saved cohort's id).
    /// - Parameter emptyIsAbsent: pages send every field of their GET form, empty ones as `name=`; the API refuses
    ///   an empty value, as its OpenAPI document says.
    /// - Parameter orderedRanges: the page refuses a range that ends before it starts; the API lets it match nothing.
    static func read(_ request: Request, actor: ActingUser, store: OssaStore, emptyIsAbsent: Bool,
                     orderedRanges: Bool = false, ignoring: Set<String> = []) async throws -> AnalyticsRequest {
        var items: [(name: String, value: String)] = []
        var savedID: UUID?
        for (name, value) in request.uri.queryParameters {
            // Already percent-decoded by Hummingbird (decoding twice would turn "%2541" into "A").
            let name = String(name), value = String(value)
            if ignoring.contains(name) { continue }
            if value.isEmpty {
                if emptyIsAbsent { continue }
                throw Problem.badParameter(name, "is empty (leave the parameter out instead)")
            }
            if name == "cohort" {
                guard let id = UUID(uuidString: value) else { throw Problem.badParameter("cohort", "\"\(value)\" is not a cohort id") }
                savedID = id
                continue
            }
            items.append((name, value))
        }
        if let savedID {
            // A saved cohort: its parameters, with any given beside it replacing those of the same name.
            let saved = try await store.savedCohorts.get(actor, savedID)
            let given = Set(items.map(\.name))
            items = CohortQuery.items(saved.definition).filter { !given.contains($0.name) } + items
        }
        let definition: CohortDefinition
        do {
            definition = try CohortQuery.parse(items, orderedRanges: orderedRanges)
        } catch {
            throw Problem.badParameter(error.path, error.message)
        }
        let query = CohortQuery.items(definition).map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        return AnalyticsRequest(definition: definition, query: query)
    }
}

/// The analysis context for a viewer (researchers get the small-cell rule).
struct AnalyticsSetup: Sendable {
    let followUp: FollowUpProtocol
    let context: AnalysisContext
    let literature: LiteratureFile?
    let minimumCellCount: Int
    let maxStaleness: TimeInterval

    /// - Parameter literature: the clinic's studies (`OSSA_LITERATURE_FILE`); nil: the built-in file.
    init(minimumCellCount: Int, maxStaleness: TimeInterval = 0, literature: LiteratureFile? = nil) throws {
        self.maxStaleness = maxStaleness
        followUp = try FollowUpProtocol.bundledDefault()
        context = try AnalysisContext.builtIn(followUp: followUp)
        self.literature = try literature ?? LiteratureFile.builtIn()
        self.minimumCellCount = minimumCellCount
    }

    let comparisons = LiteratureCache()
    let reports = RevisionCache<ReportKey, AnalyticsReport>()
    let renderedResults = RevisionCache<RenderedResultsKey, String>()

    func reportKey(_ extract: ScopedExtract, _ definition: CohortDefinition) -> ReportKey {
        ReportKey(revision: extract.revision, sites: extract.viewer.siteIDs, minimumCellCount: extract.viewer.minimumCellCount,
                        definition: definition)
    }

    /// Every analysis of a cohort for this viewer's extract (cached per revision, viewer and cohort).
    func report(for extract: ScopedExtract, _ definition: CohortDefinition) async throws -> AnalyticsReport {
        let context = context(for: extract)
        let comparison = try await comparison(for: extract)
        let key = reportKey(extract, definition)
        if let hit = await reports.get(key) { return hit }
        let report = try await AnalyticsReport.compute(extract.extract, definition, context, literature: literature, comparison: comparison)
        await reports.put(key, report)
        return report
    }

    /// The page's results (plots, tables) as HTML, rendered once per report and query string: drawing some forty
    /// plots and a few hundred table rows of a whole registry costs more than every other part of a page view.
    func renderedResults(for extract: ScopedExtract, _ definition: CohortDefinition, query: String,
                         render: () throws -> String) async throws -> String {
        let key = RenderedResultsKey(report: reportKey(extract, definition), query: query)
        if let hit = await renderedResults.get(key) { return hit }
        let html = try render()
        await renderedResults.put(key, html)
        return html
    }

    func context(for extract: ScopedExtract) -> AnalysisContext {
        var context = context
        context.minimumCellCount = extract.viewer.minimumCellCount
        return context
    }

    /// The literature comparison for this viewer's extract: it depends on the registry revision, the viewer's sites
    /// and the small-cell rule, never on the page's filters, so it is computed once per revision and site set.
    func comparison(for extract: ScopedExtract) async throws -> LiteratureComparison? {
        guard let literature else { return nil }
        let context = context(for: extract)
        return try await comparisons.comparison(.init(revision: extract.revision, sites: extract.viewer.siteIDs,
                                                      minimumCellCount: extract.viewer.minimumCellCount)) {
            try LiteratureComparison(literature, extract.extract, CohortDefinition(), context)
        }
    }
}

/// The key of a report: registry revision, viewer (sites, small-cell rule) and cohort.
struct ReportKey: Hashable, Sendable, RevisionKeyed {
    var revision: Int64
    var sites: Set<UUID>
    var minimumCellCount: Int?
    var definition: CohortDefinition
}

/// The key of a page's drawn results: the report and the query string its CSV links carry.
struct RenderedResultsKey: Hashable, Sendable, RevisionKeyed {
    var report: ReportKey
    var query: String
    var revision: Int64 { report.revision }
}

protocol RevisionKeyed {
    var revision: Int64 { get }
}

/// Values computed from one registry revision: the same page asked again before the registry changes — a clinic's
/// lead and a researcher opening the same cohort, the page and then its downloads — is answered from here
/// (16 entries, the oldest dropped; a new revision drops them all). Reports and the drawn results use one each.
/// The value is computed outside the actor, so one slow computation does not hold up the cached ones.
actor RevisionCache<Key: Hashable & Sendable & RevisionKeyed, Value: Sendable> {
    private var entries: [Key: Value] = [:]
    private var order: [Key] = []

    func get(_ key: Key) -> Value? { entries[key] }

    func put(_ key: Key, _ value: Value) {
        if order.contains(where: { $0.revision != key.revision }) {
            entries = entries.filter { $0.key.revision == key.revision }
            order = order.filter { $0.revision == key.revision }
        }
        if entries[key] == nil {
            if order.count >= 16 { entries[order.removeFirst()] = nil }
            order.append(key)
        }
        entries[key] = value
    }
}

/// Literature comparisons by registry revision, site set and small-cell rule (a few entries; older revisions dropped).
actor LiteratureCache {
    struct Key: Hashable {
        var revision: Int64
        var sites: Set<UUID>
        var minimumCellCount: Int?
    }
    private var entries: [Key: LiteratureComparison] = [:]

    func comparison(_ key: Key, compute: () throws -> LiteratureComparison) rethrows -> LiteratureComparison {
        if let hit = entries[key] { return hit }
        let value = try compute()
        entries = entries.filter { $0.key.revision == key.revision }
        if entries.count >= 8 { entries.removeAll() }
        entries[key] = value
        return value
    }
}

/// Saved cohort on the wire.
struct SavedCohortDTO: Encodable, Sendable {
    var id: String
    var name: String
    var definition: CohortDefinition
    var query: String
    var createdBy: String
    var createdAt: String

    init(_ record: SavedCohortRecord) {
        id = record.id.lowercasedID
        name = record.name
        definition = record.definition
        query = CohortQuery.items(record.definition).map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        createdBy = record.createdBy.lowercasedID
        createdAt = WireDate.string(record.createdAt) ?? ""
    }
}

/// Registry analytics on the API: one endpoint per section, cohort filters as query parameters; `POST /cohorts`
/// saves a cohort. Researchers' answers are de-identified aggregates with small cells suppressed.
struct AnalyticsAPI: APIRouteGroup {
    let store: OssaStore
    let setup: AnalyticsSetup

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.analyticsSurvival) { request, context in try await self.section(.survival, request, context) }
        api.on(.get, Paths.API.analyticsBaseline) { request, context in try await self.section(.baseline, request, context) }
        api.on(.get, Paths.API.analyticsProms) { request, context in try await self.section(.proms, request, context) }
        api.on(.get, Paths.API.analyticsResponders) { request, context in try await self.section(.responders, request, context) }
        api.on(.get, Paths.API.analyticsBML) { request, context in try await self.section(.bml, request, context) }
        api.on(.get, Paths.API.analyticsSafety) { request, context in try await self.section(.safety, request, context) }
        api.on(.get, Paths.API.analyticsLiterature) { request, context in try await self.section(.literature, request, context) }
        api.on(.get, Paths.API.analyticsFlow) { request, context in try await self.section(.flow, request, context) }
        api.on(.get, Paths.API.cohorts, use: listCohorts)
        api.on(.post, Paths.API.cohorts, use: createCohort)
        api.on(.get, Paths.API.cohort, use: getCohort)
    }

    @Sendable func getCohort(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        return try JSONIO.response(SavedCohortDTO(try await store.savedCohorts.get(actor, try context.uuidParameter("cohortID"))))
    }

    @Sendable func section(_ section: AnalyticsReport.Section, _ request: Request, _ context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let asked = try await AnalyticsRequest.read(request, actor: actor, store: store, emptyIsAbsent: false)
        let extract = try await store.analytics(protocol: setup.followUp)
            .extract(actor, minimumCellCount: setup.minimumCellCount, maxStaleness: setup.maxStaleness, audit: "api:\(section.rawValue)?\(asked.query)")
        let comparison = section == .literature ? try await setup.comparison(for: extract) : nil
        let json = try AnalyticsSection.json(section, extract.extract, asked.definition, setup.context(for: extract), literature: setup.literature,
                                             comparison: comparison)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    @Sendable func listCohorts(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        return try JSONIO.response(try await store.savedCohorts.list(actor).map(SavedCohortDTO.init))
    }

    /// Body: a cohort file (`{"name": …, "filter": {…}, "group": …, "covariates": […]}`) → 201 with the saved cohort.
    @Sendable func createCohort(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let definition = try await JSONIO.decode(CohortDefinition.self, from: request, context: context)
        do { try definition.validate(jsonPaths: true) } catch { throw Problem(error) }
        let saved = try await store.savedCohorts.create(actor, definition)
        return try JSONIO.response(SavedCohortDTO(saved), status: .created,
                                   headers: [.location: Paths.API.cohort.url(saved.id)])
    }
}
