import Foundation
import Hummingbird
import OssaStore

/// Establishes who is calling, from an `Authorization: Bearer` API token or the session cookie, and loads them
/// as the store's `ActingUser` (role and site grants as stored now: a change made through this server applies to the
/// next request; one made by another process within a second, see `CredentialCache`).
///
/// API routes (`.api`): no credentials → 401 problem. Page routes (`.page`): no session → 303 to the sign-in page.
/// CSRF is `CSRFMiddleware`'s, which runs right after this on both.
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
                var response = Response(status: .seeOther, headers: [.location: Paths.login.template])
                // A dead session's cookie is dropped so the browser stops sending it.
                if request.cookies[auth.configuration.sessionCookieName] != nil {
                    response.setCookie(auth.expiredSessionCookie())
                }
                return response
            }
        }
        context.auth = authentication
        context.logger[metadataKey: "user_id"] = .string(authentication.user.userID.uuidString.lowercased())
        return try await next(request, context)
    }

}
