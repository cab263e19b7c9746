import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// A group of JSON API routes for one resource.
///
/// Adding a resource (screening, imaging, procedures, questionnaire responses, timepoints, outcome events):
/// 1. New file `API/<Resource>API.swift` holding the wire DTOs (`<Resource>DTO`, `New<Resource>DTO`,
///    `<Resource>PatchDTO`: `Codable`, camelCase, ids as lowercase strings, days as `CalendarDate`, instants via
///    `WireDate`, closed sets as `WireEnum`) and a `struct <Resource>API: APIRouteGroup` whose handlers
///    - take the caller with `context.requireUser()` and pass it to the OssaStore repository (never SQL here;
///      the store applies roles and site scoping and writes the audit entry),
///    - read bodies with `JSONIO.decode` (415 / 413 / unknown fields / field errors handled there),
///    - read query parameters with `QueryParameters` and path ids with `context.uuidParameter`,
///    - answer with `JSONIO.response` (201 + `Location` for creates; lists as `PageDTO`).
///    Errors are thrown, not built: `ProblemMiddleware` maps `StoreError`, `AccessDenied` and decoding errors to
///    problem+json.
/// 2. Add the group to `APIRoutes.groups` below.
/// 3. Describe the routes in `Resources/openapi.json`; `OpenAPITests` fails until every route is documented and
///    every documented route exists.
protocol APIRouteGroup: Sendable {
    func register(on api: RouterGroup<OssaRequestContext>)
}

enum APIRoutes {
    static let prefix = "/api/v1"

    static func groups(store: OssaStore, environment: WebEnvironment, configuration: ServerConfiguration = ServerConfiguration(),
                       analytics: AnalyticsSetup) throws -> [any APIRouteGroup] {
        let instruments = try InstrumentLibrary.builtIn()
        let exportRoot = configuration.exportDirectory.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        return [
            AccountAPI(store: store, environment: environment),
            PatientsAPI(store: store),
            EpisodesAPI(store: store),
            ScreeningAPI(store: store),
            ImagingAPI(store: store),
            ProceduresAPI(store: store),
            TimepointsAPI(store: store, environment: environment),
            OutcomeEventsAPI(store: store),
            QuestionnairesAPI(store: store, library: instruments),
            MessagingAPI(store: store, environment: environment, composition: try MessageComposition(baseURL: configuration.linkBase)),
            ConsultRequestsAPI(store: store, definition: try SelfScreenDefinition.bundledDefault()),
            AnalyticsAPI(store: store, setup: analytics),
            ConsentsAPI(store: store),
            ExportsAPI(store: store, download: try ResearchDownload(store: store, library: instruments, root: exportRoot), now: environment.now),
        ]
    }
}
