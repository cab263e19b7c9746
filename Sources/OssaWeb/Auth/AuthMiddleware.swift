import Foundation
import Hummingbird
import OssaStore

/// Establishes who is calling, from an `Authorization: Bearer` API token or the session cookie, and loads them
/// as the store's `ActingUser` (role and site grants as stored now: a change made through this server applies to the
/// next request; one made by another process within a second, see `CredentialCache`).
///
/// API routes (`.api`): no credentials → 401 problem; a cookie-authenticated unsafe request must carry the
/// session's token in `X-CSRF-Token` → otherwise 403. Token-authenticated calls are exempt: browsers never
/// attach bearer tokens on their own. Page routes (`.page`): no session → 303 to the sign-in page; the forms
/// carry the CSRF token in a hidden field, checked by `Auth.requireFormCSRF`.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext
    enum Mode: Sendable { case api, page }

    let mode: Mode
    let auth: Auth

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        guard let authentication = try await auth.authenticate(request, context: context) else {
            switch mode {
            case .api:
                throw Problem(.unauthorized, detail: "sign in, or send an API token as Authorization: Bearer …",
                              headers: [.wwwAuthenticate: "Bearer"])
            case .page:
                var response = Response(status: .seeOther, headers: [.location: "/login"])
                // A dead session's cookie is dropped so the browser stops sending it.
                if request.cookies[auth.configuration.sessionCookieName] != nil {
                    response.setCookie(auth.expiredSessionCookie())
                }
                return response
            }
        }
        if mode == .api, case .session(let session, _) = authentication.method, !Self.isSafe(request.method) {
            guard let sent = request.headers[.csrfToken], Auth.constantTimeEqual(sent, session.csrfToken) else {
                throw Problem(.forbidden, type: "/problems/csrf", title: "Missing or wrong CSRF token",
                              detail: "cookie-authenticated writes must send the session's token in X-CSRF-Token")
            }
        }
        context.auth = authentication
        context.logger[metadataKey: "user_id"] = .string(authentication.user.userID.uuidString.lowercased())
        return try await next(request, context)
    }

    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head || method == .options
    }
}
