import Foundation

// The public self-screen (PRODUCT.md §2.1): anonymous, plain-language questions evaluated with the public subset of
// the candidacy ruleset. No identifiers are asked or kept; the answers can become a consult request, and a
// coordinator turns that into a patient and episode (`SelfScreenEpisodeDraft`).

/// A closed set of answers to one question; the raw values are the form values of the definition's options.
protocol SelfScreenChoice: RawRepresentable, CaseIterable, Hashable where RawValue == String {
    /// Answers that must be chosen on their own.
    static var exclusive: Set<Self> { get }
}

extension SelfScreenChoice {
    static var exclusive: Set<Self> { [] }
    static var values: [String] { allCases.map(\.rawValue) }
}

/// The answers of one self-screen, typed; every value comes from a closed set (no free text, no identifiers).
///
/// Property names are the question ids of the definition and the form field names; enum raw values are the form values.
public struct SelfScreenAnswers: Sendable, Hashable, Codable {
    /// The joints the self-screen asks about (the programme's public pathway is knee and hip).
    public enum JointChoice: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case knee, hip
        public var joint: Joint { self == .knee ? .knee : .hip }
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "joint") }
    }

    /// Which side hurts; "both" is allowed because the person may not know which to ask about first.
    public enum PainSide: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case left, right, both
        /// `nil` for both sides: the coordinator chooses which joint the episode is about.
        public var side: Side? {
            switch self {
            case .left: .left
            case .right: .right
            case .both: nil
            }
        }
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "side") }
    }

    /// Where the knee hurts, in lay terms (for the coordinator; no rule reads it).
    public enum KneeArea: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case inside, outside, front, whole
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "knee area") }
    }

    /// Where the hip hurts, in lay terms (for the coordinator; no rule reads it).
    public enum HipArea: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case groin, outside, buttock
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "hip area") }
    }

    /// Whether and when the joint had an MRI; the ruleset plans from an MRI of the last 6 months.
    public enum MRIStatus: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        /// "In the last 6 months", read as the ruleset's `within-months 6`.
        case withinSixMonths = "yes-within-6-months"
        case longerAgo = "yes-longer-ago"
        case no
        case notSure = "not-sure"
        public var hadMRI: Bool { self == .withinSixMonths || self == .longerAgo }
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "MRI answer") }
    }

    /// What the person says the MRI report mentions (self-reported, not a reading of the images).
    public enum MRIFinding: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        /// Bone marrow edema or a bone bruise.
        case boneMarrowEdema = "bone-marrow-edema"
        case insufficiencyFracture = "insufficiency-fracture"
        case avascularNecrosis = "avascular-necrosis"
        /// Collapse or flattening of the bone surface (a red flag).
        case collapse
        /// Only cartilage wear or arthritis: read as "no bone marrow edema, no fracture, no necrosis, no collapse".
        case arthritisOnly = "arthritis-only"
        case notSure = "not-sure"
        static var exclusive: Set<Self> { [.arthritisOnly, .notSure] }
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "MRI finding") }
    }

    /// Treatments tried for at least 3 months.
    public enum Treatment: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case exercisePhysiotherapy = "exercise-physiotherapy"
        case weightLoss = "weight-loss"
        case antiInflammatories = "anti-inflammatories"
        case steroidInjection = "steroid-injection"
        case hyaluronicAcidInjection = "hyaluronic-acid-injection"
        case prpInjection = "prp-injection"
        case noneOfThese = "none"
        static var exclusive: Set<Self> { [.noneOfThese] }

        /// The screening vocabulary's treatment. The question lumps exercise and physiotherapy together; it is
        /// recorded as `exercise`, which the ruleset's conservative-care rule treats like physiotherapy.
        public var priorTreatment: PriorTreatment? {
            switch self {
            case .exercisePhysiotherapy: .exercise
            case .weightLoss: .weightLoss
            case .antiInflammatories: .nsaid
            case .steroidInjection: .iaSteroid
            case .hyaluronicAcidInjection: .hyaluronicAcid
            case .prpInjection: .iaPRP
            case .noneOfThese: nil
            }
        }
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "treatment") }
    }

    /// Yes, no or not sure; "not sure" leaves the parameter unknown.
    public enum Preference: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case yes, no, unsure
        public var flag: Bool? {
            switch self {
            case .yes: true
            case .no: false
            case .unsure: nil
            }
        }
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "answer") }
    }

    /// Whether a surgeon said surgery is not an option or not advised.
    public enum SurgeonAdvice: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        /// Surgery is not an option or not advised.
        case yes
        /// A surgeon said surgery is possible.
        case no
        case neverAsked = "never-asked"
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "surgeon's advice") }
    }

    /// Age in bands, so that no date of birth (an identifier) is asked.
    public enum AgeBand: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case under18 = "under-18"
        case from18To39 = "18-39"
        case from40To64 = "40-64"
        case from65To79 = "65-79"
        case from80 = "80-plus"
        /// Whole years the band covers (80 or over: up to the plausible 120). Rules on `age` see the whole band.
        public var years: ClosedRange<Int> {
            switch self {
            case .under18: 0...17
            case .from18To39: 18...39
            case .from40To64: 40...64
            case .from65To79: 65...79
            case .from80: 80...Int(PlausibleRanges.ageYears.range.upperBound)
            }
        }
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "age group") }
    }

    /// Everyday activity in plain words (not a Tegner or UCLA level, so no activity rule reads it).
    public enum Activity: String, Sendable, Codable, CaseIterable, SelfScreenChoice {
        case sedentary, light, moderate, sport
        public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "activity") }
    }

    /// The question ids: the definition must ask exactly these (`SelfScreenDefinition.validate()`).
    public enum QuestionID: String, Sendable, Codable, CaseIterable {
        case joint, side, kneeAreas, hipAreas, mri, mriFindings, treatments, avoidReplacement, surgeonAdvice, ageBand
        case activity, heightCm, weightKg
    }

    public var joint: JointChoice
    public var side: PainSide
    /// Read only for a knee.
    public var kneeAreas: [KneeArea]
    /// Read only for a hip.
    public var hipAreas: [HipArea]
    public var mri: MRIStatus
    /// Read only when there was an MRI.
    public var mriFindings: [MRIFinding]
    /// At least one; `noneOfThese` alone when nothing was tried.
    public var treatments: [Treatment]
    public var avoidReplacement: Preference
    public var surgeonAdvice: SurgeonAdvice?
    public var ageBand: AgeBand
    public var activity: Activity?
    public var heightCm: Int?
    public var weightKg: Int?

    public init(joint: JointChoice, side: PainSide, kneeAreas: [KneeArea] = [], hipAreas: [HipArea] = [], mri: MRIStatus,
                mriFindings: [MRIFinding] = [], treatments: [Treatment], avoidReplacement: Preference,
                surgeonAdvice: SurgeonAdvice? = nil, ageBand: AgeBand, activity: Activity? = nil, heightCm: Int? = nil,
                weightKg: Int? = nil) {
        (self.joint, self.side, self.kneeAreas, self.hipAreas, self.mri, self.mriFindings) = (joint, side, kneeAreas, hipAreas, mri, mriFindings)
        (self.treatments, self.avoidReplacement, self.surgeonAdvice, self.ageBand) = (treatments, avoidReplacement, surgeonAdvice, ageBand)
        (self.activity, self.heightCm, self.weightKg) = (activity, heightCm, weightKg)
    }

    // MARK: Derived answers

    /// The findings that count: those of an MRI that was done, none when "not sure" is among them.
    var reportedFindings: Set<MRIFinding> {
        guard mri.hadMRI, !mriFindings.contains(.notSure) else { return [] }
        return Set(mriFindings)
    }

    /// A diagnosis category suggested by the self-reported MRI findings, for the coordinator to confirm; the most
    /// specific finding wins (osteonecrosis, then insufficiency fracture, then edema or bruise, then arthritis only).
    public var suggestedDiagnosis: Diagnosis.Kind? {
        let f = reportedFindings
        if f.contains(.avascularNecrosis) { return .avascularNecrosis }
        if f.contains(.insufficiencyFracture) { return .insufficiencyFracture }
        if f.contains(.boneMarrowEdema) { return .boneMarrowLesion }
        if f.contains(.arthritisOnly) { return .osteoarthritis }
        return nil
    }

    /// Treatments in the screening vocabulary; "at least 3 months" is recorded as 13 weeks, the response as unknown.
    public var treatmentsTried: [TreatmentTried] {
        var seen = Set<PriorTreatment>()
        return treatments.compactMap(\.priorTreatment).filter { seen.insert($0).inserted }
            .map { TreatmentTried(treatment: $0, durationWeeks: 13) }
    }

    /// What the person told a surgeon said; `nil` when never asked.
    public var surgicalCandidacy: SurgicalCandidacy? {
        switch surgeonAdvice {
        case .yes?: SurgicalCandidacy(candidate: false, reasonNot: "a surgeon said surgery is not an option or not advised (self-reported)")
        case .no?: SurgicalCandidacy(candidate: true)
        case .neverAsked?, nil: nil
        }
    }

    /// Body-mass index from height and weight, kg/m².
    public var bmi: Double? {
        guard let h = heightCm, let w = weightKg, h > 0 else { return nil }
        return Self.bmi(heightCm: h, weightKg: w)
    }

    static func bmi(heightCm: Int, weightKg: Int) -> Double {
        let metres = Double(heightCm) / 100
        return Double(weightKg) / (metres * metres)
    }

    /// The answers as form values (question id → option values), only for the questions that apply: what the page
    /// pre-fills, and what the definition's `answers` filters are matched against.
    public var formValues: [String: [String]] {
        var v: [String: [String]] = [:]
        func put(_ id: QuestionID, _ values: [String]) { if !values.isEmpty { v[id.rawValue] = values } }
        put(.joint, [joint.rawValue])
        put(.side, [side.rawValue])
        if joint == .knee { put(.kneeAreas, kneeAreas.map(\.rawValue)) }
        if joint == .hip { put(.hipAreas, hipAreas.map(\.rawValue)) }
        put(.mri, [mri.rawValue])
        if mri.hadMRI { put(.mriFindings, mriFindings.map(\.rawValue)) }
        put(.treatments, treatments.map(\.rawValue))
        put(.avoidReplacement, [avoidReplacement.rawValue])
        put(.surgeonAdvice, surgeonAdvice.map { [$0.rawValue] } ?? [])
        put(.ageBand, [ageBand.rawValue])
        put(.activity, activity.map { [$0.rawValue] } ?? [])
        put(.heightCm, heightCm.map { [String($0)] } ?? [])
        put(.weightKg, weightKg.map { [String($0)] } ?? [])
        return v
    }

    // MARK: Reading a submitted form

    /// Reads a submitted form (field name → values, as a browser sends them), checking every question of the
    /// definition and collecting every problem at once, in question order, so the page can show an error summary
    /// and an inline message per question. Blank values count as unanswered; fields that are not questions (a CSRF
    /// token, the submit button) are ignored, and so are answers to questions that do not apply (knee areas for a
    /// hip). `answers` is nil exactly when there are problems.
    public static func read(_ form: [String: [String]], using definition: SelfScreenDefinition)
        -> (answers: SelfScreenAnswers?, problems: [SelfScreenProblem]) {
        var problems: [SelfScreenProblem] = []
        var parsed: [String: [String]] = [:]
        for q in definition.questions {
            if let condition = q.askedWhen, !condition.matches(parsed) { continue }
            var values: [String] = []
            for raw in form[q.id] ?? [] {
                let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                if !value.isEmpty, !values.contains(value) { values.append(value) }
            }
            func problem(_ message: String) { problems.append(SelfScreenProblem(questionID: q.id, message: message)) }
            if values.isEmpty {
                if q.required { problem(q.errorMessage) }
                continue
            }
            let known = Set(q.options.map(\.value))
            switch q.kind {
            case .singleChoice:
                guard values.count == 1, known.contains(values[0]) else { problem(q.errorMessage); continue }
                parsed[q.id] = values
            case .multipleChoice:
                guard values.allSatisfy(known.contains) else { problem(q.errorMessage); continue }
                if values.count > 1, let alone = q.options.first(where: { $0.exclusive && values.contains($0.value) }) {
                    problem(definition.messages.exclusiveOption.replacingOccurrences(of: "{option}", with: alone.label))
                    continue
                }
                parsed[q.id] = q.options.map(\.value).filter(values.contains)
            case .wholeNumber:
                guard values.count == 1, let n = wholeNumber(values[0]), let lo = q.min, let hi = q.max, (lo...hi).contains(n) else {
                    problem(q.errorMessage)
                    continue
                }
                parsed[q.id] = [String(n)]
            }
        }
        if let h = parsed[QuestionID.heightCm.rawValue]?.first.flatMap({ Int($0) }),
           let w = parsed[QuestionID.weightKg.rawValue]?.first.flatMap({ Int($0) }) {
            let value = bmi(heightCm: h, weightKg: w)
            if !PlausibleRanges.bmi.range.contains(value) {
                let shown = String(format: "%.1f", value)
                problems.append(SelfScreenProblem(questionID: QuestionID.weightKg.rawValue,
                                                  message: definition.messages.implausibleBMI.replacingOccurrences(of: "{bmi}", with: shown)))
            }
        }
        guard problems.isEmpty else { return (nil, problems) }
        guard let answers = SelfScreenAnswers(parsed: parsed) else {
            // Only reachable with a definition that skipped `validate()`: name what could not be read.
            let missing = QuestionID.allCases.filter { $0.spec.required && parsed[$0.rawValue] == nil }
            return (nil, missing.map { id in
                SelfScreenProblem(questionID: id.rawValue, message: definition.question(id.rawValue)?.errorMessage ?? "Answer this question")
            })
        }
        return (answers, [])
    }

    /// Digits only (no sign, decimals or units), at most 4 of them.
    private static func wholeNumber(_ text: String) -> Int? {
        guard !text.isEmpty, text.count <= 4, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// Builds the answers from checked form values; nil when a required value is missing or not a known case.
    init?(parsed v: [String: [String]]) {
        func one<E: SelfScreenChoice>(_ id: QuestionID, _: E.Type) -> E? { v[id.rawValue]?.first.flatMap(E.init(rawValue:)) }
        func many<E: SelfScreenChoice>(_ id: QuestionID, _: E.Type) -> [E]? {
            let raw = v[id.rawValue] ?? []
            let values = raw.compactMap(E.init(rawValue:))
            return values.count == raw.count ? values : nil
        }
        func number(_ id: QuestionID) -> Int? { v[id.rawValue]?.first.flatMap { Int($0) } }
        guard let joint = one(.joint, JointChoice.self), let side = one(.side, PainSide.self), let mri = one(.mri, MRIStatus.self),
              let treatments = many(.treatments, Treatment.self), !treatments.isEmpty,
              let avoid = one(.avoidReplacement, Preference.self), let age = one(.ageBand, AgeBand.self),
              let kneeAreas = many(.kneeAreas, KneeArea.self), let hipAreas = many(.hipAreas, HipArea.self),
              let findings = many(.mriFindings, MRIFinding.self) else { return nil }
        self.init(joint: joint, side: side, kneeAreas: kneeAreas, hipAreas: hipAreas, mri: mri, mriFindings: findings,
                  treatments: treatments, avoidReplacement: avoid, surgeonAdvice: one(.surgeonAdvice, SurgeonAdvice.self),
                  ageBand: age, activity: one(.activity, Activity.self), heightCm: number(.heightCm), weightKg: number(.weightKg))
    }

    // MARK: Episode draft

    /// What a coordinator starts a patient's episode from: joint, side, a suggested diagnosis category, the answers
    /// that map onto the screening input, and a plain summary in the definition's words. Nothing identifies the person.
    public func episodeDraft(using definition: SelfScreenDefinition) -> SelfScreenEpisodeDraft {
        let values = formValues
        var lines: [SelfScreenSummaryLine] = []
        for q in definition.questions {
            guard let answer = values[q.id], !answer.isEmpty else { continue }
            let text = q.kind == .wholeNumber ? answer.map { "\($0) \(q.unit ?? "")".trimmingCharacters(in: .whitespaces) }.joined()
                : answer.map(q.label(of:)).joined(separator: "; ")
            lines.append(SelfScreenSummaryLine(questionID: q.id, label: q.summaryLabel, answer: text))
        }
        if let bmi {
            lines.append(SelfScreenSummaryLine(questionID: "bmi", label: "Body-mass index (from height and weight)", answer: String(format: "%.1f", bmi)))
        }
        return SelfScreenEpisodeDraft(
            joint: joint.joint, side: side.side, suggestedDiagnosis: suggestedDiagnosis, treatmentsTried: treatmentsTried,
            wishesToAvoidReplacement: avoidReplacement.flag, surgicalCandidacy: surgicalCandidacy,
            heightCm: heightCm.map(Double.init), weightKg: weightKg.map(Double.init), summary: lines)
    }
}

/// What the reading code expects of each question; the definition is checked against it.
struct SelfScreenQuestionSpec {
    var kind: SelfScreenQuestion.Kind
    /// The answers type needs a value.
    var required: Bool
    var options: [String]
    var exclusive: Set<String>
    var askedWhen: SelfScreenAnswerMatch?
    /// For whole numbers: the screening input's plausible range, which the question's range must lie inside.
    var plausible: PlausibleRange?

    static func choice<E: SelfScreenChoice>(_ kind: SelfScreenQuestion.Kind, _: E.Type, required: Bool,
                                            askedWhen: SelfScreenAnswerMatch? = nil) -> Self {
        Self(kind: kind, required: required, options: E.values, exclusive: Set(E.exclusive.map(\.rawValue)), askedWhen: askedWhen, plausible: nil)
    }

    static func number(_ plausible: PlausibleRange) -> Self {
        Self(kind: .wholeNumber, required: false, options: [], exclusive: [], askedWhen: nil, plausible: plausible)
    }
}

extension SelfScreenAnswers.QuestionID {
    var spec: SelfScreenQuestionSpec {
        typealias A = SelfScreenAnswers
        switch self {
        case .joint: return .choice(.singleChoice, A.JointChoice.self, required: true)
        case .side: return .choice(.singleChoice, A.PainSide.self, required: true)
        case .kneeAreas: return .choice(.multipleChoice, A.KneeArea.self, required: false, askedWhen: .init(question: "joint", values: ["knee"]))
        case .hipAreas: return .choice(.multipleChoice, A.HipArea.self, required: false, askedWhen: .init(question: "joint", values: ["hip"]))
        case .mri: return .choice(.singleChoice, A.MRIStatus.self, required: true)
        case .mriFindings:
            return .choice(.multipleChoice, A.MRIFinding.self, required: false,
                           askedWhen: .init(question: "mri", values: [A.MRIStatus.withinSixMonths.rawValue, A.MRIStatus.longerAgo.rawValue]))
        case .treatments: return .choice(.multipleChoice, A.Treatment.self, required: true)
        case .avoidReplacement: return .choice(.singleChoice, A.Preference.self, required: true)
        case .surgeonAdvice: return .choice(.singleChoice, A.SurgeonAdvice.self, required: false)
        case .ageBand: return .choice(.singleChoice, A.AgeBand.self, required: true)
        case .activity: return .choice(.singleChoice, A.Activity.self, required: false)
        case .heightCm: return .number(PlausibleRanges.heightCm)
        case .weightKg: return .number(PlausibleRanges.weightKg)
        }
    }
}

/// A problem with one answer of a submitted form, for the error summary and the inline message.
public struct SelfScreenProblem: Sendable, Hashable, Codable {
    /// The question id, which is also the form field name (the summary links to it).
    public var questionID: String
    /// Plain words saying what to do, e.g. "Select the joint that hurts".
    public var message: String

    public init(questionID: String, message: String) {
        self.questionID = questionID
        self.message = message
    }
}

/// One line of the coordinator's summary of the answers.
public struct SelfScreenSummaryLine: Sendable, Hashable, Codable {
    /// The question id ("bmi" for the computed body-mass index).
    public var questionID: String
    public var label: String
    public var answer: String
    /// "label: answer".
    public var text: String { "\(label): \(answer)" }
}

/// What a coordinator starts a patient and episode from; the answers carried over, without identifiers.
public struct SelfScreenEpisodeDraft: Sendable, Hashable, Codable {
    public var joint: Joint
    /// `nil` when both sides hurt: the coordinator chooses.
    public var side: Side?
    /// From the self-reported MRI findings; a suggestion for the clinician to confirm, never a diagnosis.
    public var suggestedDiagnosis: Diagnosis.Kind?
    /// For the screening input (durations "at least 3 months" = 13 weeks; response unknown).
    public var treatmentsTried: [TreatmentTried]
    public var wishesToAvoidReplacement: Bool?
    public var surgicalCandidacy: SurgicalCandidacy?
    public var heightCm: Double?
    public var weightKg: Double?
    /// The answers in the definition's words, in question order.
    public var summary: [SelfScreenSummaryLine]
}

// MARK: Result

/// A reason shown on the result page: the public wording of a ruleset rule that fired, with its evidence.
public struct SelfScreenReason: Sendable, Hashable, Codable {
    /// How the reason bears on the outcome, for the page's styling.
    public enum Tone: String, Sendable, Codable, CaseIterable {
        /// An inclusion or a supporting note.
        case supports
        /// Something to discuss or sort out first.
        case caution
        /// Points away from a consult for now, or to a doctor first.
        case stop
    }

    public var ruleID: String
    public var tone: Tone
    /// The definition's plain wording.
    public var text: String
    public var evidence: [EvidenceSource]
}

/// A "what to expect" line with its evidence.
public struct SelfScreenExpectationLine: Sendable, Hashable, Codable {
    public var text: String
    public var evidence: [EvidenceSource]
}

/// The result page of a self-screen: whether a consult is worthwhile, why, and what to expect. Never a diagnosis.
public struct SelfScreenResult: Sendable, Hashable, Codable {
    public var outcome: SelfScreenOutcome
    public var headline: String
    public var summary: String
    /// Most severe first (the engine's order).
    public var reasons: [SelfScreenReason]
    /// Only for `consultWorthwhile` and `consultMayHelp` (empty when a consult is not the next step).
    public var whatToExpect: [SelfScreenExpectationLine]
    /// "This is not a diagnosis …".
    public var disclaimer: String
    public var rulesetID: String
    public var rulesetVersion: String
    public var definitionID: String
    public var definitionVersion: String
    public var evaluationDate: CalendarDate
}

// MARK: Screener

/// Evaluates self-screen answers with the public subset of a ruleset.
///
/// The answers become a `ScreeningInput` carrying only what the person can know (joint, treatments, wishes, what a
/// surgeon said, height and weight; a placeholder side and diagnosis that no rule may read), plus facts the input
/// cannot hold: the MRI's age as a range of dates, the reported MRI findings, the age group as a range of years.
/// Each public rule's condition is then resolved with three-valued logic (`SelfScreenFacts.resolve`): a rule fires
/// only when its condition holds whatever the unknown values are, so a question not asked or answered "not sure" never
/// fires a rule as if it were known (the ruleset treats a missing value as a value: `missing` and `not` fire on it).
/// The resolved rules run through `ScreeningEngine` unchanged, which aggregates them into a category as for
/// clinicians.
///
/// Outcome: `recommended` → consult worthwhile; `consider` and `not-now` → consult may help; `refer` (and
/// exclusions) → see a doctor first; a public entry's own `outcome` can raise it (under 18 → unlikely to help). The
/// most restrictive wins.
public struct SelfScreener: Sendable {
    public let ruleset: Ruleset
    public let definition: SelfScreenDefinition

    /// Checks the definition on its own and against the ruleset (every public rule id exists, evidence ids resolve).
    public init(ruleset: Ruleset, definition: SelfScreenDefinition) throws(FieldValidationError) {
        try definition.validate()
        try definition.validate(against: ruleset)
        self.ruleset = ruleset
        self.definition = definition
    }

    /// The bundled ruleset and self-screen definition.
    public static func bundled() throws -> SelfScreener {
        try SelfScreener(ruleset: Ruleset.bundledDefault(), definition: SelfScreenDefinition.bundledDefault())
    }

    /// `SelfScreenAnswers.read(_:using:)` with this screener's definition.
    public func read(_ form: [String: [String]]) -> (answers: SelfScreenAnswers?, problems: [SelfScreenProblem]) {
        SelfScreenAnswers.read(form, using: definition)
    }

    /// `SelfScreenAnswers.episodeDraft(using:)` with this screener's definition.
    public func episodeDraft(for answers: SelfScreenAnswers) -> SelfScreenEpisodeDraft {
        answers.episodeDraft(using: definition)
    }

    /// The ruleset rules that make up the public subset, in ruleset order.
    public var publicRules: [ScreeningRule] {
        let ids = Set(definition.publicRuleIDs)
        return ruleset.rules.filter { ids.contains($0.id) }
    }

    /// Evaluates the answers on `today` (the day the MRI's "last 6 months" is counted back from).
    public func evaluate(_ answers: SelfScreenAnswers, today: CalendarDate) -> SelfScreenResult {
        let facts = SelfScreenFacts(answers, today: today)
        // Only the public subset, each condition replaced by its three-valued verdict: `all []` holds, `any []` does not.
        var subset = ruleset
        subset.rules = publicRules.map { rule in
            var resolved = rule
            resolved.when = facts.resolve(rule.when) == true ? .all([]) : .any([])
            return resolved
        }
        let evidence = Dictionary(ruleset.evidence.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let rules = Dictionary(ruleset.rules.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let form = answers.formValues

        var outcome = SelfScreenOutcome.consultMayHelp
        var reasons: [SelfScreenReason] = []
        do {
            let decision = try ScreeningEngine(ruleset: subset).evaluate(facts.input)
            outcome = SelfScreenOutcome(decision.category)
            for fired in decision.firedRules {
                guard let entry = definition.ruleset.rules.first(where: { $0.rule == fired.id && ($0.answers ?? []).allSatisfy { $0.matches(form) } })
                else { continue }
                if let raised = entry.outcome { outcome = max(outcome, raised) }
                let tone: SelfScreenReason.Tone
                if fired.effect.floor == .refer || (entry.outcome ?? .consultWorthwhile) >= .consultUnlikelyToHelp {
                    tone = .stop
                } else if fired.effect.floor != nil || entry.outcome == .consultMayHelp {
                    tone = .caution
                } else {
                    tone = .supports
                }
                reasons.append(SelfScreenReason(ruleID: fired.id, tone: tone, text: entry.text,
                                                evidence: (rules[fired.id]?.evidence ?? []).compactMap { evidence[$0] }))
            }
        } catch {
            // Not reachable: the facts only carry values inside the screening input's plausible ranges. Should the
            // engine refuse the input anyway, the honest public answer is that a clinician has to look.
            outcome = .consultMayHelp
            reasons = []
        }

        let expectations = outcome > .consultMayHelp ? [] : definition.whatToExpect
            .filter { ($0.answers ?? []).allSatisfy { $0.matches(form) } }
            .map { SelfScreenExpectationLine(text: $0.text, evidence: $0.evidence.compactMap { evidence[$0] }) }
        let texts = definition.text(for: outcome)
        return SelfScreenResult(
            outcome: outcome, headline: texts?.headline ?? outcome.rawValue, summary: texts?.summary ?? "",
            reasons: reasons, whatToExpect: expectations, disclaimer: definition.disclaimer,
            rulesetID: ruleset.id, rulesetVersion: ruleset.version,
            definitionID: definition.id, definitionVersion: definition.version, evaluationDate: today)
    }
}
