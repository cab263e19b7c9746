import Foundation
import OssaCore
import OssaJSON
import OssaStats

/// Survival free of joint replacement on the analysis cohort (see `FollowUpRule` for time zero, the end of
/// follow-up and the event): Kaplan–Meier overall and per group, log-rank between groups, Cox on the chosen
/// covariates (complete cases), and the cumulative incidence of replacement with death as a competing risk.
public struct SurvivalSection: Sendable {
    /// The same contract as `ossa stats survival` (`kaplanMeier`, `logRank`, `cox`), times in days.
    public var report: SurvivalReport
    /// A curve as shown: researchers' curves end where fewer than the minimum remain at risk.
    public struct Curve: Sendable {
        public var group: String?
        public var steps: [KaplanMeierStep]
        public var subjects: Int
        public var events: Int
        public var median: Double?

        init(_ c: KaplanMeierCurve, below k: Int?) {
            group = c.group
            steps = k.map { k in c.steps.filter { $0.atRisk >= k } } ?? c.steps
            subjects = c.subjects
            events = c.totalEvents
            // The median is shown only when the curve reaches it before being cut.
            median = c.median.flatMap { m in steps.last.map { $0.time >= m ? m : nil } ?? nil }
        }

        /// The last step with time ≤ t (nil before the first time).
        public func step(at t: Double) -> KaplanMeierStep? {
            steps.last { $0.time <= t }
        }

        /// S(t) with its CI; nil past the end of the curve (not estimable there).
        public func estimate(atDay day: Double) -> (survival: Double, lower: Double?, upper: Double?)? {
            guard let last = steps.last, day <= last.time else { return nil }
            guard let step = step(at: day) else { return (1, nil, nil) }
            return (step.survival, step.lower, step.upper)
        }
    }

    /// Overall first, then per group, as in `report`.
    public var curves: [Curve]
    public var logRank: LogRankResult?
    public var cox: CoxResult?
    /// Subjects in the Cox model (complete cases on the covariates).
    public var coxSubjects: Int
    public var coxCovariates: [CoxCovariate]
    /// Why the Cox model could not be fitted (a covariate without variation, no event), when it could not.
    public var coxError: String?
    /// Aalen–Johansen: cause 1 = joint replacement, cause 2 = death.
    public var cumulativeIncidence: CumulativeIncidence?
    public var subjects: Int
    public var events: Int
    public var deaths: Int
    /// Researchers' views: curves end where fewer than this many remain at risk; groups smaller are left out.
    public var truncatedBelow: Int?

    /// The input of the analysis, one row per treated episode in the cohort — what R reads in the correctness test
    /// and the benchmark (`time` in days, `event` 1 = replacement, `status` 0/1/2 with death as 2).
    public struct Row: Sendable, Hashable {
        public var episode: Int32
        public var time: Double
        public var event: Bool
        public var status: Int
        public var group: String
        public var covariates: [Double?]
    }

    public static func rows(_ extract: RegistryExtract, _ cohort: Cohort, covariates: [CoxCovariate]) -> [Row] {
        cohort.treated.compactMap { i in
            let e = extract.episodes[Int(i)]
            guard let days = e.followUpDays else { return nil }
            let event = e.replacementDay != nil
            let time = Double(e.replacementDay ?? days)
            let status = event ? 1 : (e.deathDay != nil ? 2 : 0)
            let group = cohort.groups[Int(cohort.groupOf[Int(i)])].label
            return Row(episode: i, time: time, event: event, status: status, group: group, covariates: covariates.map { $0.value(e) })
        }
    }

    public init(_ extract: RegistryExtract, _ cohort: Cohort, _ context: AnalysisContext,
                confidenceType: ConfidenceIntervalType = .logLog) throws {
        let k = context.minimumCellCount
        var rows = Self.rows(extract, cohort, covariates: cohort.definition.covariates)
        // Researchers: groups smaller than the minimum are left out altogether.
        if let k {
            let sizes = Dictionary(grouping: rows, by: \.group).mapValues(\.count)
            rows = rows.filter { sizes[$0.group]! >= k }
        }
        subjects = rows.count
        events = rows.filter(\.event).count
        deaths = rows.filter { $0.status == 2 }.count
        coxCovariates = cohort.definition.covariates
        truncatedBelow = k
        guard !rows.isEmpty else {
            report = SurvivalReport(kaplanMeier: [], logRank: nil, cox: nil)
            curves = []
            coxSubjects = 0
            return
        }
        let grouped = cohort.definition.group != .none
        let dataset = try SurvivalDataset(time: rows.map(\.time), event: rows.map(\.event), groupValues: grouped ? rows.map(\.group) : nil)
        let analysis = try SurvivalAnalysis(dataset: dataset, confidenceType: confidenceType, confidenceLevel: context.confidenceLevel)
        let curves = ([analysis.overall] + analysis.byGroup).map { Curve($0, below: k) }
        self.curves = curves
        logRank = analysis.logRank
        // Cox on complete cases (as R's coxph drops rows with a missing covariate).
        var cox: CoxResult?
        var coxN = 0
        if !coxCovariates.isEmpty {
            let complete = rows.filter { !$0.covariates.contains(where: { $0 == nil }) }
            coxN = complete.count
            if complete.contains(where: \.event) {
                let covariates = coxCovariates.enumerated().map { c, covariate in
                    Covariate(name: covariate.rawValue, values: complete.map { $0.covariates[c]! })
                }
                let data = try SurvivalDataset(time: complete.map(\.time), event: complete.map(\.event), groupValues: nil, covariates: covariates)
                do {
                    cox = try CoxModel.fit(PreparedSurvivalData(data), confidenceLevel: context.confidenceLevel)
                } catch {
                    coxError = "\(error)"
                }
            }
        }
        self.cox = cox
        coxSubjects = coxN
        cumulativeIncidence = try? AalenJohansen.fit(time: rows.map(\.time), status: rows.map(\.status))
        let base = SurvivalReport(analysis)
        report = SurvivalReport(kaplanMeier: k == nil ? base.kaplanMeier : curves.map(Self.contractCurve),
                                logRank: base.logRank,
                                cox: cox.map { c in
                                    SurvivalReport.Cox(terms: c.terms.map {
                                        SurvivalReport.Term(name: $0.name, coefficient: $0.coefficient, stdErr: $0.stdErr,
                                                            hazardRatio: $0.hazardRatio, pValue: $0.pValue)
                                    }, logLikelihood: c.logLikelihood)
                                })
    }

    static func contractCurve(_ c: Curve) -> SurvivalReport.Curve {
        SurvivalReport.Curve(group: c.group, median: c.median, steps: c.steps.map {
            SurvivalReport.Step(time: $0.time, atRisk: $0.atRisk, events: $0.events, survival: $0.survival,
                                stdErr: $0.stdErr, lower: $0.lower, upper: $0.upper)
        })
    }

    /// `ossa stats survival`'s JSON plus `cumulativeIncidence` (replacement, death as the competing risk).
    public func json() -> JSONValue {
        guard case .object(var members) = report.jsonValue else { return report.jsonValue }
        let ci: JSONValue = cumulativeIncidence.map { cif in
            func num(_ x: Double) -> JSONValue { x.isFinite ? .number(x) : .null }
            let index = { (cause: Int) in cif.causes.firstIndex(of: cause) }
            let steps = (truncatedBelow.map { k in cif.steps.filter { $0.atRisk >= k } } ?? cif.steps)
            return .object([
                ("causes", .array([.object([("code", .int(1)), ("name", .string("joint-replacement"))]),
                                   .object([("code", .int(2)), ("name", .string("death"))])])),
                ("steps", .array(steps.map { s in
                    let r = index(1), d = index(2)
                    return .object([("time", .number(s.time)), ("atRisk", .int(s.atRisk)),
                                    ("replacements", .int(r.map { s.events[$0] } ?? 0)), ("deaths", .int(d.map { s.events[$0] } ?? 0)),
                                    ("replacement", num(r.map { s.incidence[$0] } ?? 0)), ("replacementStdErr", num(r.map { s.incidenceStdErr[$0] } ?? 0)),
                                    ("death", num(d.map { s.incidence[$0] } ?? 0)), ("deathStdErr", num(d.map { s.incidenceStdErr[$0] } ?? 0))])
                })),
            ])
        } ?? .null
        members.append(("cumulativeIncidence", ci))
        return .object(members)
    }
}
