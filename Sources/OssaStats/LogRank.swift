/// Result of the k-group log-rank test (R `survdiff`, rho = 0).
public struct LogRankResult: Sendable {
    /// Group labels (sorted), matching `observed`, `expected`, `subjects`.
    public let groups: [String]
    /// Subjects per group.
    public let subjects: [Int]
    /// Observed events per group.
    public let observed: [Double]
    /// Expected events per group under equal hazards.
    public let expected: [Double]
    /// Variance–covariance matrix of O − E, k×k row-major.
    public let variance: [Double]
    /// Test statistic (O − E)ᵀ V⁻ (O − E) on the groups with expected > 0, first one dropped.
    public let chiSquare: Double
    /// Groups with expected > 0, minus 1.
    public let degreesOfFreedom: Int
    /// Chi-square upper tail; 1 when there is nothing to compare (df = 0).
    public let pValue: Double
}

/// The log-rank test on prepared (time-sorted) data.
public enum LogRank: Sendable {
    /// The test on sorted data; nil when the data have no grouping.
    public static func test(_ data: PreparedSurvivalData) -> LogRankResult? {
        test(SurvivalTable(data))
    }

    /// The test on tabulated counts; nil when the data have no grouping.
    public static func test(_ table: SurvivalTable) -> LogRankResult? {
        guard table.hasGroups else { return nil }
        let k = table.groupCount
        let subjects = table.subjects
        var atRisk = subjects.map(Double.init)
        var observed = [Double](repeating: 0, count: k)
        var expected = [Double](repeating: 0, count: k)
        var variance = [Double](repeating: 0, count: k * k)
        var total = Double(table.count)
        table.events.withUnsafeBufferPointer { events in
            table.censored.withUnsafeBufferPointer { censored in
                for row in table.time.indices {
                    let base = row * k
                    var d = 0.0, removed = 0.0
                    for g in 0..<k {
                        d += Double(events[base + g])
                        removed += Double(events[base + g] + censored[base + g])
                    }
                    if d > 0 {
                        let nt = total
                        for g in 0..<k {
                            observed[g] += Double(events[base + g])
                            expected[g] += atRisk[g] * d / nt
                        }
                        if nt > 1 {
                            // Hypergeometric covariance of the death counts at this time.
                            let kt = d * (nt - d) / (nt * nt * (nt - 1))
                            for a in 0..<k where atRisk[a] > 0 {
                                variance[a * k + a] += kt * atRisk[a] * nt
                                for b in 0..<k where atRisk[b] > 0 {
                                    variance[a * k + b] -= kt * atRisk[a] * atRisk[b]
                                }
                            }
                        }
                    }
                    for g in 0..<k { atRisk[g] -= Double(events[base + g] + censored[base + g]) }
                    total -= removed
                }
            }
        }
        // R: keep groups with expected > 0, drop the first of them, solve.
        let kept = (0..<k).filter { expected[$0] > 0 }
        var chi = 0.0
        if kept.count >= 2 {
            let sub = Array(kept.dropFirst())
            let m = sub.count
            var v = [Double](repeating: 0, count: m * m)
            var diff = [Double](repeating: 0, count: m)
            for (a, ga) in sub.enumerated() {
                diff[a] = observed[ga] - expected[ga]
                for (b, gb) in sub.enumerated() { v[a * m + b] = variance[ga * k + gb] }
            }
            let x = SymmetricSolver(matrix: v, n: m).solve(diff)
            for a in 0..<m { chi += x[a] * diff[a] }
        }
        let df = max(kept.count - 1, 0)
        let p = df > 0 ? ChiSquare.upperTail(chi, degreesOfFreedom: Double(df)) : 1
        return LogRankResult(groups: table.groupLabels, subjects: subjects, observed: observed, expected: expected,
                             variance: variance, chiSquare: chi, degreesOfFreedom: df, pValue: p)
    }
}
