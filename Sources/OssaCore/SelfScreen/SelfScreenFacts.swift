import Foundation

/// What the self-screen answers establish about the screening parameters, and three-valued evaluation of rule
/// conditions over them.
///
/// A parameter is either *known* (a value), *known to be absent* (no MRI: every `mri.*` parameter), *known to lie in a
/// range* (the age group, the date of an MRI "in the last 6 months"), or *unknown* (everything a member of the public
/// cannot tell: labs, medications, grades, whether the pain matches the lesions). The ruleset's own evaluation knows
/// only present and missing, and `missing` and `not` fire on a missing value; here an unknown value makes a comparison
/// unknown, and a rule fires only when its condition is true whatever the unknown values are.
struct SelfScreenFacts {
    enum Fact: Equatable {
        case value(ParameterValue)
        /// Known not to exist (e.g. no MRI was done).
        case absent
        /// Some value from `lo` to `hi` (numbers, or dates no later than the evaluation date).
        case range(lo: ParameterValue, hi: ParameterValue)
    }

    /// The screening input the engine is run with: only what the person can know, with a placeholder side and
    /// diagnosis when they cannot (the facts, not the input, say which parameters are known).
    let input: ScreeningInput
    let facts: [String: Fact]
    let date: CalendarDate

    /// Parameters taken from the input when the answers give them.
    static let fromInput: Set<String> = [
        "joint", "side", "evaluationDate", "diagnosis.type", "treatments.tried", "wishesToAvoidReplacement",
        "surgery.candidate", "surgery.reasonNot", "bmi",
    ]
    /// Parameters set from the answers directly.
    static let fromAnswers: Set<String> = [
        "age", "mri.date", "mri.bml.present", "mri.insufficiencyFracture", "mri.avn", "mri.avn.collapse",
    ]
    /// Every parameter the self-screen can know a value of; a public rule must refer to at least one.
    static let vocabulary = fromInput.union(fromAnswers)

    init(_ answers: SelfScreenAnswers, today: CalendarDate) {
        date = today
        let suggested = answers.suggestedDiagnosis
        // Height and weight only when the engine will accept them (the form already refuses anything else).
        var height = answers.heightCm.map(Double.init), weight = answers.weightKg.map(Double.init)
        let plausible = [height.map { PlausibleRanges.heightCm.range.contains($0) }, weight.map { PlausibleRanges.weightKg.range.contains($0) },
                         answers.bmi.map { PlausibleRanges.bmi.range.contains($0) }]
        if plausible.contains(false) { (height, weight) = (nil, nil) }
        input = ScreeningInput(
            evaluationDate: today, joint: answers.joint.joint, side: answers.side.side ?? .left,
            diagnosis: suggested.map(Self.diagnosis) ?? .boneMarrowLesion,
            treatmentsTried: answers.treatmentsTried, wishesToAvoidReplacement: answers.avoidReplacement.flag,
            surgicalCandidacy: answers.surgicalCandidacy, heightCm: height, weightKg: weight)

        var known: [String: Fact] = [:]
        let extracted = ScreeningParameters.extract(from: input, targetMinimumGrade: 1)
        for name in Self.fromInput {
            if name == "side", answers.side.side == nil { continue }
            if name == "diagnosis.type", suggested == nil { continue }
            if let value = extracted[name] { known[name] = .value(value) }
        }

        let years = answers.ageBand.years
        known["age"] = .range(lo: .number(Double(years.lowerBound)), hi: .number(Double(years.upperBound)))

        switch answers.mri {
        case .no:
            for parameter in ScreeningParameters.catalogue where parameter.name.hasPrefix("mri.") { known[parameter.name] = .absent }
        case .notSure:
            break
        case .withinSixMonths, .longerAgo:
            let recent = Self.earliestWithinSixMonths(today)
            known["mri.date"] = answers.mri == .withinSixMonths
                ? .range(lo: .date(recent), hi: .date(today))
                : .range(lo: .date(today.adding(months: -12 * 100)), hi: .date(recent.adding(days: -1)))
            let findings = answers.reportedFindings
            let only = findings.contains(.arthritisOnly)
            func flag(_ name: String, _ finding: SelfScreenAnswers.MRIFinding) {
                if findings.contains(finding) { known[name] = .value(.flag(true)) } else if only { known[name] = .value(.flag(false)) }
            }
            flag("mri.bml.present", .boneMarrowEdema)
            flag("mri.insufficiencyFracture", .insufficiencyFracture)
            flag("mri.avn", .avascularNecrosis)
            // A reported collapse of the bone surface is read as collapse, with or without osteonecrosis named.
            flag("mri.avn.collapse", .collapse)
        }
        facts = known
    }

    /// The earliest MRI date that the ruleset's `within-months 6` still counts as recent on `today` (about six months
    /// back; month-end clamping moves it by a few days), found with the ruleset's own comparison.
    static func earliestWithinSixMonths(_ today: CalendarDate) -> CalendarDate {
        let within = RuleCondition.compare(param: "mri.date", op: .withinMonths, value: .number(6))
        var day = today.adding(months: -6)
        while !within.evaluate(["mri.date": .date(day)], on: today) { day = day.adding(days: 1) }
        return day
    }

    private static func diagnosis(_ kind: Diagnosis.Kind) -> Diagnosis {
        switch kind {
        case .osteoarthritis: .osteoarthritis(OAGrading())
        case .boneMarrowLesion: .boneMarrowLesion
        case .insufficiencyFracture: .insufficiencyFracture(koshino: nil)
        case .boneBruise: .boneBruise(injuryDate: nil, monthsSinceInjury: nil)
        case .avascularNecrosis: .avascularNecrosis(nil)
        case .boneMarrowEdemaSyndrome: .boneMarrowEdemaSyndrome
        }
    }

    /// Kleene evaluation: `true` or `false` when the known facts decide the condition, `nil` when they do not.
    /// Comparisons use the ruleset's own `RuleCondition.evaluate` on the one parameter they name; a range decides a
    /// comparison when both ends agree, which holds for the ordering and `within-*` comparators (monotone over a
    /// range that ends no later than the evaluation date) and is left unknown for the others.
    func resolve(_ condition: RuleCondition) -> Bool? {
        switch condition {
        case .all(let parts):
            var unknown = false
            for part in parts {
                switch resolve(part) {
                case false?: return false
                case nil: unknown = true
                case true?: break
                }
            }
            return unknown ? nil : true
        case .any(let parts):
            var unknown = false
            for part in parts {
                switch resolve(part) {
                case true?: return true
                case nil: unknown = true
                case false?: break
                }
            }
            return unknown ? nil : false
        case .not(let inner):
            return resolve(inner).map { !$0 }
        case .compare(let name, let op, _):
            guard let fact = facts[name] else { return nil }
            switch fact {
            case .value(let value):
                return condition.evaluate([name: value], on: date)
            case .absent:
                return condition.evaluate([:], on: date)
            case .range(let lo, let hi):
                switch op {
                case .present: return true
                case .missing: return false
                case .lessThan, .lessOrEqual, .greaterThan, .greaterOrEqual, .withinDays, .withinMonths:
                    let atLow = condition.evaluate([name: lo], on: date), atHigh = condition.evaluate([name: hi], on: date)
                    return atLow == atHigh ? atLow : nil
                case .equal, .notEqual, .isIn, .notIn:
                    return lo == hi ? condition.evaluate([name: lo], on: date) : nil
                }
            }
        }
    }
}
