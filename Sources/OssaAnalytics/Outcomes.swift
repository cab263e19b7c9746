import Foundation
import OssaCore
import OssaStats

/// The cohort's series over the score index: "All" first, then each group when the cohort is grouped. Each score
/// is read once per analysis: its episode's series index says where it counts.
struct SeriesLayout {
    let labels: [String]
    /// Episode index → its group's series (1…), -1 outside the analysis cohort.
    let groupOf: [Int32]
    let grouped: Bool

    init(_ cohort: Cohort) {
        grouped = cohort.definition.group != .none
        labels = ["All"] + (grouped ? cohort.groups.map(\.label) : [])
        groupOf = cohort.groupOf.map { $0 < 0 ? -1 : $0 + 1 }
    }

    var count: Int { labels.count }

    /// The series an episode counts in besides "All" (0 when ungrouped or outside).
    @inline(__always) func series(_ episode: Int32) -> Int {
        grouped ? Int(groupOf[Int(episode)]) : 0
    }
}

/// Patient-reported outcomes per instrument score and timepoint: n, mean and CI, the paired change from baseline,
/// and the completion rate (answered / due: asked by the protocol for that joint, alive, not yet replaced, window
/// closed).
public struct OutcomeTable: Sendable, Encodable {
    public struct Cell: Sendable, Encodable {
        public var timepoint: String
        public var label: String
        /// Nominal months after the first procedure (the trajectory's x).
        public var months: Double
        public var score: MeanCI
        public var change: MeanCI?
        public var completion: ProportionCI
    }
    public struct Series: Sendable, Encodable {
        public var group: String
        public var cells: [Cell]
    }
    public struct Row: Sendable, Encodable {
        public var instrument: String
        public var score: String
        public var label: String
        /// Whether higher scores are better (the plots and the reader need it).
        public var higherIsBetter: Bool
        public var range: [Double]?
        /// "All" first, then each group.
        public var series: [Series]
    }
    public var rows: [Row]

    init(_ extract: RegistryExtract, _ cohort: Cohort, _ context: AnalysisContext) {
        let index = extract.index
        let layout = SeriesLayout(cohort)
        let baseline = extract.timepointCodes.firstIndex(of: "baseline")
        let T = extract.timepointCodes.count
        let joints = Joint.allCases
        // Due episodes per timepoint, series and joint (the completion denominators), counted once.
        var dueCount = [[[Int]]](repeating: [[Int]](repeating: [Int](repeating: 0, count: joints.count), count: layout.count), count: T)
        for i in cohort.treated {
            let j = joints.firstIndex(of: extract.episodes[Int(i)].joint)!
            let g = layout.series(i)
            for t in 0..<T where index.due[t][Int(i)] {
                dueCount[t][0][j] += 1
                if g > 0 { dueCount[t][g][j] += 1 }
            }
        }
        let jointOrdinal = extract.episodes.map { UInt8(joints.firstIndex(of: $0.joint)!) }
        var rows: [Row] = []
        var values = [[Double]](repeating: [], count: layout.count)
        var changes = [[Double]](repeating: [], count: layout.count)
        for (key, scoreKey) in extract.scoreKeys.enumerated().sorted(by: { $0.element < $1.element }) {
            guard (0..<T).contains(where: { !index.range(key, $0).isEmpty }) else { continue }
            let instrument = context.instruments.instrument(id: scoreKey.instrument)
            let direction = instrument?.direction(ofScore: scoreKey.score) ?? .higherIsBetter
            let definition = instrument?.scores.first { $0.id == scoreKey.score }
            var cells = [[Cell]](repeating: [], count: layout.count)
            for t in 0..<T {
                let r = index.range(key, t)
                guard !r.isEmpty else { continue }
                let code = extract.timepointCodes[t]
                let asked = joints.map { context.asks(scoreKey.instrument, at: code, $0) }
                for s in 0..<layout.count {
                    values[s].removeAll(keepingCapacity: true)
                    changes[s].removeAll(keepingCapacity: true)
                }
                var answered = [Int](repeating: 0, count: layout.count)
                let b = baseline.flatMap { $0 == t ? nil : index.range(key, $0) }
                let due = index.due[t]
                for i in r {
                    let e = index.episode[i]
                    let g = layout.groupOf[Int(e)]
                    guard g >= 0 else { continue }
                    let v = index.value[i]
                    let counted = due[Int(e)] && asked[Int(jointOrdinal[Int(e)])]
                    let bp = Int(index.baselinePosition[i])
                    let change: Double? = bp >= 0 ? v - index.value[bp] : nil
                    values[0].append(v)
                    if let change { changes[0].append(change) }
                    if counted { answered[0] += 1 }
                    if layout.grouped {
                        let s = Int(g)
                        values[s].append(v)
                        if let change { changes[s].append(change) }
                        if counted { answered[s] += 1 }
                    }
                }
                // A timepoint where nobody in the cohort answered this score is left out (as is a score nobody answered).
                guard !values[0].isEmpty else { continue }
                for s in 0..<layout.count {
                    var dueTotal = 0
                    for (j, ask) in asked.enumerated() where ask { dueTotal += dueCount[t][s][j] }
                    cells[s].append(Cell(timepoint: code, label: context.label(timepoint: code),
                                         months: Double(extract.timepointDays[t]) / 30.4375,
                                         score: MeanCI(values[s], context), change: b == nil ? nil : MeanCI(changes[s], context),
                                         completion: ProportionCI(answered[s], of: dueTotal, context)))
                }
            }
            guard !cells[0].isEmpty else { continue }
            rows.append(Row(instrument: scoreKey.instrument, score: scoreKey.score, label: ScoreLabels.label(scoreKey, context),
                            higherIsBetter: direction == .higherIsBetter, range: definition?.range.map { [$0.min, $0.max] },
                            series: (0..<layout.count).map { Series(group: layout.labels[$0], cells: cells[$0]) }))
        }
        self.rows = rows
    }
}

/// Responder rates per threshold (MCID/MCII, PASS, SCB from the thresholds table's defaults) and OMERACT-OARSI
/// 2004, per follow-up timepoint, with exact 95% CIs.
public struct ResponderTable: Sendable, Encodable {
    public struct Cell: Sendable, Encodable {
        public var timepoint: String
        public var label: String
        public var rate: ProportionCI
    }
    public struct Series: Sendable, Encodable {
        public var group: String
        public var cells: [Cell]
    }
    public struct Row: Sendable, Encodable {
        /// Threshold id, or `omeract-oarsi-2004`.
        public var id: String
        public var label: String
        public var kind: String
        public var source: String
        public var series: [Series]
    }
    public var rows: [Row]

    init(_ extract: RegistryExtract, _ cohort: Cohort, _ context: AnalysisContext) {
        guard let baseline = extract.timepointCodes.firstIndex(of: "baseline") else {
            rows = []
            return
        }
        let index = extract.index
        let layout = SeriesLayout(cohort)
        let followUps = (0..<extract.timepointCodes.count).filter { $0 != baseline }
        /// Tallies (responders, evaluable) per series and follow-up → the rows' series.
        func series(_ tallies: [[(yes: Int, of: Int)]]) -> [Series] {
            (0..<layout.count).map { s in
                Series(group: layout.labels[s], cells: followUps.enumerated().compactMap { n, t in
                    let (yes, of) = tallies[n][s]
                    let code = extract.timepointCodes[t]
                    return of == 0 && s > 0 ? nil : Cell(timepoint: code, label: context.label(timepoint: code), rate: ProportionCI(yes, of: of, context))
                })
            }
        }
        var rows: [Row] = []
        let keyIndex = Dictionary(extract.scoreKeys.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        let defaults = context.thresholds.thresholds.filter(\.default).sorted { ($0.instrument, $0.score, $0.kind.rawValue, $0.id) < ($1.instrument, $1.score, $1.kind.rawValue, $1.id) }
        // Per score, every default threshold of it in one pass over its follow-up scores (each score's baseline was
        // paired once per extract); rows keep the thresholds' order.
        var byKey: [Int: [Int]] = [:]
        var keyOrder: [Int] = []
        for (n, threshold) in defaults.enumerated() {
            guard let key = keyIndex[ScoreKey(instrument: threshold.instrument, score: threshold.score)] else { continue }
            if byKey[key] == nil { keyOrder.append(key) }
            byKey[key, default: []].append(n)
        }
        var tallied: [Int: [[(yes: Int, of: Int)]]] = [:]
        for key in keyOrder {
            let members = byKey[key]!
            guard followUps.contains(where: { !index.range(key, $0).isEmpty }) else { continue }
            let threshold0 = defaults[members[0]]
            let direction = context.instruments.instrument(id: threshold0.instrument)?.direction(ofScore: threshold0.score) ?? .higherIsBetter
            let rules = members.map { ResponderRule(defaults[$0], direction: direction) }
            // Flat tallies [rule][follow-up][series] (nested arrays of tuples cost a uniqueness check per increment).
            let F = followUps.count, S = layout.count
            var yes = [Int](repeating: 0, count: rules.count * F * S), of = yes
            for (n, t) in followUps.enumerated() {
                for i in index.range(key, t) {
                    let e = index.episode[i]
                    let g = Int(layout.groupOf[Int(e)])
                    guard g >= 0 else { continue }
                    let bp = Int(index.baselinePosition[i])
                    let base = bp >= 0 ? index.value[bp] : Double.nan
                    let v = index.value[i]
                    for r in 0..<rules.count {
                        guard let verdict = rules[r].verdict(baseline: base, followUp: v) else { continue }
                        let all = (r * F + n) * S
                        of[all] += 1
                        if verdict { yes[all] += 1 }
                        if layout.grouped {
                            of[all + g] += 1
                            if verdict { yes[all + g] += 1 }
                        }
                    }
                }
            }
            for (r, member) in members.enumerated() {
                tallied[member] = (0..<F).map { n in (0..<S).map { g in (yes: yes[(r * F + n) * S + g], of: of[(r * F + n) * S + g]) } }
            }
        }
        for (n, threshold) in defaults.enumerated() {
            guard let tallies = tallied[n], tallies.contains(where: { $0[0].of > 0 }) else { continue }
            let unit = threshold.unit == .percent ? " %" : " points"
            let scoreLabel = ScoreLabels.label(ScoreKey(instrument: threshold.instrument, score: threshold.score), context)
            rows.append(Row(id: threshold.id, label: "\(scoreLabel) \(threshold.kind.rawValue.uppercased()) (\(formatNumber(threshold.value))\(unit))",
                            kind: threshold.kind.rawValue, source: threshold.source, series: series(tallies)))
        }
        // OMERACT-OARSI 2004: pain and function from the joint's KOOS/HOOS (or NRS pain), patient global from the PGA;
        // per domain the first instrument (in that order) with both a baseline and a follow-up value.
        var mappings: [(key: Int, domain: Int, mapping: OmeractOarsiMapping)] = []
        let domains: [OmeractOarsiDomain] = [.pain, .function, .patientGlobal]
        for id in ["koos", "hoos", "nrs-pain", "pga"] {
            guard let instrument = context.instruments.instrument(id: id) else { continue }
            for m in instrument.omeractOarsi ?? [] {
                if let key = keyIndex[ScoreKey(instrument: id, score: m.score)], let d = domains.firstIndex(of: m.domain) { mappings.append((key, d, m)) }
            }
        }
        if !mappings.isEmpty {
            let criteria = context.omeractOarsi
            let n = extract.episodes.count
            var before = [[Double]](repeating: [Double](repeating: .nan, count: n), count: 3)
            var after = [[Double]](repeating: [Double](repeating: .nan, count: n), count: 3)
            var tallies = [[(yes: Int, of: Int)]](repeating: [(yes: Int, of: Int)](repeating: (0, 0), count: layout.count), count: followUps.count)
            for (f, t) in followUps.enumerated() {
                var touched: [Int32] = []
                for (key, d, mapping) in mappings {
                    for i in index.range(key, t) {
                        let e = index.episode[i]
                        guard layout.groupOf[Int(e)] >= 0, after[d][Int(e)].isNaN else { continue }
                        let bp = Int(index.baselinePosition[i])
                        guard bp >= 0 else { continue }
                        before[d][Int(e)] = mapping.domainValue(index.value[bp])
                        after[d][Int(e)] = mapping.domainValue(index.value[i])
                        if d == 0 { touched.append(e) }
                    }
                }
                for e in touched {
                    let i = Int(e)
                    guard !after[1][i].isNaN else { continue }
                    let global = after[2][i].isNaN ? nil : OmeractOarsiInput.Change(baseline: before[2][i], followUp: after[2][i])
                    let input = OmeractOarsiInput(pain: .init(baseline: before[0][i], followUp: after[0][i]),
                                                  function: .init(baseline: before[1][i], followUp: after[1][i]), patientGlobal: global)
                    guard let verdict = criteria.isResponder(input) else { continue }
                    let g = Int(layout.groupOf[i])
                    tallies[f][0].of += 1
                    if verdict { tallies[f][0].yes += 1 }
                    if layout.grouped {
                        tallies[f][g].of += 1
                        if verdict { tallies[f][g].yes += 1 }
                    }
                }
                // Reset only what this timepoint set.
                for (key, d, _) in mappings {
                    for i in index.range(key, t) {
                        let e = Int(index.episode[i])
                        before[d][e] = .nan
                        after[d][e] = .nan
                    }
                }
            }
            if tallies.contains(where: { $0[0].of > 0 }) {
                rows.append(Row(id: "omeract-oarsi-2004", label: "OMERACT-OARSI 2004 responder", kind: "omeract-oarsi",
                                source: criteria.reference, series: series(tallies)))
            }
        }
        self.rows = rows
    }
}

func formatNumber(_ v: Double) -> String {
    v == v.rounded() ? String(Int(v)) : String(format: "%.4g", v)
}
