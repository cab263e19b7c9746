import Foundation
import Hummingbird
import OssaStore

/// The sign-in page. Model: `LoginPage`; view: `login.mustache`; form: `LoginForm`; actions: show, submit, sign out.
struct LoginPage: Page {
    static let template = "login"
    var title = "Sign in"
    var user: UserBar? = nil
    var chrome = Chrome()
    var csrfToken = ""
    var errors = ErrorSummary()
    var email: FormField
    var password: FormField
    var buttonLabel = "Sign in"

    /// The form, with the user's e-mail address kept (never the password) and each error by its field.
    init(email: String = "", emailError: String? = nil, passwordError: String? = nil, summary: [ErrorSummary.Item] = []) {
        self.email = FormField(id: "email", label: "E-mail address", value: email, error: emailError,
                               autocomplete: "username", inputmode: "email", required: true)
        self.password = FormField(id: "password", label: "Password", type: "password", error: passwordError,
                                  autocomplete: "current-password", required: true)
        errors = ErrorSummary(summary)
        // GOV.UK pattern: a refused form says so in the document title too.
        if errors.hasErrors { title = "Error: Sign in" }
    }
}

/// What the sign-in form posts.
struct LoginForm: Decodable, Sendable {
    var email: String
    var password: String
    var _csrf: String
}

struct LoginRoutes: Sendable {
    let auth: Auth
    let pages: PageRenderer

    func register(on router: Router<OssaRequestContext>) {
        router.on(.get, Paths.login, use: show)
        router.on(.post, Paths.login, use: submit)
    }

    /// Pages that need a signed-in user (sign-out).
    func registerSignedIn(on group: RouterGroup<OssaRequestContext>) {
        group.on(.post, Paths.logout, use: logout)
    }

    @Sendable func show(_ request: Request, context: OssaRequestContext) async throws -> Response {
        if (try? await auth.authenticate(request, context: context)) != nil {
            return Response(status: .seeOther, headers: [.location: Paths.home.template])
        }
        return try render(LoginPage(), status: .ok)
    }

    @Sendable func submit(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let form: LoginForm
        do {
            form = try await Forms.decode(LoginForm.self, request, context: context)
        } catch let error as FormDecoder.FieldError {
            let message = "Send the form once, as the page gives it (\(error.field) \(error.message))"
            return try render(LoginPage(summary: [.init(fieldID: "email", message: message)]), status: .unprocessableContent)
        }
        let email = String(form.email.trimmingCharacters(in: .whitespacesAndNewlines).prefix(254))
        // Double-submit check: the hidden field must match the cookie set with the form.
        guard let cookie = request.cookies[auth.configuration.loginCookieName]?.value, Auth.constantTimeEqual(cookie, form._csrf) else {
            return try render(LoginPage(email: email, summary: [.init(fieldID: "email", message: "The form had expired; sign in again")]),
                              status: .forbidden)
        }
        let emailError = email.isEmpty ? "Enter your e-mail address" : nil
        let passwordError = form.password.isEmpty ? "Enter your password" : nil
        guard emailError == nil, passwordError == nil else {
            let summary = [emailError.map { ErrorSummary.Item(fieldID: "email", message: $0) },
                           passwordError.map { ErrorSummary.Item(fieldID: "password", message: $0) }].compactMap { $0 }
            return try render(LoginPage(email: email, emailError: emailError, passwordError: passwordError, summary: summary),
                              status: .unprocessableContent)
        }
        switch try await auth.login(email: email, password: form.password, address: context.clientAddress) {
        case .success(let sessionCookie, _):
            // A session the browser still held is ended rather than left to time out.
            if let old = request.cookies[auth.configuration.sessionCookieName]?.value, !old.isEmpty {
                try await auth.store.sessions.delete(token: old)
            }
            var response = Response(status: .seeOther, headers: [.location: Paths.home.template])
            response.setCookie(sessionCookie)
            response.setCookie(Cookie(name: auth.configuration.loginCookieName, value: "", maxAge: 0, path: "/",
                                      secure: auth.configuration.behindTLS, httpOnly: true, sameSite: .strict))
            return response
        case .failed:
            context.logger.notice("sign-in failed")
            let message = "The e-mail address or password is not correct."
            return try render(LoginPage(email: email, summary: [.init(fieldID: "email", message: message)]), status: .unauthorized)
        case .throttled(let seconds):
            context.logger.notice("sign-in throttled")
            let message = "Too many failed sign-in attempts. For your account's safety, signing in is paused: try again in \((seconds + 59) / 60) minute(s)."
            return try render(LoginPage(email: email, summary: [.init(fieldID: "email", message: message)]),
                              status: .tooManyRequests, headers: [.retryAfter: String(seconds)])
        }
    }

    @Sendable func logout(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await auth.logout(context.auth)
        var response = Response(status: .seeOther, headers: [.location: Paths.login.template])
        response.setCookie(auth.expiredSessionCookie())
        return response
    }

    /// Renders the form with a fresh double-submit token in the field and the cookie.
    private func render(_ page: LoginPage, status: HTTPResponse.Status, headers: HTTPFields = [:]) throws -> Response {
        var page = page
        let token = auth.environment.makeToken()
        page.csrfToken = token
        var response = try pages.html(page, status: status, headers: headers)
        response.setCookie(auth.loginCookie(token))
        return response
    }
}
