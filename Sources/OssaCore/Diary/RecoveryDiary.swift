import Foundation

// MARK: - The form as data

/// How a diary question is answered; a web page renders each kind generically.
public enum DiaryFieldKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Whole numbers `min`…`max` (the 0–10 pain scale), with end labels.
    case scale
    /// Exactly one of `options`.
    case single
    /// One or more of `options`.
    case multiple
    /// `yes` or `no` (the two `options` give their labels).
    case yesNo = "yes-no"
    /// A decimal number `min`…`max` in `unit`.
    case number
    /// Free text up to `maxLength` characters.
    case text

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "field kind") }
}

/// One answer of a choice question: the value the form posts and the label the patient reads.
public struct DiaryFormOption: Sendable, Hashable, Codable {
    public var value: String
    public var label: String
}

/// One question of the daily form.
public struct DiaryFormField: Sendable, Hashable, Codable {
    /// The `DiaryEntry` field it fills (`pain`, `redness`, …), also the form's input name.
    public var id: String
    /// The question in plain language for the patient.
    public var question: String
    /// An optional line of help under the question.
    public var help: String?
    public var kind: DiaryFieldKind
    public var required: Bool
    /// The answers of `single`, `multiple` and `yes-no` questions, in the order shown.
    public var options: [DiaryFormOption]?
    /// Range and step of `scale` and `number` questions (checked against what `DiaryEntry` accepts).
    public var min: Double?
    public var max: Double?
    public var step: Double?
    /// Unit shown after a `number` input (`°C`).
    public var unit: String?
    /// Labels at the two ends of a `scale`.
    public var minLabel: String?
    public var maxLabel: String?
    /// Longest answer of a `text` question, in characters.
    public var maxLength: Int?
}

/// The daily form: an introduction and the questions in the order shown.
public struct DiaryForm: Sendable, Hashable, Codable {
    public var intro: String?
    public var fields: [DiaryFormField]

    public subscript(id: String) -> DiaryFormField? { fields.first { $0.id == id } }
}

// MARK: - Red-flag rules as data

/// How fast a red flag needs a clinician: `urgent` (now, same hour) or `review` (today).
public enum DiaryFlagSeverity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case review, urgent
    public static func < (a: Self, b: Self) -> Bool { a == .review && b == .urgent }
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "flag severity") }
}

/// What a rule looks at: exactly one of the fields is given, and its threshold is data.
public struct DiaryRuleCondition: Sendable, Hashable, Codable {
    /// Fires when the patient answered "feverish" or measured at least this temperature (°C).
    public var feverOrTemperatureAtLeast: Double?
    /// Fires when the redness answer is one of these.
    public var rednessIn: [DiaryRedness]?
    /// Fires when today's pain is at least this (0–10).
    public var painAtLeast: Int?
    /// Fires when today's pain is at least this many points above the latest earlier recorded day.
    public var painRiseAtLeast: Int?
    /// Fires when the weight-bearing answer is one of these.
    public var weightBearingIn: [DiaryWeightBearing]?

    public init(feverOrTemperatureAtLeast: Double? = nil, rednessIn: [DiaryRedness]? = nil, painAtLeast: Int? = nil,
                painRiseAtLeast: Int? = nil, weightBearingIn: [DiaryWeightBearing]? = nil) {
        self.feverOrTemperatureAtLeast = feverOrTemperatureAtLeast
        self.rednessIn = rednessIn
        self.painAtLeast = painAtLeast
        self.painRiseAtLeast = painRiseAtLeast
        self.weightBearingIn = weightBearingIn
    }

    func matches(_ entry: DiaryEntry, previous: DiaryEntry?) -> Bool {
        if let t = feverOrTemperatureAtLeast { return entry.fever || (entry.temperature.map { $0 >= t } ?? false) }
        if let set = rednessIn { return set.contains(entry.redness) }
        if let n = painAtLeast { return entry.pain >= n }
        if let n = painRiseAtLeast { return previous.map { entry.pain - $0.pain >= n } ?? false }
        if let set = weightBearingIn { return set.contains(entry.weightBearing) }
        return false
    }

    func validate(at path: String) throws(FieldValidationError) {
        var given: [String] = []
        if let t = feverOrTemperatureAtLeast {
            given.append("feverOrTemperatureAtLeast")
            if !DiaryEntry.temperatureRange.contains(t) {
                throw FieldValidationError(path: "\(path).feverOrTemperatureAtLeast", message: "\(t) is outside 34.0–43.0 °C")
            }
        }
        if let set = rednessIn {
            given.append("rednessIn")
            if set.isEmpty { throw FieldValidationError(path: "\(path).rednessIn", message: "must list at least one answer") }
        }
        if let n = painAtLeast {
            given.append("painAtLeast")
            if !(1...10).contains(n) { throw FieldValidationError(path: "\(path).painAtLeast", message: "\(n) is not 1–10") }
        }
        if let n = painRiseAtLeast {
            given.append("painRiseAtLeast")
            if !(1...10).contains(n) { throw FieldValidationError(path: "\(path).painRiseAtLeast", message: "\(n) is not 1–10 points") }
        }
        if let set = weightBearingIn {
            given.append("weightBearingIn")
            if set.isEmpty { throw FieldValidationError(path: "\(path).weightBearingIn", message: "must list at least one answer") }
        }
        guard given.count == 1 else {
            throw FieldValidationError(path: path, message: given.isEmpty
                ? "give one of feverOrTemperatureAtLeast, rednessIn, painAtLeast, painRiseAtLeast or weightBearingIn"
                : "give only one condition (found \(given.joined(separator: ", ")))")
        }
    }
}

/// One red-flag rule: a condition, from which diary day it applies, and what staff and the patient are told.
public struct DiaryRedFlagRule: Sendable, Hashable, Codable {
    public var id: String
    public var severity: DiaryFlagSeverity
    /// First diary day the rule applies (inclusive); absent = day 1. "After day 3" is `fromDay: 4`.
    public var fromDay: Int?
    /// Only for these treated joints; absent = every joint.
    public var joints: [Joint]?
    public var when: DiaryRuleCondition
    /// Plain message for the clinicians' worklist.
    public var message: String
    /// Plain advice shown to the patient at once.
    public var patientAdvice: String
    /// Ids into the protocol's `evidence` list (at least one).
    public var evidence: [String]
    /// Why the threshold is what it is; says so when it is a programme convention rather than a study's figure.
    public var basis: String
}

/// A red flag raised by one diary entry: what the worklist shows and what the patient is told.
public struct DiaryRedFlag: Sendable, Hashable, Codable {
    public var ruleID: String
    public var severity: DiaryFlagSeverity
    public var message: String
    public var patientAdvice: String
    public var evidence: [EvidenceSource]
    /// The rules that raised it (`RecoveryDiaryProtocol.id` and `version`), so an audit can tell rule sets apart.
    public var protocolID: String
    public var protocolVersion: String
}

// MARK: - The protocol

/// The recovery diary (days 1–7 after the procedure) as data: the daily form and the red-flag rules.
///
/// Both live in one versioned file (`Resources/protocols/recovery-diary.json`) so that the clinic's medical
/// lead reviews thresholds and wording together, and a change of a threshold is a change of data with its own
/// version, not of code. The form must match what `DiaryEntry.read` understands; `validate` checks that.
public struct RecoveryDiaryProtocol: Sendable, Hashable, Codable {
    public var id: String
    public var version: String
    public var title: String
    public var notes: String?
    public var form: DiaryForm
    public var rules: [DiaryRedFlagRule]
    public var evidence: [EvidenceSource]

    /// The diary shipped with Ossa (`Resources/protocols/recovery-diary.json`).
    public static func bundled() throws -> RecoveryDiaryProtocol {
        try decode(from: BundledResource.data("protocols/recovery-diary.json"))
    }

    /// Decodes and checks a diary protocol; errors name the path.
    public static func decode(from data: Data) throws(FieldValidationError) -> RecoveryDiaryProtocol {
        let value = try StrictJSON.decode(RecoveryDiaryProtocol.self, from: data)
        try value.validate()
        return value
    }

    /// Checks the form against `DiaryEntry` and every rule (one condition, thresholds in range, known evidence).
    public func validate() throws(FieldValidationError) {
        if id.isEmpty { throw FieldValidationError(path: "id", message: "must not be empty") }
        if version.isEmpty { throw FieldValidationError(path: "version", message: "must not be empty") }
        var evidenceIDs = Set<String>()
        for (i, source) in evidence.enumerated() {
            if !evidenceIDs.insert(source.id).inserted {
                throw FieldValidationError(path: "evidence[\(i)].id", message: "\"\(source.id)\" is defined twice")
            }
            if source.citation.trimmingCharacters(in: .whitespaces).isEmpty {
                throw FieldValidationError(path: "evidence[\(i)].citation", message: "must not be empty")
            }
        }
        try validateForm()
        var ruleIDs = Set<String>()
        for (i, rule) in rules.enumerated() {
            let path = "rules[\(i)]"
            if rule.id.isEmpty { throw FieldValidationError(path: "\(path).id", message: "must not be empty") }
            if !ruleIDs.insert(rule.id).inserted { throw FieldValidationError(path: "\(path).id", message: "\"\(rule.id)\" is used twice") }
            if let d = rule.fromDay, !DiaryEntry.days.contains(d) {
                throw FieldValidationError(path: "\(path).fromDay", message: "\(d) is not a diary day (1–7)")
            }
            if let joints = rule.joints, joints.isEmpty {
                throw FieldValidationError(path: "\(path).joints", message: "leave the field out for every joint, or list at least one")
            }
            try rule.when.validate(at: "\(path).when")
            for (key, text) in [("message", rule.message), ("patientAdvice", rule.patientAdvice), ("basis", rule.basis)]
            where text.trimmingCharacters(in: .whitespaces).isEmpty {
                throw FieldValidationError(path: "\(path).\(key)", message: "must not be empty")
            }
            if rule.evidence.isEmpty { throw FieldValidationError(path: "\(path).evidence", message: "needs at least one evidence id") }
            for (j, ref) in rule.evidence.enumerated() where !evidenceIDs.contains(ref) {
                throw FieldValidationError(path: "\(path).evidence[\(j)]", message: "unknown evidence id \"\(ref)\"")
            }
        }
    }

    /// The red flags `entry` raises, urgent first, then in the order of the rules.
    ///
    /// `previous`: the patient's earlier diary entries (any order; entries for `entry.day` or later are ignored),
    /// for the pain-rise rule, which compares with the latest earlier recorded day. `joint`: the treated joint;
    /// when it is unknown, joint-specific rules still apply, because a needless review costs less than a missed one.
    public func flags(for entry: DiaryEntry, previous: [DiaryEntry], joint: Joint? = nil) -> [DiaryRedFlag] {
        let before = previous.filter { $0.day < entry.day }.max { $0.day < $1.day }
        let sources = Dictionary(evidence.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let fired = rules.filter { rule in
            guard entry.day >= (rule.fromDay ?? 1) else { return false }
            if let joints = rule.joints, let joint, !joints.contains(joint) { return false }
            return rule.when.matches(entry, previous: before)
        }
        let ordered = fired.filter { $0.severity == .urgent } + fired.filter { $0.severity != .urgent }
        return ordered.map { rule in
            DiaryRedFlag(ruleID: rule.id, severity: rule.severity, message: rule.message, patientAdvice: rule.patientAdvice,
                         evidence: rule.evidence.compactMap { sources[$0] }, protocolID: id, protocolVersion: version)
        }
    }

    // MARK: Form checks

    /// What `DiaryEntry.read` understands, field by field; the data's form must say the same.
    private static let expectedFields: [(id: String, kind: DiaryFieldKind, required: Bool, options: [String]?)] = [
        ("pain", .scale, true, nil),
        ("discomfort", .single, true, DiaryLevel.allCases.map(\.rawValue)),
        ("weightBearing", .single, true, DiaryWeightBearing.allCases.map(\.rawValue)),
        ("crutches", .yesNo, true, ["yes", "no"]),
        ("painMedicine", .multiple, true, DiaryPainMedicine.allCases.map(\.rawValue)),
        ("swelling", .single, true, DiaryLevel.allCases.map(\.rawValue)),
        ("redness", .single, true, DiaryRedness.allCases.map(\.rawValue)),
        ("fever", .yesNo, true, ["yes", "no"]),
        ("temperature", .number, false, nil),
        ("note", .text, false, nil),
    ]

    private func validateForm() throws(FieldValidationError) {
        let expected = Dictionary(uniqueKeysWithValues: Self.expectedFields.map { ($0.id, $0) })
        var seen = Set<String>()
        for (i, field) in form.fields.enumerated() {
            let path = "form.fields[\(i)]"
            guard let spec = expected[field.id] else {
                let known = Self.expectedFields.map(\.id).joined(separator: ", ")
                throw FieldValidationError(path: "\(path).id", message: "\"\(field.id)\" is not a diary field (one of \(known))")
            }
            if !seen.insert(field.id).inserted { throw FieldValidationError(path: "\(path).id", message: "\"\(field.id)\" is used twice") }
            if field.question.trimmingCharacters(in: .whitespaces).isEmpty {
                throw FieldValidationError(path: "\(path).question", message: "must not be empty")
            }
            if field.kind != spec.kind {
                throw FieldValidationError(path: "\(path).kind", message: "\"\(field.kind.rawValue)\" must be \"\(spec.kind.rawValue)\" for \(field.id)")
            }
            if field.required != spec.required {
                throw FieldValidationError(path: "\(path).required", message: "must be \(spec.required) for \(field.id)")
            }
            if let values = spec.options {
                guard let options = field.options else {
                    throw FieldValidationError(path: "\(path).options", message: "is required for a \(spec.kind.rawValue) question")
                }
                var given = Set<String>()
                for (j, option) in options.enumerated() {
                    if !values.contains(option.value) {
                        let allowed = values.map { "\"\($0)\"" }.joined(separator: ", ")
                        throw FieldValidationError(path: "\(path).options[\(j)].value", message: "\"\(option.value)\" is not an answer the diary reads (one of \(allowed))")
                    }
                    if !given.insert(option.value).inserted {
                        throw FieldValidationError(path: "\(path).options[\(j)].value", message: "\"\(option.value)\" is listed twice")
                    }
                    if option.label.trimmingCharacters(in: .whitespaces).isEmpty {
                        throw FieldValidationError(path: "\(path).options[\(j)].label", message: "must not be empty")
                    }
                }
                if let missing = values.first(where: { !given.contains($0) }) {
                    throw FieldValidationError(path: "\(path).options", message: "misses the answer \"\(missing)\"")
                }
            } else if field.options != nil {
                throw FieldValidationError(path: "\(path).options", message: "only choice questions have options")
            }
            switch spec.kind {
            case .scale:
                try Self.expect(field.min, Double(DiaryEntry.painRange.lowerBound), "\(path).min")
                try Self.expect(field.max, Double(DiaryEntry.painRange.upperBound), "\(path).max")
            case .number:
                try Self.expect(field.min, DiaryEntry.temperatureRange.lowerBound, "\(path).min")
                try Self.expect(field.max, DiaryEntry.temperatureRange.upperBound, "\(path).max")
            case .text:
                if field.maxLength != DiaryEntry.noteMaxLength {
                    throw FieldValidationError(path: "\(path).maxLength", message: "must be \(DiaryEntry.noteMaxLength) (what the diary accepts)")
                }
            case .single, .multiple, .yesNo:
                break
            }
        }
        if let missing = Self.expectedFields.first(where: { !seen.contains($0.id) }) {
            throw FieldValidationError(path: "form.fields", message: "misses the question \"\(missing.id)\"")
        }
    }

    private static func expect(_ given: Double?, _ wanted: Double, _ path: String) throws(FieldValidationError) {
        if given != wanted { throw FieldValidationError(path: path, message: "must be \(wanted) (what the diary accepts)") }
    }
}
