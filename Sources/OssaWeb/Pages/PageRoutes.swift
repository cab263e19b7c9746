import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// The browser pages. Each page is a model type with a static `load` (its query) and a Mustache view of the same
/// name; this file routes, builds the layout's user bar, and renders refusals inside the signed-in layout (so that
/// the sign-out form stays on screen).
struct PageRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let now: @Sendable () -> Date
    var deliveryConfigured = false

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.home, use: home)
        group.on(.get, Paths.patients, use: patients)
        group.on(.get, Paths.episode, use: episode)
        group.on(.get, Paths.myProgress, use: myProgress)
        group.on(.get, Paths.completion, use: completion)
    }

    @Sendable func completion(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let rates = try await store.readModels.completionRates(actor, today: CalendarDate(utc: now()))
            return try pages.html(CompletionPage(rates, user: UserBar(rates.viewer, csrfToken: context.auth?.csrfToken ?? ""),
                                                 followUp: try FollowUpProtocol.bundledDefault()))
        }
    }

    /// A signed-in patient's own page: questionnaires to come and results so far.
    @Sendable func myProgress(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let progress = try await store.readModels.patientProgress(actor)
            let user = UserBar(try await store.readModels.viewer(actor), csrfToken: context.auth?.csrfToken ?? "")
            return try pages.html(ProgressPage(progress, user: user, today: CalendarDate(utc: now()), library: try InstrumentLibrary.builtIn(),
                                               followUp: try FollowUpProtocol.bundledDefault()))
        }
    }

    /// Start page: clinicians and coordinators get their worklist; a patient goes to their record; researchers and
    /// admins, who have no patient records, get a page saying what is available to them.
    @Sendable func home(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            if AccessPolicy.allows(actor.role, .list, .screeningDecision) {
                let today = CalendarDate(utc: now())
                let worklist = try await store.readModels.worklist(actor, today: today)
                let csrfToken = context.auth?.csrfToken ?? ""
                let key = RenderedPageKey(page: "worklist", actor: actor, today: today, parameters: [String(deliveryConfigured)])
                return try pages.html(cachedAs: key, revision: worklist.revision, csrfToken: csrfToken) { token in
                    WorklistPage(worklist, user: UserBar(worklist.viewer, csrfToken: token), deliveryConfigured: deliveryConfigured)
                }
            }
            // A patient starts on their own progress page.
            if actor.role == .patient { return Response(status: .seeOther, headers: [.location: Paths.myProgress.template]) }
            let user = UserBar(try await store.readModels.viewer(actor), csrfToken: context.auth?.csrfToken ?? "")
            if user.seesPatients { return Response(status: .seeOther, headers: [.location: Paths.patients.template]) }
            // Administrators start on the administration page (the same page as GET /admin).
            if user.seesAdmin { return try pages.html(AdminHomePage(user: user)) }
            // Researchers start on registry analytics.
            if user.seesAnalytics { return Response(status: .seeOther, headers: [.location: Paths.analytics.template]) }
            return try pages.html(HomePage(user: user))
        }
    }

    @Sendable func patients(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let query = QueryParameters(request: request, emptyIsAbsent: true)
            let search = query.string("q").map { String($0.prefix(200)) }
            let site = try query.uuid("site")
            let offset = try query.int("offset", default: 0, range: 0...1_000_000)
            func choice<E: RawRepresentable>(_ name: String, _ type: E.Type) throws -> E? where E.RawValue == String {
                guard let text = query.string(name) else { return nil }
                guard let value = E(rawValue: text) else { throw Problem.badParameter(name, "\"\(text)\" is not one of the choices") }
                return value
            }
            let filter = ReadModels.PatientFilter(joint: try choice("joint", Joint.self), diagnosis: try choice("diagnosis", Diagnosis.Kind.self),
                                                  status: try choice("status", EpisodeStatus.self))
            let view = try await PatientListPage.read(store: store, actor: actor, query: search, site: site, offset: offset, filter: filter)
            let csrfToken = context.auth?.csrfToken ?? ""
            let key = RenderedPageKey(page: "patients", actor: actor, today: CalendarDate(utc: now()), parameters: [
                search.map { "q=" + $0 } ?? "no search", site?.uuidString ?? "", String(offset), filter.joint?.rawValue ?? "",
                filter.diagnosis?.rawValue ?? "", filter.status?.rawValue ?? "",
            ])
            return try pages.html(cachedAs: key, revision: view.revision, csrfToken: csrfToken) { token in
                PatientListPage(view, actor: actor, csrfToken: token, query: search, site: site, offset: offset, filter: filter)
            }
        }
    }

    @Sendable func episode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let id = try context.uuidParameter("episodeID")
            let today = CalendarDate(utc: now())
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            let csrfToken = context.auth?.csrfToken ?? ""
            let key = RenderedPageKey(page: "episode", actor: actor, today: today, parameters: [id.uuidString])
            return try pages.html(cachedAs: key, revision: view.revision, csrfToken: csrfToken) { token in
                EpisodePage(view, user: UserBar(view.viewer, csrfToken: token), role: actor.role, today: today)
            }
        }
    }

    /// Runs a page: refusals become the error page in the signed-in layout (`PageHandling`).
    private func page(_ context: OssaRequestContext, _ body: (ActingUser) async throws -> Response) async throws -> Response {
        try await PageHandling(store: store, pages: pages).page(context, body)
    }
}

/// GET / for roles without patient records. Model: `HomePage`; view: `home.mustache`.
struct HomePage: Page {
    static let template = "home"
    var title = "Start"
    var user: UserBar?
    var chrome = Chrome()
    var message = "Your role has no access to identified patient records. Registry analytics and administration pages arrive with later releases; the JSON API is described at /api/v1/openapi.json."

    init(user: UserBar) {
        self.user = user
    }
}
