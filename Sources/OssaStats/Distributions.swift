import Foundation

// Probability distributions used by the survival and summary code.
//
// Accuracy targets: normal CDF and chi-square upper tail to ~1e-14 relative
// (including far tails), quantiles to full double precision for ordinary
// probabilities. Algorithms: erfc with argument-rounding correction (normal),
// exact finite sums for integer/half-integer shape (chi-square), Lentz
// continued fractions otherwise, Wichura AS 241 (normal quantile, as R's
// qnorm), safeguarded Newton iteration for t and chi-square quantiles.

/// The standard normal distribution.
public enum Normal: Sendable {
    /// Cumulative distribution function Φ(x) = P(Z ≤ x).
    public static func cdf(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        // Φ(x) = erfc(-x/√2)/2; evaluated in the tail that avoids cancellation.
        return 0.5 * erfcScaledArgument(-x)
    }

    /// Upper tail 1 − Φ(x) = P(Z > x), accurate far into the tail.
    public static func upperTail(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        return 0.5 * erfcScaledArgument(x)
    }

    /// Two-sided p-value 2·P(Z > |z|).
    public static func twoSidedPValue(_ z: Double) -> Double {
        if z.isNaN { return .nan }
        return min(1, 2 * upperTail(abs(z)))
    }

    /// Density φ(x).
    public static func density(_ x: Double) -> Double {
        0.3989422804014327 * exp(-0.5 * x * x)
    }

    /// Quantile Φ⁻¹(p) (Wichura 1988, AS 241, the algorithm of R's `qnorm`).
    /// Returns −∞/+∞ for p = 0/1 and NaN outside [0, 1].
    public static func quantile(_ p: Double) -> Double {
        if p.isNaN || p < 0 || p > 1 { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        let q = p - 0.5
        if abs(q) <= 0.425 {
            let r = 0.180625 - q * q
            let num = (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) * r
                + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
                + 133.14166789178437745) * r + 3.387132872796366608)
            let den = (((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) * r
                + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
                + 42.313330701600911252) * r + 1.0)
            return q * num / den
        }
        // Tail: 1 − p is exact for p ≥ 0.5 (Sterbenz), so no precision is lost here.
        var r = q < 0 ? p : 1 - p
        r = (-log(r)).squareRoot()
        var val: Double
        if r <= 5 {
            r -= 1.6
            val = (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                + 4.6303378461565452959) * r + 1.42343711074968357734)
                / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                + 2.05319162663775882187) * r + 1.0)
        } else {
            r -= 5
            val = (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                + 5.4637849111641143699) * r + 6.6579046435011037772)
                / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                + 0.59983220655588793769) * r + 1.0)
        }
        return q < 0 ? -val : val
    }
}

/// erfc(x/√2) with the rounding error of x/√2 corrected to first order, so the
/// far tail keeps ~1e-15 relative accuracy instead of losing ~x²·ε.
private func erfcScaledArgument(_ x: Double) -> Double {
    if x.isInfinite { return x > 0 ? 0 : 2 }
    let cHi = 0.7071067811865476          // 1/√2 rounded
    let cLo = -4.833646656726457e-17      // 1/√2 − cHi
    let yHi = x * cHi
    // Exact rounding error of the product (one fma) plus the constant's own tail.
    let yLo = (-yHi).addingProduct(x, cHi) + x * cLo
    return erfcCorrected(yHi, yLo)
}

/// erfc(hi + lo) for |lo| ≪ |hi|: erfc(hi)·(1 − lo·R(hi)) with R = (2/√π)e^{−hi²}/erfc(hi).
private func erfcCorrected(_ hi: Double, _ lo: Double) -> Double {
    let base = erfc(hi)
    if lo == 0 || base == 0 { return base }
    let ratio: Double
    if hi > 20 {
        ratio = 2 * hi + 1 / hi   // asymptotic form of R; only a few digits are needed
    } else {
        ratio = 1.1283791670955126 * exp(-hi * hi) / base
    }
    return base * (1 - lo * ratio)
}

/// The chi-square distribution.
public enum ChiSquare: Sendable {
    /// Upper tail P(X > x) for X ~ χ²(df), df > 0.
    public static func upperTail(_ x: Double, degreesOfFreedom df: Double) -> Double {
        if x.isNaN || df.isNaN || df <= 0 { return .nan }
        if x <= 0 { return 1 }
        if x.isInfinite { return 0 }
        return IncompleteGamma.upper(a: df / 2, x: x / 2)
    }

    /// Cumulative distribution P(X ≤ x).
    public static func cdf(_ x: Double, degreesOfFreedom df: Double) -> Double {
        if x.isNaN || df.isNaN || df <= 0 { return .nan }
        if x <= 0 { return 0 }
        if x.isInfinite { return 1 }
        return IncompleteGamma.lower(a: df / 2, x: x / 2)
    }

    /// Density of χ²(df) at x > 0.
    public static func density(_ x: Double, degreesOfFreedom df: Double) -> Double {
        if x <= 0 { return 0 }
        let a: Double = df / 2
        let half: Double = x / 2
        let logDensity: Double = (a - 1) * log(half) - half - lgamma(a)
        return exp(logDensity) / 2
    }

    /// Quantile: the x with P(X ≤ x) = p.
    public static func quantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
        if p.isNaN || df.isNaN || df <= 0 || p < 0 || p > 1 { return .nan }
        if p == 0 { return 0 }
        if p == 1 { return .infinity }
        // Wilson–Hilferty start, then safeguarded Newton on the more accurate tail.
        let z = Normal.quantile(p)
        let h = 2 / (9 * df)
        var start = df * pow(max(1 - h + z * h.squareRoot(), 1e-3), 3)
        if !(start > 0) || !start.isFinite { start = df }
        let useUpper = p > 0.5
        let target = useUpper ? 1 - p : p
        return solveMonotone(start: start, lower: 0, target: target,
                             tail: { useUpper ? upperTail($0, degreesOfFreedom: df) : cdf($0, degreesOfFreedom: df) },
                             slope: { useUpper ? -density($0, degreesOfFreedom: df) : density($0, degreesOfFreedom: df) })
    }
}

/// Student's t distribution.
public enum StudentT: Sendable {
    /// Cumulative distribution P(T ≤ t) for T ~ t(df), df > 0.
    public static func cdf(_ t: Double, degreesOfFreedom df: Double) -> Double {
        if t.isNaN || df.isNaN || df <= 0 { return .nan }
        return t > 0 ? 1 - upperTail(t, degreesOfFreedom: df) : upperTail(-t, degreesOfFreedom: df)
    }

    /// Upper tail P(T > t).
    public static func upperTail(_ t: Double, degreesOfFreedom df: Double) -> Double {
        if t.isNaN || df.isNaN || df <= 0 { return .nan }
        if t.isInfinite { return t > 0 ? 0 : 1 }
        if df > 4e5 {
            // Same large-df normal approximation as R's pt (error < 1e-13 there).
            let v = 1 / (4 * df)
            return Normal.upperTail(t * (1 - v) / (1 + t * t * 2 * v).squareRoot())
        }
        if df == 1 {
            // Cauchy: exact closed form.
            return t > 0 ? atan2(1, t) / Double.pi : 0.5 + atan(-t) / Double.pi
        }
        let t2 = t * t
        // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2); both x and 1−x are formed without cancellation.
        let x = df / (df + t2)
        let oneMinusX = t2 / (df + t2)
        // log x = −log1p(t²/df) keeps a·log x accurate when df is large.
        let twoSided = IncompleteBeta.regularized(x: x, oneMinusX: oneMinusX, logX: -log1p(t2 / df),
                                                  logOneMinusX: log(oneMinusX), a: df / 2, b: 0.5)
        return t > 0 ? 0.5 * twoSided : 1 - 0.5 * twoSided
    }

    /// Two-sided p-value P(|T| > |t|).
    public static func twoSidedPValue(_ t: Double, degreesOfFreedom df: Double) -> Double {
        if t.isNaN { return .nan }
        return min(1, 2 * upperTail(abs(t), degreesOfFreedom: df))
    }

    /// Density of t(df).
    public static func density(_ t: Double, degreesOfFreedom df: Double) -> Double {
        let logc = lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * Double.pi)
        return exp(logc - (df + 1) / 2 * log1p(t * t / df))
    }

    /// Quantile: the t with P(T ≤ t) = p.
    public static func quantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
        if p.isNaN || df.isNaN || df <= 0 || p < 0 || p > 1 { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        // Work in the upper half: q = 1 − p is exact for p ≥ 0.5.
        let upper = p > 0.5
        let q = upper ? 1 - p : p
        let t: Double
        if df == 1 {
            t = 1 / tan(Double.pi * q)
        } else if df == 2 {
            // Exact: P(T > t) = (1 − t/√(2+t²))/2.
            // t = (1 − 2q)/√(2q(1 − q)), written without forming 1 − (1 − 2q).
            t = (1 - 2 * q) / (2 * q * (1 - q)).squareRoot()
        } else {
            // Cornish–Fisher start, refined by Newton on the upper tail.
            let z = Normal.quantile(1 - q)
            let z2 = z * z
            var start = z + (z2 * z + z) / (4 * df)
                + ((5 * z2 + 16) * z2 * z + 3 * z) / (96 * df * df)
            if !(start > 0) || !start.isFinite { start = z > 0 ? z : 1 }
            t = solveMonotone(start: start, lower: 0, target: q,
                              tail: { upperTail($0, degreesOfFreedom: df) },
                              slope: { -density($0, degreesOfFreedom: df) })
        }
        return upper ? t : -t
    }
}

/// Solves tail(x) = target for x > lower by Newton's method, falling back to
/// bisection whenever a step leaves the current bracket. `tail` is monotone.
private func solveMonotone(start: Double, lower: Double, target: Double,
                           tail: (Double) -> Double, slope: (Double) -> Double) -> Double {
    // Bracket [lo, hi] with f(lo) and f(hi) of opposite sign, f = tail − target.
    var lo = lower
    var hi = start
    var fStart = tail(start) - target
    let increasing = slope(start) > 0
    func wrongSide(_ f: Double) -> Bool { increasing ? f < 0 : f > 0 }
    if fStart == 0 { return start }
    if wrongSide(fStart) {
        // root lies above start: grow hi.
        lo = start
        hi = max(start * 2, 1)
        var guardCount = 0
        while wrongSide(tail(hi) - target) && guardCount < 2000 {
            lo = hi
            hi *= 2
            guardCount += 1
        }
    }
    var x = start
    if x <= lo || x >= hi { x = 0.5 * (lo + hi) }
    fStart = tail(x) - target
    var f = fStart
    for _ in 0..<200 {
        if f == 0 { return x }
        if wrongSide(f) { lo = x } else { hi = x }
        let d = slope(x)
        var next = x - f / d
        if !(next > lo && next < hi) || !next.isFinite { next = 0.5 * (lo + hi) }
        if abs(next - x) <= 1e-15 * abs(x) || next == lo || next == hi {
            x = next
            break
        }
        x = next
        f = tail(x) - target
    }
    return x
}

/// Regularized incomplete gamma functions P(a, x) and Q(a, x).
enum IncompleteGamma {
    /// Q(a, x) = Γ(a, x)/Γ(a).
    static func upper(a: Double, x: Double) -> Double {
        if let exact = finiteSum(a: a, x: x) { return exact }
        if x < a + 1 { return 1 - lowerSeries(a: a, x: x) }
        return upperContinuedFraction(a: a, x: x)
    }

    /// P(a, x).
    static func lower(a: Double, x: Double) -> Double {
        // With an exact Q available, 1 − Q is accurate whenever P is not small.
        if let q = finiteSum(a: a, x: x), q <= 0.9 { return 1 - q }
        if x < a + 1 { return lowerSeries(a: a, x: x) }
        return 1 - upper(a: a, x: x)
    }

    /// log of x^a e^{−x} / Γ(a).
    private static func logPrefactor(a: Double, x: Double) -> Double {
        a * log(x) - x - lgamma(a)
    }

    private static func lowerSeries(a: Double, x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var n = 1.0
        while n < 10_000 {
            term *= x / (a + n)
            sum += term
            if abs(term) < abs(sum) * 1e-17 { break }
            n += 1
        }
        return sum * exp(logPrefactor(a: a, x: x))
    }

    private static func upperContinuedFraction(a: Double, x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        var i = 1.0
        while i < 10_000 {
            let an = -i * (i - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
            i += 1
        }
        return exp(logPrefactor(a: a, x: x)) * h
    }

    /// Exact finite sums for integer and half-integer a (every chi-square with
    /// integer df): all terms positive, so the upper tail keeps full relative
    /// accuracy however small it is.
    private static func finiteSum(a: Double, x: Double) -> Double? {
        guard a <= 1000 else { return nil }
        let twiceA = 2 * a
        guard twiceA == twiceA.rounded() else { return nil }
        let isInteger = a == a.rounded()
        // e^{−x} is split as e^{−x/2}·e^{−x/2} beyond x = 700 so no factor is subnormal.
        let split = x > 700
        if split && a > 100 {
            // Terms would overflow before the second factor is applied: sum relative to the
            // largest term and combine in logs (results here are below 1e-150).
            if isInteger {
                let k = Int(a) - 1
                var u = 1.0, sum = 1.0
                var j = k
                while j > 0 { u *= Double(j) / x; sum += u; j -= 1 }
                return exp(-x + Double(k) * log(x) - lgamma(a) + log(sum))
            }
            let k = Int(a - 0.5)
            var u = 1.0, sum = 1.0
            var j = k
            while j > 1 { u *= (Double(j) - 0.5) / x; sum += u; j -= 1 }
            let top = Double(k) - 0.5
            return erfcSqrt(x) + exp(-x + top * log(x) - lgamma(top + 1) + log(sum))
        }
        let first = split ? exp(-x / 2) : exp(-x)
        let second = split ? first : 1.0
        if isInteger {
            // Q(n, x) = e^{−x} Σ_{j<n} x^j / j!
            let n = Int(a)
            var term = first, sum = first
            var j = 1
            while j < n { term *= x / Double(j); sum += term; j += 1 }
            return sum * second
        }
        // Q(k + ½, x) = erfc(√x) + e^{−x} Σ_{j=1..k} x^{j−½} / Γ(j + ½)
        let k = Int(a - 0.5)
        var result = erfcSqrt(x)
        if k > 0 {
            var term = first * x.squareRoot() * 1.1283791670955126   // e^{−x} x^{1/2} / Γ(3/2)
            var sum = term
            var j = 1
            while j < k { term *= x / (Double(j) + 0.5); sum += term; j += 1 }
            result += sum * second
        }
        return result
    }

    /// erfc(√x) with the rounding error of √x corrected.
    private static func erfcSqrt(_ x: Double) -> Double {
        let s = x.squareRoot()
        // x − s² exactly (one fma); √(s² + r) ≈ s + r/(2s).
        let residual = x.addingProduct(-s, s)
        return erfcCorrected(s, residual / (2 * s))
    }
}

/// Regularized incomplete beta function I_x(a, b).
enum IncompleteBeta {
    /// I_x(a, b) given x, 1 − x and their logs (passed separately so callers can avoid cancellation).
    static func regularized(x: Double, oneMinusX: Double, logX: Double, logOneMinusX: Double,
                            a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if oneMinusX <= 0 { return 1 }
        let logFront = a * logX + b * logOneMinusX - logBeta(a, b)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x: x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * continuedFraction(x: oneMinusX, a: b, b: a) / b
    }

    /// log B(a, b). For a large parameter the difference lgamma(big) − lgamma(big + small)
    /// is formed from Stirling's series directly, avoiding the cancellation of two large lgammas.
    static func logBeta(_ a: Double, _ b: Double) -> Double {
        let big = max(a, b), small = min(a, b)
        if big < 10 { return lgamma(a) + lgamma(b) - lgamma(a + b) }
        // lgamma(x) = (x − ½)log x − x + ½log 2π + ω(x), ω(x) = 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷)
        func omega(_ x: Double) -> Double {
            let x2 = x * x
            return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - 1.0 / (1680 * x2)) / x2) / x2) / x
        }
        let sum = big + small
        let diff = -(big - 0.5) * log1p(small / big) - small * log(sum) + small + omega(big) - omega(sum)
        return lgamma(small) + diff
    }

    /// Lentz evaluation of the standard continued fraction for I_x(a, b).
    private static func continuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        var m = 1.0
        while m < 10_000 {
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
            m += 1
        }
        return h
    }
}
