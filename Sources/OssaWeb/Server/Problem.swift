import Foundation
import Hummingbird
import NIOCore
import OssaCore
import OssaStore

/// One field-level error in a problem document.
struct FieldProblem: Codable, Sendable, Hashable {
    var field: String
    var message: String
}

/// An RFC 9457 problem: every API error leaves the server as `application/problem+json` in this shape.
struct Problem: Error, Sendable {
    var status: HTTPResponse.Status
    /// A URI reference naming the kind of problem; `about:blank` when the status says it all.
    var type: String
    var title: String
    var detail: String?
    var errors: [FieldProblem]
    var headers: HTTPFields

    init(_ status: HTTPResponse.Status, type: String = "about:blank", title: String? = nil, detail: String? = nil,
         errors: [FieldProblem] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.type = type
        self.title = title ?? status.reasonPhrase
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    static func validation(_ errors: [FieldProblem], detail: String? = nil) -> Problem {
        Problem(.unprocessableContent, type: "/problems/validation", title: "The request has invalid fields",
                detail: detail ?? errors.map { $0.field.isEmpty ? $0.message : "\($0.field): \($0.message)" }.joined(separator: "; "),
                errors: errors)
    }

    static func badParameter(_ field: String, _ message: String) -> Problem {
        Problem(.badRequest, type: "/problems/bad-parameter", title: "A parameter is not valid", detail: "\(field): \(message)",
                errors: [FieldProblem(field: field, message: message)])
    }

    /// Maps any error to the problem the client sees. Input errors are 4xx; only genuine faults are 500, and a
    /// 500 says nothing about the fault (it is logged with the request id instead).
    init(_ error: any Error) {
        switch error {
        case let problem as Problem:
            self = problem
        case let error as FieldValidationError:
            if error.path.isEmpty, error.message.localizedCaseInsensitiveContains("valid JSON") {
                self = Problem(.badRequest, type: "/problems/malformed-json", title: "The body is not valid JSON", detail: error.message)
            } else {
                self = .validation(error.all.map { FieldProblem(field: $0.path, message: $0.message) })
            }
        case let error as StoreError:
            switch error {
            case .notFound(let type, let id):
                self = Problem(.notFound, detail: "no \(type) \(id)")
            case .invalid(let field, let message):
                self = .validation([FieldProblem(field: field, message: message)])
            case .conflict(let message):
                self = Problem(.conflict, type: "/problems/conflict", title: "Conflict", detail: message)
            case .conflictingField(let field, let message):
                self = Problem(.conflict, type: "/problems/conflict", title: "Conflict", detail: "\(field): \(message)",
                               errors: [FieldProblem(field: field, message: message)])
            case .unreadable:
                // The database holds what this build cannot read: a fault for the operator, logged by ProblemMiddleware.
                self = Problem(.internalServerError, detail: "an unexpected error occurred; quote the request id when reporting it")
            }
        case let error as AccessDenied:
            self = Problem(.forbidden, type: "/problems/forbidden", title: "Forbidden", detail: error.description)
        case is NIOTooManyBytesError:
            self = Problem(.contentTooLarge, detail: "the request body is larger than the server accepts")
        case let error as HTTPError:
            self = Problem(error.status, detail: error.body, headers: error.headers)
        case let error as any HTTPResponseError:
            self = Problem(error.status)
        default:
            self = Problem(.internalServerError, detail: "an unexpected error occurred; quote the request id when reporting it")
        }
    }

    private struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String?
        var requestId: String?
        var errors: [FieldProblem]?
    }

    func response(requestID: String?) -> Response {
        let body = Body(type: type, title: title, status: status.code, detail: detail, requestId: requestID,
                        errors: errors.isEmpty ? nil : errors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data("{\"status\":\(status.code)}".utf8)
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
