import Foundation
import OssaCore
import OssaStats

/// Scores per episode, keyed by score and timepoint: the one pass over the extract's score columns that the
/// outcome and responder tables share. Values are NaN where an episode has no score.
struct ScoreMatrix {
    let timepoints: Int
    let episodes: Int
    /// [key][timepoint] → values per cohort position (`position[episode]`).
    var values: [[[Double]]]
    /// Episode index → position in the analysis cohort, -1 outside.
    let position: [Int32]
    let members: [Int32]

    init(_ extract: RegistryExtract, _ cohort: Cohort) {
        timepoints = extract.timepointCodes.count
        members = cohort.treated
        episodes = members.count
        var position = [Int32](repeating: -1, count: extract.episodes.count)
        for (p, i) in members.enumerated() { position[Int(i)] = Int32(p) }
        self.position = position
        var values = [[[Double]]](repeating: [[Double]](repeating: [], count: timepoints), count: extract.scoreKeys.count)
        var seen = [[Bool]](repeating: [Bool](repeating: false, count: timepoints), count: extract.scoreKeys.count)
        for k in 0..<extract.scoreCount {
            let p = position[Int(extract.scoreEpisode[k])]
            guard p >= 0 else { continue }
            let key = Int(extract.scoreKey[k]), t = Int(extract.scoreTimepoint[k])
            if !seen[key][t] {
                values[key][t] = [Double](repeating: .nan, count: episodes)
                seen[key][t] = true
            }
            // Two responses at one timepoint (a repeat): the later row wins, as the extract is in completion order.
            values[key][t][Int(p)] = extract.scoreValue[k]
        }
        self.values = values
    }

    /// "All" (every cohort position), then each group's positions when the cohort is grouped.
    func series(_ cohort: Cohort) -> [(String, [Int32])] {
        var out: [(String, [Int32])] = [("All", (0..<Int32(episodes)).map { $0 })]
        if cohort.definition.group != .none {
            for group in cohort.groups { out.append((group.label, group.members.map { position[Int($0)] })) }
        }
        return out
    }

    func column(_ key: Int, _ t: Int) -> [Double]? {
        values[key][t].isEmpty ? nil : values[key][t]
    }
}

/// Patient-reported outcomes per instrument score and timepoint: n, mean and CI, the paired change from baseline,
/// and the completion rate (answered / eligible: alive, not yet replaced, window closed).
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

    init(_ extract: RegistryExtract, _ cohort: Cohort, _ matrix: ScoreMatrix, _ context: AnalysisContext) {
        let baseline = extract.timepointCodes.firstIndex(of: "baseline")
        let eligibility = Eligibility(extract, cohort, matrix)
        let seriesMembers = matrix.series(cohort)
        let joints = matrix.members.map { extract.episodes[Int($0)].joint }
        var rows: [Row] = []
        for (key, scoreKey) in extract.scoreKeys.enumerated().sorted(by: { $0.element < $1.element }) {
            guard (0..<matrix.timepoints).contains(where: { matrix.column(key, $0) != nil }) else { continue }
            let instrument = context.instruments.instrument(id: scoreKey.instrument)
            let direction = instrument?.direction(ofScore: scoreKey.score) ?? .higherIsBetter
            let definition = instrument?.scores.first { $0.id == scoreKey.score }
            var series: [Series] = []
            for (label, members) in seriesMembers {
                var cells: [Cell] = []
                for t in 0..<matrix.timepoints {
                    guard let column = matrix.column(key, t) else { continue }
                    var values: [Double] = [], changes: [Double] = []
                    let base = baseline.flatMap { $0 == t ? nil : matrix.column(key, $0) }
                    var answered = 0, due = 0
                    let code = extract.timepointCodes[t]
                    for p32 in members {
                        let p = Int(p32)
                        let v = column[p]
                        // Due: asked by the protocol (this instrument, this joint) and the window has closed or it was answered.
                        if eligibility.eligible(p, t), context.asks(scoreKey.instrument, at: code, joints[p]) {
                            due += 1
                            if !v.isNaN { answered += 1 }
                        }
                        guard !v.isNaN else { continue }
                        values.append(v)
                        if let base, !base[p].isNaN { changes.append(v - base[p]) }
                    }
                    cells.append(Cell(timepoint: code, label: context.label(timepoint: code),
                                      months: Double(extract.timepointDays[t]) / 30.4375,
                                      score: MeanCI(values, context),
                                      change: base == nil ? nil : MeanCI(changes, context),
                                      completion: ProportionCI(answered, of: due, context)))
                }
                series.append(Series(group: label, cells: cells))
            }
            rows.append(Row(instrument: scoreKey.instrument, score: scoreKey.score, label: ScoreLabels.label(scoreKey, context),
                            higherIsBetter: direction == .higherIsBetter,
                            range: definition?.range.map { [$0.min, $0.max] }, series: series))
        }
        self.rows = rows
    }
}

/// Which cohort episodes were due to answer at a timepoint: the timepoint exists for them, its window has closed
/// (or they answered), and they were alive and not yet replaced when it closed.
struct Eligibility {
    /// [timepoint] → per cohort position.
    var due: [[Bool]]

    init(_ extract: RegistryExtract, _ cohort: Cohort, _ matrix: ScoreMatrix) {
        due = [[Bool]](repeating: [Bool](repeating: false, count: matrix.episodes), count: matrix.timepoints)
        for tp in extract.timepoints {
            let p = matrix.position[Int(tp.episode)]
            guard p >= 0 else { continue }
            let e = extract.episodes[Int(tp.episode)]
            guard let start = e.firstProcedure else { continue }
            let closeDay = start.days(to: tp.windowEnd)
            if let d = e.replacementDay, d <= closeDay { continue }
            if let d = e.deathDay, d <= closeDay { continue }
            if tp.completed || tp.windowEnd < extract.asOf { due[Int(tp.timepoint)][Int(p)] = true }
        }
    }

    func eligible(_ p: Int, _ t: Int) -> Bool { due[t][p] }

    func count(_ t: Int, _ members: [Int32]) -> Int {
        var n = 0
        for p in members where due[t][Int(p)] { n += 1 }
        return n
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

    init(_ extract: RegistryExtract, _ cohort: Cohort, _ matrix: ScoreMatrix, _ context: AnalysisContext) {
        guard let baseline = extract.timepointCodes.firstIndex(of: "baseline") else {
            rows = []
            return
        }
        let seriesMembers = matrix.series(cohort)
        let followUps = (0..<matrix.timepoints).filter { $0 != baseline }
        func series(_ verdict: (Int, Int) -> Bool?) -> [Series] {
            seriesMembers.map { label, members in
                Series(group: label, cells: followUps.compactMap { t in
                    var yes = 0, evaluable = 0
                    for p in members {
                        guard let v = verdict(Int(p), t) else { continue }
                        evaluable += 1
                        if v { yes += 1 }
                    }
                    let code = extract.timepointCodes[t]
                    return evaluable == 0 && label != "All" ? nil
                        : Cell(timepoint: code, label: context.label(timepoint: code), rate: ProportionCI(yes, of: evaluable, context))
                })
            }
        }
        var rows: [Row] = []
        let keyIndex = Dictionary(extract.scoreKeys.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        let defaults = context.thresholds.thresholds.filter(\.default).sorted { ($0.instrument, $0.score, $0.kind.rawValue, $0.id) < ($1.instrument, $1.score, $1.kind.rawValue, $1.id) }
        for threshold in defaults {
            guard let key = keyIndex[ScoreKey(instrument: threshold.instrument, score: threshold.score)] else { continue }
            guard followUps.contains(where: { matrix.column(key, $0) != nil }) else { continue }
            let direction = context.instruments.instrument(id: threshold.instrument)?.direction(ofScore: threshold.score) ?? .higherIsBetter
            let base = matrix.column(key, baseline)
            let rowSeries = series { p, t in
                guard let column = matrix.column(key, t), !column[p].isNaN else { return nil }
                let b = base.flatMap { $0[p].isNaN ? nil : $0[p] }
                return ResponderEvaluator.isResponder(threshold, baseline: b, followUp: column[p], direction: direction)
            }
            let unit = threshold.unit == .percent ? " %" : " points"
            let scoreLabel = ScoreLabels.label(ScoreKey(instrument: threshold.instrument, score: threshold.score), context)
            rows.append(Row(id: threshold.id, label: "\(scoreLabel) \(threshold.kind.rawValue.uppercased()) (\(formatNumber(threshold.value))\(unit))",
                            kind: threshold.kind.rawValue, source: threshold.source, series: rowSeries))
        }
        // OMERACT-OARSI 2004: pain and function from the joint's KOOS/HOOS (or NRS pain), patient global from the PGA.
        var mappings: [(key: Int, domain: OmeractOarsiDomain, mapping: OmeractOarsiMapping)] = []
        for id in ["koos", "hoos", "nrs-pain", "pga"] {
            guard let instrument = context.instruments.instrument(id: id) else { continue }
            for m in instrument.omeractOarsi ?? [] {
                if let key = keyIndex[ScoreKey(instrument: id, score: m.score)] { mappings.append((key, m.domain, m)) }
            }
        }
        if !mappings.isEmpty {
            let criteria = context.omeractOarsi
            let rowSeries = series { p, t in
                var before: [OmeractOarsiDomain: Double] = [:], after: [OmeractOarsiDomain: Double] = [:]
                for (key, domain, mapping) in mappings where after[domain] == nil {
                    guard let b = matrix.column(key, baseline)?[p], !b.isNaN, let f = matrix.column(key, t)?[p], !f.isNaN else { continue }
                    before[domain] = mapping.domainValue(b)
                    after[domain] = mapping.domainValue(f)
                }
                guard let pb = before[.pain], let pf = after[.pain], let fb = before[.function], let ff = after[.function] else { return nil }
                let global = before[.patientGlobal].flatMap { b in after[.patientGlobal].map { OmeractOarsiInput.Change(baseline: b, followUp: $0) } }
                let input = OmeractOarsiInput(pain: .init(baseline: pb, followUp: pf), function: .init(baseline: fb, followUp: ff), patientGlobal: global)
                return (try? criteria.evaluate(input))?.isResponder
            }
            rows.append(Row(id: "omeract-oarsi-2004", label: "OMERACT-OARSI 2004 responder", kind: "omeract-oarsi",
                            source: criteria.reference, series: rowSeries))
        }
        self.rows = rows
    }
}

func formatNumber(_ v: Double) -> String {
    v == v.rounded() ? String(Int(v)) : String(format: "%.4g", v)
}
