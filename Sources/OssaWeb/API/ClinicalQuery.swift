import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// Query parameters shared by the clinical record lists (screening, imaging, procedures, timepoints, outcome
/// events): paging, ids, days (`YYYY-MM-DD`), booleans and closed sets. A bad value is a 400 naming the parameter.
struct ClinicalQuery {
    let query: QueryParameters

    init(_ request: Request) {
        query = QueryParameters(request: request)
    }

    func page() throws -> PageRequest {
        PageRequest(limit: try query.int("limit", default: 50, range: 1...PageRequest.maximumLimit),
                    offset: try query.int("offset", default: 0, range: 0...Int(Int32.max)))
    }

    func uuid(_ name: String) throws -> UUID? {
        try query.uuid(name)
    }

    func date(_ name: String) throws -> CalendarDate? {
        guard let text = query.string(name) else { return nil }
        guard let date = try? CalendarDate(iso: text) else {
            throw Problem.badParameter(name, "\"\(text)\" is not a date (YYYY-MM-DD)")
        }
        return date
    }

    /// `from` and `to` (both inclusive, either may be left out); nil when neither is given. A range that ends
    /// before it starts holds no day, so it matches nothing (an empty page, not an error: OpenAPI cannot state a
    /// rule between two parameters, so every pair of valid days is a valid request).
    func dateRange(from fromName: String = "from", to toName: String = "to") throws -> DateRange? {
        let from = try date(fromName), to = try date(toName)
        if from == nil, to == nil { return nil }
        return DateRange(from: from, to: to)
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = query.string(name) else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw Problem.badParameter(name, "\"\(text)\" is not true or false")
        }
    }

    func value<Value: WireEnum>(_ name: String, as type: Value.Type = Value.self) throws -> Value? {
        guard let text = query.string(name) else { return nil }
        guard let value = Value(rawValue: text) else {
            throw Problem.badParameter(name, "\"\(text)\" is not one of \(Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return value
    }
}
