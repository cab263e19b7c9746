import Foundation
import OssaAnalytics
import OssaStore

/// Everything `ossa serve` decides about the HTTP server, with safe defaults. The lead's `ossa serve` fills it
/// from flags and the environment; tests fill it directly.
public struct ServerConfiguration: Sendable {
    /// Interface to bind; loopback by default so that a demo is not exposed by accident.
    public var host: String
    public var port: Int
    /// The server sits behind a TLS-terminating proxy (or serves TLS itself): cookies get `Secure` (and the
    /// `__Host-` name prefix), responses get `Strict-Transport-Security`.
    public var behindTLS: Bool
    /// Take the client address from the last `X-Forwarded-For` entry (the one added by the proxy in front of
    /// Ossa). Only behind such a proxy; otherwise any client could pick the address that login throttling and the
    /// audit log see.
    public var trustForwardedFor: Bool
    /// A session ends after this long without a request…
    public var sessionIdleTimeout: TimeInterval
    /// …and this long after sign-in, whatever the activity.
    public var sessionAbsoluteTimeout: TimeInterval
    /// Largest request body accepted (bytes); larger bodies get 413.
    public var maxBodySize: Int
    public var loginThrottle: LoginThrottlePolicy
    /// bcrypt cost for passwords set through the server (the CLI passes its own). 12 in production; tests use 4.
    public var bcryptCost: UInt8
    /// Server name for logs.
    public var serverName: String
    /// Where patients reach this server (`OSSA_PUBLIC_URL`): the personal links in messages start with it. Nil: the
    /// server's own address (`http://host:port`).
    public var publicURL: String?
    /// Messages can leave the outbox (SMTP or the SMS webhook is configured, or the demo prints them); otherwise the
    /// worklist says delivery is not configured.
    public var deliveryConfigured = false
    /// Researchers' analytics: counts below this are suppressed (`OSSA_ANALYTICS_MIN_CELL`, default 5).
    public var analyticsMinimumCellCount = AnalyticsRepository.defaultMinimumCellCount
    /// How old (seconds) the analytics' registry extract may be while a newer one is read in the background
    /// (`OSSA_ANALYTICS_MAX_STALENESS`; `ossa serve` defaults to 300; 0 = always the newest).
    public var analyticsMaxStaleness: TimeInterval = 0
    /// The published studies the analytics set the clinic's figures beside (`OSSA_LITERATURE_FILE`, a clinic's own
    /// edited copy, validated at start); nil: the built-in file.
    public var literature: LiteratureFile?
    /// FHIR Bulk Data `$export`: the largest NDJSON file (`OSSA_EXPORT_FILE_BYTES`, default 64 MiB); a type with more
    /// is split into several files.
    public var exportFileBytes = 64 << 20
    /// Where `$export` writes its files (`OSSA_EXPORT_DIR`; default the system's temporary directory).
    public var exportDirectory: String?
    /// How many staff pages (worklist, patient list, episode page) are kept, as read models in the store and as
    /// HTML, for the views that come before the next write (`OSSA_PAGE_CACHE_ENTRIES`, default 2,000; 0 = none).
    public var pageCacheEntries = OssaDatabase.defaultReadModelCacheEntries

    /// The start of every link in a message.
    public var linkBase: String {
        publicURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    public init(host: String = "127.0.0.1", port: Int = 8080, behindTLS: Bool = false, trustForwardedFor: Bool = false,
                sessionIdleTimeout: TimeInterval = 30 * 60, sessionAbsoluteTimeout: TimeInterval = 12 * 60 * 60,
                maxBodySize: Int = 1 << 20, loginThrottle: LoginThrottlePolicy = LoginThrottlePolicy(),
                bcryptCost: UInt8 = 12, serverName: String = "ossa") {
        self.host = host
        self.port = port
        self.behindTLS = behindTLS
        self.trustForwardedFor = trustForwardedFor
        self.sessionIdleTimeout = sessionIdleTimeout
        self.sessionAbsoluteTimeout = sessionAbsoluteTimeout
        self.maxBodySize = maxBodySize
        self.loginThrottle = loginThrottle
        self.bcryptCost = bcryptCost
        self.serverName = serverName
    }

    /// Session cookie name; `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
    var sessionCookieName: String { behindTLS ? "__Host-ossa_session" : "ossa_session" }
    /// Pre-sign-in CSRF cookie of the login form (double-submit).
    var loginCookieName: String { behindTLS ? "__Host-ossa_login" : "ossa_login" }
    /// The double-submit CSRF cookie of the public pages (questionnaire links, self-screen).
    var formCookieName: String { behindTLS ? "__Host-ossa_form" : "ossa_form" }
    /// A questionnaire link's confirmed browser (set with the link's path, so each link has its own).
    var linkCookieName: String { behindTLS ? "__Secure-ossa_link" : "ossa_link" }
}
