import Foundation
import Hummingbird

/// Reads `application/x-www-form-urlencoded` bodies (the only kind the pages post).
enum Forms {
    /// The body decoded into a form struct (`FormDecoder`); a field it cannot take is a `FormDecoder.FieldError`,
    /// which the page turns into the form again with the error by the field.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, context: OssaRequestContext) async throws -> T {
        guard isForm(request.headers[.contentType]) else {
            throw Problem(.unsupportedMediaType, detail: "forms are sent as application/x-www-form-urlencoded")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        return try FormDecoder().decode(T.self, from: pairs(String(buffer: buffer)))
    }

    static func isForm(_ contentType: String?) -> Bool {
        contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } == "application/x-www-form-urlencoded"
    }

    /// The fields in the order sent, names and values percent-decoded (`+` is a space); undecodable names are skipped.
    static func pairs(_ body: String) -> [(String, String)] {
        body.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { return nil }
            return (name, parts.count > 1 ? decode(parts[1]) ?? "" : "")
        }
    }

    /// The first value of `name` in a form body, or nil.
    static func firstValue(of name: String, in body: String) -> String? {
        pairs(body).first { $0.0 == name }?.1
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
