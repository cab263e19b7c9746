import Foundation
import OssaCore
import OssaStats

/// The data behind each table and plot as CSV ("download the data"): RFC 4180, a header row, numbers in full
/// precision, suppressed cells empty with a `suppressed` column saying so.
public enum AnalyticsCSV {
    /// Dataset names (the download URL's last segment, `<name>.csv`).
    public enum Dataset: String, Sendable, CaseIterable {
        case flow, baseline, proms, responders, survival, cumulativeIncidence = "cumulative-incidence", cox, bml, safety, literature
    }

    public static func csv(_ dataset: Dataset, _ report: AnalyticsReport) -> String {
        var rows: [[String]] = []
        switch dataset {
        case .flow:
            rows.append(["step", "label", "count", "suppressed"])
            for s in report.flow.steps { rows.append([s.id, s.label, n(s.count.value), b(s.count.suppressed)]) }
        case .baseline:
            rows.append(["variable", "category", "column", "n", "mean", "sd", "count", "percent", "suppressed"])
            for v in report.baseline.variables {
                for (c, column) in report.baseline.columns.enumerated() {
                    if let means = v.means {
                        let m = means[c]
                        rows.append([v.label, "", column, n(m.n.value), d(m.mean), d(m.sd), "", "", b(m.n.suppressed)])
                    }
                    for category in v.categories ?? [] {
                        rows.append([v.label, category.label, column, n(report.baseline.n[c].value), "", "", n(category.counts[c].value),
                                     d(category.percents[c]), b(category.counts[c].suppressed)])
                    }
                }
            }
        case .proms:
            rows.append(["instrument", "score", "group", "timepoint", "months", "n", "mean", "lower", "upper",
                         "changeN", "change", "changeLower", "changeUpper", "answered", "eligible", "completion", "suppressed"])
            for r in report.outcomes.rows {
                for s in r.series {
                    for c in s.cells {
                        rows.append([r.instrument, r.score, s.group, c.timepoint, d(c.months), n(c.score.n.value), d(c.score.mean),
                                     d(c.score.lower), d(c.score.upper), n(c.change?.n.value), d(c.change?.mean), d(c.change?.lower),
                                     d(c.change?.upper), n(c.completion.count.value), n(c.completion.total.value), d(c.completion.proportion),
                                     b(c.score.n.suppressed || c.completion.count.suppressed || c.completion.total.suppressed)])
                    }
                }
            }
        case .responders:
            rows.append(["criterion", "label", "group", "timepoint", "responders", "evaluable", "rate", "lower", "upper", "suppressed"])
            for r in report.responders.rows {
                for s in r.series {
                    for c in s.cells {
                        rows.append([r.id, r.label, s.group, c.timepoint, n(c.rate.count.value), n(c.rate.total.value),
                                     d(c.rate.proportion), d(c.rate.lower), d(c.rate.upper), b(c.rate.count.suppressed || c.rate.total.suppressed)])
                    }
                }
            }
        case .survival:
            rows.append(["group", "time", "atRisk", "events", "censored", "survival", "stdErr", "lower", "upper"])
            for curve in report.survival.curves {
                for s in curve.steps {
                    rows.append([curve.group ?? "All", d(s.time), String(s.atRisk), String(s.events), String(s.censored), d(s.survival),
                                 d(s.stdErr), d(s.lower), d(s.upper)])
                }
            }
        case .cumulativeIncidence:
            rows.append(["time", "atRisk", "replacements", "deaths", "replacement", "replacementStdErr", "death", "deathStdErr"])
            if let cif = report.survival.cumulativeIncidence {
                let r = cif.causes.firstIndex(of: 1), dd = cif.causes.firstIndex(of: 2)
                let k = report.survival.truncatedBelow ?? 0
                for s in cif.steps where s.atRisk >= k {
                    rows.append([d(s.time), String(s.atRisk), String(r.map { s.events[$0] } ?? 0), String(dd.map { s.events[$0] } ?? 0),
                                 d(r.map { s.incidence[$0] } ?? 0), d(r.map { s.incidenceStdErr[$0] } ?? 0),
                                 d(dd.map { s.incidence[$0] } ?? 0), d(dd.map { s.incidenceStdErr[$0] } ?? 0)])
                }
            }
        case .cox:
            rows.append(["covariate", "coefficient", "stdErr", "hazardRatio", "lower", "upper", "z", "pValue", "subjects", "events"])
            if let cox = report.survival.cox {
                for t in cox.terms {
                    rows.append([t.name, d(t.coefficient), d(t.stdErr), d(t.hazardRatio), d(t.lowerHazardRatio), d(t.upperHazardRatio),
                                 d(t.z), d(t.pValue), String(cox.subjects), String(cox.events)])
                }
            }
        case .bml:
            rows.append(["subregion", "joint", "n", "meanChange", "improved", "unchanged", "worse", "suppressed"])
            for s in report.bml.subregions {
                rows.append([s.id, s.joint, n(s.n.value), d(s.meanChange), d(s.improved.proportion), d(s.unchanged.proportion),
                             d(s.worse.proportion), b(s.n.suppressed)])
            }
        case .safety:
            rows.append(["row", "label", "events", "perProcedure", "perProcedureLower", "perProcedureUpper", "patients",
                         "perPatient", "perPatientLower", "perPatientUpper", "suppressed"])
            let s = report.safety
            for r in [s.all, s.related] + s.bySeverity + s.byRelatedness {
                rows.append([r.id, r.label, n(r.events.value), d(r.perProcedure.proportion), d(r.perProcedure.lower), d(r.perProcedure.upper),
                             n(r.perPatient.count.value), d(r.perPatient.proportion), d(r.perPatient.lower), d(r.perPatient.upper),
                             b(r.events.suppressed || r.perPatient.count.suppressed)])
            }
        case .literature:
            rows.append(LiteratureComparison.csvHeader)
            rows += report.literature?.csvRows ?? []
        }
        return rows.map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func n(_ v: Int?) -> String { v.map(String.init) ?? "" }
    static func d(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "" }
        return "\(v)"
    }
    static func b(_ v: Bool) -> String { v ? "true" : "false" }
}
