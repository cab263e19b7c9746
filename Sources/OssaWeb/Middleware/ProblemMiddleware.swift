import Hummingbird
import Logging

/// Turns every error thrown below it into a response: RFC 9457 problem+json for the API and machine endpoints, a
/// small HTML page for the browser pages. Server faults are logged here with the request id.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext
    let pages: PageRenderer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Problem(error)
            // Deliberate problems (a 503 from /readyz) are not faults; anything unexpected is logged for the operator.
            if problem.status.code >= 500, !(error is Problem) {
                context.logger.error("request failed", metadata: ["error_type": .string(String(reflecting: type(of: error))),
                                                                  "error": .string(String(describing: error))])
            }
            let path = request.uri.path
            if path == Paths.FHIR.base || path.hasPrefix(Paths.FHIR.base + "/") {
                return FHIRIO.operationOutcome(problem)
            }
            if path.hasPrefix("/api/") || path == "/healthz" || path == "/readyz" || path == "/metrics" {
                return problem.response(requestID: context.requestID)
            }
            return pages.errorPage(problem, requestID: context.requestID)
        }
    }
}
