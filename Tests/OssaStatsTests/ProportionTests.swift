import Foundation
import Testing
@testable import OssaStats

/// Binomial confidence intervals and the Beta distribution against R 4.2.2.
@Suite struct ProportionTests {
    /// (x, n, conf.level, Clopper–Pearson lower, upper, Wilson lower, upper), printed with
    /// `sprintf("%.17g", …)` from R 4.2.2:
    ///   b <- binom.test(x, n, conf.level = cl)$conf.int
    ///   w <- prop.test(x, n, conf.level = cl, correct = FALSE)$conf.int
    static let intervals: [(Int, Int, Double, Double, Double, Double, Double)] = [
        (0, 10, 0.95, 0, 0.30849710781876083, 0, 0.27753279986288915),
        (10, 10, 0.95, 0.69150289218123917, 1, 0.72246720013711085, 1),
        (0, 1, 0.95, 0, 0.97499999999999998, 0, 0.79345068562276255),
        (1, 1, 0.95, 0.025000000000000022, 1, 0.2065493143772375, 1),
        (3, 10, 0.95, 0.066739511177734495, 0.65245285005999731, 0.10779126740630104, 0.60322185253885452),
        (37, 100000, 0.95, 0.00026052710608173111, 0.0005099605611549959, 0.00026846149010350385, 0.00050992319677622435),
        (50000, 100000, 0.95, 0.49689606249180041, 0.50310393750819959, 0.49690108435968972, 0.50309891564031028),
        (7, 20, 0.9, 0.17731091757444906, 0.55803451131548865, 0.20226004005676107, 0.53348731115152825),
        (7, 20, 0.99, 0.11387976326673221, 0.65656858423192133, 0.14639344137693885, 0.62833817895268707),
        (1, 1000, 0.99, 5.0125292607775124e-06, 0.0074062869383529906, 0.00011741635361832181, 0.0084605662199816918),
        (999, 1000, 0.9, 0.99526500642450022, 0.99994870802109104, 0.99553027709063102, 0.99977687615608779),
        (12, 345, 0.95, 0.018099440389989792, 0.059969532651539703, 0.020007109051747574, 0.059804100644530928),
        (0, 100000, 0.95, 0, 3.6888114157924213e-05, 0, 3.8413112583039618e-05),
        (100000, 100000, 0.99, 0.99994701822991805, 1, 0.99993365543588297, 1),
        (1, 2, 0.95, 0.012579117093425058, 0.98742088290657493, 0.094531205734230739, 0.90546879426576921),
        (37, 100000, 0.99, 0.00023209964603304852, 0.00055742465555817214, 0.00024303159403558035, 0.0005632638751039556),
        (50000, 100000, 0.9, 0.49739428226028348, 0.50260571773971652, 0.49739929324200999, 0.50260070675799007),
    ]

    @Test func clopperPearsonMatchesRBinomTest() throws {
        for (x, n, level, lower, upper, _, _) in Self.intervals {
            let s = try Proportion.clopperPearson(successes: x, total: n, confidenceLevel: level)
            #expect(s.count == x && s.total == n && s.confidenceLevel == level)
            #expect(s.proportion == Double(x) / Double(n))
            expectClose(s.lower, lower, 1e-10, "binom.test(\(x), \(n), conf.level = \(level)) lower")
            expectClose(s.upper, upper, 1e-10, "binom.test(\(x), \(n), conf.level = \(level)) upper")
            // Far tighter than the contract: a few units in the last place relative to R.
            expectRelClose(try #require(s.lower), lower, 1e-13, "lower (relative) x=\(x) n=\(n)")
            expectRelClose(try #require(s.upper), upper, 1e-13, "upper (relative) x=\(x) n=\(n)")
        }
    }

    @Test func clopperPearsonEndpointsAreExact() throws {
        let none = try Proportion.clopperPearson(successes: 0, total: 25)
        #expect(none.lower == 0 && none.proportion == 0)
        let all = try Proportion.clopperPearson(successes: 25, total: 25, confidenceLevel: 0.9)
        #expect(all.upper == 1 && all.proportion == 1)
        // n = 1, x = 0: the upper limit is 1 − α/2 (qbeta(0.975, 1, 1)); x = 1: the lower limit is α/2.
        #expect(abs(try #require(try Proportion.clopperPearson(successes: 0, total: 1).upper) - 0.975) <= 1e-15)
        #expect(abs(try #require(try Proportion.clopperPearson(successes: 1, total: 1).lower) - 0.025) <= 1e-15)
    }

    @Test func wilsonMatchesRPropTest() throws {
        for (x, n, level, _, _, lower, upper) in Self.intervals {
            let s = try Proportion.wilson(successes: x, total: n, confidenceLevel: level)
            #expect(s.proportion == Double(x) / Double(n))
            expectClose(s.lower, lower, 1e-13, "prop.test(\(x), \(n), conf.level = \(level), correct = FALSE) lower")
            expectClose(s.upper, upper, 1e-13, "prop.test(\(x), \(n), conf.level = \(level), correct = FALSE) upper")
        }
    }

    @Test func emptyTotalHasNoEstimate() throws {
        for s in [try Proportion.clopperPearson(successes: 0, total: 0), try Proportion.wilson(successes: 0, total: 0)] {
            #expect(s == ProportionSummary(count: 0, total: 0, proportion: nil, lower: nil, upper: nil, confidenceLevel: 0.95))
        }
    }

    @Test func invalidInputsThrow() {
        let bad: [(Int, Int, Double)] = [(-1, 10, 0.95), (11, 10, 0.95), (0, -1, 0.95), (1, 10, 0), (1, 10, 1), (1, 10, .nan)]
        for (x, n, level) in bad {
            #expect(throws: StatsError.self) { try Proportion.clopperPearson(successes: x, total: n, confidenceLevel: level) }
            #expect(throws: StatsError.self) { try Proportion.wilson(successes: x, total: n, confidenceLevel: level) }
        }
        #expect(throws: StatsError.invalidArgument("successes 11 exceed the total 10")) {
            try Proportion.clopperPearson(successes: 11, total: 10)
        }
    }

    /// (p, a, b, qbeta(p, a, b)) from R 4.2.2, `sprintf("%.17g", qbeta(p, a, b))`.
    static let quantiles: [(Double, Double, Double, Double)] = [
        (0.025000000000000001, 2, 3, 0.067585986488542957),
        (0.97499999999999998, 2, 3, 0.80587955031675662),
        (0.5, 0.5, 0.5, 0.49999999999999989),
        (0.01, 0.29999999999999999, 4, 4.1041237593986919e-08),
        (0.98999999999999999, 5, 0.20000000000000001, 0.99999999998584077),
        (1e-10, 2, 2, 5.7735138030608289e-06),
        (0.025000000000000001, 37, 99964, 0.00026052710608173111),
        (0.97499999999999998, 38, 99963, 0.0005099605611549959),
        (0.025000000000000001, 50000, 50001, 0.49689606249180041),
        (0.97499999999999998, 50001, 50000, 0.50310393750819959),
        (0.0050000000000000001, 1000000, 1000000, 0.49908930745759827),
        (0.995, 1000000, 3, 0.9999996621370062),
        (0.29999999999999999, 1, 1, 0.29999999999999999),
        (0.90000000000000002, 1, 7, 0.28031432699884806),
        (0.050000000000000003, 1000000, 1, 0.99999700427221361),
        (0.5, 500000, 500000, 0.5),
        (1e-300, 3, 4, 3.6840314986404341e-101),
        (0.995, 2, 1000000, 7.4300981819042368e-06),
    ]

    @Test func quantileMatchesRQbeta() {
        for (p, a, b, q) in Self.quantiles {
            let got = BetaDistribution.quantile(p, a: a, b: b)
            expectRelClose(got, q, 1e-13, "qbeta(\(p), \(a), \(b))")
            // Round trip through the CDF on the side that holds p (not where 1 − x has few digits left).
            guard got < 0.999 else { continue }
            let back = p > 0.5 ? BetaDistribution.upperTail(got, a: a, b: b) : BetaDistribution.cdf(got, a: a, b: b)
            expectRelClose(back, p > 0.5 ? 1 - p : p, 1e-9, "round trip qbeta(\(p), \(a), \(b))")
        }
    }

    /// A grid of (p, a, b, qbeta(p, a, b)) from R 4.2.2 over the shapes a binomial interval meets
    /// (a = x, b = n − x + 1 up to n = 2·10⁶) and some with a or b < 1:
    ///   ab <- list(c(1,1), c(1,1e6), c(2,999999), c(15,30), c(14,1000), c(16,16), c(37,99964), c(1000,1000),
    ///              c(250000,750001), c(999999,2), c(1e6,1e6), c(0.5,3), c(3,0.5), c(0.1,0.1))
    ///   for (v in ab) for (p in c(0.005, 0.025, 0.05, 0.5, 0.95, 0.975, 0.995))
    ///     cat(sprintf("(%.17g, %.17g, %.17g, %.17g),\n", p, v[1], v[2], qbeta(p, v[1], v[2])))
    static let quantileGrid: [(Double, Double, Double, Double)] = [
        (0.0050000000000000001, 1, 1, 0.0050000000000000001),
        (0.025000000000000001, 1, 1, 0.025000000000000001),
        (0.050000000000000003, 1, 1, 0.050000000000000003),
        (0.5, 1, 1, 0.5),
        (0.94999999999999996, 1, 1, 0.94999999999999996),
        (0.97499999999999998, 1, 1, 0.97499999999999998),
        (0.995, 1, 1, 0.995),
        (0.0050000000000000001, 1, 1000000, 5.0125418109814971e-09),
        (0.025000000000000001, 1, 1000000, 2.5317807663794191e-08),
        (0.050000000000000003, 1, 1000000, 5.1293293072049561e-08),
        (0.5, 1, 1000000, 6.9314694033349466e-07),
        (0.94999999999999996, 1, 1000000, 2.9957277863525442e-06),
        (0.97499999999999998, 1, 1000000, 3.6888726502064855e-06),
        (0.995, 1, 1000000, 5.2983033304893696e-06),
        (0.0050000000000000001, 2, 999999, 1.0349459313983789e-07),
        (0.025000000000000001, 2, 999999, 2.4220937031600352e-07),
        (0.050000000000000003, 2, 999999, 3.5536162523859917e-07),
        (0.5, 2, 999999, 1.6783464207659746e-06),
        (0.94999999999999996, 2, 999999, 4.743855638206808e-06),
        (0.97499999999999998, 2, 999999, 5.5716306551722366e-06),
        (0.995, 2, 999999, 7.4301056119785301e-06),
        (0.0050000000000000001, 15, 30, 0.17151787575735114),
        (0.025000000000000001, 15, 30, 0.20491734696948186),
        (0.050000000000000003, 15, 30, 0.22325678241238839),
        (0.5, 15, 30, 0.33084415973763293),
        (0.94999999999999996, 15, 30, 0.45192581074406291),
        (0.97499999999999998, 15, 30, 0.47578142149720903),
        (0.995, 15, 30, 0.522380500184634),
        (0.0050000000000000001, 14, 1000, 0.0061713787824908264),
        (0.025000000000000001, 14, 1000, 0.0075757513722681594),
        (0.050000000000000003, 14, 1000, 0.008374122774083545),
        (0.5, 14, 1000, 0.013488260826557269),
        (0.94999999999999996, 14, 1000, 0.020326065556532713),
        (0.97499999999999998, 14, 1000, 0.021845133429438945),
        (0.995, 14, 1000, 0.025014401127757768),
        (0.0050000000000000001, 16, 16, 0.28213612761824053),
        (0.025000000000000001, 16, 16, 0.33060597305175726),
        (0.050000000000000003, 16, 16, 0.3565721369616579),
        (0.5, 16, 16, 0.49999999999999994),
        (0.94999999999999996, 16, 16, 0.6434278630383421),
        (0.97499999999999998, 16, 16, 0.66939402694824257),
        (0.995, 16, 16, 0.71786387238175942),
        (0.0050000000000000001, 37, 99964, 0.00023209964603304852),
        (0.025000000000000001, 37, 99964, 0.00026052710608173111),
        (0.050000000000000003, 37, 99964, 0.00027595775402915743),
        (0.5, 37, 99964, 0.00036667083491156001),
        (0.94999999999999996, 37, 99964, 0.00047537989932863164),
        (0.97499999999999998, 37, 99964, 0.00049835725687704096),
        (0.995, 37, 99964, 0.00054532133725085743),
        (0.0050000000000000001, 1000, 1000, 0.47122163078631296),
        (0.025000000000000001, 1000, 1000, 0.47809471962068378),
        (0.050000000000000003, 1000, 1000, 0.48161389870296328),
        (0.5, 1000, 1000, 0.5),
        (0.94999999999999996, 1000, 1000, 0.51838610129703677),
        (0.97499999999999998, 1000, 1000, 0.52190528037931627),
        (0.995, 1000, 1000, 0.52877836921368704),
        (0.0050000000000000001, 250000, 750001, 0.24888532485817014),
        (0.025000000000000001, 250000, 750001, 0.24915153568554579),
        (0.050000000000000003, 250000, 750001, 0.24928779275491156),
        (0.5, 250000, 750001, 0.24999958333352984),
        (0.94999999999999996, 250000, 750001, 0.25071227576033928),
        (0.97499999999999998, 250000, 750001, 0.25084891146785926),
        (0.995, 250000, 750001, 0.25111605343926902),
        (0.0050000000000000001, 999999, 2, 0.99999256989438801),
        (0.025000000000000001, 999999, 2, 0.99999442836934482),
        (0.050000000000000003, 999999, 2, 0.9999952561443618),
        (0.5, 999999, 2, 0.99999832165357927),
        (0.94999999999999996, 999999, 2, 0.99999964463837476),
        (0.97499999999999998, 999999, 2, 0.99999975779062966),
        (0.995, 999999, 2, 0.99999989650540688),
        (0.0050000000000000001, 1000000, 1000000, 0.49908930745759827),
        (0.025000000000000001, 1000000, 1000000, 0.49930704833394945),
        (0.050000000000000003, 1000000, 1000000, 0.49941845654714268),
        (0.5, 1000000, 1000000, 0.5),
        (0.94999999999999996, 1000000, 1000000, 0.50058154345285732),
        (0.97499999999999998, 1000000, 1000000, 0.50069295166605055),
        (0.995, 1000000, 1000000, 0.50091069254240173),
        (0.0050000000000000001, 0.5, 3, 7.1111785359543388e-06),
        (0.025000000000000001, 0.5, 3, 0.0001778199329347577),
        (0.050000000000000003, 0.5, 3, 0.00071178632635580193),
        (0.5, 0.5, 3, 0.079032767076173016),
        (0.94999999999999996, 0.5, 3, 0.4994735131761161),
        (0.97499999999999998, 0.5, 3, 0.59495313301340325),
        (0.995, 0.5, 3, 0.75644404647365016),
        (0.0050000000000000001, 3, 0.5, 0.24355595352634976),
        (0.025000000000000001, 3, 0.5, 0.4050468669865967),
        (0.050000000000000003, 3, 0.5, 0.50052648682388379),
        (0.5, 3, 0.5, 0.92096723292382698),
        (0.94999999999999996, 3, 0.5, 0.99928821367364418),
        (0.97499999999999998, 3, 0.5, 0.99982218006706525),
        (0.995, 3, 0.5, 0.99999288882146409),
        (0.0050000000000000001, 0.10000000000000001, 0.10000000000000001, 8.6614068901858001e-21),
        (0.025000000000000001, 0.10000000000000001, 0.10000000000000001, 8.4584051661964842e-14),
        (0.050000000000000003, 0.10000000000000001, 0.10000000000000001, 8.6614068895720043e-11),
        (0.5, 0.10000000000000001, 0.10000000000000001, 0.50000000000000033),
        (0.94999999999999996, 0.10000000000000001, 0.10000000000000001, 0.99999999991338595),
        (0.97499999999999998, 0.10000000000000001, 0.10000000000000001, 0.9999999999999154),
        (0.995, 0.10000000000000001, 0.10000000000000001, 1),
    ]

    @Test func quantileGridMatchesR() {
        var worst = 0.0
        for (p, a, b, q) in Self.quantileGrid {
            let got = BetaDistribution.quantile(p, a: a, b: b)
            worst = max(worst, abs(got - q) / q)
            expectRelClose(got, q, 1e-13, "qbeta(\(p), \(a), \(b))")
        }
        print("qbeta grid worst relative difference from R: \(worst)")
    }

    @Test func quantileEdges() {
        #expect(BetaDistribution.quantile(0, a: 2, b: 3) == 0)
        #expect(BetaDistribution.quantile(1, a: 2, b: 3) == 1)
        #expect(BetaDistribution.quantile(0.3, a: 0, b: 3) == 0)
        #expect(BetaDistribution.quantile(0.3, a: 2, b: 0) == 1)
        #expect(BetaDistribution.quantile(-0.1, a: 2, b: 3).isNaN)
        #expect(BetaDistribution.quantile(1.1, a: 2, b: 3).isNaN)
        #expect(BetaDistribution.quantile(0.5, a: -1, b: 3).isNaN)
        #expect(BetaDistribution.quantile(.nan, a: 1, b: 3).isNaN)
    }

    /// (x, a, b, pbeta(x, a, b), pbeta(x, a, b, lower.tail = FALSE)) from R 4.2.2.
    static let cdfs: [(Double, Double, Double, Double, Double)] = [
        (0.29999999999999999, 2, 3, 0.34829999999999989, 0.65170000000000017),
        (0.00040000000000000002, 37, 99964, 0.70369711509300081, 0.29630288490699919),
        (0.5, 50000, 50000, 0.50000000000000011, 0.49999999999999989),
        (0.90000000000000002, 0.5, 0.5, 0.79516723530086664, 0.20483276469913339),
        (1.0000000000000001e-05, 2, 5, 1.4999600004499952e-09, 0.99999999850004007),
    ]

    @Test func cdfMatchesRPbeta() {
        for (x, a, b, lower, upper) in Self.cdfs {
            expectRelClose(BetaDistribution.cdf(x, a: a, b: b), lower, 1e-13, "pbeta(\(x), \(a), \(b))")
            expectRelClose(BetaDistribution.upperTail(x, a: a, b: b), upper, 1e-13, "pbeta(\(x), \(a), \(b), lower.tail = FALSE)")
        }
        #expect(BetaDistribution.cdf(0, a: 2, b: 3) == 0 && BetaDistribution.cdf(1, a: 2, b: 3) == 1)
        #expect(BetaDistribution.cdf(-1, a: 2, b: 3) == 0 && BetaDistribution.upperTail(2, a: 2, b: 3) == 0)
        // Beta(1, 1) is uniform; Beta(a, 1) has CDF x^a.
        expectRelClose(BetaDistribution.cdf(0.37, a: 1, b: 1), 0.37, 1e-15, "uniform")
        expectRelClose(BetaDistribution.cdf(0.8, a: 3, b: 1), 0.512, 1e-14, "x^3")
        expectRelClose(BetaDistribution.density(0.8, a: 3, b: 1), 3 * 0.64, 1e-14, "density 3x^2")
    }

    /// The large-parameter prefactor against the log-gamma form where both are accurate.
    @Test func prefactorForms() {
        for (x, a, b) in [(0.3, 20.0, 40.0), (0.6, 30.0, 16.0), (0.01, 15.0, 1500.0)] {
            let direct = exp(a * log(x) + b * log1p(-x) - (lgamma(a) + lgamma(b) - lgamma(a + b)))
            expectRelClose(BetaDistribution.prefactor(x: x, y: 1 - x, a: a, b: b), direct, 1e-12, "prefactor \(a), \(b) at \(x)")
        }
        for e in [-0.9, -0.3, -1e-3, -1e-9, 1e-12, 1e-4, 0.2, 0.37, 0.5, 3] {
            let want = e - log1p(e)
            if abs(e) >= 1e-4 { expectRelClose(BetaDistribution.rlog1(e), want, 1e-10, "rlog1(\(e))") }
            // Taylor series e²/2 − e³/3 + e⁴/4 − e⁵/5 + e⁶/6 for tiny e.
            if abs(e) < 1e-3 {
                let series = e * e * (1.0 / 2 - e * (1.0 / 3 - e * (1.0 / 4 - e * (1.0 / 5 - e / 6))))
                expectRelClose(BetaDistribution.rlog1(e), series, 1e-14, "rlog1 series \(e)")
            }
        }
    }
}
