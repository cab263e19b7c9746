import Foundation
import Hummingbird
import NIOPosix
import Logging
import NIOCore
import OssaCore
import OssaFHIR
import OssaStore
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// Builds the Ossa web application: used by `ossa serve` and by the tests alike.
///
/// The store must be open and migrated; the application does not own it (see `OssaServer.run` for running the
/// application and closing the store on SIGTERM / SIGINT).
public func buildApplication(configuration: ServerConfiguration, store: OssaStore, logger: Logger,
                             environment: WebEnvironment = .live) async throws -> some ApplicationProtocol {
    let router = try await buildRouter(configuration: configuration, store: store, environment: environment)
    return Application(
        router: router,
        configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                serverName: configuration.serverName),
        logger: logger)
}

/// The route table. Middleware runs in the order added, outermost first, and applies to routes added after it.
func buildRouter(configuration: ServerConfiguration, store: OssaStore,
                 environment: WebEnvironment) async throws -> Router<OssaRequestContext> {
    let pages = try await PageRenderer.load(renderedPageEntries: configuration.pageCacheEntries)
    let auth = Auth(store: store, configuration: configuration, environment: environment)
    let openAPI = try PageRenderer.resource("openapi.json")

    let router = Router(context: OssaRequestContext.self, options: .autoGenerateHeadEndpoints)
    let allowed = AllowedMethods()
    router.add(middleware: FrontMiddleware(configuration: configuration, makeRequestID: environment.makeRequestID))
    router.add(middleware: ObservabilityMiddleware(metrics: environment.metrics))
    router.add(middleware: SecurityHeadersMiddleware(behindTLS: configuration.behindTLS))
    router.add(middleware: ProblemMiddleware(pages: pages))
    router.add(middleware: MethodMiddleware(allowed: allowed))

    // Public: operations, static files, the API description, the sign-in page.
    OperationsRoutes(store: store, metrics: environment.metrics).register(on: router)
    router.on(.get, Paths.staticFile) { _, context -> Response in
        guard let name = context.parameters.get("file"), let response = pages.staticFile(name) else { throw HTTPError(.notFound) }
        return response
    }
    router.on(.get, Paths.API.openAPI) { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
    }
    let login = LoginRoutes(auth: auth, pages: pages)
    login.register(on: router)
    // Patients' pages (questionnaire links): no sign-in; the public double-submit CSRF check on every form post.
    let portal = router.group().add(middleware: CSRFMiddleware(publicCookie: configuration.formCookieName))
    try PortalRoutes(store: store, pages: pages, configuration: configuration, environment: environment).register(on: portal)
    // The public self-screen and its consult requests: no sign-in, the same public CSRF check.
    try SelfScreenRoutes(store: store, pages: pages, configuration: configuration, environment: environment).register(on: portal)

    // JSON API: API token or session; CSRF for the session's writes.
    let api = router.group().add(middleware: AuthMiddleware(mode: .api, auth: auth)).add(middleware: CSRFMiddleware())
    // One analytics set-up (its caches) for the API, the pages and FHIR's Group export.
    let analyticsSetup = try AnalyticsSetup(minimumCellCount: configuration.analyticsMinimumCellCount, maxStaleness: configuration.analyticsMaxStaleness,
                                            literature: configuration.literature)
    for group in try APIRoutes.groups(store: store, environment: environment, configuration: configuration, analytics: analyticsSetup) {
        group.register(on: api)
    }

    // FHIR R4: the metadata public; the resources as the JSON API (token or session, CSRF for a session's writes).
    let library = try InstrumentLibrary.builtIn()
    let exportRoot = configuration.exportDirectory.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
    let fhir = FHIRRoutes(store: store, baseURL: configuration.linkBase, version: OssaFHIR.serverVersion, library: library,
                          exports: BulkExportJobs(store: store, library: library, root: exportRoot, fileBytes: configuration.exportFileBytes),
                          analytics: analyticsSetup)
    fhir.registerPublic(on: router)
    fhir.register(on: router.group().add(middleware: AuthMiddleware(mode: .api, auth: auth)).add(middleware: CSRFMiddleware()))

    // Pages: session only; CSRF for every form post.
    let signedIn = router.group().add(middleware: AuthMiddleware(mode: .page, auth: auth)).add(middleware: CSRFMiddleware())
    login.registerSignedIn(on: signedIn)
    PageRoutes(store: store, pages: pages, now: environment.now, deliveryConfigured: configuration.deliveryConfigured).register(on: signedIn)
    try StaffRoutes(store: store, pages: pages, now: environment.now,
                    composition: try MessageComposition(baseURL: configuration.linkBase)).register(on: signedIn)
    try ConsultRequestRoutes(store: store, pages: pages, now: environment.now).register(on: signedIn)
    AnalyticsRoutes(store: store, pages: pages, setup: analyticsSetup).register(on: signedIn)
    let downloads = try ResearchDownload(store: store, library: library, root: exportRoot)
    ExportRoutes(store: store, pages: pages, download: downloads, now: environment.now).register(on: signedIn)
    try AdminRoutes(store: store, pages: pages, configuration: configuration, environment: environment).register(on: signedIn)
    allowed.load(router.routes)
    return router
}

/// Runs the application until SIGTERM or SIGINT, then lets in-flight requests finish, stops the periodic
/// clean-up and closes the store, in that order.
public enum OssaServer {
    /// Makes NIO's event loops Swift concurrency's global executor, so that a request's handler, its database
    /// calls' completions and the HTTP I/O run on the same threads instead of handing each step between
    /// Dispatch's pool and the event loops (the thread switches were the largest single cost of a questionnaire
    /// submission; see Benchmarks/README.md). Call once per process, from `ossa serve`, before anything else runs.
    @discardableResult
    public static func runConcurrencyOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    public static func run(_ application: some ApplicationProtocol, store: OssaStore, configuration: ServerConfiguration,
                           logger: Logger, services: [any Service] = []) async throws {
        try await serviceGroup(application, store: store, configuration: configuration, logger: logger, services: services).run()
    }

    /// The services of a running server: the store, the periodic clean-up and the application. ServiceGroup shuts
    /// services down in reverse order, so the HTTP server stops (finishing in-flight requests) before the store
    /// closes.
    ///
    /// `services` (the delivery worker) run between the clean-up and the application: they stop after the HTTP
    /// server and before the store.
    public static func serviceGroup(_ application: some ApplicationProtocol, store: OssaStore, configuration: ServerConfiguration,
                                    logger: Logger, services: [any Service] = [],
                                    signals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        ServiceGroup(configuration: .init(
            services: [StoreService(store: store), MaintenanceService(store: store, configuration: configuration, logger: logger)]
                + services + [application],
            gracefulShutdownSignals: signals,
            logger: logger))
    }
}

/// Keeps the store open for the life of the service group and closes it last.
struct StoreService: Service {
    let store: OssaStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.database.shutdown()
    }
}

/// Deletes expired sessions and old login failures every few minutes.
struct MaintenanceService: Service {
    let store: OssaStore
    let configuration: ServerConfiguration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let now = Date()
                try await store.sessions.purgeExpired(now: now, idleTimeout: configuration.sessionIdleTimeout)
                try await store.loginThrottle.purge(now: now, policy: configuration.loginThrottle)
                try await store.consultRequests.purgeAddressHashes(now: now)
                try await store.links.purge(now: now)
            } catch {
                logger.warning("periodic clean-up failed", metadata: ["error_type": .string(String(reflecting: type(of: error)))])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(300)) }
        }
    }
}

extension OssaServer {
    /// Routes swift-metrics (used by libraries) into the same Prometheus registry that `/metrics` emits. Call once
    /// per process, before building the application, with the registry passed in `WebEnvironment.metrics`.
    public static func bootstrapMetrics(_ registry: PrometheusCollectorRegistry) {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }
}
