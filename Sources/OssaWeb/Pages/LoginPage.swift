import Foundation
import Hummingbird
import OssaStore

/// The sign-in page. Model: `LoginPage`; view: `login.mustache`; actions: show, submit, sign out.
struct LoginPage: Sendable {
    var title = "Sign in"
    var user: UserBar? = nil
    var csrfToken: String
    var email: String = ""
    var failed = false
    var throttled = false
    var retryMinutes = 0
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
        return render(LoginPage(csrfToken: ""), status: .ok)
    }

    @Sendable func submit(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let fields = try await Forms.fields(request, context: context)
        let email = String((fields["email"] ?? "").prefix(254))
        let password = fields["password"] ?? ""
        // Double-submit check: the hidden field must match the cookie set with the form.
        guard let cookie = request.cookies[auth.configuration.loginCookieName]?.value, let sent = fields["_csrf"],
              Auth.constantTimeEqual(cookie, sent) else {
            return render(LoginPage(csrfToken: "", email: email, failed: false), status: .forbidden)
        }
        switch try await auth.login(email: email, password: password, address: context.clientAddress) {
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
            return render(LoginPage(csrfToken: "", email: email, failed: true), status: .unauthorized)
        case .throttled(let seconds):
            context.logger.notice("sign-in throttled")
            return render(LoginPage(csrfToken: "", email: email, throttled: true, retryMinutes: (seconds + 59) / 60),
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
    private func render(_ page: LoginPage, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        var page = page
        let token = auth.environment.makeToken()
        page.csrfToken = token
        var response = pages.html(page, template: "login", status: status, headers: headers)
        response.setCookie(auth.loginCookie(token))
        return response
    }
}
