/// Mean with standard deviation and a Student-t confidence interval.
public struct MeanSummary: Sendable, Equatable {
    /// Number of values used.
    public let count: Int
    public let mean: Double
    /// Sample SD (n − 1 denominator); nil when count < 2.
    public let standardDeviation: Double?
    /// SD/√n; nil when count < 2.
    public let standardError: Double?
    /// mean ∓ t_{1−α/2, n−1}·SE; nil when count < 2.
    public let lower: Double?
    public let upper: Double?
    public let confidenceLevel: Double
}

/// Mean change from baseline to follow-up over complete pairs (paired t).
public struct PairedChangeSummary: Sendable, Equatable {
    /// Summary of the differences follow-up − baseline.
    public let change: MeanSummary
    /// Paired t statistic mean/SE; nil when undefined (fewer than 2 pairs or SD = 0).
    public let tStatistic: Double?
    /// Two-sided p-value of the paired t-test (df = pairs − 1).
    public let pValue: Double?
    /// Pairs where either value was missing (excluded).
    public let incompletePairs: Int
}

/// Descriptive summaries used by registry reports.
public enum Summary: Sendable {
    /// Mean, SD and t-based confidence interval (like R `t.test(x)$conf.int`).
    /// Returns nil for an empty input.
    public static func mean(_ values: [Double], confidenceLevel: Double = 0.95) -> MeanSummary? {
        let n = values.count
        guard n > 0 else { return nil }
        // Two passes (mean, then squared deviations) for accuracy, as R's var().
        var sum = 0.0
        for v in values { sum += v }
        var mean = sum / Double(n)
        var correction = 0.0
        for v in values { correction += v - mean }
        mean += correction / Double(n)
        guard n >= 2 else {
            return MeanSummary(count: n, mean: mean, standardDeviation: nil, standardError: nil,
                               lower: nil, upper: nil, confidenceLevel: confidenceLevel)
        }
        var ss = 0.0
        for v in values { ss += (v - mean) * (v - mean) }
        let sd = (ss / Double(n - 1)).squareRoot()
        let se = sd / Double(n).squareRoot()
        let t = StudentT.quantile(1 - (1 - confidenceLevel) / 2, degreesOfFreedom: Double(n - 1))
        return MeanSummary(count: n, mean: mean, standardDeviation: sd, standardError: se,
                           lower: mean - t * se, upper: mean + t * se, confidenceLevel: confidenceLevel)
    }

    /// Change follow-up − baseline over pairs where both are present (paired t-test,
    /// like R `t.test(followUp, baseline, paired = TRUE)`). nil when no complete pair.
    /// Throws `StatsError.lengthMismatch` when the two arrays are not one entry per subject each.
    public static func pairedChange(baseline: [Double?], followUp: [Double?],
                                    confidenceLevel: Double = 0.95) throws -> PairedChangeSummary? {
        guard baseline.count == followUp.count else {
            throw StatsError.lengthMismatch("\(baseline.count) baseline values and \(followUp.count) follow-up values (they must be paired)")
        }
        var diffs: [Double] = []
        diffs.reserveCapacity(baseline.count)
        var incomplete = 0
        for (b, f) in zip(baseline, followUp) {
            if let b, let f { diffs.append(f - b) } else { incomplete += 1 }
        }
        guard let s = mean(diffs, confidenceLevel: confidenceLevel) else { return nil }
        var t: Double? = nil
        var p: Double? = nil
        if let se = s.standardError, se > 0 {
            let stat = s.mean / se
            t = stat
            p = StudentT.twoSidedPValue(stat, degreesOfFreedom: Double(s.count - 1))
        }
        return PairedChangeSummary(change: s, tStatistic: t, pValue: p, incompletePairs: incomplete)
    }
}
