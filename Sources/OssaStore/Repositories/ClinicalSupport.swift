import FluentKit
import Foundation
import OssaCore
import SQLKit

/// Site and patient scoping for records that belong to an episode (they carry `site_id` and `episode_id`).
enum ClinicalScope {
    /// `query` restricted to what the actor may see, inside the SQL WHERE clause; nil when that is nothing.
    /// Granted sites filter on the record's own `site_id`; a patient login sees the records of their own
    /// episodes (`episode_id IN (SELECT id FROM episodes WHERE patient_id = …)`).
    static func apply<M: Model>(_ query: QueryBuilder<M>, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> QueryBuilder<M>? {
        switch scope {
        case .all:
            return query
        case .grantedSites:
            guard !actor.siteIDs.isEmpty else { return nil }
            return query.filter(.path([.string("site_id")], schema: M.schemaOrAlias), .subset(inverse: false),
                                .array(actor.siteIDList.map { .bind($0) }))
        case .ownRecord:
            guard let patientID = actor.patientID else { return nil }
            return query.filter(.sql(embed: "\(ident: M.schemaOrAlias).\(ident: "episode_id") IN (SELECT \(ident: "id") FROM \(ident: "episodes") WHERE \(ident: "patient_id") = \(bind: patientID))"))
        case .denied:
            return nil
        }
    }

    /// The episode the actor may act on under `scope`, or `StoreError.notFound` (other sites look absent).
    static func episode(_ id: UUID, _ actor: ActingUser, _ scope: AccessPolicy.Scope, on db: any Database) async throws -> EpisodeModel {
        guard let episode = try await EpisodeRepository.scoped(EpisodeModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
            throw StoreError.notFound(recordType: "episode", id: id.lowerString)
        }
        return episode
    }

    static func emptyPage<T>(_ page: PageRequest) -> Page<T> {
        Page(items: [], total: 0, limit: page.limit, offset: page.offset)
    }

    /// An empty page, or `StoreError.notFound` when the list was asked for one episode the actor may not see:
    /// "no such episode" rather than "no records", so that `/episodes/{id}/…` of another site is a 404.
    static func emptyPage<T>(_ page: PageRequest, episode: UUID?, _ actor: ActingUser, on db: any Database) async throws -> Page<T> {
        try await requireEpisode(episode, ifEmpty: true, actor, on: db)
        return emptyPage(page)
    }

    /// When a list of one episode's records came back empty, checks that the episode itself is visible (one more
    /// statement, only then) and throws `StoreError.notFound` otherwise.
    static func requireEpisode(_ id: UUID?, ifEmpty empty: Bool, _ actor: ActingUser, on db: any Database) async throws {
        guard let id, empty else { return }
        _ = try await episode(id, actor, AccessPolicy.scope(actor.role, .read, .episode), on: db)
    }
}

/// A range of calendar days, both ends inclusive; either end may be open. One that ends before it starts holds no
/// day: the filters built from it match nothing.
public struct DateRange: Sendable, Hashable {
    public var from: CalendarDate?
    public var to: CalendarDate?

    public init(from: CalendarDate? = nil, to: CalendarDate? = nil) {
        self.from = from
        self.to = to
    }

}

/// A span of instants, `from` included and `before` excluded, either open: when a record last changed (FHIR
/// `_lastUpdated`).
public struct InstantRange: Sendable, Hashable {
    public var from: Date?
    public var before: Date?

    public init(from: Date? = nil, before: Date? = nil) {
        self.from = from
        self.before = before
    }
}

extension QueryBuilder {
    /// `from <= column < before` on an instant column.
    func filterSpan(_ column: String, _ span: InstantRange?) -> Self {
        guard let span else { return self }
        var query = self
        if let from = span.from { query = query.filter(.path([.string(column)], schema: Model.schemaOrAlias), .greaterThanOrEqual, .bind(from)) }
        if let before = span.before { query = query.filter(.path([.string(column)], schema: Model.schemaOrAlias), .lessThan, .bind(before)) }
        return query
    }

    /// `column BETWEEN from AND to` on ISO `YYYY-MM-DD` text columns (text order is date order).
    func filterDates(_ column: String, _ range: DateRange?) -> Self {
        guard let range else { return self }
        var query = self
        if let from = range.from {
            query = query.filter(.path([.string(column)], schema: Model.schemaOrAlias), .greaterThanOrEqual, .bind(from.iso))
        }
        if let to = range.to {
            query = query.filter(.path([.string(column)], schema: Model.schemaOrAlias), .lessThanOrEqual, .bind(to.iso))
        }
        return query
    }

    /// `column BETWEEN from AND to` on instants: `from` at 00:00 UTC, `to` at the end of its day.
    func filterInstants(_ column: String, _ range: DateRange?) -> Self {
        guard let range else { return self }
        var query = self
        if let from = range.from {
            query = query.filter(.path([.string(column)], schema: Model.schemaOrAlias), .greaterThanOrEqual, .bind(from.startOfDayUTC))
        }
        if let to = range.to {
            query = query.filter(.path([.string(column)], schema: Model.schemaOrAlias), .lessThan, .bind(to.adding(days: 1).startOfDayUTC))
        }
        return query
    }

    /// Only rows of episodes of this patient (a subquery, so no join is needed).
    func filterPatient(_ patientID: UUID?) -> Self {
        guard let patientID else { return self }
        return filter(.sql(embed: "\(ident: Model.schemaOrAlias).\(ident: "episode_id") IN (SELECT \(ident: "id") FROM \(ident: "episodes") WHERE \(ident: "patient_id") = \(bind: patientID))"))
    }
}

/// JSON for stored documents: sorted keys, so equal values store equal text.
enum StoredJSON {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Raw answers as a JSON object with sorted keys (`{"P1":2,"P2":null}`): the hot path of submissions and of the
    /// demo load, written directly (JSONEncoder spends most of its time on a dictionary this simple).
    static func answers(_ answers: [String: Int?]) -> String {
        var out = "{"
        out.reserveCapacity(answers.count * 8 + 2)
        for (index, key) in answers.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            appendString(key, to: &out)
            out += ":"
            if let value = answers[key] ?? nil { out += String(value) } else { out += "null" }
        }
        return out + "}"
    }

    /// Computed scores as stored: `{"instrument":"koos","version":"2012","scores":{"symptoms":75,"pain":null}}`
    /// (scores in the instrument's order; numbers in Swift's shortest round-trip form).
    static func scores(_ result: ScoreResult) -> String {
        var out = "{\"instrument\":"
        appendString(result.instrument, to: &out)
        out += ",\"version\":"
        appendString(result.version, to: &out)
        out += ",\"scores\":{"
        for (index, score) in result.scores.enumerated() {
            if index > 0 { out += "," }
            appendString(score.id, to: &out)
            out += ":"
            if let value = score.value, value.isFinite { out += "\(value)" } else { out += "null" }
        }
        return out + "}}"
    }

    /// A JSON string literal (RFC 8259 escaping).
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Stored answers back, read directly when they are in the form `answers(_:)` writes (plain keys, integers and
    /// nulls) and by JSONDecoder otherwise: exports read every response, and JSONDecoder was a tenth of their time.
    static func decodeAnswers(_ text: String) throws -> [String: Int?] {
        if let answers = parseAnswers(text) { return answers }
        return try decode([String: Int?].self, text, field: "answers")
    }

    /// Computed scores back (`scores(_:)`'s form), read directly like the answers, else by JSONDecoder.
    static func decodeScoreValues(_ text: String) throws -> [String: Double?] {
        if let scores = parseScores(text) { return scores }
        struct Stored: Decodable { var scores: [String: Double?] }
        return try decode(Stored.self, text, field: "scores").scores
    }

    /// `{"K":1,"L":null}` → the dictionary; nil for anything else (escapes, spaces, other values), left to JSONDecoder.
    static func parseAnswers(_ text: String) -> [String: Int?]? {
        var text = text
        return text.withUTF8 { bytes -> [String: Int?]? in
            var reader = FlatJSONReader(bytes: bytes)
            guard reader.take(UInt8(ascii: "{")) else { return nil }
            var answers: [String: Int?] = [:]
            if reader.take(UInt8(ascii: "}")) { return reader.atEnd ? answers : nil }
            repeat {
                guard let key = reader.plainString(), reader.take(UInt8(ascii: ":")) else { return nil }
                if reader.takeNull() {
                    answers[key] = .some(nil)
                } else {
                    guard let token = reader.numberToken(), let value = Int(token) else { return nil }
                    answers[key] = value
                }
            } while reader.take(UInt8(ascii: ","))
            return reader.take(UInt8(ascii: "}")) && reader.atEnd ? answers : nil
        }
    }

    /// `{"instrument":"…","version":"…","scores":{"id":75,"other":null}}` → the scores; nil for anything else.
    static func parseScores(_ text: String) -> [String: Double?]? {
        var text = text
        return text.withUTF8 { bytes -> [String: Double?]? in
            var reader = FlatJSONReader(bytes: bytes)
            guard reader.take(UInt8(ascii: "{")), reader.plainString() == "instrument", reader.take(UInt8(ascii: ":")),
                  reader.plainString() != nil, reader.take(UInt8(ascii: ",")),
                  reader.plainString() == "version", reader.take(UInt8(ascii: ":")), reader.plainString() != nil,
                  reader.take(UInt8(ascii: ",")), reader.plainString() == "scores", reader.take(UInt8(ascii: ":")),
                  reader.take(UInt8(ascii: "{")) else { return nil }
            var scores: [String: Double?] = [:]
            if !reader.take(UInt8(ascii: "}")) {
                repeat {
                    guard let key = reader.plainString(), reader.take(UInt8(ascii: ":")) else { return nil }
                    if reader.takeNull() {
                        scores[key] = .some(nil)
                    } else {
                        guard let token = reader.numberToken(), let value = Double(token), value.isFinite else { return nil }
                        scores[key] = value
                    }
                } while reader.take(UInt8(ascii: ","))
                guard reader.take(UInt8(ascii: "}")) else { return nil }
            }
            return reader.take(UInt8(ascii: "}")) && reader.atEnd ? scores : nil
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, field: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            // Stored content this build cannot read is a fault of the database, not of the request.
            throw StoreError.unreadable(field: field, value: "JSON this build cannot read")
        }
    }
}

extension FieldValidationError {
    /// The same error as the store reports it, with the field path under `prefix`.
    func storeError(under prefix: String = "") -> StoreError {
        let field = prefix.isEmpty ? path : (path.isEmpty ? prefix : FieldPath.join(prefix, path))
        return StoreError.invalid(field: field.isEmpty ? prefix : field, message: message)
    }
}

/// Runs a domain validation and reports its failure as `StoreError.invalid` naming the field.
func validating(under prefix: String = "", _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as FieldValidationError {
        throw error.storeError(under: prefix)
    }
}

func parseStoredDate(_ text: String, field: String) throws -> CalendarDate {
    do {
        return try CalendarDate(iso: text)
    } catch {
        // A stored value the domain cannot read is a fault of the database's content, not of the request.
        throw StoreError.unreadable(field: field, value: text)
    }
}

/// The access rules of `ClinicalScope.apply`, `EpisodeRepository.scoped` and `PatientRepository.scoped` as SQL
/// conditions, for read models written in SQLKit (joins and unions, whose rows need no Fluent model). Each names
/// its table (or alias), so that every table a statement reads is restricted, not only the first.
enum SQLScope {
    /// A clinical record table (with `site_id` and `episode_id`); nil when the actor may see none of it.
    static func record(_ table: String, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> SQLQueryString? {
        switch scope {
        case .all: return "1 = 1"
        case .grantedSites: return sites(table, actor)
        case .ownRecord:
            guard let patientID = actor.patientID else { return nil }
            return "\(ident: table).\(ident: "episode_id") IN (SELECT \(ident: "id") FROM \(ident: "episodes") WHERE \(ident: "patient_id") = \(bind: patientID))"
        case .denied: return nil
        }
    }

    /// The episodes table.
    static func episode(_ table: String, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> SQLQueryString? {
        switch scope {
        case .all: return "1 = 1"
        case .grantedSites: return sites(table, actor)
        case .ownRecord: return actor.patientID.map { "\(ident: table).\(ident: "patient_id") = \(bind: $0)" }
        case .denied: return nil
        }
    }

    /// The patients table.
    static func patient(_ table: String, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> SQLQueryString? {
        switch scope {
        case .all: return "1 = 1"
        case .grantedSites: return sites(table, actor)
        case .ownRecord: return actor.patientID.map { "\(ident: table).\(ident: "id") = \(bind: $0)" }
        case .denied: return nil
        }
    }

    private static func sites(_ table: String, _ actor: ActingUser) -> SQLQueryString? {
        guard !actor.siteIDs.isEmpty else { return nil }
        return "\(ident: table).\(ident: "site_id") IN (\(binds: actor.siteIDList))"
    }
}

/// `alias.column, …` for a read model's SELECT. The names are the store's own constants, written out once as raw
/// SQL: serializing each as an `SQLIdentifier` (which escapes it) was a tenth of a page read afresh.
func qualifiedColumns(_ alias: String, _ columns: [String]) -> SQLQueryString {
    precondition((CollectionOfOne(alias) + columns).allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } })
    return SQLQueryString(columns.map { "\(alias).\($0)" }.joined(separator: ", "))
}

/// Reads the flat JSON the store writes itself, without whitespace; any surprise makes its caller give up (nil).
private struct FlatJSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func takeNull() -> Bool {
        guard index + 4 <= bytes.count, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
              bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l") else { return false }
        index += 4
        return true
    }

    /// A string without escapes (a backslash or a control character gives up).
    mutating func plainString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return value
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    /// The characters of a JSON number, for Int or Double to parse.
    mutating func numberToken() -> Substring? {
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
                 UInt8(ascii: "e"), UInt8(ascii: "E"):
                index += 1
            default:
                return index > start ? Substring(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)) : nil
            }
        }
        return index > start ? Substring(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)) : nil
    }
}
