import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// The public self-screen, `/self-screen`, as a phone uses it without JavaScript and without signing in.
///
/// - GET shows the questions; POST evaluates them with the public subset of the clinic's active ruleset (the
///   bundled one when none is active, or when the active one is not the one the public wording was written for)
///   and shows the result, or the questions again (422) with every problem. Nothing is stored and nothing about the
///   answers is logged: the answers travel in the page's hidden fields.
/// - POST `/self-screen/consult` evaluates the hidden answers again (a posted result is never trusted), checks the
///   contact details and stores the consult request with the answers and the result; then what happens next
///   (`/self-screen/thanks`). A filled honeypot gets the same page and nothing is stored; an address over the rate
///   limit gets a 429 page.
///
/// Forms carry the public double-submit CSRF token (`CSRFMiddleware(publicCookie:)`); pages are never cached.
struct SelfScreenRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let configuration: ServerConfiguration
    let environment: WebEnvironment
    let bundled: SelfScreener
    let rateLimit: ConsultRequestRateLimit

    init(store: OssaStore, pages: PageRenderer, configuration: ServerConfiguration, environment: WebEnvironment,
         rateLimit: ConsultRequestRateLimit = ConsultRequestRateLimit()) throws {
        self.store = store
        self.pages = pages
        self.configuration = configuration
        self.environment = environment
        bundled = try SelfScreener.bundled()
        self.rateLimit = rateLimit
    }

    var definition: SelfScreenDefinition { bundled.definition }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.SelfScreen.form, use: form)
        group.on(.post, Paths.SelfScreen.form, use: evaluate)
        group.on(.post, Paths.SelfScreen.consult, use: requestConsult)
        group.on(.get, Paths.SelfScreen.thanks, use: thanks)
    }

    // MARK: Handlers

    @Sendable func form(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let csrf = csrfToken(request)
        return try html(SelfScreenForms.questions(definition, values: FormValues(), errors: FormErrors(), csrf: csrf), csrf: csrf)
    }

    @Sendable func evaluate(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let csrf = csrfToken(request)
        let values = try await PageHandling.values(request, context)
        // "Change your answers" on the result page: the questions again with the answers given.
        if values["go"] == SelfScreenForms.change {
            return try html(SelfScreenForms.questions(definition, values: values, errors: FormErrors(), csrf: csrf), csrf: csrf)
        }
        let screener = try await screener(context)
        let (answers, problems) = screener.read(values.values)
        guard let answers, problems.isEmpty else {
            return try html(SelfScreenForms.questions(definition, values: values, errors: SelfScreenForms.errors(problems), csrf: csrf),
                            status: .unprocessableContent, csrf: csrf)
        }
        let result = screener.evaluate(answers, today: today)
        let sites = SelfScreenForms.offersConsult(result.outcome) ? try await store.consultRequests.publicSites() : []
        return try html(SelfScreenResultPage(result: result, answers: answers, screener: screener, sites: sites, csrf: csrf), csrf: csrf)
    }

    @Sendable func requestConsult(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let csrf = csrfToken(request)
        let values = try await PageHandling.values(request, context)
        // A filled honeypot is a robot: the same page a person gets, and nothing stored.
        if !values[SelfScreenForms.honeypot].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            context.logger.notice("self-screen: consult request not stored (honeypot filled)")
            return redirect(Paths.SelfScreen.thanks.template)
        }
        // The answers are read and evaluated again here: the result shown on the page is never taken from the post.
        let screener = try await screener(context)
        let (answers, problems) = screener.read(values.values)
        guard let answers, problems.isEmpty else {
            return try html(SelfScreenForms.questions(definition, values: values, errors: SelfScreenForms.errors(problems), csrf: csrf),
                            status: .unprocessableContent, csrf: csrf)
        }
        let result = screener.evaluate(answers, today: today)
        let sites = try await store.consultRequests.publicSites()
        func refused(_ errors: FormErrors) throws -> Response {
            try html(SelfScreenResultPage(result: result, answers: answers, screener: screener, sites: sites, values: values, errors: errors,
                                          csrf: csrf), status: .unprocessableContent, csrf: csrf)
        }
        guard SelfScreenForms.offersConsult(result.outcome) else {
            var errors = FormErrors()
            errors.add("consult", SelfScreenForms.notOffered(result.outcome))
            return try refused(errors)
        }
        let (contact, errors) = SelfScreenForms.readContact(values, sites: sites)
        guard let contact, errors.isEmpty else { return try refused(errors) }
        let submission: ConsultRequestSubmission
        do {
            submission = try await store.consultRequests.submit(
                NewConsultRequest(siteID: contact.siteID, name: contact.name, email: contact.email, phone: contact.phone, consent: true,
                                  answers: answers, result: result),
                address: context.clientAddress, now: environment.now(), limit: rateLimit)
        } catch let error as StoreError where PageHandling.isFieldError(error) {
            // The page checks what the store checks; a site removed meanwhile is the one way here.
            return try refused(PageHandling.errors(error, fields: ["siteID": "siteID", "name": "name", "email": "email", "phone": "phone",
                                                                   "consent": "consent"]))
        }
        switch submission {
        case .stored:
            context.logger.info("self-screen: consult request stored")
            return redirect(Paths.SelfScreen.thanks.template + (contact.siteID.map { "?site=\($0.lowercasedID)" } ?? ""))
        case .rateLimited:
            context.logger.notice("self-screen: consult request refused (rate limit for the address)")
            var response = try html(SelfScreenForms.tooMany(), status: .tooManyRequests, csrf: "")
            response.headers[.retryAfter] = String(Int(rateLimit.window))
            return response
        }
    }

    @Sendable func thanks(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let query = QueryParameters(request: request, emptyIsAbsent: true)
        // An unknown or malformed site is left out rather than refused: the page says the same without it.
        var site: PublicSite?
        if let id = (try? query.uuid("site")) ?? nil { site = try await store.consultRequests.publicSites().first { $0.id == id } }
        return try html(SelfScreenForms.thanks(site: site), csrf: "")
    }

    // MARK: Plumbing

    var today: CalendarDate { CalendarDate(utc: environment.now()) }

    /// The clinic's active ruleset when the public wording fits it, else the bundled one.
    private func screener(_ context: OssaRequestContext) async throws -> SelfScreener {
        guard let active = try await store.rulesets.active() else { return bundled }
        do {
            return try SelfScreener(ruleset: active, definition: definition)
        } catch {
            context.logger.notice("self-screen: the active ruleset does not fit the public wording; using the bundled ruleset",
                                  metadata: ["ruleset": .string("\(active.id) \(active.version)"), "problem": .string(error.path)])
            return bundled
        }
    }

    private func csrfToken(_ request: Request) -> String {
        request.cookies[configuration.formCookieName]?.value ?? environment.makeToken()
    }

    private func redirect(_ url: String) -> Response {
        Response(status: .seeOther, headers: [.location: url, .cacheControl: "no-store"])
    }

    /// Renders a public page; a page with a form also (re)sets the double-submit cookie its form carries. Never
    /// cached: a shared computer's back button must not show someone else's answers.
    private func html(_ page: some Page, status: HTTPResponse.Status = .ok, csrf: String) throws -> Response {
        var response = try pages.html(page, status: status, headers: [.cacheControl: "no-store"])
        if !csrf.isEmpty {
            response.setCookie(Cookie(name: configuration.formCookieName, value: csrf, maxAge: 24 * 3600, path: "/",
                                      secure: configuration.behindTLS, httpOnly: true, sameSite: .lax))
        }
        return response
    }
}
