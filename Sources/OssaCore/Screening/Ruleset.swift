import Foundation

/// Screening categories, from least to most restrictive: recommended, consider, not-now, refer.
public enum ScreeningCategory: String, Sendable, Codable, CaseIterable, Comparable {
    /// Inclusion rules fired and nothing restricts.
    case recommended
    /// Discuss with the patient: benefit is less certain or a precaution applies.
    case consider
    /// Fix something first (washout, missing MRI, labs) and re-screen.
    case notNow = "not-now"
    /// Refer elsewhere first (surgical consult, oncology, haematology).
    case refer

    public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "category") }
}

/// What a fired rule does to the decision.
public enum RuleEffect: String, Sendable, Codable, CaseIterable {
    /// An inclusion criterion: supports `recommended`.
    case include
    /// Information only; the category is unchanged.
    case note
    /// Category at least `consider`.
    case consider
    /// Category at least `not-now`.
    case notNow = "not-now"
    /// Category at least `refer`.
    case refer
    /// A hard contraindication: category `refer` and the decision is marked excluded.
    case exclude

    /// The category floor the effect imposes (`nil` for include and note).
    public var floor: ScreeningCategory? {
        switch self {
        case .include, .note: nil
        case .consider: .consider
        case .notNow: .notNow
        case .refer, .exclude: .refer
        }
    }

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "rule effect") }
}

/// How loudly a fired rule is shown.
public enum RuleSeverity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, caution, warning, stop
    public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "severity") }
}

/// A publication or document a rule rests on.
public struct EvidenceSource: Sendable, Hashable, Codable {
    public var id: String
    /// Short form shown with each rule, e.g. "Sánchez 2016 pilot".
    public var short: String
    public var citation: String
    /// Where the source can be found: a DOI URL, a PMID, a trial registry id or a guide's URL,
    /// e.g. "https://doi.org/10.1155/2016/4868613".
    public var reference: String?
}

/// A date derived from an input date, e.g. eligible-from = last NSAID dose + 15 days.
public struct DerivedDate: Sendable, Hashable, Codable {
    /// A date parameter.
    public var param: String
    public var addDays: Int?
    public var addMonths: Int?

    func resolve(_ params: [String: ParameterValue]) -> CalendarDate? {
        guard case .date(let base)? = params[param] else { return nil }
        return base.adding(months: addMonths ?? 0).adding(days: addDays ?? 0)
    }
}

/// Next-step template: text with `{placeholders}`, optionally an eligible-from date.
public struct NextStepTemplate: Sendable, Hashable, Codable {
    /// May use `{parameter.name}` and `{eligibleFrom}`.
    public var text: String
    public var eligibleFrom: DerivedDate?
}

/// One screening rule.
public struct ScreeningRule: Sendable, Hashable, Codable {
    public var id: String
    public var when: RuleCondition
    public var effect: RuleEffect
    public var severity: RuleSeverity
    /// Plain-language reason; `{parameter.name}` placeholders are filled from the input.
    public var reason: String
    /// Ids into the ruleset's `evidence` list.
    public var evidence: [String]
    public var nextStep: NextStepTemplate?
}

/// Suggested volume for an injection target (Intraosseous Injections chapter; Sánchez 2014).
public struct TargetVolume: Sendable, Hashable, Codable {
    /// A `BoneTarget` raw value or `"intra-articular"`.
    public var target: String
    /// Restricts the row to one joint (needed for intra-articular volumes).
    public var joint: Joint?
    public var minMl: Double
    public var maxMl: Double
    public var evidence: [String]
}

/// Setting/anaesthesia suggestion; the first whose condition holds applies (no condition = default).
public struct SettingSuggestionRule: Sendable, Hashable, Codable {
    public var when: RuleCondition?
    public var setting: ProcedureSetting
    public var anaesthesia: Anaesthesia
    public var reason: String
}

/// Adjunct suggestion (e.g. focal shockwave when BME is present).
public struct AdjunctSuggestionRule: Sendable, Hashable, Codable {
    public var id: String
    public var when: RuleCondition
    public var adjunct: String
    public var detail: String
    public var evidence: [String]
}

/// A "what to expect" line, optionally conditional (e.g. knee-only weight bearing advice).
public struct ExpectationRule: Sendable, Hashable, Codable {
    public var when: RuleCondition?
    public var text: String
}

/// Procedure-planning data of a ruleset.
public struct PlanningGuide: Sendable, Hashable, Codable {
    /// BML size grade at which a subregion becomes a bone target.
    public var targetMinimumGrade: Int
    /// Suggest an intra-articular injection with the IO targets (Sánchez technique: IA first).
    public var includeIntraArticular: Bool
    public var volumes: [TargetVolume]
    public var settings: [SettingSuggestionRule]
    public var adjuncts: [AdjunctSuggestionRule]
    public var expectations: [ExpectationRule]
    /// Categories for which targets, setting and adjuncts are suggested.
    public var suggestFor: [ScreeningCategory]
}

/// A versioned set of screening rules: data, not code; a clinic may edit its own.
public struct Ruleset: Sendable, Hashable, Codable {
    public var id: String
    public var version: String
    public var title: String
    public var description: String?
    public var evidence: [EvidenceSource]
    public var rules: [ScreeningRule]
    public var planning: PlanningGuide

    /// The ruleset shipped with Ossa (`Resources/rulesets/default.json`).
    public static func bundledDefault() throws -> Ruleset {
        try decode(from: BundledResource.data("rulesets/default.json"))
    }

    /// Decodes and checks a ruleset (a clinic's own file uses the same schema). Errors name the
    /// path, e.g. `rules[3].when.all[0].op: unknown comparator "≈"`.
    public static func decode(from data: Data) throws(FieldValidationError) -> Ruleset {
        let ruleset = try StrictJSON.decode(Ruleset.self, from: data)
        try ruleset.validate()
        return ruleset
    }

    /// Cross-reference checks that decoding alone cannot do.
    public func validate() throws(FieldValidationError) {
        if id.trimmingCharacters(in: .whitespaces).isEmpty { throw FieldValidationError(path: "id", message: "is required") }
        if version.trimmingCharacters(in: .whitespaces).isEmpty { throw FieldValidationError(path: "version", message: "is required") }
        var evidenceIds = Set<String>()
        for (i, source) in evidence.enumerated() where !evidenceIds.insert(source.id).inserted {
            throw FieldValidationError(path: "evidence[\(i)].id", message: "\"\(source.id)\" is defined twice")
        }
        func checkEvidence(_ ids: [String], _ path: String) throws(FieldValidationError) {
            if ids.isEmpty { throw FieldValidationError(path: path, message: "needs at least one evidence id") }
            for (j, ref) in ids.enumerated() where !evidenceIds.contains(ref) {
                throw FieldValidationError(path: "\(path)[\(j)]", message: "unknown evidence id \"\(ref)\"")
            }
        }
        var ruleIds = Set<String>()
        for (i, rule) in rules.enumerated() {
            let path = "rules[\(i)]"
            if !ruleIds.insert(rule.id).inserted {
                throw FieldValidationError(path: "\(path).id", message: "\"\(rule.id)\" is used by an earlier rule")
            }
            try checkEvidence(rule.evidence, "\(path).evidence")
            try Self.checkPlaceholders(rule.reason, extra: [], at: "\(path).reason")
            if let step = rule.nextStep {
                if let derived = step.eligibleFrom {
                    guard ScreeningParameters.byName[derived.param]?.type == .date else {
                        throw FieldValidationError(path: "\(path).nextStep.eligibleFrom.param", message: "\"\(derived.param)\" is not a date parameter")
                    }
                }
                try Self.checkPlaceholders(step.text, extra: step.eligibleFrom == nil ? [] : ["eligibleFrom"], at: "\(path).nextStep.text")
            }
        }
        if !(0...3).contains(planning.targetMinimumGrade) {
            throw FieldValidationError(path: "planning.targetMinimumGrade", message: "\(planning.targetMinimumGrade) is not a MOAKS BML size grade (0–3)")
        }
        for (i, row) in planning.volumes.enumerated() {
            let path = "planning.volumes[\(i)]"
            if row.target != "intra-articular", BoneTarget(rawValue: row.target) == nil {
                throw FieldValidationError(path: "\(path).target", message: "\"\(row.target)\" is not a bone target or \"intra-articular\"")
            }
            if row.minMl <= 0 || row.maxMl < row.minMl || row.maxMl > PlausibleRanges.injectionVolumeMl.range.upperBound {
                throw FieldValidationError(path: "\(path).maxMl", message: "volume range \(row.minMl)–\(row.maxMl) mL is not plausible")
            }
            try checkEvidence(row.evidence, "\(path).evidence")
        }
        for (i, adjunct) in planning.adjuncts.enumerated() {
            try checkEvidence(adjunct.evidence, "planning.adjuncts[\(i)].evidence")
        }
        for (i, setting) in planning.settings.enumerated() {
            try Self.checkPlaceholders(setting.reason, extra: [], at: "planning.settings[\(i)].reason")
        }
        for (i, expectation) in planning.expectations.enumerated() {
            try Self.checkPlaceholders(expectation.text, extra: [], at: "planning.expectations[\(i)].text")
        }
        if planning.settings.last?.when != nil || planning.settings.isEmpty {
            throw FieldValidationError(path: "planning.settings", message: "the last entry must have no condition (the default)")
        }
    }

    static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    private static func checkPlaceholders(_ text: String, extra: Set<String>, at path: String) throws(FieldValidationError) {
        for name in placeholders(in: text) where ScreeningParameters.byName[name] == nil && !extra.contains(name) {
            throw FieldValidationError(path: path, message: "unknown placeholder {\(name)}")
        }
    }
}
