import Foundation
import OssaCore
import OssaStats

/// What the analyses need besides the extract: the instruments (score directions and labels), the responder
/// thresholds, the OMERACT-OARSI criteria, the follow-up protocol's labels, and the small-cell rule.
public struct AnalysisContext: Sendable {
    public var instruments: InstrumentLibrary
    public var thresholds: ResponderThresholdTable
    public var omeractOarsi: OmeractOarsiCriteria
    /// Timepoint code → label ("Month 6").
    public var timepointLabels: [String: String]
    /// Researchers' views: counts below this are suppressed (shown as "<k"), and so is every figure computed on
    /// fewer subjects. nil: staff views, nothing suppressed.
    public var minimumCellCount: Int?
    public var confidenceLevel: Double
    /// Timepoint code → joint → the instruments the protocol asks there (a completion rate's denominator counts only
    /// the patients who were asked). Empty: every instrument counts as asked everywhere.
    public var askedInstruments: [String: [Joint: Set<String>]] = [:]

    public init(instruments: InstrumentLibrary, thresholds: ResponderThresholdTable, omeractOarsi: OmeractOarsiCriteria,
                timepointLabels: [String: String], minimumCellCount: Int? = nil, confidenceLevel: Double = 0.95) {
        self.instruments = instruments
        self.thresholds = thresholds
        self.omeractOarsi = omeractOarsi
        self.timepointLabels = timepointLabels
        self.minimumCellCount = minimumCellCount
        self.confidenceLevel = confidenceLevel
    }

    public static func builtIn(followUp: FollowUpProtocol, minimumCellCount: Int? = nil) throws -> AnalysisContext {
        var context = AnalysisContext(instruments: try InstrumentLibrary.builtIn(), thresholds: try ResponderThresholdTable.builtIn(),
                                      omeractOarsi: try OmeractOarsiCriteria.builtIn(),
                                      timepointLabels: Dictionary(followUp.timepoints.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a }),
                                      minimumCellCount: minimumCellCount)
        for tp in followUp.timepoints {
            var byJoint: [Joint: Set<String>] = [:]
            for joint in Joint.allCases { byJoint[joint] = Set(tp.instruments + (tp.instrumentsByJoint?[joint.rawValue] ?? [])) }
            context.askedInstruments[tp.id] = byJoint
        }
        return context
    }

    /// Whether the protocol asks an episode of this joint for the instrument at the timepoint.
    public func asks(_ instrument: String, at timepoint: String, _ joint: Joint) -> Bool {
        guard let byJoint = askedInstruments[timepoint] else { return true }
        return byJoint[joint]?.contains(instrument) ?? false
    }

    /// Whether a figure over `n` subjects may be shown.
    public func shows(_ n: Int) -> Bool { minimumCellCount.map { n == 0 || n >= $0 } ?? true }

    public func label(timepoint code: String) -> String {
        timepointLabels[code] ?? code.replacingOccurrences(of: "-", with: " ").capitalized
    }
}

/// A count, or "fewer than k" in a researcher's view.
public struct Count: Sendable, Hashable, Encodable {
    public var value: Int?
    public var suppressed: Bool

    public init(_ n: Int, _ context: AnalysisContext) {
        if context.shows(n) {
            value = n
            suppressed = false
        } else {
            value = nil
            suppressed = true
        }
    }

    public func text(_ context: AnalysisContext) -> String {
        if let value { return String(value) }
        return "<\(context.minimumCellCount ?? 0)"
    }
}

/// Mean with its confidence interval (Student t), or nothing when suppressed or fewer than one value.
public struct MeanCI: Sendable, Hashable, Encodable {
    public var n: Count
    public var mean: Double?
    public var sd: Double?
    public var lower: Double?
    public var upper: Double?

    init(_ values: [Double], _ context: AnalysisContext) {
        n = Count(values.count, context)
        guard !n.suppressed, let s = Summary.mean(values, confidenceLevel: context.confidenceLevel) else { return }
        mean = s.mean
        sd = s.standardDeviation
        lower = s.lower
        upper = s.upper
    }
}

/// A proportion with its exact (Clopper–Pearson) confidence interval.
public struct ProportionCI: Sendable, Hashable, Encodable {
    public var count: Count
    public var total: Count
    public var proportion: Double?
    public var lower: Double?
    public var upper: Double?

    init(_ x: Int, of n: Int, _ context: AnalysisContext) {
        count = Count(x, context)
        total = Count(n, context)
        // A count below the threshold hides the proportion too (else it can be worked back from the total).
        guard !count.suppressed, !total.suppressed, n > 0 else { return }
        // 0 ≤ x ≤ n by construction, so the interval cannot be refused.
        guard let s = try? Proportion.clopperPearson(successes: x, total: n, confidenceLevel: context.confidenceLevel) else { return }
        proportion = s.proportion
        lower = s.lower
        upper = s.upper
    }
}

/// The cohort: the episodes of the extract that match the filter, split into groups.
public struct Cohort: Sendable {
    public struct Group: Sendable, Hashable {
        public var label: String
        /// Indexes into `extract.episodes`.
        public var members: [Int32]
    }

    public let definition: CohortDefinition
    /// Every matching episode (treated or not), for the flow diagram.
    public let matching: [Int32]
    /// The analysis cohort: matching episodes with a first IO procedure.
    public let treated: [Int32]
    /// Groups of the treated episodes, in label order; one group "All" when ungrouped.
    public let groups: [Group]
    /// Episode index → its group's position in `groups`, -1 when not in the analysis cohort.
    public let groupOf: [Int32]

    public init(_ extract: RegistryExtract, _ definition: CohortDefinition) {
        self.definition = definition
        var matching: [Int32] = [], treated: [Int32] = []
        for (i, e) in extract.episodes.enumerated() where definition.filter.matches(e) {
            matching.append(Int32(i))
            if e.firstProcedure != nil { treated.append(Int32(i)) }
        }
        self.matching = matching
        self.treated = treated
        var byLabel: [String: [Int32]] = [:]
        var order: [String: (Int, String)] = [:]
        for i in treated {
            let (rank, label) = Cohort.groupKey(extract.episodes[Int(i)], definition.group, extract)
            byLabel[label, default: []].append(i)
            order[label] = (rank, label)
        }
        let labels = byLabel.keys.sorted { order[$0]! < order[$1]! }
        groups = labels.map { Group(label: $0, members: byLabel[$0]!) }
        var groupOf = [Int32](repeating: -1, count: extract.episodes.count)
        for (g, group) in groups.enumerated() { for i in group.members { groupOf[Int(i)] = Int32(g) } }
        self.groupOf = groupOf
    }

    /// The group an episode falls in: a sort rank (so bands come in their natural order, "not recorded" last) and
    /// its label.
    static func groupKey(_ e: ExtractEpisode, _ grouping: CohortGrouping, _ extract: RegistryExtract) -> (Int, String) {
        let missing = (Int.max, "Not recorded")
        func band(_ value: Int?, _ bands: [(Int, String)]) -> (Int, String) {
            guard let value else { return missing }
            var chosen = bands[0]
            for b in bands where value >= b.0 { chosen = b }
            return chosen
        }
        switch grouping {
        case .none: return (0, "All")
        case .site: return (0, extract.siteNames[e.siteID] ?? e.siteID.lowercasedString)
        case .joint: return (Joint.allCases.firstIndex(of: e.joint) ?? 0, e.joint.rawValue.capitalized)
        case .diagnosis:
            return (Diagnosis.Kind.allCases.firstIndex(of: e.diagnosis) ?? 0,
                    e.diagnosis.rawValue.replacingOccurrences(of: "-", with: " ").capitalized)
        case .product: return e.product.map { (ProductMix.allCases.firstIndex(of: $0) ?? 0, $0.label) } ?? missing
        case .intraArticular: return e.intraArticular ? (0, "With intra-articular") : (1, "IO only")
        case .kellgrenLawrence: return e.kellgrenLawrence.map { ($0, "KL \($0)") } ?? missing
        case .ahlback: return e.ahlback.map { ($0, "Ahlbäck \(["I", "II", "III", "IV", "V"][max(0, min(4, $0 - 1))])") } ?? missing
        case .tonnis: return e.tonnis.map { ($0, "Tönnis \($0)") } ?? missing
        case .bmlBurden: return band(e.bmlBurden, [(0, "BML burden 0"), (1, "BML burden 1–3"), (4, "BML burden 4–6"), (7, "BML burden ≥ 7")])
        case .age: return band(e.age, [(0, "Under 50"), (50, "50–59"), (60, "60–69"), (70, "70–79"), (80, "80 and over")])
        case .sex: return e.sex.map { (PatientSex.allCases.firstIndex(of: $0) ?? 0, $0.rawValue.capitalized) } ?? missing
        case .bmi:
            guard let bmi = e.bmi else { return missing }
            return bmi < 25 ? (0, "BMI < 25") : bmi < 30 ? (1, "BMI 25–29.9") : bmi < 35 ? (2, "BMI 30–34.9") : (3, "BMI ≥ 35")
        case .year: return e.treatmentYear.map { ($0, String($0)) } ?? missing
        case .screening:
            return e.screeningCategory.map { (ScreeningCategory.allCases.firstIndex(of: $0) ?? 0, $0.rawValue.replacingOccurrences(of: "-", with: " ").capitalized) } ?? missing
        }
    }
}

// MARK: - Flow

/// The count at each step from screening to the last follow-up.
public struct FlowDiagram: Sendable, Encodable {
    public struct Step: Sendable, Encodable {
        public var id: String
        public var label: String
        public var count: Count
    }
    public var steps: [Step]

    public init(_ extract: RegistryExtract, _ cohort: Cohort, _ context: AnalysisContext) {
        var screened = 0, recommended = 0
        for i in cohort.matching {
            let e = extract.episodes[Int(i)]
            if e.screened { screened += 1 }
            if e.screeningCategory == .recommended { recommended += 1 }
        }
        // Treated episodes with any score at each timepoint.
        var answered = [Int](repeating: 0, count: extract.timepointCodes.count)
        for i in cohort.treated {
            for t in answered.indices where extract.index.answered[t][Int(i)] { answered[t] += 1 }
        }
        var steps = [Step(id: "matching", label: "Episodes matching the filters", count: Count(cohort.matching.count, context)),
                     Step(id: "screened", label: "Screened", count: Count(screened, context)),
                     Step(id: "recommended", label: "Recommended at screening", count: Count(recommended, context)),
                     Step(id: "treated", label: "Treated (first IO procedure)", count: Count(cohort.treated.count, context))]
        for (t, code) in extract.timepointCodes.enumerated() {
            let label = code == "baseline" ? "With a baseline questionnaire" : "With a \(context.label(timepoint: code)) questionnaire"
            steps.append(Step(id: code, label: label, count: Count(answered[t], context)))
        }
        self.steps = steps
    }
}

// MARK: - Baseline table

/// Table 1: the cohort's characteristics at baseline, overall and per group.
public struct BaselineTable: Sendable, Encodable {
    public struct Category: Sendable, Encodable {
        public var label: String
        /// Per column (overall first, then each group).
        public var counts: [Count]
        public var percents: [Double?]
    }
    public struct Variable: Sendable, Encodable {
        public var id: String
        public var label: String
        /// Continuous variables: mean ± SD per column.
        public var means: [MeanCI]?
        /// Categorical variables.
        public var categories: [Category]?
    }
    /// "All", then the groups.
    public var columns: [String]
    public var n: [Count]
    public var variables: [Variable]

    public init(_ extract: RegistryExtract, _ cohort: Cohort, _ context: AnalysisContext) {
        let columnsMembers: [[Int32]] = [cohort.treated] + (cohort.definition.group == .none ? [] : cohort.groups.map(\.members))
        columns = ["All"] + (cohort.definition.group == .none ? [] : cohort.groups.map(\.label))
        n = columnsMembers.map { Count($0.count, context) }
        let episodes = extract.episodes
        func continuous(_ id: String, _ label: String, _ value: (ExtractEpisode) -> Double?) -> Variable {
            Variable(id: id, label: label, means: columnsMembers.map { members in
                MeanCI(members.compactMap { value(episodes[Int($0)]) }, context)
            }, categories: nil)
        }
        // Categories by their index in `values` (nil or out of range: "Not recorded"), so nothing per episode allocates.
        func categorical(_ id: String, _ label: String, _ values: [String], _ value: (ExtractEpisode) -> Int?) -> Variable {
            var categories: [Category] = []
            let all = values + ["Not recorded"]
            var tallies = [[Int]](repeating: [Int](repeating: 0, count: columnsMembers.count), count: all.count)
            for (c, members) in columnsMembers.enumerated() {
                for i in members {
                    let index = value(episodes[Int(i)]).flatMap { values.indices.contains($0) ? $0 : nil } ?? values.count
                    tallies[index][c] += 1
                }
            }
            // Categories nobody is in are left out (a knee cohort has no Tönnis rows).
            for (k, label) in all.enumerated() where tallies[k].contains(where: { $0 > 0 }) {
                categories.append(Category(label: label, counts: tallies[k].map { Count($0, context) },
                                           percents: tallies[k].enumerated().map { c, x in
                                               let total = columnsMembers[c].count
                                               return total == 0 || !context.shows(x) ? nil : Double(x) / Double(total) * 100
                                           }))
            }
            return Variable(id: id, label: label, means: nil, categories: categories)
        }
        let sexes = PatientSex.allCases, joints = Joint.allCases, kinds = Diagnosis.Kind.allCases, mixes = ProductMix.allCases
        var variables = [
            continuous("age", "Age (years)") { $0.age.map(Double.init) },
            categorical("sex", "Sex", sexes.map(\.rawValue)) { e in e.sex.flatMap { sexes.firstIndex(of: $0) } },
            continuous("bmi", "BMI (kg/m²)") { $0.bmi },
            categorical("joint", "Joint", joints.map(\.rawValue)) { e in joints.firstIndex(of: e.joint) },
            categorical("diagnosis", "Diagnosis", kinds.map(\.rawValue)) { e in kinds.firstIndex(of: e.diagnosis) },
            categorical("product", "Product", mixes.map(\.rawValue)) { e in e.product.flatMap { mixes.firstIndex(of: $0) } },
            categorical("intraArticular", "With intra-articular injection", ["yes", "no"]) { $0.intraArticular ? 0 : 1 },
            categorical("kellgrenLawrence", "Kellgren–Lawrence grade", (0...4).map { "KL \($0)" }) { $0.kellgrenLawrence },
            categorical("ahlback", "Ahlbäck grade (knee)", ["I", "II", "III", "IV", "V"]) { e in e.ahlback.map { max(0, min(4, $0 - 1)) } },
            categorical("tonnis", "Tönnis grade (hip)", (0...3).map { "Tönnis \($0)" }) { $0.tonnis },
            continuous("bmlBurden", "Baseline BML burden (sum of size grades)") { $0.bmlBurden.map(Double.init) },
        ]
        // Baseline scores, per instrument score recorded at the baseline timepoint.
        if let baseline = extract.timepointCodes.firstIndex(of: "baseline") {
            let grouped = columnsMembers.count > 1
            for (key, scoreKey) in extract.scoreKeys.enumerated().sorted(by: { $0.element < $1.element }) {
                var values = [[Double]](repeating: [], count: columnsMembers.count)
                for i in extract.index.range(key, baseline) {
                    let g = cohort.groupOf[Int(extract.index.episode[i])]
                    guard g >= 0 else { continue }
                    values[0].append(extract.index.value[i])
                    if grouped { values[Int(g) + 1].append(extract.index.value[i]) }
                }
                guard !values[0].isEmpty else { continue }
                variables.append(Variable(id: "baseline:\(scoreKey.instrument):\(scoreKey.score)",
                                          label: "Baseline \(ScoreLabels.label(scoreKey, context))",
                                          means: values.map { MeanCI($0, context) }, categories: nil))
            }
        }
        self.variables = variables
    }
}

/// Labels of instrument scores ("KOOS pain").
public enum ScoreLabels {
    public static func label(_ key: ScoreKey, _ context: AnalysisContext) -> String {
        guard let instrument = context.instruments.instrument(id: key.instrument) else { return "\(key.instrument) \(key.score)" }
        let score = instrument.scores.first { $0.id == key.score }
        if instrument.scores.count == 1 { return instrument.abbreviation }
        return "\(instrument.abbreviation) \(score?.label.lowercased() ?? key.score)"
    }
}
