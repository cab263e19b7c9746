import Foundation

/// A grading scale whose invalid values cannot be represented.
///
/// Each scale decodes from, and encodes to, the form clinicians write: integers for
/// Kellgren–Lawrence, Tönnis, Koshino and MOAKS grades; Roman numerals for Ahlbäck and ARCO
/// (Ahlbäck also accepts the integers 1–5). A bad value gives an error naming the field, e.g.
/// `diagnosis.kellgrenLawrence: 5 is not a Kellgren–Lawrence grade (0–4)`.
public protocol GradingScale: Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Human name of the scale, e.g. "Kellgren–Lawrence grade".
    static var scaleName: String { get }
    /// The allowed values as shown in error messages, e.g. "0–4".
    static var allowedRange: String { get }
    /// Numeric position on the scale (used by rule comparisons: `>= 3`).
    var ordinal: Int { get }
    /// The label clinicians write ("III", "IIIB", "2").
    var label: String { get }
    /// Whether a JSON integer may stand for a grade (false for ARCO, where "3" is ambiguous).
    static var acceptsIntegers: Bool { get }
}

extension GradingScale {
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.ordinal < rhs.ordinal }

    /// Parses a written grade (integer or label); `field` is used in the error.
    public static func parse(_ text: String, field: String = "") throws(FieldValidationError) -> Self {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let match = allCases.first(where: { $0.label.caseInsensitiveCompare(trimmed) == .orderedSame }) {
            return match
        }
        throw FieldValidationError(path: field, message: "\"\(text)\" is not a \(scaleName) (\(allowedRange))")
    }

    /// Builds a grade from its integer ordinal; `field` is used in the error.
    public static func from(_ value: Int, field: String = "") throws(FieldValidationError) -> Self {
        if let match = allCases.first(where: { acceptsIntegers && $0.ordinal == value }) { return match }
        throw FieldValidationError(path: field, message: "\(value) is not a \(scaleName) (\(allowedRange))")
    }

    public static var acceptsIntegers: Bool { true }

    static func decodeGrade(from decoder: any Decoder) throws -> Self {
        let container = try decoder.singleValueContainer()
        if decoder.isWire {
            // The API takes only the documented form: an integer for numeric scales, the exact label otherwise.
            let numeric = allCases.allSatisfy { $0.label == String($0.ordinal) }
            if numeric, let number = try? container.decode(Int.self), let grade = allCases.first(where: { $0.ordinal == number }) {
                return grade
            }
            if !numeric, let text = try? container.decode(String.self), let grade = allCases.first(where: { $0.label == text }) {
                return grade
            }
            throw FieldValidationError(codingPath: decoder.codingPath,
                                       message: "expected a \(scaleName) (\(allowedRange)\(numeric ? ", as a number" : ", as written"))")
        }
        if let number = try? container.decode(Int.self) {
            do { return try from(number) } catch {
                throw FieldValidationError(codingPath: decoder.codingPath, message: error.message)
            }
        }
        if let number = try? container.decode(Double.self) {
            throw FieldValidationError(codingPath: decoder.codingPath, message: "\(number) is not a \(scaleName) (\(allowedRange))")
        }
        guard let text = try? container.decode(String.self) else {
            throw FieldValidationError(codingPath: decoder.codingPath, message: "expected a \(scaleName) (\(allowedRange))")
        }
        do { return try parse(text) } catch {
            throw FieldValidationError(codingPath: decoder.codingPath, message: error.message)
        }
    }
}

/// Kellgren–Lawrence radiographic OA grade 0–4 (Kellgren & Lawrence 1957).
public enum KellgrenLawrenceGrade: Int, GradingScale {
    case grade0 = 0, grade1, grade2, grade3, grade4
    public static let scaleName = "Kellgren–Lawrence grade"
    public static let allowedRange = "0–4"
    public var ordinal: Int { rawValue }
    public var label: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { self = try Self.decodeGrade(from: decoder) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
}

/// Ahlbäck radiographic knee OA grade I–V. Written as a Roman numeral; 1–5 also accepted.
public enum AhlbackGrade: Int, GradingScale {
    case I = 1, II, III, IV, V
    public static let scaleName = "Ahlbäck grade"
    public static let allowedRange = "I–V"
    public var ordinal: Int { rawValue }
    public var label: String { ["I", "II", "III", "IV", "V"][rawValue - 1] }
    public init(from decoder: any Decoder) throws { self = try Self.decodeGrade(from: decoder) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(label) }
}

/// Tönnis radiographic hip OA grade 0–3.
public enum TonnisGrade: Int, GradingScale {
    case grade0 = 0, grade1, grade2, grade3
    public static let scaleName = "Tönnis grade"
    public static let allowedRange = "0–3"
    public var ordinal: Int { rawValue }
    public var label: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { self = try Self.decodeGrade(from: decoder) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
}

/// ARCO 2019 osteonecrosis stage (Yoon et al. 2020): I, II, IIIA (depression ≤ 2 mm), IIIB (> 2 mm), IV.
/// Written as a label; integers are not accepted because "3" is ambiguous between IIIA and IIIB.
public enum ARCOStage: Int, GradingScale {
    case I = 1, II = 2, IIIA = 3, IIIB = 4, IV = 5
    public static let scaleName = "ARCO stage"
    public static let allowedRange = "I, II, IIIA, IIIB, IV"
    public var ordinal: Int { rawValue }
    public var label: String { ["I", "II", "IIIA", "IIIB", "IV"][rawValue - 1] }
    public static var acceptsIntegers: Bool { false }
    /// Subchondral collapse with > 2 mm depression or secondary OA: a surgical question.
    public var isCollapsed: Bool { self >= .IIIB }
    public init(from decoder: any Decoder) throws { self = try Self.decodeGrade(from: decoder) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(label) }
}

/// Koshino stage 1–4 for spontaneous osteonecrosis of the knee / SIFK (Koshino, J Bone Joint Surg Am 1982).
public enum KoshinoStage: Int, GradingScale {
    case stage1 = 1, stage2, stage3, stage4
    public static let scaleName = "Koshino stage"
    public static let allowedRange = "1–4"
    public var ordinal: Int { rawValue }
    public var label: String { String(rawValue) }
    /// Stage 3 (collapse) and 4 (secondary OA).
    public var isCollapsed: Bool { self >= .stage3 }
    public init(from decoder: any Decoder) throws { self = try Self.decodeGrade(from: decoder) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
}

/// MOAKS BML size grade per subregion (Hunter et al., Osteoarthritis Cartilage 2011;19:990–1002):
/// 0 none, 1 < 33 %, 2 33–66 %, 3 > 66 % of the subregion volume.
public enum BMLSizeGrade: Int, GradingScale {
    case none = 0, small, medium, large
    public static let scaleName = "MOAKS BML size grade"
    public static let allowedRange = "0–3"
    public var ordinal: Int { rawValue }
    public var label: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { self = try Self.decodeGrade(from: decoder) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
}

/// MOAKS "% of the lesion that is BML (vs cyst)" grade 0–3 (Hunter 2011), same bands as size.
public enum BMLPercentGrade: Int, GradingScale {
    case none = 0, under33, from33to66, over66
    public static let scaleName = "MOAKS %-BML grade"
    public static let allowedRange = "0–3"
    public var ordinal: Int { rawValue }
    public var label: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { self = try Self.decodeGrade(from: decoder) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
}
