import Foundation

/// An input or data-file error that names the offending field by its path, e.g.
/// `diagnosis.kellgrenLawrence: 5 is not a Kellgren–Lawrence grade (0–4)`.
///
/// Every decoder and validator in the clinical domain reports through this one type so the CLI, the
/// web forms and the API can all point the user at the exact field.
public struct FieldValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted path with array indices, e.g. `rules[3].when.all[0].op`; empty for the document root.
    public let path: String
    /// What is wrong, in plain language, without the path.
    public let message: String
    /// Further problems found in the same input (a form or body reports every problem at once, not only the first).
    public let more: [FieldValidationError]

    public init(path: String, message: String) {
        self.path = path
        self.message = message
        more = []
    }

    /// The first problem of `problems`, carrying the others in `more`; nil when there are none.
    public init?(all problems: [FieldValidationError]) {
        guard let first = problems.first else { return nil }
        path = first.path
        message = first.message
        more = problems.dropFirst().flatMap(\.all)
    }

    /// This problem and every further one, in order.
    public var all: [FieldValidationError] { [FieldValidationError(path: path, message: message)] + more }

    /// Builds the error for the value at `codingPath` (as seen by a `Decoder`).
    public init(codingPath: [any CodingKey], message: String) {
        self.init(path: FieldPath.render(codingPath), message: message)
    }

    public var description: String {
        all.map { $0.path.isEmpty ? $0.message : "\($0.path): \($0.message)" }.joined(separator: "; ")
    }

    /// Converts any error thrown while decoding into a path-naming error.
    public static func from(_ error: any Error) -> FieldValidationError {
        if let own = error as? FieldValidationError { return own }
        guard let decoding = error as? DecodingError else {
            return FieldValidationError(path: "", message: "\(error)")
        }
        switch decoding {
        case .keyNotFound(let key, let context):
            return FieldValidationError(codingPath: context.codingPath + [key], message: "is required but missing")
        case .typeMismatch(let type, let context):
            return FieldValidationError(codingPath: context.codingPath, message: "expected \(FieldPath.describe(type))")
        case .valueNotFound(let type, let context):
            return FieldValidationError(codingPath: context.codingPath, message: "expected \(FieldPath.describe(type)), found null")
        case .dataCorrupted(let context):
            // JSON syntax errors arrive here with an empty path and an underlying NSError.
            if context.codingPath.isEmpty, let underlying = context.underlyingError {
                return FieldValidationError(path: "", message: "not valid JSON (\((underlying as NSError).localizedDescription))")
            }
            return FieldValidationError(codingPath: context.codingPath, message: context.debugDescription)
        @unknown default:
            return FieldValidationError(path: "", message: "\(error)")
        }
    }
}

/// Renders coding paths the way users write them: `a.b[2].c`.
public enum FieldPath {
    public static func render(_ codingPath: [any CodingKey]) -> String {
        var out = ""
        for key in codingPath {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    /// Appends a component to a rendered path.
    public static func join(_ base: String, _ field: String) -> String {
        base.isEmpty ? field : "\(base).\(field)"
    }

    /// Appends an array index to a rendered path.
    public static func index(_ base: String, _ index: Int) -> String { "\(base)[\(index)]" }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type, is Float.Type, is Int64.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") || name.contains("Keyed") { return "an object" }
            return "a value of type \(name)"
        }
    }
}
