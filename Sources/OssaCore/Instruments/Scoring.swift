import Foundation

/// Why answers could not be read or scored. Every case that concerns one item names it.
public enum ScoringError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The answers name an item the instrument does not have.
    case unknownItem(instrument: String, item: String)
    /// The value is not one of the item's answer values.
    case valueOutOfRange(instrument: String, item: String, value: Int, allowed: [Int])
    /// The item takes a date or text, not an ordinal value.
    case notAChoiceItem(instrument: String, item: String)
    /// The instrument has no numeric score (the events form).
    case notScorable(instrument: String)
    /// The answers file is not valid JSON.
    case invalidJSON(String)
    /// The answers file is JSON but not an object of item code → value.
    case notAnObject(found: String)
    /// An answer in the file is neither an integer nor null.
    case notAnInteger(item: String, found: String)

    public var description: String {
        switch self {
        case let .unknownItem(instrument, item):
            return "item '\(item)' is not an item of instrument '\(instrument)'"
        case let .valueOutOfRange(instrument, item, value, allowed):
            return "item '\(item)' of '\(instrument)': \(value) is out of range (allowed: \(Self.describe(allowed)))"
        case let .notAChoiceItem(instrument, item):
            return "item '\(item)' of '\(instrument)' takes a date or text, not a number"
        case let .notScorable(instrument):
            return "instrument '\(instrument)' has no numeric score (it records events, it is not scored)"
        case let .invalidJSON(detail):
            return "answers file is not valid JSON: \(detail)"
        case let .notAnObject(found):
            return "answers file must be a JSON object of item code → integer or null, found \(found)"
        case let .notAnInteger(item, found):
            return "item '\(item)': answer must be an integer or null, found \(found)"
        }
    }

    private static func describe(_ values: [Int]) -> String {
        let sorted = values.sorted()
        if let first = sorted.first, let last = sorted.last, sorted == Array(first...last), sorted.count > 2 {
            return "\(first)–\(last)"
        }
        return sorted.map(String.init).joined(separator: ", ")
    }
}

/// Reads an answers file: a JSON object of item code → integer ordinal or `null` (unanswered).
public enum AnswerFile {
    /// Parses the file's bytes. Rejects non-objects and any value that is not an integer or null
    /// (`"three"`, `2.5`, `true`), naming the item. Integral numbers written as `2.0` are accepted.
    public static func parse(_ data: Data) throws(ScoringError) -> [String: Int?] {
        let parsed: [String: AnswerValue]
        do {
            parsed = try JSONDecoder().decode([String: AnswerValue].self, from: data)
        } catch let error as ScoringError {
            throw error
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw .notAnObject(found: Self.describeTopLevel(data))
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw .invalidJSON(Self.syntaxDetail(data) ?? context.debugDescription)
        } catch {
            throw .invalidJSON("\(error)")
        }
        return parsed.mapValues(\.value)
    }

    /// `JSONDecoder` only says "not valid JSON"; `JSONSerialization` says where ("around character 12").
    private static func syntaxDetail(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            return (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        }
    }

    private static func describeTopLevel(_ data: Data) -> String {
        guard let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return "a non-object" }
        switch value {
        case is [Any]: return "a list"
        case is String: return "a string"
        case is NSNull: return "null"
        default: return "a number or boolean"
        }
    }
}

/// One value of an answers file; throws `ScoringError.notAnInteger` naming the item otherwise.
private struct AnswerValue: Decodable {
    let value: Int?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let item = decoder.codingPath.last?.stringValue ?? "?"
        if container.decodeNil() { value = nil; return }
        if let int = try? container.decode(Int.self) { value = int; return }
        if let bool = try? container.decode(Bool.self) { throw ScoringError.notAnInteger(item: item, found: "\(bool)") }
        if let double = try? container.decode(Double.self) { throw ScoringError.notAnInteger(item: item, found: "\(double)") }
        if let string = try? container.decode(String.self) { throw ScoringError.notAnInteger(item: item, found: "the text \"\(string)\"") }
        throw ScoringError.notAnInteger(item: item, found: "a list or object")
    }
}

extension InstrumentDefinition {
    /// Checks that every answered code is an item of this instrument and every value is one of that
    /// item's answer values. `nil` (unanswered) is always allowed. Items are checked in a stable order
    /// (unknown codes alphabetically first, then questionnaire order) so the error is reproducible.
    ///
    /// With `ignoringUnknownItems`, codes that are not items are skipped instead of rejected — e.g. to
    /// derive KOOS JR from a full KOOS (the JR items keep their parent codes).
    public func validate(answers: [String: Int?], ignoringUnknownItems: Bool = false) throws(ScoringError) {
        let known = Set(items.map(\.code))
        if !ignoringUnknownItems, let unknown = answers.keys.filter({ !known.contains($0) }).sorted().first {
            throw .unknownItem(instrument: id, item: unknown)
        }
        for item in items {
            guard let answer = answers[item.code], let value = answer else { continue }
            guard item.itemType == .choice else { throw .notAChoiceItem(instrument: id, item: item.code) }
            let allowed = options(for: item).map(\.value)
            if !allowed.contains(value) {
                throw .valueOutOfRange(instrument: id, item: item.code, value: value, allowed: allowed)
            }
        }
    }

    /// Scores `answers` (item code → ordinal; `nil` = unanswered) with this instrument's published rule.
    ///
    /// A score whose minimum number of answered items is not reached is `nil`, never an error.
    /// `ignoringUnknownItems` as in `validate(answers:ignoringUnknownItems:)`.
    public func score(_ answers: [String: Int?], ignoringUnknownItems: Bool = false) throws(ScoringError) -> ScoreResult {
        guard isScorable else { throw .notScorable(instrument: id) }
        try validate(answers: answers, ignoringUnknownItems: ignoringUnknownItems)
        let values = scores.map { definition in
            ScoreResult.Score(id: definition.id, value: Self.compute(definition, answers: answers))
        }
        return ScoreResult(instrument: id, version: scoring.version, scores: values)
    }

    private static func compute(_ score: ScoreDefinition, answers: [String: Int?]) -> Double? {
        let answered = score.items.compactMap { answers[$0] ?? nil }
        guard answered.count >= score.minimumAnswered else { return nil }
        let sum = answered.reduce(0, +)
        let transform = score.transform ?? LinearTransform(intercept: 0, slope: 1)
        switch score.method {
        case .mean:
            // slope × sum is exact for integer sums; dividing once keeps e.g. 100 − 175/5 = 65 exact.
            return transform.intercept + (transform.slope * Double(sum)) / Double(answered.count)
        case .sum:
            // Prorate to the full item count when items are missing (mean imputation).
            return transform.intercept + (transform.slope * Double(sum) * Double(score.items.count)) / Double(answered.count)
        case .table:
            guard answered.count == score.items.count else { return nil }
            return score.table?.first { $0.raw == sum }?.score
        case .item:
            return transform.intercept + transform.slope * Double(sum)
        }
    }
}
