import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// The plumbing every signed-in page handler shares: refusals rendered as the error page in the signed-in layout,
/// button posts, and form posts (decode, one-time submission key, a refused form re-rendered with 422 and every
/// error at once). `PageRoutes`, `StaffRoutes` and `AdminRoutes` all use it, so every page follows the same rules.
struct PageHandling: Sendable {
    let store: OssaStore
    let pages: PageRenderer

    /// Any form: the fields are read through `FormValues`; decoding into this struct refuses a malformed body
    /// (a field sent twice, a bad name) before anything is read.
    struct AnyForm: Decodable, Sendable {
        init(from decoder: any Decoder) throws {
            _ = try decoder.container(keyedBy: FormDecoder.IndexKey.self)
        }
    }

    enum FormResult: Sendable {
        /// Written: go to the result.
        case done(String)
        /// Refused: the form again with these errors (422).
        case refused(FormErrors)
        /// Written, and the answer is this page rather than a redirect (a secret shown once). A repeat of the same
        /// submission is sent to `resultURL` instead.
        case shown(any Page, resultURL: String)
    }

    func bar(_ viewer: ReadModels.Viewer, _ context: OssaRequestContext) -> UserBar {
        UserBar(viewer, csrfToken: context.auth?.csrfToken ?? "")
    }

    /// Runs a page; input errors and refusals become the error page in the signed-in layout (for which the user bar
    /// is read then). Unexpected faults propagate to `ProblemMiddleware`, which logs them.
    func page(_ context: OssaRequestContext, _ body: (ActingUser) async throws -> Response) async throws -> Response {
        let actor = try context.requireUser()
        do {
            return try await body(actor)
        } catch let error as Problem where error.status.code < 500 {
            return pages.errorPage(error, requestID: context.requestID, user: try await userBar(actor, context))
        } catch let error where error is AccessDenied || Self.isClientError(error) {
            return pages.errorPage(Problem(error), requestID: context.requestID, user: try await userBar(actor, context))
        }
    }

    /// A button that changes one thing (revoke, activate, disable): the CSRF token and at most a few hidden fields,
    /// then back to the page `body` names.
    func post(_ request: Request, _ context: OssaRequestContext,
              _ body: (ActingUser, FormValues) async throws -> String) async throws -> Response {
        try await page(context) { actor in
            let values = try await Self.values(request, context)
            return Response(status: .seeOther, headers: [.location: try await body(actor, values)])
        }
    }

    /// A form post: decode (malformed bodies are a 400 page), claim the submission key, run `handle`; on a refusal
    /// release the key and render the form with the user's values and every error.
    ///
    /// `rebuild`: a form whose buttons add or remove rows (injections, planned injections) returns the changed values
    /// for such a button; the form comes back with them (200), nothing is written and the key is not used.
    /// `decoding`: the form's `Decodable` struct, which refuses a malformed body (a field sent twice, a value of the
    /// wrong kind) before anything is read; `AnyForm` checks the body's shape only.
    func form<F: Decodable & Sendable, P: Page>(_ request: Request, _ context: OssaRequestContext, decoding: F.Type,
                       rebuild: (FormValues) -> FormValues? = { _ in nil },
                       handle: (ActingUser, FormValues) async throws -> FormResult,
                       render: (ActingUser, FormValues, FormErrors) async throws -> P) async throws -> Response {
        try await page(context) { actor in
            let values = try await Self.values(request, context, decoding: decoding)
            if let changed = rebuild(values) {
                return try pages.html(try await render(actor, changed, FormErrors()))
            }
            let key = values[FormPage.submissionKey]
            if !key.isEmpty {
                switch try await store.submissions.claim(key, by: actor) {
                case .claimed: break
                case .done(let url): return Response(status: .seeOther, headers: [.location: url])
                case .inProgress:
                    throw Problem(.conflict, detail: "this form is already being saved; wait a moment and open the record")
                }
            }
            let result: FormResult
            do {
                result = try await handle(actor, values)
            } catch {
                if !key.isEmpty { try? await store.submissions.release(key) }
                throw error
            }
            switch result {
            case .done(let url):
                if !key.isEmpty { try await store.submissions.complete(key, resultURL: url) }
                return Response(status: .seeOther, headers: [.location: url])
            case .shown(let shown, let url):
                if !key.isEmpty { try await store.submissions.complete(key, resultURL: url) }
                // A page that shows a secret once is kept out of every cache.
                return try pages.html(shown, headers: [.cacheControl: "no-store"])
            case .refused(let errors):
                if !key.isEmpty { try await store.submissions.release(key) }
                return try pages.html(try await render(actor, values, errors), status: .unprocessableContent)
            }
        }
    }

    /// `form(_:_:decoding:rebuild:handle:render:)` for a form whose fields are all read through `FormValues`.
    func form<P: Page>(_ request: Request, _ context: OssaRequestContext,
                       rebuild: (FormValues) -> FormValues? = { _ in nil },
                       handle: (ActingUser, FormValues) async throws -> FormResult,
                       render: (ActingUser, FormValues, FormErrors) async throws -> P) async throws -> Response {
        try await form(request, context, decoding: AnyForm.self, rebuild: rebuild, handle: handle, render: render)
    }

    /// The posted fields, after checking the body is a well-formed form.
    static func values(_ request: Request, _ context: OssaRequestContext) async throws -> FormValues {
        try await values(request, context, decoding: AnyForm.self)
    }

    static func values<F: Decodable>(_ request: Request, _ context: OssaRequestContext, decoding: F.Type) async throws -> FormValues {
        guard Forms.isForm(request.headers[.contentType]) else {
            throw Problem(.unsupportedMediaType, detail: "forms are sent as application/x-www-form-urlencoded")
        }
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: context.maxUploadSize))
        let pairs = Forms.pairs(body)
        do {
            _ = try FormDecoder().decode(F.self, from: pairs)
        } catch let error as FormDecoder.FieldError {
            throw Problem(.badRequest, detail: "the form could not be read (\(error.field) \(error.message)); open it again and send it once")
        }
        return FormValues(pairs)
    }

    /// A store refusal naming a field, under the form's field (`fields` maps store names to form names).
    static func errors(_ error: StoreError, fields: [String: String], stripping prefix: String = "") -> FormErrors {
        var errors = FormErrors()
        switch error {
        case .invalid(let field, let message), .conflictingField(let field, let message):
            var path = field
            if !prefix.isEmpty, path.hasPrefix(prefix) { path = String(path.dropFirst(prefix.count)) }
            errors.add(fields[path] ?? FieldName.name(fromPath: path), message.capitalizedFirst)
        default:
            errors.add("", "\(error)")
        }
        return errors
    }

    private func userBar(_ actor: ActingUser, _ context: OssaRequestContext) async throws -> UserBar {
        UserBar(try await store.readModels.viewer(actor), csrfToken: context.auth?.csrfToken ?? "")
    }

    static func isClientError(_ error: any Error) -> Bool {
        guard let error = error as? StoreError else { return false }
        if case .unreadable = error { return false }
        return true
    }

    static func isFieldError(_ error: StoreError) -> Bool {
        switch error {
        case .invalid, .conflictingField: true
        default: false
        }
    }
}
