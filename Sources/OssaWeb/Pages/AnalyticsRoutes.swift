import Foundation
import Hummingbird
import NIOCore
import OssaAnalytics
import OssaCore
import OssaStore

/// The analytics page, its downloads (each plot's data as CSV, everything as JSON) and saving a cohort by name.
struct AnalyticsRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let setup: AnalyticsSetup

    var handling: PageHandling { PageHandling(store: store, pages: pages) }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.analytics, use: page)
        group.on(.get, Paths.analyticsJSON, use: json)
        group.on(.get, Paths.analyticsCSV, use: csv)
        group.on(.post, Paths.analyticsCohorts, use: save)
    }

    /// The cohort the request asks for, or the form's errors (GOV.UK pattern: the form again with its values).
    enum Asked { case cohort(AnalyticsRequest, UUID?), refused(FormErrors) }

    private func cohort(_ request: Request, _ actor: ActingUser) async throws -> Asked {
        do {
            let asked = try await AnalyticsRequest.read(request, actor: actor, store: store, emptyIsAbsent: true, orderedRanges: true)
            let saved = request.uri.queryParameters.get("cohort").flatMap { UUID(uuidString: String($0)) }
            return .cohort(asked, saved)
        } catch let problem as Problem where problem.status == .badRequest {
            var errors = FormErrors()
            for field in problem.errors { errors.add(field.field, Self.sentence(field.field, field.message)) }
            if errors.isEmpty { errors.add("group", problem.detail ?? "the filters could not be read") }
            return .refused(errors)
        }
    }

    static func sentence(_ field: String, _ message: String) -> String {
        let names = ["klMax": "Kellgren–Lawrence to", "klMin": "Kellgren–Lawrence from", "ahlbackMax": "Ahlbäck to", "ahlbackMin": "Ahlbäck from",
                     "tonnisMax": "Tönnis to", "tonnisMin": "Tönnis from", "bmlBurdenMin": "BML burden from", "bmlBurdenMax": "BML burden to",
                     "ageMin": "Age from", "ageMax": "Age to", "bmiMin": "BMI from", "bmiMax": "BMI to", "yearFrom": "Treated from",
                     "yearTo": "Treated to"]
        let name = names[field] ?? field
        return "\(name): \(message)"
    }

    private func values(_ request: Request) -> FormValues {
        // Hummingbird has percent-decoded the query already; decoding again would turn "%2541" into "A".
        FormValues(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
    }

    @Sendable func page(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let user = UserBar(try await store.readModels.viewer(actor), csrfToken: context.auth?.csrfToken ?? "")
            let saved = try await store.savedCohorts.list(actor)
            switch try await cohort(request, actor) {
            case .refused(let errors):
                let extract = try await extract(actor, "page:refused")
                let sites = extract.extract.siteNames.sorted { $0.value < $1.value }.map { ($0.key, $0.value) }
                return try pages.html(AnalyticsPage(user: user, values: values(request), errors: errors, sites: sites, saved: saved),
                                      status: .unprocessableContent)
            case .cohort(let asked, let savedID):
                let extract = try await extract(actor, "page?\(asked.query)")
                let context = setup.context(for: extract)
                let report = try await setup.report(for: extract, asked.definition)
                let results = try await setup.renderedResults(for: extract, asked.definition, query: asked.query) {
                    try pages.fragment(AnalyticsPage.results(report, context, query: asked.query), template: AnalyticsPage.Results.template)
                }
                // A saved cohort opens with its own filters in the form.
                let formValues = savedID == nil ? values(request) : FormValues(CohortQuery.items(asked.definition).map { ($0.name, $0.value) })
                return try pages.html(AnalyticsPage(report, extract: extract, context: context, user: user, values: formValues,
                                                    query: asked.query, saved: saved, savedID: savedID, resultsHTML: results))
            }
        }
    }

    private func extract(_ actor: ActingUser, _ what: String) async throws -> ScopedExtract {
        try await store.analytics(protocol: setup.followUp).extract(actor, minimumCellCount: setup.minimumCellCount,
                                                                    maxStaleness: setup.maxStaleness, audit: what)
    }

    private func report(_ request: Request, _ actor: ActingUser, _ what: String) async throws -> AnalyticsReport {
        let asked = try await AnalyticsRequest.read(request, actor: actor, store: store, emptyIsAbsent: true)
        let extract = try await extract(actor, "\(what)?\(asked.query)")
        return try await setup.report(for: extract, asked.definition)
    }

    /// GET /analytics/report.json: every section of the page as one JSON document.
    @Sendable func json(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let report = try await report(request, actor, "download:json")
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.contentDisposition] = "attachment; filename=\"ossa-analytics.json\""
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try report.json())))
    }

    /// GET /analytics/data/{dataset}.csv: the numbers behind one table or plot.
    @Sendable func csv(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let name = context.parameters.get("dataset") ?? ""
        guard name.hasSuffix(".csv"), let dataset = AnalyticsCSV.Dataset(rawValue: String(name.dropLast(4))) else {
            throw Problem(.notFound, detail: "no dataset \(name); there are \(AnalyticsCSV.Dataset.allCases.map { $0.rawValue + ".csv" }.joined(separator: ", "))")
        }
        let report = try await report(request, actor, "download:\(dataset.rawValue).csv")
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"ossa-\(dataset.rawValue).csv\""
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: AnalyticsCSV.csv(dataset, report))))
    }

    /// POST /analytics/cohorts: the current filters (hidden fields) saved under a name; then the page of that cohort.
    @Sendable func save(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let values = try await PageHandling.values(request, context)
            let name = values["name"].trimmingCharacters(in: .whitespacesAndNewlines)
            let items = CohortQuery.names.sorted().flatMap { key in values.all(key).filter { !$0.isEmpty }.map { (name: key, value: $0) } }
            var errors = FormErrors()
            var definition = CohortDefinition()
            do { definition = try CohortQuery.parse(items, orderedRanges: true) } catch let error as FieldValidationError { errors.add(error.path, Self.sentence(error.path, error.message)) }
            if name.isEmpty { errors.add("name", "Enter a name for the cohort") } else if name.count > 120 { errors.add("name", "Name must be 120 characters or fewer") }
            if errors.isEmpty {
                definition.name = name
                do {
                    let saved = try await store.savedCohorts.create(actor, definition)
                    return Response(status: .seeOther, headers: [.location: Paths.analytics.template + "?cohort=" + saved.id.lowercasedID])
                } catch StoreError.conflictingField(let field, let message) {
                    errors.add(field, message.prefix(1).uppercased() + message.dropFirst())
                }
            }
            let user = UserBar(try await store.readModels.viewer(actor), csrfToken: context.auth?.csrfToken ?? "")
            let extract = try await extract(actor, "page:save-refused")
            let sites = extract.extract.siteNames.sorted { $0.value < $1.value }.map { ($0.key, $0.value) }
            var page = AnalyticsPage(user: user, values: values, errors: errors, sites: sites, saved: try await store.savedCohorts.list(actor))
            page.saveQuery = items.map { FormField.hidden($0.name, $0.value) }
            page.saveErrors = true
            return try pages.html(page, status: .unprocessableContent)
        }
    }
}
