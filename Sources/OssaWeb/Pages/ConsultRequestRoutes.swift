import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// The coordinators' pages over consult requests from the public self-screen: the list, one request, turning it
/// into a patient and episode (then the new episode opens), closing it with a reason. The store scopes every call
/// to the user's sites (a request with no preferred site is every site's) and audits it.
struct ConsultRequestRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let now: @Sendable () -> Date
    let definition: SelfScreenDefinition

    init(store: OssaStore, pages: PageRenderer, now: @escaping @Sendable () -> Date) throws {
        self.store = store
        self.pages = pages
        self.now = now
        definition = try SelfScreenDefinition.bundledDefault()
    }

    static let pageSize = 25

    var today: CalendarDate { CalendarDate(utc: now()) }
    var handling: PageHandling { PageHandling(store: store, pages: pages) }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.consultRequests, use: list)
        group.on(.get, Paths.consultRequest, use: show)
        group.on(.post, Paths.consultRequestConvert, use: convert)
        group.on(.post, Paths.consultRequestClose, use: close)
    }

    /// `status`: new (the default), converted, closed or all; `offset`.
    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let query = QueryParameters(request: request, emptyIsAbsent: true)
            let statusText = query.string("status") ?? ConsultRequestStatus.new.rawValue
            let status: ConsultRequestStatus?
            if statusText == "all" {
                status = nil
            } else if let chosen = ConsultRequestStatus(rawValue: statusText) {
                status = chosen
            } else {
                throw Problem.badParameter("status", "\"\(statusText)\" is not new, converted, closed or all")
            }
            let offset = try query.int("offset", default: 0, range: 0...1_000_000)
            let found = try await store.consultRequests.list(actor, status: status, PageRequest(limit: Self.pageSize, offset: offset))
            let choice = try await store.readModels.siteChoice(actor)
            return try pages.html(ConsultRequestListPage(page: found, status: status, sites: choice.sites, user: handling.bar(choice.viewer, context)))
        }
    }

    @Sendable func show(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let id = try context.uuidParameter("requestID")
            return try pages.html(try await model(actor, id, context))
        }
    }

    @Sendable func convert(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("requestID")
        return try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            guard let conversion = ConsultConvertForm.read(&reader, today: today) else { return .refused(reader.errors) }
            do {
                let converted = try await store.consultRequests.convert(actor, id, conversion, now: now())
                return .done(Paths.episode.url(converted.episode.id))
            } catch let error as StoreError where PageHandling.isFieldError(error) {
                return .refused(PageHandling.errors(error, fields: ["mrn": "mrn", "siteID": "siteID", "site": "siteID", "birthDate": "birthDate"]))
            }
        } render: { actor, values, errors in
            try await model(actor, id, context, convertValues: values, convertErrors: errors)
        }
    }

    @Sendable func close(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("requestID")
        return try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            guard let reason = reader.text("reason", "Reason for closing", required: true, max: 2000) else { return .refused(reader.errors) }
            _ = try await store.consultRequests.close(actor, id, reason: reason, now: now())
            return .done(Paths.consultRequests.template)
        } render: { actor, values, errors in
            try await model(actor, id, context, closeValues: values, closeErrors: errors)
        }
    }

    private func model(_ actor: ActingUser, _ id: UUID, _ context: OssaRequestContext, convertValues: FormValues? = nil,
                       convertErrors: FormErrors = FormErrors(), closeValues: FormValues = FormValues(),
                       closeErrors: FormErrors = FormErrors()) async throws -> ConsultRequestPage {
        let record = try await store.consultRequests.get(actor, id)
        let choice = try await store.readModels.siteChoice(actor)
        return ConsultRequestPage(record, sites: choice.sites, user: handling.bar(choice.viewer, context), role: actor.role, definition: definition,
                                  convertValues: convertValues, convertErrors: convertErrors, closeValues: closeValues, closeErrors: closeErrors)
    }
}
