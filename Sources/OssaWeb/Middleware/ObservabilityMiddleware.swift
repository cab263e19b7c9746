import Foundation
import Hummingbird
import Logging
import Prometheus

/// One log line and two metrics per request, keyed by the route template (`/api/v1/patients/:patientID`), never
/// the concrete path or query string, which can hold names and ids.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext
    let metrics: PrometheusCollectorRegistry

    static let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                      .milliseconds(2500), .seconds(5)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            let route = context.endpointPath ?? "unmatched"
            let method = request.method.rawValue
            metrics.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "ossa", subsystem: "http", metricName: "requests", unitName: "total",
                                                 helpText: "HTTP requests by method, route template and status"),
                labels: [("method", method), ("route", route), ("status", String(status))]
            ).increment()
            metrics.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "ossa", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                                                 helpText: "HTTP request duration by method and route template"),
                labels: [("method", method), ("route", route)], buckets: Self.buckets
            ).record(elapsed)
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            context.logger.info("request", metadata: [
                "method": .string(method), "route": .string(route), "status": .stringConvertible(status),
                "duration_ms": .string(String(format: "%.1f", ms)),
            ])
        }
        let response = try await next(request, context)
        status = response.status.code
        return response
    }
}
