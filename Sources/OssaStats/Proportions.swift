import Foundation

// Confidence intervals for a binomial proportion, and the Beta distribution behind the exact one.
//
// Clopper–Pearson: lower = qbeta(α/2, x, n − x + 1), upper = qbeta(1 − α/2, x + 1, n − x), as R's
// `binom.test`. Wilson score without continuity correction, as R's `prop.test(correct = FALSE)`.
//
// The Beta CDF is the regularized incomplete beta I_x(a, b) from the continued fraction of
// DiDonato & Morris (TOMS 708's bfrac) on the tail beyond the mean (the other tail as its
// complement), with closed forms for a = 1 or b = 1. Its prefactor x^a (1 − x)^b / B(a, b) is formed
// without cancellation for large a and b (TOMS 708's brcomp: Stirling's series around the mean, so
// no two large lgamma values are subtracted, and the distance from the mean a − (a + b)x rounded
// once). Registries have n up to 10⁵–10⁶, so both parameters can be that large. The quantile is
// found by Halley's method inside a bisection bracket, evaluating the lower or the upper tail
// (whichever the target probability is in) so that p near 1 loses nothing.

/// A proportion with its confidence interval.
public struct ProportionSummary: Sendable, Equatable {
    /// Number of successes.
    public let count: Int
    /// Number of trials.
    public let total: Int
    /// count / total; nil when total is 0.
    public let proportion: Double?
    /// Lower confidence limit; nil when total is 0.
    public let lower: Double?
    /// Upper confidence limit; nil when total is 0.
    public let upper: Double?
    public let confidenceLevel: Double

    public init(count: Int, total: Int, proportion: Double?, lower: Double?, upper: Double?, confidenceLevel: Double) {
        self.count = count
        self.total = total
        self.proportion = proportion
        self.lower = lower
        self.upper = upper
        self.confidenceLevel = confidenceLevel
    }
}

/// Confidence intervals for a binomial proportion.
public enum Proportion: Sendable {
    /// Exact (Clopper–Pearson) interval, equal to R `binom.test(x, n, conf.level = )$conf.int`.
    /// The lower limit is 0 when there are no successes and the upper limit 1 when all are.
    /// Throws `StatsError.invalidArgument` for negative counts, successes > total or a
    /// confidence level outside (0, 1). total = 0 gives nil proportion and limits.
    public static func clopperPearson(successes: Int, total: Int,
                                      confidenceLevel: Double = 0.95) throws(StatsError) -> ProportionSummary {
        try validate(successes: successes, total: total, confidenceLevel: confidenceLevel)
        guard total > 0 else { return empty(successes, total, confidenceLevel) }
        let x = Double(successes), n = Double(total)
        let alpha = (1 - confidenceLevel) / 2
        let lower = successes == 0 ? 0 : BetaDistribution.quantile(alpha, a: x, b: n - x + 1)
        let upper = successes == total ? 1 : BetaDistribution.quantile(1 - alpha, a: x + 1, b: n - x)
        return ProportionSummary(count: successes, total: total, proportion: x / n,
                                 lower: lower, upper: upper, confidenceLevel: confidenceLevel)
    }

    /// Wilson score interval without continuity correction, equal to R
    /// `prop.test(x, n, conf.level = , correct = FALSE)$conf.int` (same formula, same order of operations).
    /// Validation as `clopperPearson`.
    public static func wilson(successes: Int, total: Int,
                              confidenceLevel: Double = 0.95) throws(StatsError) -> ProportionSummary {
        try validate(successes: successes, total: total, confidenceLevel: confidenceLevel)
        guard total > 0 else { return empty(successes, total, confidenceLevel) }
        let x = Double(successes), n = Double(total)
        let estimate = x / n
        let z = Normal.quantile((1 + confidenceLevel) / 2)
        let z22n = z * z / (2 * n)
        let spread = z * (estimate * (1 - estimate) / n + z22n / (2 * n)).squareRoot()
        let upper = estimate >= 1 ? 1 : (estimate + z22n + spread) / (1 + 2 * z22n)
        let lower = estimate <= 0 ? 0 : (estimate + z22n - spread) / (1 + 2 * z22n)
        return ProportionSummary(count: successes, total: total, proportion: estimate,
                                 lower: max(lower, 0), upper: min(upper, 1), confidenceLevel: confidenceLevel)
    }

    private static func validate(successes: Int, total: Int, confidenceLevel: Double) throws(StatsError) {
        guard total >= 0 else { throw .invalidArgument("total \(total) is negative") }
        guard successes >= 0 else { throw .invalidArgument("successes \(successes) is negative") }
        guard successes <= total else {
            throw .invalidArgument("successes \(successes) exceed the total \(total)")
        }
        guard confidenceLevel > 0, confidenceLevel < 1 else {
            throw .invalidArgument("confidence level \(confidenceLevel) is not in (0, 1)")
        }
    }

    private static func empty(_ successes: Int, _ total: Int, _ level: Double) -> ProportionSummary {
        ProportionSummary(count: successes, total: total, proportion: nil, lower: nil, upper: nil, confidenceLevel: level)
    }
}

/// The Beta(a, b) distribution on [0, 1], a, b > 0.
public enum BetaDistribution: Sendable {
    /// P(X ≤ x) = I_x(a, b) (R `pbeta(x, a, b)`).
    public static func cdf(_ x: Double, a: Double, b: Double) -> Double {
        guard let t = checkedTails(x, a: a, b: b) else { return .nan }
        return t.lower
    }

    /// P(X > x) = 1 − I_x(a, b), computed directly (R `pbeta(x, a, b, lower.tail = FALSE)`).
    public static func upperTail(_ x: Double, a: Double, b: Double) -> Double {
        guard let t = checkedTails(x, a: a, b: b) else { return .nan }
        return t.upper
    }

    /// Density x^(a−1) (1 − x)^(b−1) / B(a, b) for 0 < x < 1.
    public static func density(_ x: Double, a: Double, b: Double) -> Double {
        if x.isNaN || a.isNaN || b.isNaN || !(a > 0) || !(b > 0) { return .nan }
        if x < 0 || x > 1 { return 0 }
        if x == 0 { return a < 1 ? .infinity : (a == 1 ? b : 0) }
        if x == 1 { return b < 1 ? .infinity : (b == 1 ? a : 0) }
        let y = 1 - x
        return prefactor(x: x, y: y, a: a, b: b) / (x * y)
    }

    /// The x with P(X ≤ x) = p (R `qbeta(p, a, b)`). NaN for p outside [0, 1] or a, b not > 0.
    /// Accurate to a few units in the last place of the result for ordinary p, a and b up to 10⁶ and beyond.
    public static func quantile(_ p: Double, a: Double, b: Double) -> Double {
        if p.isNaN || a.isNaN || b.isNaN || p < 0 || p > 1 || a < 0 || b < 0 { return .nan }
        if a == 0 && b == 0 { return .nan }
        if a == 0 || p == 0 { return 0 }
        if b == 0 || p == 1 { return 1 }
        if a.isInfinite || b.isInfinite { return .nan }
        // Solve in the tail that holds the target: 1 − p is exact for p ≥ 0.5 (Sterbenz).
        let useUpper = p > 0.5
        let target = useUpper ? 1 - p : p
        // g(x) increases with x and is 0 at the root.
        func g(_ x: Double) -> Double {
            let t = tails(x: x, y: 1 - x, a: a, b: b)
            return useUpper ? target - t.upper : t.lower - target
        }
        var lo = 0.0, hi = 1.0
        var x = initialGuess(p, a: a, b: b)
        if !(x > 0 && x < 1) { x = 0.5 }
        var gx = g(x)
        for _ in 0..<300 {
            if gx == 0 { return x }
            if gx < 0 { lo = x } else { hi = x }
            let y = 1 - x
            let front = prefactor(x: x, y: y, a: a, b: b)
            var next: Double
            if front > 0 && front.isFinite {
                // Newton step g/g' with g' = density = front/(x·y); Halley's correction uses
                // g''/g' = (a − 1)/x − (b − 1)/y, damped so it can only shorten the step by half or lengthen it.
                let step = gx * (x * y) / front
                let curvature = (a - 1) / x - (b - 1) / y
                let h = 1 - 0.5 * step * curvature
                next = x - (h >= 0.5 && h <= 2 ? step / h : step)
            } else {
                next = .nan
            }
            if !(next > lo && next < hi) {
                // Bisect; geometrically when the bracket spans orders of magnitude near 0 or 1.
                if lo > 0 && hi / lo > 16 {
                    next = (lo * hi).squareRoot()
                } else if lo == 0 && hi < 1e-3 {
                    next = hi / 16
                } else if hi < 1 && lo > 0.5 && (1 - lo) / (1 - hi) > 16 {
                    next = 1 - ((1 - lo) * (1 - hi)).squareRoot()
                } else {
                    next = 0.5 * (lo + hi)
                }
                if !(next > lo && next < hi) { return x }   // the bracket is down to adjacent doubles
            }
            let moved = abs(next - x)
            x = next
            if moved <= 2e-16 * x { return x }
            gx = g(x)
        }
        return x
    }

    // MARK: - Internals

    private static func checkedTails(_ x: Double, a: Double, b: Double) -> (lower: Double, upper: Double)? {
        if x.isNaN || a.isNaN || b.isNaN || !(a > 0) || !(b > 0) || a.isInfinite || b.isInfinite { return nil }
        if x <= 0 { return (0, 1) }
        if x >= 1 { return (1, 0) }
        return tails(x: x, y: 1 - x, a: a, b: b)
    }

    /// I_x(a, b) and 1 − I_x(a, b), 0 < x < 1, y = 1 − x. The tail on the far side of the mean comes
    /// from the continued fraction (full relative accuracy), the other as its complement; a = 1 and
    /// b = 1 have closed forms.
    static func tails(x: Double, y: Double, a: Double, b: Double) -> (lower: Double, upper: Double) {
        if a == 1 {
            // I_x(1, b) = 1 − y^b.
            let logY = x > 0.5 ? log(y) : log1p(-x)
            return (-expm1(b * logY), exp(b * logY))
        }
        if b == 1 {
            // I_x(a, 1) = x^a.
            let logX = x > 0.5 ? log1p(-y) : log(x)
            return (exp(a * logX), -expm1(a * logX))
        }
        // λ = a − (a+b)x = (a+b)y − b, with one rounding (fma) from whichever of x, y is exact.
        let lambda = deviation(x: x, y: y, a: a, b: b)
        if lambda >= 0 {
            let lower = min(1, continuedFraction(a: a, b: b, x: x, y: y, lambda: lambda))
            return (lower, 1 - lower)
        }
        let upper = min(1, continuedFraction(a: b, b: a, x: y, y: x, lambda: -lambda))
        return (1 - upper, upper)
    }

    /// a − (a + b)·x, rounded once. For x ≤ ½ from x (exact); above, y = 1 − x is exact too and
    /// (a + b)·y − b is used, as TOMS 708 does when a > b.
    private static func deviation(x: Double, y: Double, a: Double, b: Double) -> Double {
        let s = a + b
        return x <= 0.5 ? a.addingProduct(-s, x) : (-b).addingProduct(s, y)
    }

    /// x^a y^b / B(a, b), y = 1 − x.
    static func prefactor(x: Double, y: Double, a: Double, b: Double) -> Double {
        if min(a, b) >= 15 {
            // Around the mean x₀ = a/(a+b): x^a y^b / B(a,b) = x₀^a y₀^b / B(a,b) · exp(−a·r(e₁) − b·r(e₂))
            // with e₁ = (x − x₀)/x₀ = −λ/a, e₂ = (y − y₀)/y₀ = λ/b, r(e) = e − log(1 + e), and
            // x₀^a y₀^b / B(a,b) = √(ab/(2π(a+b))) · exp(ω(a+b) − ω(a) − ω(b)) from Stirling's series.
            let s = a + b
            let lambda = deviation(x: x, y: y, a: a, b: b)
            let exponent = -(a * rlog1(-lambda / a) + b * rlog1(lambda / b))
            let peak = (a * b / (2 * Double.pi * s)).squareRoot()
                * exp(stirlingOmega(s) - stirlingOmega(a) - stirlingOmega(b))
            return peak * exp(exponent)
        }
        // The log of the smaller of x and y is taken directly, the other through log1p.
        let logX = x > 0.5 ? log1p(-y) : log(x)
        let logY = x > 0.5 ? log(y) : log1p(-x)
        return exp(a * logX + b * logY - logBeta(a, b))
    }

    /// log B(a, b) for min(a, b) < 15: log-gammas while all are small, otherwise
    /// lgamma(small) + [lgamma(big) − lgamma(big + small)] with the bracket from Stirling's series.
    static func logBeta(_ a: Double, _ b: Double) -> Double {
        let big = max(a, b), small = min(a, b)
        if big < 15 { return lgamma(a) + lgamma(b) - lgamma(a + b) }
        let s = big + small
        return lgamma(small) - (big - 0.5) * log1p(small / big) - small * log(s) + small
            + stirlingOmega(big) - stirlingOmega(s)
    }

    /// e − log(1 + e) for e > −1, accurate for small |e|.
    static func rlog1(_ e: Double) -> Double {
        if e <= -1 { return .infinity }
        if abs(e) > 0.375 { return e - log1p(e) }
        // t = e/(2+e): log(1+e) = 2·atanh(t), and e − 2t = e·t, so r = e·t − 2(t³/3 + t⁵/5 + …).
        let t = e / (2 + e)
        let t2 = t * t
        var term = t2 * t
        var sum = 0.0
        var k = 3.0
        while k < 200 {
            let add = term / k
            sum += add
            if abs(add) <= 1e-17 * sum { break }
            term *= t2
            k += 2
        }
        return e * t - 2 * sum
    }

    /// ω(z) = lgamma(z) − [(z − ½) log z − z + ½ log 2π] for z ≥ 15 (error < 1e-18).
    static func stirlingOmega(_ z: Double) -> Double {
        let r = 1 / z
        let r2 = r * r
        // 1/12 − 1/360 z⁻² + 1/1260 z⁻⁴ − 1/1680 z⁻⁶ + 1/1188 z⁻⁸ − 691/360360 z⁻¹⁰ + 1/156 z⁻¹²
        let series = 1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188
            - r2 * (691.0 / 360360 - r2 / 156)))))
        return series * r
    }

    /// I_x(a, b) by the continued fraction of DiDonato & Morris (TOMS 708, bfrac), for
    /// λ = a − (a + b)x ≥ 0 (x at or below the mean): the prefactor times the fraction.
    private static func continuedFraction(a: Double, b: Double, x: Double, y: Double, lambda: Double) -> Double {
        let front = prefactor(x: x, y: y, a: a, b: b)
        if front == 0 { return 0 }
        let c = lambda + 1, c0 = b / a, c1 = 1 / a + 1, yp1 = y + 1
        var n = 0.0, p = 1.0, s = a + 1
        var an = 0.0, bn = 1.0, anp1 = 1.0, bnp1 = c / c1
        var r = c1 / c
        while n < 100_000 {
            n += 1
            var t = n / a
            let w = n * (b - n) * x
            var e = a / s
            let alpha = p * (p + c0) * e * e * (w * x)
            e = (t + 1) / (c1 + t + t)
            let beta = n + w / s + e * (c + n * yp1)
            p = t + 1
            s += 2
            t = alpha * an + beta * anp1; an = anp1; anp1 = t
            t = alpha * bn + beta * bnp1; bn = bnp1; bnp1 = t
            let r0 = r
            r = anp1 / bnp1
            if abs(r - r0) <= 1e-16 * r { break }
            an /= bnp1
            bn /= bnp1
            anp1 = r
            bnp1 = 1
        }
        return front * r
    }

    /// Starting point (Abramowitz–Stegun 26.5.22 for a, b ≥ 1, the tails' power laws otherwise).
    private static func initialGuess(_ p: Double, a: Double, b: Double) -> Double {
        if a >= 1 && b >= 1 {
            let z = -Normal.quantile(p)   // upper-tail normal deviate
            let al = (z * z - 3) / 6
            let h = 2 / (1 / (2 * a - 1) + 1 / (2 * b - 1))
            let w = z * (al + h).squareRoot() / h - (1 / (2 * b - 1) - 1 / (2 * a - 1)) * (al + 5.0 / 6 - 2 / (3 * h))
            return a / (a + b * exp(2 * w))
        }
        let lna = log(a / (a + b)), lnb = log(b / (a + b))
        let t = exp(a * lna) / a, u = exp(b * lnb) / b
        let w = t + u
        if p < t / w { return pow(a * w * p, 1 / a) }
        return 1 - pow(b * w * (1 - p), 1 / b)
    }
}
