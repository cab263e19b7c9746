import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// `GET /api/v1/exports/{kind}` (issue #12): the research files of `ossa export csv-wide|csv-long|deidentified` as
/// one ZIP archive, for the caller's sites (`site`, repeatable, a site code: only those among them) and optionally
/// only the episodes with anything created or changed since `since` (a day, `YYYY-MM-DD` UTC). Audited by the export.
struct ExportsAPI: APIRouteGroup {
    let store: OssaStore
    let download: ResearchDownload
    let now: @Sendable () -> Date

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.exports, use: export)
    }

    @Sendable func export(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let name = context.parameters.get("kind") ?? ""
        guard let kind = ResearchDownload.Kind(rawValue: name) else {
            throw Problem(.notFound, detail: "no export \(name); the exports are \(ResearchDownload.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let query = QueryParameters(request: request)
        let codes: [String] = request.uri.queryParameters.getAll("site").map { String($0) }
        var problems: [FieldProblem] = []
        let mine = try await store.readModels.exportsPage(actor).sites
        let (sites, unknown) = ResearchDownload.sites(codes, mine: mine)
        if codes.contains(where: { $0.isEmpty }) { problems.append(FieldProblem(field: "site", message: "an empty site code")) }
        var since: Date?
        let today = CalendarDate(utc: now())
        if let text = query.string("since") {
            // A day to come is a valid question with an empty answer.
            if let day = try? CalendarDate(iso: text) { since = day.startOfDayUTC }
            else { problems.append(FieldProblem(field: "since", message: "\"\(text)\" is not a day (YYYY-MM-DD)")) }
        }
        // A site that is not the caller's is not found, as another site's records are everywhere.
        if problems.isEmpty, !unknown.isEmpty {
            throw Problem(.notFound, detail: "site \(unknown.joined(separator: ", ")): not one of your sites",
                          errors: [FieldProblem(field: "site", message: "\(unknown.joined(separator: ", ")) is not one of your sites")])
        }
        guard problems.isEmpty else {
            throw Problem(.badRequest, type: "/problems/bad-parameter", title: "A parameter is not valid",
                          detail: problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "), errors: problems)
        }
        let what = "\(kind.rawValue) (api)" + (codes.isEmpty ? "" : " site=\(codes.joined(separator: ","))") + (query.string("since").map { " since=\($0)" } ?? "")
        return try await download.response(kind, actor: actor, sites: sites, since: since, what: what, today: today)
    }
}
