import Foundation
import Prometheus

/// What the application takes from the outside world, replaceable in tests: the clock, the source of random
/// tokens and the metrics registry. Production uses `.live`.
public struct WebEnvironment: Sendable {
    public var now: @Sendable () -> Date
    /// Returns a new unguessable token (URL- and cookie-safe). Used for session, CSRF and API tokens.
    public var makeToken: @Sendable () -> String
    /// Request metrics go here; `/metrics` emits it. Pass the registry that `MetricsSystem` was bootstrapped
    /// with (`PrometheusMetricsFactory(registry:)`) to have swift-metrics users appear on `/metrics` as well.
    public var metrics: PrometheusCollectorRegistry

    public init(now: @escaping @Sendable () -> Date = { Date() },
                makeToken: @escaping @Sendable () -> String = WebEnvironment.randomToken,
                metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.now = now
        self.makeToken = makeToken
        self.metrics = metrics
    }

    public static var live: WebEnvironment { WebEnvironment() }

    /// 32 bytes from the system's cryptographic generator, base64url without padding (43 characters).
    @Sendable public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
