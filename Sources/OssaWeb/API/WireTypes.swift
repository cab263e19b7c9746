import Foundation
import OssaCore
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

    /// RFC 3339 §5.6 `date-time`, exactly: `T`/`t`, `Z`/`z` or a `±hh:mm` offset, optional fraction, seconds up to
    /// 60 (a leap second reads as the next second). Foundation's ISO 8601 parser refuses some valid forms (offsets
    /// past ±18:00, lower-case letters) and accepts some invalid ones (`+0100`, `24:00:00`), so it is not used.
    static func parse(_ text: String, field: String) throws -> Date {
        let bad = Problem.validation([FieldProblem(field: field, message: "\"\(text)\" is not an RFC 3339 date-time (2026-11-27T08:00:00Z)")])
        let pattern = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
        guard let m = text.wholeMatch(of: pattern), let year = Int(m.1), let month = Int(m.2), let day = Int(m.3),
              let hour = Int(m.4), let minute = Int(m.5), let second = Int(m.6) else { throw bad }
        var offset = 0
        if m.8 == nil {
            guard let oh = m.10.flatMap({ Int($0) }), let om = m.11.flatMap({ Int($0) }), oh <= 23, om <= 59 else { throw bad }
            offset = (m.9 == "-" ? -1 : 1) * (oh * 3600 + om * 60)
        }
        guard (1...12).contains(month), hour <= 23, minute <= 59, second <= 60 else { throw bad }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59))
        guard parts.isValidDate(in: calendar), let base = calendar.date(from: parts) else { throw bad }
        let fraction = m.7.flatMap { Double("0" + $0) } ?? 0
        return base.addingTimeInterval(fraction + Double(second == 60 ? 1 : 0) - Double(offset))
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

// The domain's closed sets are the wire's: one definition (OssaCore), the same raw values everywhere.
extension PatientSex: WireEnum {}
extension EpisodeStatus: WireEnum {}
extension ImagingTiming: WireEnum {}
extension ImagingModality: WireEnum {}
extension ProcedureKind: WireEnum {}
extension TimepointStatus: WireEnum {}
extension TimepointWorklist: WireEnum {}
extension OutcomeKind: WireEnum {}
extension ScreeningCategory: WireEnum {}

extension UUID {
    /// Ids on the wire are lowercase.
    var lowercasedID: String { lowercasedString }
}
