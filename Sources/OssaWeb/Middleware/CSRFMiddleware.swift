import Hummingbird
import HTTPTypes

/// The one CSRF check: every state-changing request (anything but GET, HEAD, OPTIONS) authenticated by the session
/// cookie must carry the session's token, in the `X-CSRF-Token` header (scripts, the API) or in the `_csrf` field of
/// an `application/x-www-form-urlencoded` body (the pages' forms). Bearer-token requests are exempt: browsers never
/// attach them on their own. Runs after `AuthMiddleware` on every signed-in route, page or API, so no handler
/// checks it itself (`RouteTableTests` walks the routes and proves each unsafe one refuses a missing token).
///
/// Public pages (the questionnaire link, the self-screen) have no signed-in session: there the middleware is built
/// with `publicCookie`, and every form post must carry in `_csrf` the random value of that cookie, which the page
/// set when it drew the form (double submit; the cookie is HttpOnly and SameSite=Lax).
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext

    /// The double-submit cookie of the public pages; nil on signed-in routes.
    var publicCookie: String? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !Self.isSafe(request.method) else { return try await next(request, context) }
        let expected: String
        if let publicCookie {
            expected = request.cookies[publicCookie]?.value ?? ""
        } else if case .session(let session, _)? = context.auth?.method {
            expected = session.csrfToken
        } else {
            return try await next(request, context)
        }
        var request = request
        var sent = request.headers[.csrfToken]
        if sent == nil, Forms.isForm(request.headers[.contentType]) {
            // The body is collected here and handed on: the handler reads the same bytes.
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            sent = Forms.firstValue(of: "_csrf", in: String(buffer: body))
        }
        guard let sent, !expected.isEmpty, Auth.constantTimeEqual(sent, expected) else {
            throw Problem(.forbidden, type: "/problems/csrf", title: "Missing or wrong CSRF token",
                          detail: "a signed-in browser's change must carry the session's token (the form's hidden field, or X-CSRF-Token); reload the page and try again")
        }
        return try await next(request, context)
    }

    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head || method == .options
    }
}
