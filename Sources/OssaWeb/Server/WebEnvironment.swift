import Foundation
import Prometheus
import Synchronization

/// What the application takes from the outside world, replaceable in tests: the clock, the source of random
/// tokens and the metrics registry. Production uses `.live`.
public struct WebEnvironment: Sendable {
    public var now: @Sendable () -> Date
    /// Returns a new unguessable token (URL- and cookie-safe). Used for session, CSRF and API tokens.
    public var makeToken: @Sendable () -> String
    /// Returns the id of a request that came without a usable `X-Request-ID` (see `RequestIDGenerator`).
    public var makeRequestID: @Sendable () -> String
    /// Request metrics go here; `/metrics` emits it. Pass the registry that `MetricsSystem` was bootstrapped
    /// with (`PrometheusMetricsFactory(registry:)`) to have swift-metrics users appear on `/metrics` as well.
    public var metrics: PrometheusCollectorRegistry

    public init(now: @escaping @Sendable () -> Date = { Date() },
                makeToken: @escaping @Sendable () -> String = WebEnvironment.randomToken,
                makeRequestID: @escaping @Sendable () -> String = RequestIDGenerator(prefix: String(WebEnvironment.randomToken().prefix(12))).next,
                metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.now = now
        self.makeToken = makeToken
        self.makeRequestID = makeRequestID
        self.metrics = metrics
    }

    public static var live: WebEnvironment { WebEnvironment() }

    /// 32 bytes from the system's cryptographic generator, base64url without padding (43 characters).
    @Sendable public static func randomToken() -> String {
        // Four 64-bit draws, not 32 one-byte draws: each draw is a getrandom(2) call.
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes { buffer in
            for index in 0..<4 { buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: index * 8, as: UInt64.self) }
        }
        return base64URL(bytes)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text.removeAll { $0 == "=" }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }
}

/// Request ids that are unique within a server's run and unlikely to repeat across runs, without a system call
/// per request: a random prefix drawn at start-up, then a counter (`kq3x9d0fz1b2-1`, `kq3x9d0fz1b2-2`, …).
/// They correlate log lines; they are not secrets.
public final class RequestIDGenerator: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    public init(prefix: String) {
        self.prefix = prefix
    }

    @Sendable public func next() -> String {
        prefix + "-" + String(counter.add(1, ordering: .relaxed).newValue, radix: 36)
    }
}
