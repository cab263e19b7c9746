import Foundation

/// A rule that fired, as stored with the decision.
public struct FiredRule: Sendable, Hashable, Codable {
    public var id: String
    public var effect: RuleEffect
    public var severity: RuleSeverity
    /// Reason with the input values filled in.
    public var reason: String
    /// Short evidence line, e.g. "Sánchez 2016 pilot (https://doi.org/10.1155/2016/4868613)".
    public var evidence: String
}

/// Something to do before (or for) treatment.
public struct NextStep: Sendable, Hashable, Codable {
    public var ruleId: String
    public var text: String
    /// The day from which the blocking condition no longer applies (washouts).
    public var eligibleFrom: CalendarDate?
}

/// A suggested injection site.
public struct SuggestedTarget: Sendable, Hashable, Codable {
    /// `BoneTarget` raw value or `"intra-articular"`.
    public var target: String
    public var label: String
    /// MOAKS subregions that led to this target (empty for intra-articular).
    public var subregions: [BMLSubregion]
    /// Largest BML size grade among them.
    public var maxGrade: Int?
    public var minVolumeMl: Double?
    public var maxVolumeMl: Double?
    public var evidence: String?

    public init(target: String, label: String, subregions: [BMLSubregion], maxGrade: Int?, minVolumeMl: Double?,
                maxVolumeMl: Double?, evidence: String?) {
        (self.target, self.label, self.subregions, self.maxGrade) = (target, label, subregions, maxGrade)
        (self.minVolumeMl, self.maxVolumeMl, self.evidence) = (minVolumeMl, maxVolumeMl, evidence)
    }
}

/// Suggested setting and anaesthesia.
public struct SuggestedSetting: Sendable, Hashable, Codable {
    public var setting: ProcedureSetting
    public var anaesthesia: Anaesthesia
    public var reason: String
}

/// Suggested adjunct therapy.
public struct SuggestedAdjunct: Sendable, Hashable, Codable {
    public var id: String
    public var adjunct: String
    public var detail: String
    public var evidence: String
}

/// Ruleset identity stored with each decision.
public struct RulesetIdentity: Sendable, Hashable, Codable {
    public var id: String
    public var version: String
}

/// The outcome of screening one input against one ruleset: category, fired rules, next steps, plan.
public struct ScreeningDecision: Sendable, Hashable, Codable {
    public var category: ScreeningCategory
    /// An `exclude` rule fired (hard contraindication).
    public var excluded: Bool
    /// One line on how the category was reached.
    public var summary: String
    public var ruleset: RulesetIdentity
    public var evaluationDate: CalendarDate
    /// Fired rules, most severe first, ruleset order within a severity.
    public var firedRules: [FiredRule]
    public var nextSteps: [NextStep]
    /// Latest eligible-from date among `not-now` rules, when all of them have one (washouts only).
    public var earliestEligibleDate: CalendarDate?
    public var targets: [SuggestedTarget]
    public var setting: SuggestedSetting?
    public var adjuncts: [SuggestedAdjunct]
    public var expectations: [String]
    /// Snapshot of what was screened.
    public var input: ScreeningInput

    /// JSON with sorted keys, as stored and printed by `ossa screen --json`.
    public func jsonData() throws -> Data { try StrictJSON.encode(self) }

    /// Plain-text rendering for the command line.
    public func renderText() -> String {
        var out: [String] = []
        let title = category.rawValue.uppercased() + (excluded ? " (excluded)" : "")
        out.append("Screening: \(title)")
        out.append("  \(input.joint.rawValue), \(input.side.rawValue); evaluated \(evaluationDate); ruleset \(ruleset.id) v\(ruleset.version)")
        out.append("  \(summary)")
        out.append("")
        out.append("Rules fired (\(firedRules.count)):")
        if firedRules.isEmpty { out.append("  none") }
        for rule in firedRules {
            out.append("  [\(rule.severity.rawValue.uppercased())] \(rule.id) → \(rule.effect.rawValue)")
            out.append("      \(rule.reason)")
            out.append("      evidence: \(rule.evidence)")
        }
        if !nextSteps.isEmpty {
            out.append("")
            out.append("Next steps:")
            for step in nextSteps { out.append("  - \(step.text)") }
            if let date = earliestEligibleDate { out.append("  Earliest eligible date: \(date)") }
        }
        if !targets.isEmpty {
            out.append("")
            out.append("Suggested targets:")
            for t in targets {
                var line = "  - \(t.label)"
                if let lo = t.minVolumeMl, let hi = t.maxVolumeMl {
                    line += ": \(ParameterValue.formatNumber(lo))–\(ParameterValue.formatNumber(hi)) mL"
                }
                if !t.subregions.isEmpty {
                    line += " (BML grade \(t.maxGrade ?? 0) in \(t.subregions.map(\.rawValue).joined(separator: ", ")))"
                }
                out.append(line)
            }
        }
        if let s = setting {
            out.append("")
            out.append("Suggested setting: \(s.setting.rawValue), \(s.anaesthesia.rawValue) — \(s.reason)")
        }
        if !adjuncts.isEmpty {
            out.append("")
            out.append("Adjuncts:")
            for a in adjuncts { out.append("  - \(a.adjunct): \(a.detail) [\(a.evidence)]") }
        }
        if !expectations.isEmpty {
            out.append("")
            out.append("What to expect:")
            for e in expectations { out.append("  - \(e)") }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
