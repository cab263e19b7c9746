import Foundation
import OssaStore

// Shared wire types of the JSON API. Wire DTOs are separate from the store's records on purpose: the API is a
// contract with clients and changes only deliberately (and with openapi.json), whatever the store does.

/// One page of a list: `{items, total, limit, offset}`.
struct PageDTO<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
    var total: Int
    var limit: Int
    var offset: Int

    init<Record: Sendable>(_ page: StorePage<Record>, _ map: (Record) -> Item) {
        items = page.items.map(map)
        total = page.total
        limit = page.limit
        offset = page.offset
    }
}

/// Instants on the wire: RFC 3339 in UTC (`2026-11-27T08:00:00Z`).
enum WireDate {
    static func string(_ date: Date?) -> String? {
        date.map { $0.formatted(.iso8601) }
    }

    static func parse(_ text: String, field: String) throws -> Date {
        guard let date = try? Date.ISO8601FormatStyle().parse(text) else {
            throw Problem.validation([FieldProblem(field: field, message: "\"\(text)\" is not an RFC 3339 date-time (2026-11-27T08:00:00Z)")])
        }
        return date
    }
}

/// A closed set of strings on the wire; an unknown value names the field and the accepted values.
protocol WireEnum: RawRepresentable<String>, CaseIterable, Codable, Sendable {}

extension WireEnum {
    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\"\(text)\" is not one of \(Self.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))"))
        }
        self = value
    }
}

extension UUID {
    /// Ids on the wire are lowercase.
    var lowercasedID: String { uuidString.lowercased() }
}
