import Foundation
import OssaCore
import OssaStats

/// BML change on follow-up MRI: per subregion, over the cohort's episodes with a baseline and a follow-up MRI
/// where the subregion had a lesion on either, the mean change in size grade and the shares improved, unchanged
/// and worse; and the burden (sum of size grades) before and after.
public struct BMLSection: Sendable, Encodable {
    public struct Subregion: Sendable, Encodable {
        public var id: String
        public var joint: String
        public var n: Count
        public var meanChange: Double?
        public var improved: ProportionCI
        public var unchanged: ProportionCI
        public var worse: ProportionCI
    }
    /// Episodes with both MRIs.
    public var pairs: Count
    public var subregions: [Subregion]
    public var burdenBefore: MeanCI
    public var burdenAfter: MeanCI
    public var burdenChange: MeanCI

    init(_ extract: RegistryExtract, _ cohort: Cohort, _ context: AnalysisContext) {
        var changes: [BMLSubregion: [Int]] = [:]
        var before: [Double] = [], after: [Double] = [], delta: [Double] = []
        for pair in extract.bml where cohort.groupOf[Int(pair.episode)] >= 0 {
            let b = pair.baseline.values.reduce(0, +), a = pair.followUp.values.reduce(0, +)
            before.append(Double(b))
            after.append(Double(a))
            delta.append(Double(a - b))
            for region in Set(pair.baseline.keys).union(pair.followUp.keys) {
                let x = pair.baseline[region] ?? 0, y = pair.followUp[region] ?? 0
                if x == 0 && y == 0 { continue }
                changes[region, default: []].append(y - x)
            }
        }
        pairs = Count(before.count, context)
        subregions = BMLSubregion.allCases.compactMap { region in
            guard let list = changes[region], !list.isEmpty else { return nil }
            let n = list.count
            let shown = context.shows(n)
            return Subregion(id: region.rawValue, joint: region.joint.rawValue, n: Count(n, context),
                             meanChange: shown ? Double(list.reduce(0, +)) / Double(n) : nil,
                             improved: ProportionCI(list.filter { $0 < 0 }.count, of: n, context),
                             unchanged: ProportionCI(list.filter { $0 == 0 }.count, of: n, context),
                             worse: ProportionCI(list.filter { $0 > 0 }.count, of: n, context))
        }
        burdenBefore = MeanCI(before, context)
        burdenAfter = MeanCI(after, context)
        burdenChange = MeanCI(delta, context)
    }
}

/// Adverse events by severity and by relatedness: events per IO procedure and patients with at least one, with
/// exact (Clopper–Pearson) 95% CIs.
public struct SafetySection: Sendable, Encodable {
    public struct Row: Sendable, Encodable {
        public var id: String
        public var label: String
        public var events: Count
        /// Events / IO procedures (an event is counted against one procedure).
        public var perProcedure: ProportionCI
        /// Patients with at least one / patients.
        public var perPatient: ProportionCI
    }
    public var procedures: Count
    public var patients: Count
    public var all: Row
    public var bySeverity: [Row]
    public var byRelatedness: [Row]
    /// Events possibly, probably or definitely related to the procedure.
    public var related: Row

    init(_ extract: RegistryExtract, _ cohort: Cohort, _ context: AnalysisContext) {
        var procedures = 0
        // Patients by their ordinal in the extract (a bitmap, not a set of UUIDs).
        var seen = [Bool](repeating: false, count: extract.patientCount)
        var patients = 0
        for i in cohort.treated {
            procedures += extract.episodes[Int(i)].ioProcedures
            let p = Int(extract.patientOrdinal[Int(i)])
            if !seen[p] { seen[p] = true; patients += 1 }
        }
        let events = extract.adverseEvents.filter { cohort.groupOf[Int($0.episode)] >= 0 }
        func row(_ id: String, _ label: String, _ include: (ExtractAdverseEvent) -> Bool) -> Row {
            let chosen = events.filter(include)
            let withEvent = Set(chosen.map { extract.patientOrdinal[Int($0.episode)] })
            return Row(id: id, label: label, events: Count(chosen.count, context),
                       perProcedure: ProportionCI(min(chosen.count, procedures), of: procedures, context),
                       perPatient: ProportionCI(withEvent.count, of: patients, context))
        }
        self.procedures = Count(procedures, context)
        self.patients = Count(patients, context)
        all = row("all", "Any adverse event") { _ in true }
        bySeverity = AdverseEventSeverity.allCases.map { s in row(s.rawValue, s.rawValue.capitalized) { $0.severity == s } }
            + [row("severity-not-recorded", "Severity not recorded") { $0.severity == nil }]
        byRelatedness = AdverseEventRelatedness.allCases.map { r in row(r.rawValue, r.rawValue.capitalized) { $0.relatedness == r } }
            + [row("relatedness-not-recorded", "Relatedness not recorded") { $0.relatedness == nil }]
        related = row("related", "Possibly, probably or definitely related") {
            [.possible, .probable, .definite].contains($0.relatedness)
        }
    }
}
