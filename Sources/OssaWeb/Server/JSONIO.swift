import Foundation
import Hummingbird
import NIOCore
import OssaCore

/// Reading and writing JSON bodies for the API: the content type is checked (415), the size is capped (413),
/// unknown fields are refused and every decoding problem names its field (400 / 422).
enum JSONIO {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: OssaRequestContext) async throws -> T {
        guard isJSON(request.headers[.contentType]) else {
            throw Problem(.unsupportedMediaType, detail: "send the body as application/json")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            throw NIOTooManyBytesError(maxBytes: context.maxUploadSize)
        }
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        do {
            return try StrictJSON.decode(T.self, from: Data(buffer.readableBytesView), wire: true)
        } catch {
            throw Problem(error)
        }
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Typed access to path and query parameters; a bad value is a 400 naming the parameter.
extension OssaRequestContext {
    func uuidParameter(_ name: String) throws -> UUID {
        guard let text = parameters.get(name), let id = UUID(uuidString: text) else {
            throw Problem(.notFound, detail: "\(name) is not an id")
        }
        return id
    }
}

/// Query parameters. On the API a parameter that is present must be valid: `site=` (empty) is a 400 naming it, as
/// the OpenAPI document says (an empty string is no id, day or number). Pages read their GET forms with
/// `emptyIsAbsent`, because a browser sends every field of a form, the empty ones as `name=`.
struct QueryParameters {
    let request: Request
    var emptyIsAbsent = false

    func string(_ name: String) -> String? {
        guard let value = request.uri.queryParameters.get(name).map({ String($0) }) else { return nil }
        return emptyIsAbsent && value.isEmpty ? nil : value
    }

    /// Free text, at most `max` characters (Unicode code points, as JSON Schema's `maxLength` counts).
    func text(_ name: String, max: Int) throws -> String? {
        guard let text = string(name) else { return nil }
        guard text.unicodeScalars.count <= max else { throw Problem.badParameter(name, "longer than \(max) characters") }
        return text
    }

    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw Problem.badParameter(name, "\"\(text)\" is not a whole number in \(range.lowerBound)–\(range.upperBound)")
        }
        return number
    }

    func uuid(_ name: String) throws -> UUID? {
        guard let text = string(name) else { return nil }
        guard let id = UUID(uuidString: text) else { throw Problem.badParameter(name, "\"\(text)\" is not an id") }
        return id
    }
}
