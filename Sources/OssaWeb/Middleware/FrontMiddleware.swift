import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// First on every request: the request id (a client's `X-Request-ID` when it is a sane token, otherwise a new
/// one) goes into the logger metadata and the response; the body limit and client address are set.
struct FrontMiddleware: RouterMiddleware {
    typealias Context = OssaRequestContext
    let configuration: ServerConfiguration
    let makeRequestID: @Sendable () -> String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.acceptable) ?? makeRequestID()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        context.maxUploadSize = configuration.maxBodySize
        // The last entry is the one the trusted proxy added; earlier entries are whatever the client sent.
        if configuration.trustForwardedFor, let forwarded = request.headers[.forwardedFor] {
            let last = forwarded.split(separator: ",").last.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
            if !last.isEmpty, last.count <= 64 { context.clientAddress = last }
        }
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    /// 1–128 characters of `[A-Za-z0-9._-]`: anything else could smuggle text into logs.
    static func acceptable(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count), value.utf8.allSatisfy(allowed.contains) else { return nil }
        return value
    }

    private static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)
}

extension HTTPField.Name {
    static var requestID: Self { .init("X-Request-ID")! }
    static var forwardedFor: Self { .init("X-Forwarded-For")! }
    static var csrfToken: Self { .init("X-CSRF-Token")! }
}
