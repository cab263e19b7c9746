import Foundation

/// Evaluates a `ScreeningInput` against a `Ruleset`. All clinical logic is in the ruleset; the
/// engine only interprets conditions, aggregates effects and fills templates.
public struct ScreeningEngine: Sendable {
    public let ruleset: Ruleset

    public init(ruleset: Ruleset) {
        self.ruleset = ruleset
    }

    /// An engine with the bundled default ruleset.
    public static func withDefaultRuleset() throws -> ScreeningEngine {
        ScreeningEngine(ruleset: try Ruleset.bundledDefault())
    }

    /// Screens one input. The input is validated first (errors name the field).
    public func evaluate(_ input: ScreeningInput) throws(FieldValidationError) -> ScreeningDecision {
        try input.validate()
        let params = ScreeningParameters.extract(from: input, targetMinimumGrade: ruleset.planning.targetMinimumGrade)
        let date = input.evaluationDate
        let evidenceById = Dictionary(uniqueKeysWithValues: ruleset.evidence.map { ($0.id, $0) })
        func evidenceLine(_ ids: [String]) -> String {
            ids.compactMap { evidenceById[$0] }.map { e in e.reference.map { "\(e.short) (\($0))" } ?? e.short }.joined(separator: "; ")
        }

        var fired: [(order: Int, rule: FiredRule)] = []
        var steps: [NextStep] = []
        var notNowDates: [CalendarDate?] = []
        for (order, rule) in ruleset.rules.enumerated() where rule.when.evaluate(params, on: date) {
            fired.append((order, FiredRule(id: rule.id, effect: rule.effect, severity: rule.severity,
                                           reason: Self.fill(rule.reason, params, [:]), evidence: evidenceLine(rule.evidence))))
            var eligible: CalendarDate?
            if let template = rule.nextStep {
                eligible = template.eligibleFrom?.resolve(params)
                let extra = eligible.map { ["eligibleFrom": $0.iso] } ?? [:]
                steps.append(NextStep(ruleId: rule.id, text: Self.fill(template.text, params, extra), eligibleFrom: eligible))
            }
            if rule.effect == .notNow { notNowDates.append(eligible) }
        }
        let firedRules = fired.sorted { ($0.rule.severity, $1.order) > ($1.rule.severity, $0.order) }.map(\.rule)

        // Most restrictive floor wins; `recommended` needs an inclusion rule and nothing restricting.
        let excluded = firedRules.contains { $0.effect == .exclude }
        let floor = firedRules.compactMap(\.effect.floor).max()
        let included = firedRules.contains { $0.effect == .include }
        let category: ScreeningCategory
        let summary: String
        if let floor {
            category = floor
            let deciding = firedRules.filter { $0.effect.floor == floor }.map(\.id)
            summary = "\(floor.rawValue) because of \(deciding.joined(separator: ", "))" + (excluded ? " (hard contraindication)" : "")
        } else if included {
            category = .recommended
            summary = "recommended: inclusion criteria met (\(firedRules.filter { $0.effect == .include }.map(\.id).joined(separator: ", "))) and nothing restricts"
        } else {
            category = .consider
            summary = "consider: no inclusion rule fired, so the ruleset does not positively support IO therapy for this input"
        }
        let earliest: CalendarDate? = notNowDates.isEmpty || notNowDates.contains(nil) ? nil : notNowDates.compactMap { $0 }.max()

        let planning = ruleset.planning
        let suggest = planning.suggestFor.contains(category)
        let targets = suggest ? suggestedTargets(input, evidenceLine) : []
        let setting = suggest ? planning.settings.first { $0.when?.evaluate(params, on: date) ?? true }
            .map { SuggestedSetting(setting: $0.setting, anaesthesia: $0.anaesthesia, reason: Self.fill($0.reason, params, [:])) } : nil
        let adjuncts = suggest ? planning.adjuncts.filter { $0.when.evaluate(params, on: date) }
            .map { SuggestedAdjunct(id: $0.id, adjunct: $0.adjunct, detail: $0.detail, evidence: evidenceLine($0.evidence)) } : []
        let expectations = !suggest ? [] : planning.expectations.filter { $0.when?.evaluate(params, on: date) ?? true }.map { Self.fill($0.text, params, [:]) }

        return ScreeningDecision(
            category: category, excluded: excluded, summary: summary,
            ruleset: RulesetIdentity(id: ruleset.id, version: ruleset.version), evaluationDate: date,
            firedRules: firedRules, nextSteps: steps, earliestEligibleDate: earliest,
            targets: targets, setting: setting, adjuncts: adjuncts, expectations: expectations, input: input)
    }

    /// Intra-articular first (the Sánchez sequence), then one bone target per bone with BML at or
    /// above the planning grade, in anatomical order.
    private func suggestedTargets(_ input: ScreeningInput, _ evidenceLine: ([String]) -> String) -> [SuggestedTarget] {
        let planning = ruleset.planning
        func volume(_ target: String) -> TargetVolume? {
            planning.volumes.first { $0.target == target && $0.joint == input.joint }
                ?? planning.volumes.first { $0.target == target && $0.joint == nil }
        }
        var out: [SuggestedTarget] = []
        if planning.includeIntraArticular {
            let v = volume("intra-articular")
            out.append(SuggestedTarget(target: "intra-articular", label: "intra-articular (\(input.joint.rawValue))", subregions: [],
                                       maxGrade: nil, minVolumeMl: v?.minMl, maxVolumeMl: v?.maxMl, evidence: v.map { evidenceLine($0.evidence) }))
        }
        let findings = (input.mri?.bml ?? []).filter { $0.size.rawValue >= planning.targetMinimumGrade && $0.size != .none }
        let byTarget = Dictionary(grouping: findings, by: \.subregion.boneTarget)
        for target in byTarget.keys.sorted() {
            let group = byTarget[target]!
            let v = volume(target.rawValue)
            out.append(SuggestedTarget(target: target.rawValue, label: target.displayName, subregions: group.map(\.subregion).sorted(),
                                       maxGrade: group.map(\.size.rawValue).max(), minVolumeMl: v?.minMl, maxVolumeMl: v?.maxMl,
                                       evidence: v.map { evidenceLine($0.evidence) }))
        }
        return out
    }

    /// Replaces `{name}` with the parameter's display value ("not recorded" when missing).
    static func fill(_ template: String, _ params: [String: ParameterValue], _ extra: [String: String]) -> String {
        var result = template
        for name in Ruleset.placeholders(in: template) {
            let value = extra[name] ?? params[name]?.display ?? "not recorded"
            result = result.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return result
    }
}
