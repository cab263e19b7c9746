import Foundation
import Hummingbird
import NIOCore
import OssaStore
import Prometheus

/// `/healthz` (the process answers), `/readyz` (the database answers and every migration this build knows is
/// applied) and `/metrics` (Prometheus text format). No authentication: they reveal no records. Expose them
/// only to the monitoring network at the proxy.
struct OperationsRoutes: Sendable {
    let store: OssaStore
    let metrics: PrometheusCollectorRegistry

    func register(on router: Router<OssaRequestContext>) {
        router.on(.get, Paths.health, use: health)
        router.on(.get, Paths.ready, use: ready)
        router.on(.get, Paths.metrics, use: emitMetrics)
    }

    @Sendable func health(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try JSONIO.response(["status": "ok"])
    }

    @Sendable func ready(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let expected = Set(OssaMigrations.all.map(\.name))
        let applied: Set<String>
        do {
            applied = Set(try await store.database.appliedMigrations())
        } catch {
            context.logger.warning("readiness: database unreachable", metadata: ["error_type": .string(String(reflecting: type(of: error)))])
            throw Problem(.serviceUnavailable, detail: "the database does not answer")
        }
        let missing = expected.subtracting(applied).sorted()
        guard missing.isEmpty else {
            throw Problem(.serviceUnavailable, detail: "migrations not applied: \(missing.joined(separator: ", ")); run `ossa migrate`")
        }
        return try JSONIO.response(["status": "ready", "migrations": String(applied.count)])
    }

    @Sendable func emitMetrics(_ request: Request, context: OssaRequestContext) async throws -> Response {
        var buffer: [UInt8] = []
        metrics.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
