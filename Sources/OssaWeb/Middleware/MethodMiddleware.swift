import Hummingbird
import HTTPTypes
import Synchronization

/// The methods each registered path answers, read from the router once every route is registered.
final class AllowedMethods: Sendable {
    private let table = Mutex<[(path: RoutePath, methods: Set<HTTPRequest.Method>)]>([])

    func load(_ routes: [Router<OssaRequestContext>.RouteDescription]) {
        var byPath: [String: Set<HTTPRequest.Method>] = [:]
        for route in routes { byPath[route.path.description, default: []].insert(route.method) }
        let rows = byPath.map { path, methods -> (path: RoutePath, methods: Set<HTTPRequest.Method>) in
            // HEAD is answered wherever GET is (the router generates it).
            (RoutePath(path), methods.contains(.get) ? methods.union([.head]) : methods)
        }
        table.withLock { $0 = rows }
    }

    /// The methods of every registered path the request path matches; empty when it matches none.
    func methods(for path: Substring) -> Set<HTTPRequest.Method> {
        table.withLock { rows in
            rows.reduce(into: Set<HTTPRequest.Method>()) { out, row in if row.path.matches(path) { out.formUnion(row.methods) } }
        }
    }
}

/// A known path asked with a method it does not serve answers 405 with `Allow` (RFC 9110 §15.5.6); `OPTIONS`
/// answers 204 with `Allow`. Unknown paths stay 404. It acts only when the router found no handler, so matched
/// requests pay nothing for it.
struct MethodMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext
    let allowed: AllowedMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            let methods = allowed.methods(for: request.uri.path[...])
            guard !methods.isEmpty else { throw error }
            let allow = Self.order.filter(methods.contains).map(\.rawValue).joined(separator: ", ")
            if request.method == .options {
                return Response(status: .noContent, headers: [.allow: allow])
            }
            throw Problem(.methodNotAllowed, detail: "\(request.method.rawValue) is not allowed here; allowed: \(allow)",
                          headers: [.allow: allow])
        }
    }

    static let order: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]
}
