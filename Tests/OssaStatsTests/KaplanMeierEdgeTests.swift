import Foundation
import Testing
@testable import OssaStats

/// Small curves whose R output (R 4.2.2, survival 3.5-3) is quoted in each test.
@Suite struct KaplanMeierEdgeTests {
    func curve(_ t: [Double], _ e: [Int], _ type: ConfidenceIntervalType = .log) throws -> KaplanMeierCurve {
        let data = try SurvivalDataset(time: t, event: e.map { $0 == 1 })
        return KaplanMeier.fit(PreparedSurvivalData(data), confidenceType: type)
    }

    /// survfit(Surv(c(1,2,2,3,4,5,5,6), c(1,0,1,1,0,1,1,1)) ~ 1):
    /// surv 0.875 0.75 0.6 0.6 0.2 0; std.err² (Var log S) 0.017857142857142860 0.041666666666666664
    /// 0.091666666666666688 0.091666666666666688 0.758333333333333415 Inf;
    /// at S = 0 std.err (of S) is NaN and every CI type gives NA/NaN; median 5.
    @Test func survivalReachingZero() throws {
        for type in ConfidenceIntervalType.allCases {
            let c = try curve([1, 2, 2, 3, 4, 5, 5, 6], [1, 0, 1, 1, 0, 1, 1, 1], type)
            #expect(c.steps.map(\.time) == [1, 2, 3, 4, 5, 6])
            #expect(c.steps.map(\.atRisk) == [8, 7, 5, 4, 3, 1])
            #expect(c.steps.map(\.events) == [1, 1, 1, 0, 2, 1])
            #expect(c.steps.map(\.censored) == [0, 1, 0, 1, 0, 0])
            let surv = [0.875, 0.75, 0.60000000000000009, 0.60000000000000009, 0.20000000000000001, 0]
            let v = [0.017857142857142860, 0.041666666666666664, 0.091666666666666688, 0.091666666666666688,
                     0.758333333333333415]
            for i in 0..<5 {
                expectClose(c.steps[i].survival, surv[i], 1e-15, "S[\(i)]")
                expectClose(c.steps[i].varianceLogSurvival, v[i], 1e-15, "V[\(i)]")
                #expect(c.steps[i].lower != nil && c.steps[i].upper != nil)
            }
            let last = c.steps[5]
            #expect(last.survival == 0)
            #expect(last.varianceLogSurvival == .infinity)
            #expect(last.stdErr == nil && last.lower == nil && last.upper == nil, "\(type)")
            #expect(c.median == 5)
        }
    }

    /// Same data, conf.type = "log": lower 0.6734 0.5027 0.3315 0.3315 0.0363, upper 1 (capped);
    /// "log-log": lower 0.38700 0.31481 0.19550 0.19550 0.00958, upper 0.981 0.931 0.852 0.852 0.573;
    /// "plain": lower 0.646 0.450 0.244 0.244 0.000, upper 1.000 1.000 0.956 0.956 0.541 (R print, 3–5 digits).
    @Test func confidenceTypesAgainstPrintedR() throws {
        let t: [Double] = [1, 2, 2, 3, 4, 5, 5, 6], e = [1, 0, 1, 1, 0, 1, 1, 1]
        let log = try curve(t, e, .log), ll = try curve(t, e, .logLog), pl = try curve(t, e, .plain)
        let logLower = [0.6734, 0.5027, 0.3315, 0.3315, 0.0363]
        let llLower = [0.38700, 0.31481, 0.19550, 0.19550, 0.00958], llUpper = [0.981, 0.931, 0.852, 0.852, 0.573]
        let plLower = [0.646, 0.450, 0.244, 0.244, 0.000], plUpper = [1.000, 1.000, 0.956, 0.956, 0.541]
        for i in 0..<5 {
            expectClose(log.steps[i].lower, logLower[i], 5e-5, "log lower \(i)")
            #expect(log.steps[i].upper == 1, "log upper capped at 1")
            expectClose(ll.steps[i].lower, llLower[i], 5e-6, "loglog lower \(i)")
            expectClose(ll.steps[i].upper, llUpper[i], 5e-4, "loglog upper \(i)")
            expectClose(pl.steps[i].lower, plLower[i], 5e-4, "plain lower \(i)")
            expectClose(pl.steps[i].upper, plUpper[i], 5e-4, "plain upper \(i)")
        }
        #expect(pl.steps[4].lower == 0, "plain clipped at 0")
    }

    /// Log-log CI is undefined while S = 1 (R: NA); log and plain give [1, 1].
    @Test func noEventYet() throws {
        let ll = try curve([1, 2, 3], [0, 1, 0], .logLog)
        #expect(ll.steps[0].survival == 1 && ll.steps[0].lower == nil && ll.steps[0].upper == nil)
        #expect(ll.steps[0].stdErr == 0)
        let log = try curve([1, 2, 3], [0, 1, 0], .log)
        #expect(log.steps[0].lower == 1 && log.steps[0].upper == 1)
        #expect(log.survival(at: 0.5) == 1 && log.step(at: 0.5) == nil)
        #expect(log.survival(at: 2) == 0.5 && log.survival(at: 2.9) == 0.5)
    }

    /// R: survfit(Surv(1:6, c(1,1,1,0,1,0)) ~ 1): surv .833 .667 .5 .5 .25 .25; median 4
    /// (S = 0.5 exactly from t = 3 to the next event at 5 → midpoint).
    @Test func medianMidpoint() throws {
        let c = try curve([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 0])
        #expect(c.median == 4)
        #expect(c.quantile(0.5) == 4)
    }

    /// R: survfit(Surv(c(1,2,3,4), c(1,0,1,0)) ~ 1): surv .75 .75 .375 .375, median 3;
    /// survfit(Surv(c(2,4,4,7,9,9), c(1,1,0,1,0,0)) ~ 1): median 7 (not reached 0.5 until 7).
    @Test func medianFirstTimeBelowHalf() throws {
        #expect(try curve([1, 2, 3, 4], [1, 0, 1, 0]).median == 3)
        #expect(try curve([2, 4, 4, 7, 9, 9], [1, 1, 0, 1, 0, 0]).median == 7)
    }

    /// R: survfit(Surv(c(1,2,3,4), c(1,1,0,0)) ~ 1): S = 0.5 from t = 2 to the end.
    /// print.survfit median = 2; quantile(fit, 0.5) = 3 (average with last follow-up 4).
    @Test func medianPlateauAtHalf() throws {
        let c = try curve([1, 2, 3, 4], [1, 1, 0, 0])
        #expect(c.median == 2)
        #expect(c.quantile(0.5) == 3)
    }

    @Test func medianNotReached() throws {
        #expect(try curve([1, 2, 3, 4, 5], [1, 0, 1, 0, 0]).median == nil)   // S = 0.8, 0.533…
    }

    /// Group codes supplied unsorted are remapped so curves come out in label order.
    @Test func groupsSortedWhateverTheInputOrder() throws {
        let g = try GroupCoding(codes: [0, 1, 2, 0, 1, 2], labels: ["C", "A", "B"])
        #expect(g.labels == ["A", "B", "C"])
        #expect(g.codes == [2, 0, 1, 2, 0, 1])
        let data = try SurvivalDataset(time: [1, 2, 3, 4, 5, 6], event: [true, true, true, false, false, false],
                                       groups: g)
        let curves = KaplanMeier.fitByGroup(PreparedSurvivalData(data))
        #expect(curves.map(\.group) == ["A", "B", "C"])
        #expect(curves.map(\.subjects) == [2, 2, 2])
        #expect(curves[2].steps.map(\.time) == [1, 4])   // C = subjects 1 and 4
    }

    @Test func invalidInputRejected() {
        #expect(throws: StatsError.self) { try SurvivalDataset(time: [1, -2], event: [true, false]) }
        #expect(throws: StatsError.self) { try SurvivalDataset(time: [1, .nan], event: [true, false]) }
        #expect(throws: StatsError.self) { try SurvivalDataset(time: [1], event: [true, false]) }
    }

    /// The radix sort must order arbitrary non-negative doubles (fractions, ties, zero).
    @Test func radixSortOrders() {
        var values: [Double] = [0, 3.5, 1e-300, 2, 2, 1e300, 0.1, 7.25, 1e-5, 0]
        for i in 0..<2000 { values.append(Double((i * 7919) % 1000) / 7.0) }
        let order = radixSortIndices(values)
        let sorted = order.map { values[Int($0)] }
        #expect(sorted == values.sorted())
        #expect(Set(order).count == values.count)
    }
}
