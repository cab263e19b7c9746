import Foundation
import Hummingbird
import OssaStore

/// The browser pages. Each page is a model type with a static `load` (its query) and a Mustache view of the same
/// name; this file routes, builds the layout's user bar, and renders refusals inside the signed-in layout (so that
/// the sign-out form stays on screen).
struct PageRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.home, use: home)
        group.on(.get, Paths.patients, use: patients)
        group.on(.get, Paths.episode, use: episode)
    }

    /// Start page: roles with patient records go to the patient list; researchers and admins, who have none,
    /// get a page saying what is available to them.
    @Sendable func home(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { user in
            if user.seesPatients { return Response(status: .seeOther, headers: [.location: Paths.patients.template]) }
            return pages.html(HomePage(user: user), template: "home")
        }
    }

    @Sendable func patients(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { user in
            let query = QueryParameters(request: request)
            let search = query.string("q").map { String($0.prefix(200)) }
            let site = try query.uuid("site")
            let offset = try query.int("offset", default: 0, range: 0...1_000_000)
            let model = try await PatientListPage.load(store: store, actor: try context.requireUser(), user: user,
                                                       query: search, site: site, offset: offset)
            return pages.html(model, template: "patients")
        }
    }

    @Sendable func episode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { user in
            let id = try context.uuidParameter("episodeID")
            let model = try await EpisodePage.load(store: store, actor: try context.requireUser(), user: user, episodeID: id)
            return pages.html(model, template: "episode")
        }
    }

    /// Runs a page with the signed-in user's bar; input errors and refusals become an error page in the layout.
    /// Unexpected faults propagate to `ProblemMiddleware`, which logs them.
    private func page(_ context: OssaRequestContext, _ body: (UserBar) async throws -> Response) async throws -> Response {
        let user = try await userBar(context)
        do {
            return try await body(user)
        } catch let error as Problem where error.status.code < 500 {
            return pages.errorPage(error, requestID: context.requestID, user: user)
        } catch let error where error is StoreError || error is AccessDenied {
            return pages.errorPage(Problem(error), requestID: context.requestID, user: user)
        }
    }

    private func userBar(_ context: OssaRequestContext) async throws -> UserBar {
        let actor = try context.requireUser()
        let record = try await store.users.get(actor, actor.userID)
        return UserBar(displayName: record.displayName, role: record.role.rawValue, csrfToken: context.auth?.csrfToken ?? "",
                       seesPatients: [.clinician, .coordinator, .patient].contains(record.role))
    }
}

/// GET / for roles without patient records. Model: `HomePage`; view: `home.mustache`.
struct HomePage: Sendable {
    var title = "Start"
    var user: UserBar?
    var message = "Your role has no access to identified patient records. Registry analytics and administration pages arrive with later releases; the JSON API is described at /api/v1/openapi.json."

    init(user: UserBar) {
        self.user = user
    }
}
