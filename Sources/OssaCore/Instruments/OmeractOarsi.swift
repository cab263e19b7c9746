import Foundation

/// The OMERACT-OARSI 2004 responder rule (Pham et al., Osteoarthritis Cartilage 2004;12:389–399),
/// with its cut-offs read from `Resources/responders/omeract-oarsi-2004.json`.
///
/// All domains are on 0–100 with higher = worse. A patient responds if (a) pain or function shows high
/// improvement (≥ 50% and ≥ 20 points), or (b) at least 2 of pain, function and patient global improve
/// (≥ 20% and ≥ 10 points each). With a baseline of 0 the relative part cannot be met (flagged).
public struct OmeractOarsiCriteria: Codable, Sendable, Equatable {
    /// Relative and absolute cut-offs applying to a set of domains.
    public struct Cutoffs: Codable, Sendable, Equatable {
        public var domains: [OmeractOarsiDomain]
        public var minimumRelativePercent: Double
        public var minimumAbsolutePoints: Double
        /// How many of `domains` must meet the cut-offs (absent = 1).
        public var minimumDomains: Int?

        public init(domains: [OmeractOarsiDomain], minimumRelativePercent: Double, minimumAbsolutePoints: Double,
                    minimumDomains: Int? = nil) {
            self.domains = domains
            self.minimumRelativePercent = minimumRelativePercent
            self.minimumAbsolutePoints = minimumAbsolutePoints
            self.minimumDomains = minimumDomains
        }
    }

    /// The 0–100, higher = worse scale every domain value must lie on.
    public struct Scale: Codable, Sendable, Equatable {
        /// Lowest allowed value (0).
        public var min: Double
        /// Highest allowed value (100).
        public var max: Double
        /// Always `higher-is-worse` for this rule.
        public var direction: ScoreDirection
    }

    public var schemaVersion: Int
    public var id: String
    /// Citation (Pham 2004).
    public var reference: String
    public var evidence: String?
    public var scale: Scale
    /// Rule (a): high improvement in any one of these domains.
    public var highImprovement: Cutoffs
    /// Rule (b): improvement in at least `minimumDomains` of these domains.
    public var improvement: Cutoffs
    public var notes: [String]?

    /// Decodes a set of cut-offs (e.g. a clinic's sensitivity analysis); errors name the field.
    public static func decode(from data: Data) throws(FieldValidationError) -> OmeractOarsiCriteria {
        let criteria = try StrictJSON.decode(OmeractOarsiCriteria.self, from: data)
        guard criteria.scale.direction == .higherIsWorse, criteria.scale.min < criteria.scale.max else {
            throw FieldValidationError(path: "scale", message: "must be an increasing range with direction \"higher-is-worse\"")
        }
        for (path, cutoffs) in [("highImprovement", criteria.highImprovement), ("improvement", criteria.improvement)] {
            if cutoffs.domains.isEmpty { throw FieldValidationError(path: "\(path).domains", message: "must list at least one domain") }
            if let minimum = cutoffs.minimumDomains, minimum < 1 || minimum > cutoffs.domains.count {
                throw FieldValidationError(path: "\(path).minimumDomains", message: "must be between 1 and the number of domains")
            }
        }
        return criteria
    }

    /// The built-in 2004 set of rules, loaded once per process.
    public static func builtIn() throws -> OmeractOarsiCriteria {
        try cachedBuiltIn.get()
    }

    // Initialised once, lazily and thread-safely; immutable afterwards.
    private static let cachedBuiltIn: Result<OmeractOarsiCriteria, any Error> = Result {
        try decode(from: BundledResource.data("responders/omeract-oarsi-2004.json"))
    }

    /// Converts a KOOS/HOOS subscale (0–100, higher = better) to the OMERACT-OARSI scale: 100 − score.
    public static func fromKOOSOrHOOS(_ score: Double) -> Double { 100 - score }

    /// Converts a 0–10 NRS (pain or patient global, higher = worse) to 0–100: value × 10.
    public static func fromNRS(_ value: Double) -> Double { value * 10 }

    /// Applies the rule. Throws when a value is outside the 0–100 scale (e.g. a KOOS score passed
    /// without conversion is still in range, so convert first; an NRS passed as 0–10 is caught only
    /// when it is out of range).
    public func evaluate(_ input: OmeractOarsiInput) throws(FieldValidationError) -> OmeractOarsiResult {
        var changes: [OmeractOarsiDomain: OmeractOarsiInput.Change] = [.pain: input.pain, .function: input.function]
        if let global = input.patientGlobal { changes[.patientGlobal] = global }

        var outcomes: [OmeractOarsiResult.DomainOutcome] = []
        for domain in OmeractOarsiDomain.allCases {
            guard let change = changes[domain] else { continue }
            for (field, value) in [("baseline", change.baseline), ("followUp", change.followUp)] {
                guard value.isFinite, value >= scale.min, value <= scale.max else {
                    throw FieldValidationError(path: "\(domain.rawValue).\(field)",
                                               message: "\(value) is outside the OMERACT-OARSI scale \(Int(scale.min))–\(Int(scale.max))")
                }
            }
            let absolute = change.baseline - change.followUp
            let relative = change.baseline == 0 ? nil : absolute / change.baseline * 100
            outcomes.append(OmeractOarsiResult.DomainOutcome(
                domain: domain, absoluteImprovement: absolute, relativeImprovementPercent: relative,
                highImprovement: highImprovement.domains.contains(domain) && Self.meets(highImprovement, absolute, relative),
                improved: improvement.domains.contains(domain) && Self.meets(improvement, absolute, relative)))
        }
        let high = outcomes.filter(\.highImprovement).map(\.domain)
        let improved = outcomes.filter(\.improved).map(\.domain)
        return OmeractOarsiResult(
            highImprovement: !high.isEmpty,
            improvementInAtLeastTwo: improved.count >= (improvement.minimumDomains ?? 1),
            highImprovementDomains: high,
            improvedDomains: improved,
            patientGlobalAvailable: input.patientGlobal != nil,
            baselineZeroDomains: outcomes.filter { $0.relativeImprovementPercent == nil }.map(\.domain),
            domains: outcomes)
    }

    /// `evaluate(_:).isResponder` without building the explanation (registry analytics asks it for every patient
    /// at every timepoint); nil where `evaluate` would throw (a value outside the scale).
    public func isResponder(_ input: OmeractOarsiInput) -> Bool? {
        var improved = 0
        var high = false
        for (domain, change) in [(OmeractOarsiDomain.pain, input.pain), (.function, input.function)] + (input.patientGlobal.map { [(OmeractOarsiDomain.patientGlobal, $0)] } ?? []) {
            for value in [change.baseline, change.followUp] where !(value.isFinite && value >= scale.min && value <= scale.max) { return nil }
            let absolute = change.baseline - change.followUp
            let relative = change.baseline == 0 ? nil : absolute / change.baseline * 100
            if highImprovement.domains.contains(domain) && Self.meets(highImprovement, absolute, relative) { high = true }
            if improvement.domains.contains(domain) && Self.meets(improvement, absolute, relative) { improved += 1 }
        }
        return high || improved >= (improvement.minimumDomains ?? 1)
    }

    private static func meets(_ cutoffs: Cutoffs, _ absolute: Double, _ relative: Double?) -> Bool {
        // Baseline 0: no relative change exists, so the relative criterion cannot be met.
        guard let relative else { return false }
        return absolute >= cutoffs.minimumAbsolutePoints - ResponderEvaluator.tolerance
            && relative >= cutoffs.minimumRelativePercent - ResponderEvaluator.tolerance
    }
}

/// Baseline and follow-up values for the OMERACT-OARSI domains, each on 0–100 with higher = worse.
public struct OmeractOarsiInput: Sendable, Equatable {
    /// One domain's baseline and follow-up.
    public struct Change: Sendable, Equatable {
        public var baseline: Double
        public var followUp: Double

        public init(baseline: Double, followUp: Double) {
            self.baseline = baseline
            self.followUp = followUp
        }
    }

    public var pain: Change
    public var function: Change
    /// Patient global assessment; without it only rule (a) and pain + function under rule (b) can fire.
    public var patientGlobal: Change?

    public init(pain: Change, function: Change, patientGlobal: Change? = nil) {
        self.pain = pain
        self.function = function
        self.patientGlobal = patientGlobal
    }
}

/// The OMERACT-OARSI verdict and why.
public struct OmeractOarsiResult: Sendable, Equatable {
    /// Which rule made the patient a responder.
    public enum Criterion: String, Sendable, Equatable {
        /// Rule (a): high improvement in pain or function.
        case highImprovement = "high-improvement"
        /// Rule (b): improvement in at least 2 of pain, function, patient global.
        case improvementInAtLeastTwo = "improvement-in-2-of-3"
    }

    /// Per-domain detail.
    public struct DomainOutcome: Sendable, Equatable {
        public let domain: OmeractOarsiDomain
        /// baseline − follow-up (positive = better).
        public let absoluteImprovement: Double
        /// Absolute improvement as % of baseline; `nil` when the baseline is 0.
        public let relativeImprovementPercent: Double?
        public let highImprovement: Bool
        public let improved: Bool
    }

    /// Rule (a) fired.
    public let highImprovement: Bool
    /// Rule (b) fired.
    public let improvementInAtLeastTwo: Bool
    /// Domains meeting rule (a).
    public let highImprovementDomains: [OmeractOarsiDomain]
    /// Domains meeting the rule (b) cut-offs.
    public let improvedDomains: [OmeractOarsiDomain]
    /// Whether a patient global assessment was supplied.
    public let patientGlobalAvailable: Bool
    /// Domains whose baseline was 0, where the relative criterion cannot be met.
    public let baselineZeroDomains: [OmeractOarsiDomain]
    public let domains: [DomainOutcome]

    /// Responder by either rule.
    public var isResponder: Bool { highImprovement || improvementInAtLeastTwo }

    /// The rule that fired, preferring (a) when both did; `nil` for a non-responder.
    public var criterion: Criterion? {
        if highImprovement { return .highImprovement }
        if improvementInAtLeastTwo { return .improvementInAtLeastTwo }
        return nil
    }
}

extension InstrumentDefinition {
    /// This instrument's scores mapped onto OMERACT-OARSI domains (e.g. KOOS pain → 100 − pain,
    /// PGA → × 10), using the instrument's `omeractOarsi` mappings; missing scores are left out.
    public func omeractOarsiValues(_ result: ScoreResult) -> [OmeractOarsiDomain: Double] {
        var values: [OmeractOarsiDomain: Double] = [:]
        for mapping in omeractOarsi ?? [] {
            if let score = result.value(mapping.score) { values[mapping.domain] = mapping.domainValue(score) }
        }
        return values
    }
}
