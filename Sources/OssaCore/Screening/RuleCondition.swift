import Foundation

/// Comparators of the ruleset expression language.
public enum Comparator: String, Sendable, Codable, CaseIterable {
    case lessThan = "<"
    case lessOrEqual = "<="
    case greaterThan = ">"
    case greaterOrEqual = ">="
    case equal = "=="
    case notEqual = "!="
    /// Scalar parameter is one of the listed values; a list parameter shares at least one value with them.
    case isIn = "in"
    /// Negation of `in` on a recorded value.
    case notIn = "not-in"
    /// The input does not record the parameter.
    case missing
    /// The input records the parameter.
    case present
    /// A date parameter lies fewer than N days before the evaluation date (0 ≤ days < N).
    case withinDays = "within-days"
    /// A date parameter lies less than N calendar months before the evaluation date.
    case withinMonths = "within-months"
}

/// A literal in a rule condition.
public enum RuleValue: Sendable, Hashable, Codable {
    case number(Double)
    case text(String)
    case flag(Bool)
    case list([RuleValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .flag(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else if let l = try? c.decode([RuleValue].self) { self = .list(l) }
        else { throw FieldValidationError(codingPath: decoder.codingPath, message: "expected a number, string, true/false or a list") }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .text(let s): try c.encode(s)
        case .flag(let b): try c.encode(b)
        case .list(let l): try c.encode(l)
        }
    }

    var display: String {
        switch self {
        case .number(let n): ParameterValue.formatNumber(n)
        case .text(let s): "\"\(s)\""
        case .flag(let b): b ? "true" : "false"
        case .list(let l): "[" + l.map(\.display).joined(separator: ", ") + "]"
        }
    }
}

/// A condition over named screening parameters: the small expression language of rulesets.
///
/// JSON forms:
/// - `{"all": [c, …]}`, `{"any": [c, …]}`, `{"not": c}`
/// - `{"param": "labs.platelets", "op": "<", "value": 150}`
/// - `{"param": "mri.date", "op": "missing"}`
/// - `{"param": "medications.nsaidLastDose", "op": "within-days", "value": 15}`
/// - `{"param": "diagnosis.arco", "op": "in", "value": ["IIIB", "IV"]}`
///
/// Parameters, comparators and value types are checked against `ScreeningParameters.catalogue`
/// while decoding, and errors name the path (`rules[3].when.all[0].op: unknown comparator "≈"`).
public indirect enum RuleCondition: Sendable, Hashable, Codable {
    case all([RuleCondition])
    case any([RuleCondition])
    case not(RuleCondition)
    case compare(param: String, op: Comparator, value: RuleValue?)

    private enum Key: String, CodingKey, CaseIterable { case all, any, not, param, op, value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        let path = decoder.codingPath
        func fail(_ key: Key?, _ message: String) -> FieldValidationError {
            FieldValidationError(codingPath: path + (key.map { [AnyCodingKey(stringValue: $0.rawValue)] } ?? []), message: message)
        }
        for k in c.allKeys where Key(stringValue: k.stringValue) == nil {
            throw FieldValidationError(codingPath: path + [k], message: "unknown field \"\(k.stringValue)\" in a condition (use all, any, not, or param + op + value)")
        }
        let present = Set(c.allKeys.compactMap { Key(stringValue: $0.stringValue) })
        let combinators = present.intersection([.all, .any, .not])
        func key(_ k: Key) -> AnyCodingKey { AnyCodingKey(stringValue: k.rawValue) }

        if let combinator = combinators.first {
            guard combinators.count == 1, present.count == 1 else {
                throw fail(nil, "a condition is exactly one of all, any, not, or a comparison (found \(present.map(\.rawValue).sorted().joined(separator: ", ")))")
            }
            switch combinator {
            case .all, .any:
                let parts = try c.decode([RuleCondition].self, forKey: key(combinator))
                if parts.isEmpty { throw fail(combinator, "needs at least one condition") }
                self = combinator == .all ? .all(parts) : .any(parts)
            default:
                self = .not(try c.decode(RuleCondition.self, forKey: key(.not)))
            }
            return
        }
        guard present.contains(.param) else { throw fail(.param, "is required (or use all, any, not)") }
        guard present.contains(.op) else { throw fail(.op, "is required") }
        let name = try c.decode(String.self, forKey: key(.param))
        guard let parameter = ScreeningParameters.byName[name] else {
            throw fail(.param, "unknown parameter \"\(name)\"")
        }
        let opText = try c.decode(String.self, forKey: key(.op))
        guard let op = Comparator(rawValue: opText) else {
            throw fail(.op, "unknown comparator \"\(opText)\" (one of \(Comparator.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let value = try c.decodeIfPresent(RuleValue.self, forKey: key(.value))
        if let problem = Self.typeProblem(parameter: parameter, op: op, value: value) {
            throw fail(problem.onValue ? .value : .op, problem.message)
        }
        self = .compare(param: name, op: op, value: value)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .all(let parts): try c.encode(parts, forKey: .all)
        case .any(let parts): try c.encode(parts, forKey: .any)
        case .not(let inner): try c.encode(inner, forKey: .not)
        case .compare(let param, let op, let value):
            try c.encode(param, forKey: .param)
            try c.encode(op.rawValue, forKey: .op)
            try c.encodeIfPresent(value, forKey: .value)
        }
    }

    /// Checks that comparator and literal suit the parameter's type; `nil` when fine.
    static func typeProblem(parameter p: ScreeningParameter, op: Comparator, value: RuleValue?) -> (onValue: Bool, message: String)? {
        func checkAllowed(_ literal: RuleValue) -> (Bool, String)? {
            guard case .text(let s) = literal, let allowed = p.allowedValues, !allowed.contains(s) else { return nil }
            return (true, "\"\(s)\" is not a value of \(p.name) (one of \(allowed.joined(separator: ", ")))")
        }
        func scalarMatches(_ literal: RuleValue) -> Bool {
            switch (p.type, literal) {
            case (.number, .number), (.text, .text), (.list, .text), (.flag, .flag): true
            default: false
            }
        }
        switch op {
        case .missing, .present:
            return value == nil ? nil : (true, "\"\(op.rawValue)\" takes no value")
        case .lessThan, .lessOrEqual, .greaterThan, .greaterOrEqual:
            guard p.type == .number else { return (false, "\"\(op.rawValue)\" needs a number parameter; \(p.name) is a \(p.type.rawValue)") }
            guard case .number = value else { return (true, "\"\(op.rawValue)\" needs a number value") }
            return nil
        case .equal, .notEqual:
            guard p.type != .list, p.type != .date else { return (false, "\"\(op.rawValue)\" cannot compare a \(p.type.rawValue) parameter (\(p.name)); use \"in\" or \"within-days\"") }
            guard let value, scalarMatches(value) else { return (true, "\"\(op.rawValue)\" on \(p.name) needs a \(p.type.rawValue) value") }
            return checkAllowed(value)
        case .isIn, .notIn:
            guard p.type == .text || p.type == .list || p.type == .number else {
                return (false, "\"\(op.rawValue)\" needs a text, list or number parameter; \(p.name) is a \(p.type.rawValue)")
            }
            guard case .list(let items) = value, !items.isEmpty else { return (true, "\"\(op.rawValue)\" needs a non-empty list value") }
            for item in items {
                if !scalarMatches(item) { return (true, "\(item.display) is not a \(p.type == .number ? "number" : "text") value for \(p.name)") }
                if let problem = checkAllowed(item) { return problem }
            }
            return nil
        case .withinDays, .withinMonths:
            guard p.type == .date else { return (false, "\"\(op.rawValue)\" needs a date parameter; \(p.name) is a \(p.type.rawValue)") }
            guard case .number(let n) = value, n == n.rounded(), n > 0 else { return (true, "\"\(op.rawValue)\" needs a positive whole number") }
            return nil
        }
    }

    /// Evaluates the condition; missing parameters make every comparison false except `missing`.
    public func evaluate(_ params: [String: ParameterValue], on date: CalendarDate) -> Bool {
        switch self {
        case .all(let parts): return parts.allSatisfy { $0.evaluate(params, on: date) }
        case .any(let parts): return parts.contains { $0.evaluate(params, on: date) }
        case .not(let inner): return !inner.evaluate(params, on: date)
        case .compare(let name, let op, let literal):
            guard let actual = params[name] else { return op == .missing }
            switch (op, actual, literal) {
            case (.missing, _, _): return false
            case (.present, _, _): return true
            case (.lessThan, .number(let a), .number(let b)?): return a < b
            case (.lessOrEqual, .number(let a), .number(let b)?): return a <= b
            case (.greaterThan, .number(let a), .number(let b)?): return a > b
            case (.greaterOrEqual, .number(let a), .number(let b)?): return a >= b
            case (.equal, _, let b?): return Self.equals(actual, b)
            case (.notEqual, _, let b?): return !Self.equals(actual, b)
            case (.isIn, _, .list(let items)?): return Self.isIn(actual, items)
            case (.notIn, _, .list(let items)?): return !Self.isIn(actual, items)
            case (.withinDays, .date(let d), .number(let n)?):
                let elapsed = d.days(to: date)
                return elapsed >= 0 && Double(elapsed) < n
            case (.withinMonths, .date(let d), .number(let n)?):
                return d <= date && date < d.adding(months: Int(n))
            default: return false
            }
        }
    }

    private static func equals(_ a: ParameterValue, _ b: RuleValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): x == y
        case (.text(let x), .text(let y)): x == y
        case (.flag(let x), .flag(let y)): x == y
        default: false
        }
    }

    private static func isIn(_ a: ParameterValue, _ items: [RuleValue]) -> Bool {
        switch a {
        case .list(let values): values.contains { v in items.contains(.text(v)) }
        default: items.contains { equals(a, $0) }
        }
    }

    /// Parameters the condition refers to.
    public var parameters: [String] {
        switch self {
        case .all(let parts), .any(let parts): parts.flatMap(\.parameters)
        case .not(let inner): inner.parameters
        case .compare(let p, _, _): [p]
        }
    }
}
