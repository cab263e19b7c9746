import Hummingbird

/// Security headers on every response. The CSP allows only same-origin resources and no inline script or style,
/// which is why the stylesheet is a file under /static.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext
    let behindTLS: Bool

    static let contentSecurityPolicy =
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        // Clinical pages and API answers must not linger in shared or browser caches.
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if behindTLS { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
        return response
    }
}
