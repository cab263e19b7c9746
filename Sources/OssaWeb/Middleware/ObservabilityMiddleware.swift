import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import Synchronization

/// One log line and two metrics per request, keyed by the route template (`/api/v1/patients/:patientID`), never
/// the concrete path or query string, which can hold names and ids.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext
    let metrics: PrometheusCollectorRegistry
    private let instruments = RequestInstruments()

    init(metrics: PrometheusCollectorRegistry) {
        self.metrics = metrics
    }

    static let knownMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    static let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                      .milliseconds(2500), .seconds(5)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            let route = context.endpointPath ?? "unmatched"
            // Clients can send any method token; unknown ones share one label so they cannot grow the metrics.
            let method = Self.knownMethods.contains(request.method) ? request.method.rawValue : "other"
            instruments.counter(method: method, route: route, status: status, in: metrics).increment()
            instruments.histogram(method: method, route: route, in: metrics).record(elapsed)
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

/// The counter and histogram of each method × route (× status), made once: asking the registry builds the metric's
/// name and label set and takes its lock on every call.
private final class RequestInstruments: Sendable {
    private struct Key: Hashable { var method: String, route: String, status: Int }
    private let counters = Mutex<[Key: Counter]>([:])
    private let histograms = Mutex<[Key: DurationHistogram]>([:])

    func counter(method: String, route: String, status: Int, in metrics: PrometheusCollectorRegistry) -> Counter {
        let key = Key(method: method, route: route, status: status)
        if let counter = counters.withLock({ $0[key] }) { return counter }
        let counter = metrics.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "ossa", subsystem: "http", metricName: "requests", unitName: "total",
                                             helpText: "HTTP requests by method, route template and status"),
            labels: [("method", method), ("route", route), ("status", String(status))])
        counters.withLock { $0[key] = counter }
        return counter
    }

    func histogram(method: String, route: String, in metrics: PrometheusCollectorRegistry) -> DurationHistogram {
        let key = Key(method: method, route: route, status: 0)
        if let histogram = histograms.withLock({ $0[key] }) { return histogram }
        let histogram = metrics.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "ossa", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                                             helpText: "HTTP request duration by method and route template"),
            labels: [("method", method), ("route", route)], buckets: ObservabilityMiddleware.buckets)
        histograms.withLock { $0[key] = histogram }
        return histogram
    }
}
