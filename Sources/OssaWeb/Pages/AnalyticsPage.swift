import Foundation
import OssaAnalytics
import OssaCore
import OssaStats
import OssaStore

/// GET /analytics: registry analytics of a cohort — the filter form (GET, so a cohort is a link), the flow diagram,
/// Table 1, outcomes, responders, survival free of joint replacement, BML change, safety, and the clinic beside the
/// literature; each plot with its table and "download the data (CSV)", the page with "download all (JSON)".
/// Model: `AnalyticsPage`; view: `analytics.mustache`; read model: `AnalyticsRepository.extract` (one audited
/// export; the analyses run on the cached extract).
struct AnalyticsPage: Page {
    static let template = "analytics"

    /// A plot with the same numbers as a table and the CSV of its data.
    struct Figure: Sendable {
        var id: String
        var heading: String
        var svg: String
        var table: TableModel
        var csvURL: String
        var note: String?
        var open: Bool
    }

    struct Section: Sendable {
        var id: String
        var heading: String
        var intro: String?
        var tables: [TableModel]
        var figures: [Figure]
        var csvURL: String?
        var notes: [String]
    }

    struct FlowStep: Sendable {
        var label: String
        var count: String
        var first: Bool
    }

    /// The table of contents, the flow and the sections: everything the report alone decides, so it is rendered
    /// once per report and query (`_analyticsResults.mustache`) and kept with the report (`AnalyticsSetup`).
    struct Results: Sendable {
        static let template = "_analyticsResults"
        var flow: [FlowStep]
        var flowCSV: String
        var sections: [Section]
    }

    struct SavedCohort: Sendable {
        var name: String
        var url: String
        var selected: Bool
    }

    var title = "Registry analytics"
    var user: UserBar?
    var chrome = Chrome()
    var errors: ErrorSummary
    var filterFields: [FormField]
    var rangeFields: [FormField]
    var groupFields: [FormField]
    var formAction: String
    var hasResults: Bool
    var summary: String
    var researcherNote: String?
    var jsonURL: String
    /// The results as a model (the report file, the page catalog) or already rendered (the page, from the cache).
    var results: Results?
    var resultsHTML: String?
    var savedCohorts: [SavedCohort]
    var hasSavedCohorts: Bool
    var saveAction: String
    var saveQuery: [FormField]
    var cohortName: FormField
    var saveErrors: Bool

    // MARK: - The form

    static func form(_ values: FormValues, _ errors: FormErrors, sites: [(UUID, String)]) -> (filters: [FormField], ranges: [FormField], group: [FormField]) {
        func title(_ raw: String) -> String { raw.replacingOccurrences(of: "-", with: " ").capitalized }
        var filters: [FormField] = []
        if sites.count > 1 {
            filters.append(.choices("site", "Site", values, errors, options: sites.map { ($0.0.lowercasedString, $0.1) }, multiple: true, inline: true))
        }
        filters += [
            .choices("joint", "Joint", values, errors, options: [Joint.knee, .hip].map { ($0.rawValue, title($0.rawValue)) }, multiple: true, inline: true),
            .choices("diagnosis", "Diagnosis", values, errors, options: Diagnosis.Kind.allCases.map { ($0.rawValue, title($0.rawValue)) }, multiple: true),
            .choices("product", "Product", values, errors, options: ProductMix.allCases.map { ($0.rawValue, $0.label) }, multiple: true, inline: true),
            .select("intraArticular", "Intra-articular injection", values, errors,
                    options: [("true", "With an intra-articular injection"), ("false", "IO only")], blank: "Either"),
            .choices("sex", "Sex", values, errors, options: PatientSex.allCases.map { ($0.rawValue, title($0.rawValue)) }, multiple: true, inline: true),
            .choices("screening", "Screening category", values, errors,
                     options: ScreeningCategory.allCases.map { ($0.rawValue, title($0.rawValue)) }, multiple: true, inline: true),
        ]
        let kl = (0...4).map { (String($0), "KL \($0)") }
        let ahlback = (1...5).map { (String($0), "Ahlbäck \(["I", "II", "III", "IV", "V"][$0 - 1])") }
        let tonnis = (0...3).map { (String($0), "Tönnis \($0)") }
        let ranges: [FormField] = [
            .select("klMin", "Kellgren–Lawrence from", values, errors, options: kl, blank: "Any"),
            .select("klMax", "Kellgren–Lawrence to", values, errors, options: kl, blank: "Any"),
            .select("ahlbackMin", "Ahlbäck from", values, errors, options: ahlback, blank: "Any"),
            .select("ahlbackMax", "Ahlbäck to", values, errors, options: ahlback, blank: "Any"),
            .select("tonnisMin", "Tönnis from", values, errors, options: tonnis, blank: "Any"),
            .select("tonnisMax", "Tönnis to", values, errors, options: tonnis, blank: "Any"),
            .number("bmlBurdenMin", "BML burden from", values, errors, decimal: false),
            .number("bmlBurdenMax", "BML burden to", values, errors, decimal: false),
            .number("ageMin", "Age from (years)", values, errors, decimal: false),
            .number("ageMax", "Age to (years)", values, errors, decimal: false),
            .number("bmiMin", "BMI from (kg/m²)", values, errors),
            .number("bmiMax", "BMI to (kg/m²)", values, errors),
            .number("yearFrom", "Treated from (year)", values, errors, decimal: false),
            .number("yearTo", "Treated to (year)", values, errors, decimal: false),
        ]
        let group: [FormField] = [
            .select("group", "Compare groups by", values, errors, options: CohortGrouping.allCases.filter { $0 != .none }.map { ($0.rawValue, $0.label) },
                    blank: "No grouping"),
            .choices("covariate", "Cox model covariates", values, errors, options: CoxCovariate.allCases.map { ($0.rawValue, $0.label) },
                     multiple: true, hint: "Hazard ratios of joint replacement, adjusted for each other"),
        ]
        return (filters, ranges, group)
    }

    /// The page with the form only: refused filters (their errors), or before the first report.
    init(user: UserBar, values: FormValues, errors: FormErrors, sites: [(UUID, String)], saved: [SavedCohortRecord]) {
        self.user = user
        self.errors = errors.summary
        (filterFields, rangeFields, groupFields) = Self.form(values, errors, sites: sites)
        formAction = Paths.analytics.template
        hasResults = false
        summary = ""
        jsonURL = ""
        savedCohorts = saved.map { SavedCohort(name: $0.name, url: Paths.analytics.template + "?cohort=" + $0.id.lowercasedID, selected: false) }
        hasSavedCohorts = !saved.isEmpty
        saveAction = Paths.analyticsCohorts.template
        saveQuery = []
        cohortName = .input("name", "Name", values, errors, width: "20")
        saveErrors = false
    }

    init(_ report: AnalyticsReport, extract: ScopedExtract, context: AnalysisContext, user: UserBar, values: FormValues,
         query: String, saved: [SavedCohortRecord], savedID: UUID?, resultsHTML: String? = nil) {
        self.init(user: user, values: values, errors: FormErrors(), sites: extract.extract.siteNames.sorted { $0.value < $1.value }.map { ($0.key, $0.value) },
                  saved: saved)
        savedCohorts = saved.map { SavedCohort(name: $0.name, url: Paths.analytics.template + "?cohort=" + $0.id.lowercasedID, selected: $0.id == savedID) }
        hasResults = true
        let suffix = query.isEmpty ? "" : "?" + query
        jsonURL = Paths.analyticsJSON.template + suffix
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMMM yyyy, HH:mm 'UTC'"
        summary = "\(report.cohort.treated.count) treated episodes in the cohort (\(report.cohort.matching.count) matching the filters); figures as of \(formatter.string(from: extract.readAt))\(extract.isStale ? " (the registry has changed since; newer figures are being read — reload in a minute)" : "")."
        if let k = extract.viewer.minimumCellCount {
            researcherNote = "De-identified view: aggregates only, and every count below \(k) (and every figure computed on fewer than \(k) patients) is suppressed, shown as “<\(k)”. Survival curves end where fewer than \(k) remain at risk."
        }
        saveQuery = CohortQuery.items(report.definition).map { FormField.hidden($0.name, $0.value) }
        if let resultsHTML { self.resultsHTML = resultsHTML } else { results = Self.results(report, context, query: query) }
    }

    /// The flow and every section of the report, with the CSV links of `query`.
    static func results(_ report: AnalyticsReport, _ context: AnalysisContext, query: String) -> Results {
        let suffix = query.isEmpty ? "" : "?" + query
        func csv(_ d: AnalyticsCSV.Dataset) -> String { Paths.analyticsCSV.url(d.rawValue + ".csv") + suffix }
        let flow = report.flow.steps.enumerated().map { i, s in FlowStep(label: s.label, count: s.count.text(context), first: i == 0) }
        var sections: [Section] = []
        sections.append(Self.baselineSection(report, context, csv(.baseline)))
        sections.append(Self.outcomeSection(report, context, csv(.proms)))
        sections.append(Self.responderSection(report, context, csv(.responders)))
        sections.append(Self.survivalSection(report, context, csv(.survival), csv(.cumulativeIncidence), csv(.cox)))
        sections.append(Self.bmlSection(report, context, csv(.bml)))
        sections.append(Self.safetySection(report, context, csv(.safety)))
        if let literature = report.literature { sections.append(Self.literatureSection(literature, context, csv(.literature))) }
        return Results(flow: flow, flowCSV: csv(.flow), sections: sections)
    }

    // MARK: - Formatting

    static func f(_ v: Double?, _ digits: Int = 1) -> String {
        guard let v, v.isFinite else { return "–" }
        return String(format: "%.\(digits)f", v).replacingOccurrences(of: "-", with: "−")
    }

    static func ci(_ m: MeanCI, _ digits: Int = 1) -> String {
        guard let mean = m.mean else { return "–" }
        guard let lo = m.lower, let hi = m.upper else { return f(mean, digits) }
        return "\(f(mean, digits)) (\(f(lo, digits)) to \(f(hi, digits)))"
    }

    static func meanSD(_ m: MeanCI) -> String {
        guard let mean = m.mean else { return "–" }
        return m.sd.map { "\(f(mean)) ± \(f($0))" } ?? f(mean)
    }

    static func pct(_ p: ProportionCI) -> String {
        guard let v = p.proportion else { return p.count.suppressed || p.total.suppressed ? "suppressed" : "–" }
        guard let lo = p.lower, let hi = p.upper else { return "\(f(v * 100))%" }
        return "\(f(v * 100))% (\(f(lo * 100)) to \(f(hi * 100)))"
    }

    static func count(_ c: Count, _ context: AnalysisContext) -> String { c.text(context) }

    // MARK: - Sections

    static func baselineSection(_ report: AnalyticsReport, _ context: AnalysisContext, _ csvURL: String) -> Section {
        let b = report.baseline
        var rows: [TableModel.Row] = [TableModel.Row(cells: [.init("Episodes (N)")] + b.n.map { .init($0.text(context), class: "num") })]
        for v in b.variables {
            if let means = v.means {
                rows.append(TableModel.Row(cells: [.init("\(v.label), mean ± SD")] + means.map { .init(meanSD($0), class: "num") }))
            }
            for c in v.categories ?? [] {
                rows.append(TableModel.Row(cells: [.init("\(v.label): \(c.label)")] + zip(c.counts, c.percents).map { count, percent in
                    .init(percent.map { "\(count.text(context)) (\(f($0))%)" } ?? count.text(context), class: "num")
                }))
            }
        }
        let table = TableModel(caption: "Baseline characteristics (Table 1)", headers: ["Characteristic"] + b.columns, rows: rows,
                               captionHidden: false)
        return Section(id: "baseline", heading: "Baseline characteristics", intro: "Treated episodes of the cohort at their first IO procedure.",
                       tables: [table], figures: [], csvURL: csvURL, notes: [])
    }

    static func outcomeSection(_ report: AnalyticsReport, _ context: AnalysisContext, _ csvURL: String) -> Section {
        var figures: [Figure] = []
        for (index, row) in report.outcomes.rows.enumerated() {
            var tableRows: [TableModel.Row] = []
            for s in row.series {
                for c in s.cells {
                    tableRows.append(TableModel.Row(cells: [.init(s.group), .init(c.label), .init(c.score.n.text(context), class: "num"),
                                                            .init(ci(c.score), class: "num"), .init(c.change.map { ci($0) } ?? "–", class: "num"),
                                                            .init(pct(c.completion), class: "num")]))
                }
            }
            let table = TableModel(caption: "\(row.label) by timepoint", headers: ["Group", "Timepoint", "n", "Mean (95% CI)", "Change from baseline (95% CI)", "Completion (95% CI)"],
                                   rows: tableRows)
            let range = row.range.map { $0[0]...$0[1] } ?? Self.range(row.series.flatMap { $0.cells.compactMap(\.score.mean) })
            // Timepoints evenly spaced (week 2 and week 6 would crowd month 0 on a time axis); labelled by name.
            let order = (row.series.first?.cells ?? []).map(\.timepoint)
            let ticks = (row.series.first?.cells ?? []).enumerated().map { AnalyticsPlot.Tick(value: Double($0.offset), label: shortLabel($0.element.label)) }
            let plot = AnalyticsPlot.LinePlot(
                id: "trajectory-\(row.instrument)-\(row.score)", title: "\(row.label): mean and 95% CI over time",
                description: "\(row.label) by months after the first IO procedure\(row.higherIsBetter ? "; higher is better" : "; higher is worse")",
                xLabel: "Timepoint after the first IO procedure", yLabel: row.label, yRange: range, xTicks: ticks,
                series: row.series.filter { report.definition.group == .none || $0.group != "All" }.map { s in
                    AnalyticsPlot.LineSeries(label: s.group, points: s.cells.compactMap { c in
                        c.score.mean.map { AnalyticsPlot.LinePoint(x: Double(order.firstIndex(of: c.timepoint) ?? 0), y: $0, lower: c.score.lower, upper: c.score.upper) }
                    })
                })
            figures.append(Figure(id: "proms-\(row.instrument)-\(row.score)", heading: row.label, svg: AnalyticsPlot.line(plot), table: table,
                                  csvURL: csvURL, note: nil, open: index < 2))
        }
        return Section(id: "outcomes", heading: "Patient-reported outcomes",
                       intro: "Per instrument score and timepoint: n, mean with its 95% CI, the mean paired change from baseline with its 95% CI, and the completion rate (answered of those due: alive, not yet replaced, window closed).",
                       tables: [], figures: figures, csvURL: nil, notes: figures.isEmpty ? ["No questionnaire scores in this cohort yet."] : [])
    }

    static func responderSection(_ report: AnalyticsReport, _ context: AnalysisContext, _ csvURL: String) -> Section {
        var figures: [Figure] = []
        for (index, row) in report.responders.rows.enumerated() {
            let categories = (row.series.first?.cells ?? []).map(\.label)
            var tableRows: [TableModel.Row] = []
            for s in row.series {
                for c in s.cells {
                    tableRows.append(TableModel.Row(cells: [.init(s.group), .init(c.label), .init(c.rate.count.text(context), class: "num"),
                                                            .init(c.rate.total.text(context), class: "num"), .init(pct(c.rate), class: "num")]))
                }
            }
            let shown = row.series.filter { report.definition.group == .none || $0.group != "All" }
            let plot = AnalyticsPlot.BarPlot(
                id: "responders-\(row.id)", title: "\(row.label): responders with 95% CI",
                description: "Share of evaluable patients meeting \(row.label) at each follow-up", yLabel: "Responders",
                categories: categories,
                series: shown.map { s in
                    AnalyticsPlot.BarSeries(label: s.group, values: categories.map { label in
                        s.cells.first { $0.label == label }.flatMap { c in c.rate.proportion.map { AnalyticsPlot.BarValue(value: $0, lower: c.rate.lower, upper: c.rate.upper) } }
                    })
                })
            let table = TableModel(caption: "\(row.label) by timepoint", headers: ["Group", "Timepoint", "Responders", "Evaluable", "Rate (95% CI)"], rows: tableRows)
            figures.append(Figure(id: "responders-\(row.id)", heading: row.label, svg: AnalyticsPlot.bars(plot), table: table, csvURL: csvURL,
                                  note: "Threshold: \(row.source)", open: index < 2))
        }
        return Section(id: "responders", heading: "Responders",
                       intro: "MCID/MCII, PASS and SCB per instrument (the thresholds table's defaults) and OMERACT-OARSI 2004, with exact (Clopper–Pearson) 95% CIs.",
                       tables: [], figures: figures, csvURL: nil, notes: figures.isEmpty ? ["No follow-up scores to count responders on yet."] : [])
    }

    static func survivalSection(_ report: AnalyticsReport, _ context: AnalysisContext, _ kmCSV: String, _ cifCSV: String, _ coxCSV: String) -> Section {
        let s = report.survival
        let days = 365.25
        let maxDays = s.curves.flatMap(\.steps).map(\.time).max() ?? days
        let years = max(1, Int((maxDays / days).rounded(.up)))
        let ticks = (0...years).map(Double.init)
        let grouped = report.definition.group != .none
        let shown = grouped ? Array(s.curves.dropFirst()) : Array(s.curves.prefix(1))
        let k = context.minimumCellCount
        func atRisk(_ c: SurvivalSection.Curve, _ year: Double) -> String {
            let t = year * days
            // At risk at t: those whose time is ≥ t (the first step at or after t, else none left).
            // No step at or after t: nobody followed that long — or, on a researcher's cut curve, too few to show.
            guard let n = c.steps.first(where: { $0.time >= t })?.atRisk else { return k == nil ? "0" : "–" }
            if let k, n < k { return "<\(k)" }
            return String(n)
        }
        let curves = shown.map { c in
            AnalyticsPlot.StepCurve(label: c.group ?? "All", points: [AnalyticsPlot.StepPoint(x: 0, y: 1, lower: 1, upper: 1)] + c.steps.filter { $0.events > 0 }.map {
                AnalyticsPlot.StepPoint(x: $0.time / days, y: $0.survival, lower: $0.lower, upper: $0.upper)
            }, censorTimes: c.steps.filter { $0.censored > 0 }.map { $0.time / days }, showBand: true, median: c.median.map { $0 / days })
        }
        let km = AnalyticsPlot.StepPlot(
            id: "survival-km", title: "Survival free of joint replacement (Kaplan–Meier, 95% CI)",
            description: "\(s.subjects) episodes, \(s.events) joint replacements; time from the first IO procedure in years",
            xLabel: "Years after the first IO procedure", yLabel: "Free of joint replacement", xTicks: ticks, curves: curves,
            atRisk: AnalyticsPlot.AtRiskTable(times: ticks, rows: shown.map { c in AnalyticsPlot.AtRiskRow(label: c.group ?? "All", counts: ticks.map { atRisk(c, $0) }) }),
            yFormat: .percent)
        var kmRows: [TableModel.Row] = []
        for c in shown {
            var cells: [TableModel.Cell] = [.init(c.group ?? "All"), .init(String(c.subjects), class: "num"), .init(String(c.events), class: "num")]
            for year in [1.0, 2, 5] {
                if let e = c.estimate(atDay: year * days) {
                    cells.append(.init("\(f(e.survival * 100))% (\(f((e.lower ?? e.survival) * 100)) to \(f((e.upper ?? e.survival) * 100)))", class: "num"))
                } else {
                    cells.append(.init("–", class: "num"))
                }
            }
            cells.append(.init(c.median.map { "\(f($0 / days)) years" } ?? "not reached", class: "num"))
            kmRows.append(TableModel.Row(cells: cells))
        }
        let kmTable = TableModel(caption: "Survival free of joint replacement", headers: ["Group", "Episodes", "Replacements", "1 year (95% CI)", "2 years (95% CI)", "5 years (95% CI)", "Median"],
                                 rows: kmRows)
        var notes: [String] = []
        if let lr = s.logRank {
            notes.append("Log-rank test between groups: χ² = \(f(lr.chiSquare, 2)) on \(lr.degreesOfFreedom) degrees of freedom, p = \(pValue(lr.pValue)).")
        }
        var figures = [Figure(id: "survival-km", heading: "Kaplan–Meier", svg: AnalyticsPlot.survival(km), table: kmTable, csvURL: kmCSV,
                              note: "Time zero is the first IO procedure; follow-up ends at death, withdrawal or loss to follow-up, or else at the later of the last contact and the latest record; the first joint replacement on or before then is the event.", open: true)]
        if let cox = s.cox {
            let rows = cox.terms.map { t in
                TableModel.Row(cells: [.init(CoxCovariate(rawValue: t.name)?.label ?? t.name), .init(f(t.hazardRatio, 2), class: "num"),
                                       .init("\(f(t.lowerHazardRatio, 2)) to \(f(t.upperHazardRatio, 2))", class: "num"), .init(pValue(t.pValue), class: "num")])
            }
            let forest = AnalyticsPlot.ForestPlot(
                id: "survival-cox", title: "Cox proportional hazards of joint replacement",
                description: "\(cox.subjects) episodes with every covariate recorded, \(cox.events) replacements",
                rows: cox.terms.map { t in
                    AnalyticsPlot.ForestRow(label: CoxCovariate(rawValue: t.name)?.label ?? t.name, estimate: t.hazardRatio, lower: t.lowerHazardRatio,
                                            upper: t.upperHazardRatio, annotation: "\(f(t.hazardRatio, 2)) (\(f(t.lowerHazardRatio, 2))–\(f(t.upperHazardRatio, 2)))")
                }, labelHeader: "Covariate", annotationHeader: "HR (95% CI)")
            figures.append(Figure(id: "survival-cox", heading: "Cox model", svg: AnalyticsPlot.forest(forest),
                                  table: TableModel(caption: "Hazard ratios", headers: ["Covariate", "Hazard ratio", "95% CI", "p"], rows: rows),
                                  csvURL: coxCSV, note: "Efron ties; \(cox.subjects) of \(s.subjects) episodes have every covariate (complete cases).", open: true))
        } else if !report.definition.covariates.isEmpty {
            notes.append("The Cox model could not be fitted on the \(s.coxSubjects) episodes with every chosen covariate: \(s.coxError ?? "no replacement among them").")
        }
        if let cif = s.cumulativeIncidence, let r = cif.causes.firstIndex(of: 1) ?? Optional(-1) {
            let d = cif.causes.firstIndex(of: 2)
            let steps = cif.steps.filter { $0.atRisk >= (k ?? 0) }
            func at(_ day: Double) -> (Double, Double)? {
                guard let last = steps.last, day <= last.time else { return nil }
                let step = steps.last { $0.time <= day }
                return (r >= 0 ? step?.incidence[r] ?? 0 : 0, d.map { step?.incidence[$0] ?? 0 } ?? 0)
            }
            let points = { (cause: Int?) in
                [AnalyticsPlot.StepPoint(x: 0, y: 0)] + steps.compactMap { s -> AnalyticsPlot.StepPoint? in
                    guard let cause, cause >= 0, s.events[cause] > 0 else { return nil }
                    let z = Normal.quantile(0.975)
                    let v = s.incidence[cause], se = s.incidenceStdErr[cause]
                    return AnalyticsPlot.StepPoint(x: s.time / days, y: v, lower: max(0, v - z * se), upper: min(1, v + z * se))
                }
            }
            let plot = AnalyticsPlot.StepPlot(
                id: "survival-cif", title: "Cumulative incidence of joint replacement, death as a competing risk",
                description: "Aalen–Johansen estimates with 95% CIs (normal approximation)", xLabel: "Years after the first IO procedure",
                yLabel: "Cumulative incidence", yRange: 0...1, xTicks: ticks,
                curves: [AnalyticsPlot.StepCurve(label: "Joint replacement", points: points(r), showBand: true),
                         AnalyticsPlot.StepCurve(label: "Death", points: points(d), showBand: false)], yFormat: .percent)
            let rows = [1.0, 2, 5].map { year -> TableModel.Row in
                let v = at(year * days)
                return TableModel.Row(cells: [.init("\(Int(year)) year\(year == 1 ? "" : "s")"), .init(v.map { "\(f($0.0 * 100))%" } ?? "–", class: "num"),
                                              .init(v.map { "\(f($0.1 * 100))%" } ?? "–", class: "num")])
            }
            figures.append(Figure(id: "survival-cif", heading: "Cumulative incidence", svg: AnalyticsPlot.survival(plot),
                                  table: TableModel(caption: "Cumulative incidence", headers: ["Time", "Joint replacement", "Death"], rows: rows),
                                  csvURL: cifCSV, note: nil, open: true))
        }
        if s.subjects == 0 { notes.append("No treated episode in this cohort.") }
        return Section(id: "survival", heading: "Survival free of joint replacement",
                       intro: "\(s.subjects) treated episodes; \(s.events) joint replacements; \(s.deaths) deaths before any replacement.",
                       tables: [], figures: figures, csvURL: nil, notes: notes)
    }

    static func bmlSection(_ report: AnalyticsReport, _ context: AnalysisContext, _ csvURL: String) -> Section {
        let b = report.bml
        var figures: [Figure] = []
        for joint in ["knee", "hip"] {
            let regions = b.subregions.filter { $0.joint == joint }
            guard !regions.isEmpty else { continue }
            let cells = Dictionary(regions.map { r in
                (r.id, AnalyticsPlot.SubregionCell(meanChange: r.meanChange, n: r.n.value ?? 0, improved: r.improved.proportion,
                                                   unchanged: r.unchanged.proportion, worse: r.worse.proportion))
            }, uniquingKeysWith: { a, _ in a })
            let plot = AnalyticsPlot.SubregionHeatMap(id: "bml-\(joint)", title: "Mean change in BML size grade, \(joint)",
                                                      description: "Baseline to follow-up MRI; negative is improvement", joint: joint, cells: cells)
            let rows = regions.map { r in
                TableModel.Row(cells: [.init(r.id.replacingOccurrences(of: "-", with: " ")), .init(r.n.text(context), class: "num"), .init(f(r.meanChange, 2), class: "num"),
                                       .init(pct(r.improved), class: "num"), .init(pct(r.unchanged), class: "num"), .init(pct(r.worse), class: "num")])
            }
            figures.append(Figure(id: "bml-\(joint)", heading: joint.capitalized, svg: AnalyticsPlot.subregionChange(plot),
                                  table: TableModel(caption: "BML change by subregion (\(joint))", headers: ["Subregion", "n", "Mean change", "Improved", "Unchanged", "Worse"], rows: rows),
                                  csvURL: csvURL, note: nil, open: true))
        }
        let burden = TableModel(caption: "BML burden before and after", headers: ["", "n", "Mean (95% CI)"], rows: [
            TableModel.Row(.init("Baseline burden"), .init(b.burdenBefore.n.text(context), class: "num"), .init(ci(b.burdenBefore), class: "num")),
            TableModel.Row(.init("Follow-up burden"), .init(b.burdenAfter.n.text(context), class: "num"), .init(ci(b.burdenAfter), class: "num")),
            TableModel.Row(.init("Change"), .init(b.burdenChange.n.text(context), class: "num"), .init(ci(b.burdenChange), class: "num")),
        ], captionHidden: false)
        return Section(id: "bml", heading: "BML change on follow-up MRI",
                       intro: "\(b.pairs.text(context)) episodes with a baseline and a follow-up MRI. Per subregion, over episodes with a lesion there on either study.",
                       tables: [burden], figures: figures, csvURL: csvURL, notes: [])
    }

    static func safetySection(_ report: AnalyticsReport, _ context: AnalysisContext, _ csvURL: String) -> Section {
        let s = report.safety
        func rows(_ list: [SafetySection.Row]) -> [TableModel.Row] {
            list.map { r in
                TableModel.Row(cells: [.init(r.label), .init(r.events.text(context), class: "num"), .init(pct(r.perProcedure), class: "num"),
                                       .init(r.perPatient.count.text(context), class: "num"), .init(pct(r.perPatient), class: "num")])
            }
        }
        let headers = ["", "Events", "Per IO procedure (95% CI)", "Patients", "Per patient (95% CI)"]
        return Section(id: "safety", heading: "Safety",
                       intro: "\(s.procedures.text(context)) IO procedures in \(s.patients.text(context)) patients. Exact (Clopper–Pearson) 95% CIs.",
                       tables: [TableModel(caption: "Adverse events", headers: headers, rows: rows([s.all, s.related]), captionHidden: false),
                                TableModel(caption: "By severity", headers: headers, rows: rows(s.bySeverity), captionHidden: false),
                                TableModel(caption: "By relatedness", headers: headers, rows: rows(s.byRelatedness), captionHidden: false)],
                       figures: [], csvURL: csvURL, notes: [])
    }

    static func literatureSection(_ l: LiteratureComparison, _ context: AnalysisContext, _ csvURL: String) -> Section {
        func value(_ v: LiteratureComparison.Figure?, unit: String) -> String {
            guard let v, let e = v.estimate else { return "–" }
            let scale = unit == "proportion" ? 100.0 : 1
            let suffix = unit == "proportion" ? "%" : ""
            guard let lo = v.lower, let hi = v.upper else { return f(e * scale) + suffix }
            return "\(f(e * scale))\(suffix) (\(f(lo * scale)) to \(f(hi * scale)))"
        }
        let rows = l.rows.map { r in
            TableModel.Row(cells: [.init("\(r.label): \(r.design)"), .init(r.population), .init(r.n.map(String.init) ?? "–", class: "num"),
                                   .init(r.outcomeLabel), .init(value(r.published, unit: r.unit) + " [\(r.evidence)]", class: "num"),
                                   .link(r.clinic.map { "n = \($0.n.text(context))" } ?? "cohort", Paths.analytics.template + "?" + r.cohortQuery),
                                   .init(r.clinic.map { value($0, unit: r.unit) } ?? (r.note ?? "–"), class: "num")])
        }
        let citations = Array(Set(l.rows.map { "\($0.label): \($0.citation)\($0.doi.map { " doi:\($0)" } ?? "")" })).sorted()
        return Section(id: "literature", heading: "The clinic beside the literature",
                       intro: "Each published outcome beside the clinic's own figure on the matching cohort (joint, diagnosis, grade, product, with or without intra-articular injection) at the viewer's sites, whatever the filters above. Evidence: V checked in the paper, S secondary source, M from memory.",
                       tables: [TableModel(caption: "Published studies and the clinic", headers: ["Study", "Population", "N", "Outcome", "Published (95% CI)", "Clinic cohort", "Clinic (95% CI)"],
                                           rows: rows, captionHidden: false)],
                       figures: [], csvURL: csvURL, notes: citations)
    }

    static func pValue(_ p: Double) -> String { p < 0.001 ? "< 0.001" : String(format: "%.3f", p) }

    static func shortLabel(_ label: String) -> String {
        label.replacingOccurrences(of: " months", with: " mo").replacingOccurrences(of: " weeks", with: " wk")
    }

    static func range(_ values: [Double]) -> ClosedRange<Double> {
        guard let lo = values.min(), let hi = values.max(), hi > lo else { return 0...100 }
        let pad = (hi - lo) * 0.15
        return (lo - pad)...(hi + pad)
    }
}
