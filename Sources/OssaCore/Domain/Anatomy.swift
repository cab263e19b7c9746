import Foundation

/// The joints the programme treats.
public enum Joint: String, Sendable, Codable, CaseIterable, Hashable {
    case knee, hip, ankle, shoulder

    public init(from decoder: any Decoder) throws {
        self = try decodeNamedCase(from: decoder, what: "joint")
    }
}

/// Laterality of a treated joint.
public enum Side: String, Sendable, Codable, CaseIterable, Hashable {
    case left, right

    public init(from decoder: any Decoder) throws {
        self = try decodeNamedCase(from: decoder, what: "side")
    }
}

/// Decodes a string-backed enum, naming the field and listing the accepted values on failure.
func decodeNamedCase<E: RawRepresentable & CaseIterable>(from decoder: any Decoder, what: String) throws -> E
where E.RawValue == String {
    let container = try decoder.singleValueContainer()
    guard let raw = try? container.decode(String.self) else {
        throw FieldValidationError(codingPath: decoder.codingPath, message: "expected a \(what) as a string")
    }
    guard let value = E(rawValue: raw) else {
        let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        throw FieldValidationError(codingPath: decoder.codingPath, message: "\"\(raw)\" is not a \(what) (one of \(allowed))")
    }
    return value
}

/// Builds a string-backed enum from a raw value outside decoding, naming the field on failure.
func namedCase<E: RawRepresentable & CaseIterable>(_ raw: String, field: String, what: String) throws(FieldValidationError) -> E
where E.RawValue == String {
    guard let value = E(rawValue: raw) else {
        let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        throw FieldValidationError(path: field, message: "\"\(raw)\" is not a \(what) (one of \(allowed))")
    }
    return value
}
