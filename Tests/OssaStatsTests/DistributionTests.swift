import Foundation
import Testing
@testable import OssaStats

/// Distribution functions against analytic identities, published R values and the
/// R-generated grid in Vectors/distributions_r.csv (script: distributions_reference.R).
@Suite struct DistributionTests {
    @Test func normalQuantileMatchesR() {
        #expect(abs(Normal.quantile(0.975) - 1.959963984540054) <= 1e-15)
        #expect(abs(Normal.quantile(0.025) + 1.959963984540054) <= 1e-15)
        #expect(Normal.quantile(0.5) == 0)
        #expect(Normal.quantile(0) == -.infinity && Normal.quantile(1) == .infinity)
        #expect(Normal.quantile(1.5).isNaN)
    }

    @Test func normalIdentities() {
        // Φ(0) = 1/2 exactly; symmetry; Φ(qnorm(p)) = p.
        #expect(Normal.cdf(0) == 0.5)
        for x in stride(from: -8.0, through: 8.0, by: 0.37) {
            expectRelClose(Normal.cdf(x), Normal.upperTail(-x), 1e-15, "symmetry at \(x)")
            expectClose(Normal.cdf(x) + Normal.upperTail(x), 1, 2e-16, "sum at \(x)")
        }
        for p in [1e-12, 0.001, 0.2, 0.5, 0.8, 0.975] {
            expectRelClose(Normal.cdf(Normal.quantile(p)), p, 1e-14, "round trip \(p)")
        }
        // Published: Φ(1.96) = 0.9750021048517795 (R pnorm(1.96)).
        expectClose(Normal.cdf(1.96), 0.9750021048517795, 1e-16, "pnorm(1.96)")
    }

    @Test func chiSquareAnalyticIdentities() {
        for x in [1e-8, 0.001, 0.3, 1, 2.5, 7, 20, 60, 150, 400, 800, 1400] {
            // df = 2: upper tail = exp(−x/2); df = 1: erfc(√(x/2)); df = 4: (1 + x/2)·exp(−x/2).
            expectRelClose(ChiSquare.upperTail(x, degreesOfFreedom: 2), exp(-x / 2), 1e-14, "df2 x=\(x)")
            expectRelClose(ChiSquare.upperTail(x, degreesOfFreedom: 1), erfc((x / 2).squareRoot()), 1e-13, "df1 x=\(x)")
            expectRelClose(ChiSquare.upperTail(x, degreesOfFreedom: 4), (1 + x / 2) * exp(-x / 2), 1e-14, "df4 x=\(x)")
        }
        #expect(ChiSquare.upperTail(0, degreesOfFreedom: 3) == 1)
        #expect(ChiSquare.upperTail(-1, degreesOfFreedom: 3) == 1)
        #expect(ChiSquare.upperTail(.infinity, degreesOfFreedom: 3) == 0)
    }

    @Test func chiSquareTableValues() {
        // R: qchisq(0.95, 1) = 3.841458820694124, qchisq(0.95, 3) = 7.814727903251178.
        expectRelClose(ChiSquare.upperTail(3.841458820694124, degreesOfFreedom: 1), 0.05, 1e-14, "p at qchisq(.95,1)")
        expectRelClose(ChiSquare.upperTail(7.814727903251178, degreesOfFreedom: 3), 0.05, 1e-14, "p at qchisq(.95,3)")
        expectRelClose(ChiSquare.quantile(0.95, degreesOfFreedom: 1), 3.841458820694124, 1e-14, "qchisq(.95,1)")
        expectRelClose(ChiSquare.quantile(0.95, degreesOfFreedom: 3), 7.814727903251178, 1e-14, "qchisq(.95,3)")
    }

    @Test func studentTTableValues() {
        // R 4.2.2 qt(0.975, df). Note qt(0.975, 2) is 4.3026527297494619 in R (and equals the
        // closed form 0.95·√(2/0.0975)); the often-quoted 4.302652729911275 is off by 3.8e-11.
        let table: [(Double, Double)] = [(1, 12.70620473617471), (2, 4.3026527297494619), (5, 2.570581835636314),
                                         (10, 2.228138851986274), (30, 2.042272456301238), (100, 1.983971518523552)]
        for (df, q) in table {
            expectRelClose(StudentT.quantile(0.975, degreesOfFreedom: df), q, 1e-14, "qt(.975, \(df))")
            expectRelClose(StudentT.quantile(0.025, degreesOfFreedom: df), -q, 1e-14, "qt(.025, \(df))")
            expectRelClose(StudentT.upperTail(q, degreesOfFreedom: df), 0.025, 1e-13, "pt upper at qt(.975, \(df))")
        }
        // Closed forms: df = 1 Cauchy P(T > t) = atan(1/t)/π (t > 0);
        // df = 2 P(T > t) = (1 − t/√(2+t²))/2 = 1/(√(2+t²)(√(2+t²) + t)) (cancellation-free form).
        for t in [0.01, 0.3, 0.7, 2, 3, 20, 50, 1e4] {
            expectRelClose(StudentT.upperTail(t, degreesOfFreedom: 1), atan(1 / t) / Double.pi, 1e-14, "cauchy \(t)")
            let r = (2 + t * t).squareRoot()
            expectRelClose(StudentT.upperTail(t, degreesOfFreedom: 2), 1 / (r * (r + t)), 1e-13, "t2 \(t)")
            expectRelClose(StudentT.cdf(-t, degreesOfFreedom: 2), 1 / (r * (r + t)), 1e-13, "t2 cdf \(-t)")
        }
    }

    /// Integer df 1…50 against 40-digit mpmath values (chisq_upper_mpmath.csv), including
    /// tails down to 1e-306, where R's own pchisq is only good to ~8e-14.
    @Test func chiSquareHighPrecision() throws {
        let lines = try Vectors.text("chisq_upper_mpmath.csv").split(whereSeparator: \.isNewline)
        var worst = 0.0
        var count = 0
        for line in lines.dropFirst(2) {
            let f = line.split(separator: ",")
            let df = try #require(Double(f[0])), x = try #require(Double(f[1])), q = try #require(Double(f[2]))
            let got = ChiSquare.upperTail(x, degreesOfFreedom: df)
            let rel = abs(got - q) / q
            #expect(rel <= 1e-14, "df \(df) x \(x): \(got) vs \(q) (rel \(rel))")
            worst = max(worst, rel)
            count += 1
            // lower + upper = 1
            expectClose(ChiSquare.cdf(x, degreesOfFreedom: df) + got, 1, 5e-15, "P + Q at df \(df) x \(x)")
        }
        #expect(count == 550)
        print("chi-square vs mpmath worst relative error:", worst)
    }

    /// Max relative error per function over the R grid, each with its own bound.
    @Test func rGrid() throws {
        let lines = try Vectors.text("distributions_r.csv").split(whereSeparator: \.isNewline)
        var worst: [String: Double] = [:]
        var checked = 0
        for line in lines.dropFirst(2) {
            let f = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let fn = f[0]
            let x = try #require(Double(f[1]))
            let df = Double(f[2]) ?? .nan
            let expected = try #require(Double(f[3]))
            let got: Double
            switch fn {
            case "pnorm_upper": got = Normal.upperTail(x)
            case "qnorm": got = Normal.quantile(x)
            case "pchisq_upper": got = ChiSquare.upperTail(x, degreesOfFreedom: df)
            case "qchisq": got = ChiSquare.quantile(x, degreesOfFreedom: df)
            case "pt": got = StudentT.cdf(x, degreesOfFreedom: df)
            case "qt": got = StudentT.quantile(x, degreesOfFreedom: df)
            default: Issue.record("unknown function \(fn)"); continue
            }
            let key = fn == "pchisq_upper" && df != df.rounded() ? "pchisq_upper_fractional_df" : fn
            let rel = expected == got ? 0 : abs(got - expected) / abs(expected)
            worst[key] = max(worst[key] ?? 0, rel)
            checked += 1
        }
        #expect(checked > 450)
        let bounds: [String: Double] = ["pnorm_upper": 1e-14, "qnorm": 1e-15, "pchisq_upper": 1e-13,
                                        "pchisq_upper_fractional_df": 1e-13, "qchisq": 1e-13,
                                        "pt": 1e-13, "qt": 1e-13]
        for (key, bound) in bounds {
            let w = try #require(worst[key])
            #expect(w <= bound, "\(key): worst relative error \(w) > \(bound)")
        }
        print("distribution worst relative errors:", worst.sorted { $0.key < $1.key })
    }
}
