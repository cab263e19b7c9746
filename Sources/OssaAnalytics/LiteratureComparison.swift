import Foundation
import OssaCore
import OssaStats

/// The clinic beside the literature: for every published outcome, the clinic's own figure on the cohort that
/// matches the study's population (joint, diagnoses, grade range, product, with or without intra-articular
/// injection) — within the viewer's sites, whatever filters the page has — with both confidence intervals.
public struct LiteratureComparison: Sendable, Encodable {
    public struct Figure: Sendable, Encodable, Hashable {
        public var estimate: Double?
        public var lower: Double?
        public var upper: Double?
        /// Subjects the clinic's figure is computed on.
        public var n: Count
    }
    public struct Row: Sendable, Encodable {
        public var study: String
        public var label: String
        public var citation: String
        public var doi: String?
        public var design: String
        public var population: String
        public var n: Int?
        public var outcome: String
        public var outcomeLabel: String
        public var kind: String
        public var months: Double
        public var unit: String
        public var published: Figure
        public var evidence: String
        /// The cohort the clinic's figure is computed on, as query parameters (to open it on the page).
        public var cohortQuery: String
        public var clinic: Figure?
        /// Why there is no clinic figure, when there is none.
        public var note: String?
    }
    public var rows: [Row]

    public init(_ file: LiteratureFile, _ extract: RegistryExtract, _ definition: CohortDefinition, _ context: AnalysisContext) throws {
        var rows: [Row] = []
        for study in file.studies {
            let cohortDefinition = Self.definition(study.population)
            let cohort = Cohort(extract, cohortDefinition)
            let needsScores = study.outcomes.contains { $0.isMatchable && ($0.kind.isPROM || $0.kind == .responderRate) }
            let outcomes = needsScores ? OutcomeTable(extract, cohort, context) : nil
            let responders = needsScores ? ResponderTable(extract, cohort, context) : nil
            let survival = study.outcomes.contains { $0.isMatchable && $0.kind == .survivalFreeOfReplacement }
                ? try SurvivalSection(extract, cohort, context) : nil
            let safety = study.outcomes.contains { $0.isMatchable && $0.kind == .adverseEventRate } ? SafetySection(extract, cohort, context) : nil
            let query = CohortQuery.items(cohortDefinition).map { "\($0.name)=\($0.value)" }.joined(separator: "&")
            for outcome in study.outcomes {
                var clinic: Figure?
                var note: String?
                let timepoint = Self.timepoint(months: outcome.months, extract)
                if !outcome.isMatchable {
                    note = "Ossa does not collect this measure"
                } else {
                    switch outcome.kind {
                    case .promChange, .promMean:
                        let row = outcomes?.rows.first { $0.instrument == outcome.instrument && $0.score == outcome.score }
                        let cell = row?.series.first?.cells.first { $0.timepoint == timepoint }
                        if let cell, let value = outcome.kind == .promChange ? cell.change : cell.score {
                            clinic = Figure(estimate: value.mean, lower: value.lower, upper: value.upper, n: value.n)
                        } else {
                            note = timepoint == nil ? "the protocol has no timepoint at \(formatNumber(outcome.months)) months" : "no scores at this timepoint yet"
                        }
                    case .responderRate:
                        let id = outcome.criterion ?? ""
                        let row = responders?.rows.first { $0.id == id }
                        if let cell = row?.series.first?.cells.first(where: { $0.timepoint == timepoint }) {
                            clinic = Figure(estimate: cell.rate.proportion, lower: cell.rate.lower, upper: cell.rate.upper, n: cell.rate.total)
                        } else {
                            note = row == nil ? "no responder rule \"\(id)\" with scores in the registry" : "no responders can be counted at this timepoint yet"
                        }
                    case .survivalFreeOfReplacement:
                        if let overall = survival?.curves.first, let e = overall.estimate(atDay: outcome.months * 30.4375) {
                            clinic = Figure(estimate: e.survival, lower: e.lower, upper: e.upper, n: Count(overall.subjects, context))
                        } else {
                            note = "the clinic's follow-up does not reach \(formatNumber(outcome.months)) months"
                        }
                    case .adverseEventRate:
                        if let safety {
                            let severe = safety.bySeverity.filter { row in
                                guard let min = outcome.minimumSeverity, let s = AdverseEventSeverity(rawValue: row.id) else { return outcome.minimumSeverity == nil && row.id == "all" }
                                return s >= min
                            }
                            if outcome.minimumSeverity == nil {
                                clinic = Figure(estimate: safety.all.perPatient.proportion, lower: safety.all.perPatient.lower,
                                                upper: safety.all.perPatient.upper, n: safety.patients)
                            } else {
                                // Patients with an event at or above the severity: the largest single-severity count is a lower
                                // bound when severities overlap, so the sum over severities (capped) is used and said.
                                let events = severe.compactMap(\.perPatient.count.value).reduce(0, +)
                                let patients = safety.patients.value ?? 0
                                let p = ProportionCI(min(events, patients), of: patients, context)
                                clinic = Figure(estimate: p.proportion, lower: p.lower, upper: p.upper, n: safety.patients)
                                note = "patients with an adverse event of this severity or worse (any time)"
                            }
                        }
                    }
                }
                let label = Self.outcomeLabel(outcome, context)
                rows.append(Row(study: study.id, label: study.label, citation: study.citation, doi: study.doi, design: study.design,
                                population: study.population.description, n: study.n, outcome: outcome.id, outcomeLabel: label,
                                kind: outcome.kind.rawValue, months: outcome.months, unit: outcome.unit.rawValue,
                                published: Figure(estimate: outcome.estimate, lower: outcome.lower, upper: outcome.upper,
                                                  n: Count(outcome.denominator ?? study.n ?? 0, AnalysisContext.unsuppressed(context))),
                                evidence: outcome.evidence.rawValue, cohortQuery: query, clinic: clinic, note: note))
            }
        }
        self.rows = rows
    }

    /// The cohort matching a study's population.
    public static func definition(_ p: PublishedStudy.Population) -> CohortDefinition {
        var filter = CohortFilter(joint: [p.joint], diagnosis: p.diagnoses, intraArticular: p.intraArticular)
        let products = Set(p.products)
        if let mix = ProductMix(products) { filter.product = [mix] }
        if let g = p.grade {
            let range = FilterRange<Int>(min: g.min, max: g.max)
            switch g.system {
            case .kellgrenLawrence: filter.kellgrenLawrence = range
            case .ahlback: filter.ahlback = range
            case .tonnis: filter.tonnis = range
            }
        }
        return CohortDefinition(filter: filter)
    }

    /// The protocol timepoint nearest a number of months (within half a month), if any.
    static func timepoint(months: Double, _ extract: RegistryExtract) -> String? {
        var best: (Double, String)?
        for (t, code) in extract.timepointCodes.enumerated() where code != "baseline" {
            let m = Double(extract.timepointDays[t]) / 30.4375
            let gap = abs(m - months)
            if gap <= 0.5, best.map({ gap < $0.0 }) ?? true { best = (gap, code) }
        }
        return best?.1
    }

    static func outcomeLabel(_ o: PublishedOutcome, _ context: AnalysisContext) -> String {
        let months = "\(formatNumber(o.months)) months"
        let score = o.instrument.map { i in o.score.map { ScoreLabels.label(ScoreKey(instrument: i, score: $0), context) } ?? i } ?? ""
        switch o.kind {
        case .promChange: return "\(score) change at \(months)"
        case .promMean: return "\(score) at \(months)"
        case .responderRate: return "\(score) responders (\(o.criterion ?? "")) at \(months)"
        case .survivalFreeOfReplacement: return "Free of joint replacement at \(o.months >= 24 && o.months.truncatingRemainder(dividingBy: 12) == 0 ? "\(Int(o.months / 12)) years" : months)"
        case .adverseEventRate: return "Adverse events\(o.minimumSeverity.map { " (\($0.rawValue) or worse)" } ?? "") by \(months)"
        }
    }

    static let csvHeader = ["study", "outcome", "label", "months", "unit", "published", "publishedLower", "publishedUpper", "publishedN",
                            "evidence", "clinic", "clinicLower", "clinicUpper", "clinicN", "note"]

    var csvRows: [[String]] {
        rows.map { r in
            [r.study, r.outcome, r.outcomeLabel, AnalyticsCSV.d(r.months), r.unit, AnalyticsCSV.d(r.published.estimate),
             AnalyticsCSV.d(r.published.lower), AnalyticsCSV.d(r.published.upper), AnalyticsCSV.n(r.published.n.value), r.evidence,
             AnalyticsCSV.d(r.clinic?.estimate), AnalyticsCSV.d(r.clinic?.lower), AnalyticsCSV.d(r.clinic?.upper),
             AnalyticsCSV.n(r.clinic?.n.value), r.note ?? ""]
        }
    }
}

extension AnalysisContext {
    /// The same context without the small-cell rule (published numbers are public).
    static func unsuppressed(_ c: AnalysisContext) -> AnalysisContext {
        var c = c
        c.minimumCellCount = nil
        return c
    }
}
