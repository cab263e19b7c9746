import Foundation

/// What the public self-screen tells a member of the public, from least to most restrictive.
///
/// Ordered so that the most restrictive outcome among the fired rules wins (`max()`).
public enum SelfScreenOutcome: String, Sendable, Codable, CaseIterable, Comparable {
    /// An inclusion rule of the public subset fired and nothing restricts (ruleset category `recommended`).
    case consultWorthwhile = "consult-worthwhile"
    /// Something is uncertain or must be sorted out first, e.g. no recent MRI (`consider` or `not-now`).
    case consultMayHelp = "consult-may-help"
    /// The self-screen's own policy says a consult is unlikely to help now (e.g. under 18); set by a public rule entry.
    case consultUnlikelyToHelp = "consult-unlikely-to-help"
    /// A red flag such as collapse of the bone surface: a doctor or surgeon first (`refer` or an exclusion).
    case seeDoctorFirst = "see-doctor-first"

    public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "self-screen outcome") }

    /// The public outcome for a screening category (before any entry's own `outcome` raises it).
    init(_ category: ScreeningCategory) {
        switch category {
        case .recommended: self = .consultWorthwhile
        case .consider, .notNow: self = .consultMayHelp
        case .refer: self = .seeDoctorFirst
        }
    }
}

/// "This question has one of these answers": conditions of the definition (`askedWhen`, wording and expectation filters).
public struct SelfScreenAnswerMatch: Sendable, Hashable, Codable {
    /// A question id.
    public var question: String
    /// Option values; a multiple-choice answer matches when it shares at least one.
    public var values: [String]

    public init(question: String, values: [String]) {
        self.question = question
        self.values = values
    }

    func matches(_ formValues: [String: [String]]) -> Bool {
        (formValues[question] ?? []).contains { values.contains($0) }
    }
}

/// One answer of a choice question: the value submitted by the form and the words shown.
public struct SelfScreenOption: Sendable, Hashable, Codable {
    /// The form value; equals the raw value of the matching `SelfScreenAnswers` enum case.
    public var value: String
    public var label: String
    /// Must be chosen on its own ("None of these", "I'm not sure").
    public var exclusive: Bool

    public init(value: String, label: String, exclusive: Bool = false) {
        self.value = value
        self.label = label
        self.exclusive = exclusive
    }

    private enum CodingKeys: String, CodingKey { case value, label, exclusive }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decode(String.self, forKey: .value)
        label = try c.decode(String.self, forKey: .label)
        exclusive = try c.decodeIfPresent(Bool.self, forKey: .exclusive) ?? false
    }
}

/// One question of the self-screen, as data so the wording can be edited without code.
public struct SelfScreenQuestion: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case singleChoice = "single-choice"
        case multipleChoice = "multiple-choice"
        /// A whole number with a unit, between `min` and `max`.
        case wholeNumber = "whole-number"

        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "question kind") }
    }

    /// The form field name, also the `SelfScreenAnswers` property name (`SelfScreenAnswers.QuestionID`).
    public var id: String
    /// Short label for the coordinator's summary ("Joint", "Age group").
    public var summaryLabel: String
    /// The question in plain language.
    public var text: String
    public var hint: String?
    public var kind: Kind
    public var required: Bool
    /// The question only applies when an earlier question has one of these answers; otherwise its values are ignored.
    public var askedWhen: SelfScreenAnswerMatch?
    /// Empty for whole numbers.
    public var options: [SelfScreenOption]
    public var unit: String?
    public var min: Int?
    public var max: Int?
    /// The one plain message shown when the answer is missing (and required) or not acceptable.
    public var errorMessage: String

    private enum CodingKeys: String, CodingKey {
        case id, summaryLabel, text, hint, kind, required, askedWhen, options, unit, min, max, errorMessage
    }

    public init(id: String, summaryLabel: String, text: String, hint: String? = nil, kind: Kind, required: Bool,
                askedWhen: SelfScreenAnswerMatch? = nil, options: [SelfScreenOption] = [], unit: String? = nil,
                min: Int? = nil, max: Int? = nil, errorMessage: String) {
        (self.id, self.summaryLabel, self.text, self.hint, self.kind, self.required) = (id, summaryLabel, text, hint, kind, required)
        (self.askedWhen, self.options, self.unit, self.min, self.max, self.errorMessage) = (askedWhen, options, unit, min, max, errorMessage)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        summaryLabel = try c.decode(String.self, forKey: .summaryLabel)
        text = try c.decode(String.self, forKey: .text)
        hint = try c.decodeIfPresent(String.self, forKey: .hint)
        kind = try c.decode(Kind.self, forKey: .kind)
        required = try c.decode(Bool.self, forKey: .required)
        askedWhen = try c.decodeIfPresent(SelfScreenAnswerMatch.self, forKey: .askedWhen)
        options = try c.decodeIfPresent([SelfScreenOption].self, forKey: .options) ?? []
        unit = try c.decodeIfPresent(String.self, forKey: .unit)
        min = try c.decodeIfPresent(Int.self, forKey: .min)
        max = try c.decodeIfPresent(Int.self, forKey: .max)
        errorMessage = try c.decode(String.self, forKey: .errorMessage)
    }

    /// The label of an option value (the value itself when unknown).
    public func label(of value: String) -> String { options.first { $0.value == value }?.label ?? value }
}

/// Messages that are not tied to one question's own `errorMessage`.
public struct SelfScreenMessages: Sendable, Hashable, Codable {
    /// For an exclusive option ticked with others; `{option}` is its label.
    public var exclusiveOption: String
    /// For a height and weight whose BMI is impossible; `{bmi}` is the BMI with one decimal.
    public var implausibleBMI: String
}

/// Headline and summary shown for one outcome.
public struct SelfScreenOutcomeText: Sendable, Hashable, Codable {
    public var outcome: SelfScreenOutcome
    public var headline: String
    public var summary: String
}

/// A ruleset rule of the public subset, with the words a member of the public reads when it fires.
///
/// A rule may have several entries: the first whose `answers` all match gives the wording (and any `outcome`), so
/// the wording can follow the answer that made the rule fire; the last entry of a rule has no `answers` (the fallback).
public struct SelfScreenPublicRule: Sendable, Hashable, Codable {
    /// A rule id of the ruleset (checked when the screener is built).
    public var rule: String
    /// Every match must hold for this entry to apply.
    public var answers: [SelfScreenAnswerMatch]?
    /// Raises the public outcome to at least this when the entry applies (self-screen policy, e.g. under 18).
    public var outcome: SelfScreenOutcome?
    /// Plain language, never a diagnosis ("a consult may be worthwhile because …", not "you have …").
    public var text: String
}

/// Names the ruleset the public subset was written against and its rules.
public struct SelfScreenRulesetReference: Sendable, Hashable, Codable {
    /// The ruleset id; the screener refuses a ruleset with another id, because the public wording explains these rules.
    public var id: String
    public var rules: [SelfScreenPublicRule]
}

/// A "what to expect" line with the ruleset evidence it rests on.
public struct SelfScreenExpectation: Sendable, Hashable, Codable {
    public var text: String
    /// Ids into the ruleset's `evidence` list.
    public var evidence: [String]
    /// Shown only when these match (e.g. the knee weight-bearing line).
    public var answers: [SelfScreenAnswerMatch]?
}

/// The public self-screen as data: questions, wording of the public subset of ruleset rules, outcome texts and
/// "what to expect" (`Resources/self-screen/default.json`).
///
/// The questions' ids and option values are a contract with `SelfScreenAnswers` (checked by `validate()`), the
/// wording is free to edit.
public struct SelfScreenDefinition: Sendable, Hashable, Codable {
    public var id: String
    public var version: String
    public var title: String
    public var introduction: String
    /// "This is not a diagnosis …", shown with every result.
    public var disclaimer: String
    public var messages: SelfScreenMessages
    /// In page order; problems are reported in this order too.
    public var questions: [SelfScreenQuestion]
    public var outcomes: [SelfScreenOutcomeText]
    public var ruleset: SelfScreenRulesetReference
    public var whatToExpect: [SelfScreenExpectation]

    /// The definition shipped with Ossa (`Resources/self-screen/default.json`), checked on its own.
    public static func bundledDefault() throws -> SelfScreenDefinition {
        try decode(from: BundledResource.data("self-screen/default.json"))
    }

    /// Decodes (unknown keys rejected) and runs `validate()`; errors name the path (`questions[4].options`).
    public static func decode(from data: Data) throws(FieldValidationError) -> SelfScreenDefinition {
        let definition = try StrictJSON.decode(SelfScreenDefinition.self, from: data)
        try definition.validate()
        return definition
    }

    /// The question with this id.
    public func question(_ id: String) -> SelfScreenQuestion? { questions.first { $0.id == id } }

    /// The texts for an outcome.
    public func text(for outcome: SelfScreenOutcome) -> SelfScreenOutcomeText? { outcomes.first { $0.outcome == outcome } }

    /// The rule ids of the public subset, in the order of first mention.
    public var publicRuleIDs: [String] {
        var seen = Set<String>()
        return ruleset.rules.map(\.rule).filter { seen.insert($0).inserted }
    }

    /// Checks the definition against the typed answers (`SelfScreenAnswers`): every question present once with the
    /// kind, options, exclusive options and conditions the code reads; required where the answer type needs a value;
    /// number ranges inside the screening input's plausible ranges and named in the error message; every outcome
    /// worded once; filters naming real questions and options; a fallback entry for every public rule.
    public func validate() throws(FieldValidationError) {
        func fail(_ path: String, _ message: String) -> FieldValidationError { FieldValidationError(path: path, message: message) }
        if id.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("id", "is required") }
        if version.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("version", "is required") }
        if disclaimer.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("disclaimer", "is required") }
        if !messages.exclusiveOption.contains("{option}") { throw fail("messages.exclusiveOption", "must contain {option}") }
        if !messages.implausibleBMI.contains("{bmi}") { throw fail("messages.implausibleBMI", "must contain {bmi}") }

        var seen = Set<String>()
        for (i, q) in questions.enumerated() {
            let path = "questions[\(i)]"
            guard let qid = SelfScreenAnswers.QuestionID(rawValue: q.id) else {
                throw fail("\(path).id", "unknown question \"\(q.id)\" (one of \(SelfScreenAnswers.QuestionID.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !seen.insert(q.id).inserted { throw fail("\(path).id", "\"\(q.id)\" is used by an earlier question") }
            let spec = qid.spec
            if q.kind != spec.kind { throw fail("\(path).kind", "\(q.id) is read as \(spec.kind.rawValue), not \(q.kind.rawValue)") }
            if spec.required, !q.required { throw fail("\(path).required", "\(q.id) must be required (the answers need a value)") }
            if q.errorMessage.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("\(path).errorMessage", "is required") }
            if q.text.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("\(path).text", "is required") }
            if q.askedWhen != spec.askedWhen {
                let expected = spec.askedWhen.map { "\($0.question) in [\($0.values.joined(separator: ", "))]" } ?? "none"
                throw fail("\(path).askedWhen", "\(q.id) is read only when \(expected)")
            }
            switch q.kind {
            case .singleChoice, .multipleChoice:
                if q.unit != nil || q.min != nil || q.max != nil { throw fail("\(path).unit", "unit, min and max are for whole numbers only") }
                let values = q.options.map(\.value)
                if Set(values).count != values.count { throw fail("\(path).options", "an option value is listed twice") }
                if Set(values) != Set(spec.options) {
                    throw fail("\(path).options", "values must be exactly \(spec.options.joined(separator: ", ")) (found \(values.joined(separator: ", ")))")
                }
                for (j, option) in q.options.enumerated() {
                    if option.label.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("\(path).options[\(j)].label", "is required") }
                    if option.exclusive != spec.exclusive.contains(option.value) {
                        throw fail("\(path).options[\(j)].exclusive", "\"\(option.value)\" is \(option.exclusive ? "not " : "")an exclusive answer")
                    }
                }
            case .wholeNumber:
                if !q.options.isEmpty { throw fail("\(path).options", "a whole-number question has no options") }
                guard let unit = q.unit, !unit.isEmpty, let lo = q.min, let hi = q.max else {
                    throw fail("\(path)", "a whole-number question needs unit, min and max")
                }
                if lo >= hi { throw fail("\(path).max", "must be above min") }
                if let plausible = spec.plausible, !(plausible.range.contains(Double(lo)) && plausible.range.contains(Double(hi))) {
                    throw fail("\(path).max", "\(lo)–\(hi) must lie inside the plausible range \(PlausibleRange.format(plausible.range.lowerBound))–\(PlausibleRange.format(plausible.range.upperBound)) \(plausible.unit)")
                }
                if !(q.errorMessage.contains(String(lo)) && q.errorMessage.contains(String(hi))) {
                    throw fail("\(path).errorMessage", "must name the range \(lo)–\(hi), so the message follows the data")
                }
            }
        }
        for qid in SelfScreenAnswers.QuestionID.allCases where !seen.contains(qid.rawValue) {
            throw fail("questions", "question \"\(qid.rawValue)\" is missing")
        }

        for outcome in SelfScreenOutcome.allCases {
            let count = outcomes.filter { $0.outcome == outcome }.count
            if count != 1 { throw fail("outcomes", "\"\(outcome.rawValue)\" must be worded exactly once (found \(count))") }
        }
        for (i, text) in outcomes.enumerated() where text.headline.trimmingCharacters(in: .whitespaces).isEmpty {
            throw fail("outcomes[\(i)].headline", "is required")
        }

        func checkMatches(_ matches: [SelfScreenAnswerMatch]?, _ path: String) throws(FieldValidationError) {
            for (j, match) in (matches ?? []).enumerated() {
                guard let q = question(match.question) else { throw fail("\(path)[\(j)].question", "unknown question \"\(match.question)\"") }
                if match.values.isEmpty { throw fail("\(path)[\(j)].values", "needs at least one value") }
                for value in match.values where !q.options.contains(where: { $0.value == value }) {
                    throw fail("\(path)[\(j)].values", "\"\(value)\" is not an option of \(q.id)")
                }
            }
        }
        if ruleset.id.isEmpty { throw fail("ruleset.id", "is required") }
        if ruleset.rules.isEmpty { throw fail("ruleset.rules", "needs at least one public rule") }
        for (i, entry) in ruleset.rules.enumerated() {
            let path = "ruleset.rules[\(i)]"
            if entry.text.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("\(path).text", "is required") }
            try checkMatches(entry.answers, "\(path).answers")
        }
        for ruleID in publicRuleIDs {
            guard let last = ruleset.rules.lastIndex(where: { $0.rule == ruleID }) else { continue }
            if ruleset.rules[last].answers != nil {
                throw fail("ruleset.rules[\(last)].answers", "the last entry of \"\(ruleID)\" must have no answers (the wording when no other entry applies)")
            }
        }
        for (i, line) in whatToExpect.enumerated() {
            if line.text.trimmingCharacters(in: .whitespaces).isEmpty { throw fail("whatToExpect[\(i)].text", "is required") }
            if line.evidence.isEmpty { throw fail("whatToExpect[\(i)].evidence", "needs at least one evidence id") }
            try checkMatches(line.answers, "whatToExpect[\(i)].answers")
        }
    }

    /// Cross-checks with the ruleset: same ruleset id, every public rule id exists and refers to at least one
    /// parameter the self-screen can establish (otherwise it could never fire), every evidence id exists.
    public func validate(against target: Ruleset) throws(FieldValidationError) {
        if target.id != ruleset.id {
            throw FieldValidationError(path: "ruleset.id", message: "the public wording was written for ruleset \"\(ruleset.id)\", not \"\(target.id)\"")
        }
        let rules = Dictionary(target.rules.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for (i, entry) in ruleset.rules.enumerated() {
            guard let rule = rules[entry.rule] else {
                throw FieldValidationError(path: "ruleset.rules[\(i)].rule", message: "unknown rule \"\(entry.rule)\" in ruleset \(target.id) v\(target.version)")
            }
            if Set(rule.when.parameters).isDisjoint(with: SelfScreenFacts.vocabulary) {
                throw FieldValidationError(path: "ruleset.rules[\(i)].rule", message: "\"\(entry.rule)\" only looks at \(Set(rule.when.parameters).sorted().joined(separator: ", ")), which the self-screen does not ask about, so it could never fire")
            }
        }
        let evidence = Set(target.evidence.map(\.id))
        for (i, line) in whatToExpect.enumerated() {
            for (j, ref) in line.evidence.enumerated() where !evidence.contains(ref) {
                throw FieldValidationError(path: "whatToExpect[\(i)].evidence[\(j)]", message: "unknown evidence id \"\(ref)\" in ruleset \(target.id)")
            }
        }
    }
}
