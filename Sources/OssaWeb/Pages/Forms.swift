import Foundation
import Hummingbird

/// Reads an `application/x-www-form-urlencoded` body (the only kind the pages post) into string fields.
enum Forms {
    static func fields(_ request: Request, context: OssaRequestContext) async throws -> [String: String] {
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard type == "application/x-www-form-urlencoded" else {
            throw Problem(.unsupportedMediaType, detail: "forms are sent as application/x-www-form-urlencoded")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
