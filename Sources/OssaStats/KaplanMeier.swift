import Foundation

/// Confidence-interval transform for survival curves (names as R's `conf.type`).
public enum ConfidenceIntervalType: String, Sendable, Codable, CaseIterable {
    /// exp(−exp(log(−log S) ∓ z·se/log S)); undefined while S = 1 and when S = 0.
    case logLog = "log-log"
    /// S·exp(±z·se), upper limit capped at 1; undefined when S = 0 (R's default).
    case log = "log"
    /// S ± z·SE(S), clipped to [0, 1]; undefined when S = 0 (SE is NaN there in R).
    case plain = "plain"
}

/// One row of a Kaplan–Meier table: a distinct time (event or censoring).
public struct KaplanMeierStep: Sendable, Equatable {
    /// The distinct time.
    public let time: Double
    /// Number at risk just before `time` (n).
    public let atRisk: Int
    /// Events at `time` (d).
    public let events: Int
    /// Censorings at `time`.
    public let censored: Int
    /// Product-limit estimate S(time), events at `time` included.
    public let survival: Double
    /// Greenwood Var(log S) = Σ d/(n(n−d)); +∞ once S reaches 0.
    public let varianceLogSurvival: Double
    /// SE of S = S·√Var(log S); nil when S = 0 (R reports NaN).
    public let stdErr: Double?
    /// Lower confidence limit; nil where the transform is undefined.
    public let lower: Double?
    /// Upper confidence limit; nil where the transform is undefined.
    public let upper: Double?
}

/// A Kaplan–Meier curve with Greenwood variance and pointwise confidence limits.
public struct KaplanMeierCurve: Sendable {
    /// Group label, nil for the whole cohort.
    public let group: String?
    /// One step per distinct time, ascending (censoring-only times included, like
    /// R's `summary(survfit, censored = TRUE)`).
    public let steps: [KaplanMeierStep]
    /// Number of subjects.
    public let subjects: Int
    /// Total events.
    public let totalEvents: Int
    /// Transform used for `lower`/`upper`.
    public let confidenceType: ConfidenceIntervalType
    /// Confidence level of `lower`/`upper` (e.g. 0.95).
    public let confidenceLevel: Double

    /// Median survival time exactly as R's `print.survfit` / `summary(fit)$table` report
    /// it (`survival:::survmean`, tolerance √ε): the first time with S ≤ 0.5; when S is
    /// exactly 0.5 there and drops below later, the midpoint between that time and the
    /// first time S < 0.5. If S stays at 0.5 to the end, the first time (R's
    /// `quantile.survfit` would instead average with the last follow-up time; see
    /// `quantile(_:)`). nil when S never reaches 0.5.
    public var median: Double? {
        let tol = Double.ulpOfOne.squareRoot()
        guard let first = steps.firstIndex(where: { $0.survival < 0.5 + tol }) else { return nil }
        let s1 = steps[first].survival
        if abs(s1 - 0.5) < tol,
           let below = steps[(first + 1)...].first(where: { $0.survival < s1 }) {
            return (steps[first].time + below.time) / 2
        }
        return steps[first].time
    }

    /// Time by which a fraction `p` has had the event (the 1−p survival quantile),
    /// using R's `quantile.survfit` rule (`survival:::findq`, tolerance √ε): the first time with
    /// 1 − S ≥ p; if 1 − S equals p over an interval, the midpoint between the start
    /// of that interval and the next event time (or the last follow-up time if
    /// there is no later event). nil when never reached.
    public func quantile(_ p: Double) -> Double? {
        guard !steps.isEmpty, p >= 0, p <= 1 else { return nil }
        let tol = Double.ulpOfOne.squareRoot()
        // x = (0, times…), y = (0, 1 − S…) with repeated y values dropped (first kept).
        var xs: [Double] = [0]
        var ys: [Double] = [0]
        for s in steps {
            let y = 1 - s.survival
            if y != ys[ys.count - 1] {   // 1 − S is monotone: duplicates are adjacent
                xs.append(s.time)
                ys.append(y)
            }
        }
        guard let maxY = ys.max(), maxY >= p else { return nil }
        if p == 0 { return xs[0] }
        let n = ys.count
        // approx(y ± tol, 1:n, p, method = "constant", f = 1): first index with y ± tol ≥ p.
        func firstIndex(_ shift: Double) -> Int? {
            guard p >= ys[0] + shift, p <= ys[n - 1] + shift else { return nil }
            return ys.firstIndex { $0 + shift >= p }
        }
        let i1 = firstIndex(tol)
        let i2 = firstIndex(-tol)
        if abs(p - ys[n - 1]) < tol, let i1 {
            return (xs[i1] + steps[steps.count - 1].time) / 2
        }
        guard let i1, let i2 else { return nil }
        return (xs[i1] + xs[i2]) / 2
    }

    /// S(t): 1 before the first event, right-continuous steps after.
    public func survival(at t: Double) -> Double {
        step(at: t)?.survival ?? 1
    }

    /// The last step with time ≤ t (nil before the first time).
    public func step(at t: Double) -> KaplanMeierStep? {
        var lo = 0, hi = steps.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if steps[mid].time <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : steps[lo - 1]
    }

    /// The same curve with limits recomputed for another transform or level.
    public func withConfidence(_ type: ConfidenceIntervalType, level: Double = 0.95) -> KaplanMeierCurve {
        let z = Normal.quantile(1 - (1 - level) / 2)
        let newSteps = steps.map { s -> KaplanMeierStep in
            let ci = KaplanMeier.confidenceInterval(survival: s.survival, varianceLogSurvival: s.varianceLogSurvival,
                                                    type: type, z: z)
            return KaplanMeierStep(time: s.time, atRisk: s.atRisk, events: s.events, censored: s.censored,
                                   survival: s.survival, varianceLogSurvival: s.varianceLogSurvival,
                                   stdErr: s.stdErr, lower: ci.lower, upper: ci.upper)
        }
        return KaplanMeierCurve(group: group, steps: newSteps, subjects: subjects, totalEvents: totalEvents,
                                confidenceType: type, confidenceLevel: level)
    }
}

/// Kaplan–Meier estimation on prepared (time-sorted) data.
public enum KaplanMeier: Sendable {
    /// Whole-cohort curve from sorted data.
    public static func fit(_ data: PreparedSurvivalData, confidenceType: ConfidenceIntervalType = .log,
                           confidenceLevel: Double = 0.95) -> KaplanMeierCurve {
        fit(SurvivalTable(data), confidenceType: confidenceType, confidenceLevel: confidenceLevel)
    }

    /// One curve per group from sorted data (empty without a grouping).
    public static func fitByGroup(_ data: PreparedSurvivalData, confidenceType: ConfidenceIntervalType = .log,
                                  confidenceLevel: Double = 0.95) -> [KaplanMeierCurve] {
        fitByGroup(SurvivalTable(data), confidenceType: confidenceType, confidenceLevel: confidenceLevel)
    }

    /// Whole-cohort curve: one step per distinct time, censoring times included.
    public static func fit(_ table: SurvivalTable, confidenceType: ConfidenceIntervalType = .log,
                           confidenceLevel: Double = 0.95) -> KaplanMeierCurve {
        var acc = Accumulator(n: table.count, type: confidenceType, level: confidenceLevel)
        let k = table.groupCount
        table.events.withUnsafeBufferPointer { events in
            table.censored.withUnsafeBufferPointer { censored in
                for (row, t) in table.time.enumerated() {
                    var d = 0, c = 0
                    for g in row * k..<(row + 1) * k {
                        d += Int(events[g])
                        c += Int(censored[g])
                    }
                    acc.add(time: t, events: d, censored: c)
                }
            }
        }
        return acc.curve(group: nil)
    }

    /// One curve per group, in the sorted label order; each has a step at every time at which that
    /// group has an event or a censoring. Empty when the data have no grouping.
    public static func fitByGroup(_ table: SurvivalTable, confidenceType: ConfidenceIntervalType = .log,
                                  confidenceLevel: Double = 0.95) -> [KaplanMeierCurve] {
        guard table.hasGroups else { return [] }
        let k = table.groupCount
        var accs = table.subjects.map { Accumulator(n: $0, type: confidenceType, level: confidenceLevel) }
        table.events.withUnsafeBufferPointer { events in
            table.censored.withUnsafeBufferPointer { censored in
                for (row, t) in table.time.enumerated() {
                    for g in 0..<k {
                        let d = Int(events[row * k + g]), c = Int(censored[row * k + g])
                        if d + c > 0 { accs[g].add(time: t, events: d, censored: c) }
                    }
                }
            }
        }
        return accs.enumerated().map { $0.element.curve(group: table.groupLabels[$0.offset]) }
    }

    /// Pointwise limits for one step, exactly as R's `survfit_confint` (with
    /// `se` = √Var(log S)). nil where R gives NA/NaN.
    public static func confidenceInterval(survival s: Double, varianceLogSurvival v: Double,
                                          type: ConfidenceIntervalType, z: Double) -> (lower: Double?, upper: Double?) {
        let se = v.squareRoot()
        switch type {
        case .plain:
            let half = se * s * z
            guard half.isFinite, s > 0 else { return (nil, nil) }
            return (max(s - half, 0), min(s + half, 1))
        case .log:
            guard s > 0, se.isFinite else { return (nil, nil) }
            let half = z * se
            return (exp(log(s) - half), min(exp(log(s) + half), 1))
        case .logLog:
            guard s > 0, s < 1, se.isFinite else { return (nil, nil) }
            let logS = log(s)
            let half = z * se / logS
            let center = log(-logS)
            return (exp(-exp(center - half)), exp(-exp(center + half)))
        }
    }

    /// Running product-limit state; `add` is called once per distinct time.
    struct Accumulator {
        private(set) var atRisk: Int
        private var survival = 1.0
        private var greenwood = 0.0
        private var steps: [KaplanMeierStep] = []
        private let subjects: Int
        private var totalEvents = 0
        private let type: ConfidenceIntervalType
        private let level: Double
        private let z: Double

        init(n: Int, type: ConfidenceIntervalType, level: Double) {
            atRisk = n
            subjects = n
            self.type = type
            self.level = level
            z = Normal.quantile(1 - (1 - level) / 2)
        }

        mutating func add(time: Double, events d: Int, censored c: Int) {
            let n = atRisk
            if d > 0 {
                let nd = Double(n), dd = Double(d)
                survival *= (nd - dd) / nd
                greenwood += d == n ? .infinity : dd / (nd * (nd - dd))
                totalEvents += d
            }
            let se: Double? = survival > 0 ? survival * greenwood.squareRoot() : nil
            let ci = KaplanMeier.confidenceInterval(survival: survival, varianceLogSurvival: greenwood, type: type, z: z)
            steps.append(KaplanMeierStep(time: time, atRisk: n, events: d, censored: c, survival: survival,
                                         varianceLogSurvival: greenwood, stdErr: se, lower: ci.lower, upper: ci.upper))
            atRisk = n - d - c
        }

        func curve(group: String?) -> KaplanMeierCurve {
            KaplanMeierCurve(group: group, steps: steps, subjects: subjects, totalEvents: totalEvents,
                             confidenceType: type, confidenceLevel: level)
        }
    }
}
