import Testing
@testable import OssaStats

/// Against R 4.2.2 `t.test` (values printed with digits = 17).
@Suite struct SummaryTests {
    /// x <- c(12.5, 14.1, 9.8, 11.0, 15.3, 13.7, 10.2, 12.9); t.test(x):
    /// mean 12.4375, sd 1.956627930175499, 95% CI 10.801718114528246 14.073281885471754;
    /// t.test(x, conf.level = 0.9): 11.126882737777027 13.748117262222973.
    @Test func meanWithTInterval() throws {
        let x = [12.5, 14.1, 9.8, 11.0, 15.3, 13.7, 10.2, 12.9]
        let s = try #require(Summary.mean(x))
        #expect(s.count == 8)
        expectClose(s.mean, 12.4375, 1e-13, "mean")
        expectClose(s.standardDeviation, 1.956627930175499, 1e-13, "sd")
        expectClose(s.lower, 10.801718114528246, 1e-12, "lower")
        expectClose(s.upper, 14.073281885471754, 1e-12, "upper")
        let s90 = try #require(Summary.mean(x, confidenceLevel: 0.9))
        expectClose(s90.lower, 11.126882737777027, 1e-12, "lower 90")
        expectClose(s90.upper, 13.748117262222973, 1e-12, "upper 90")
    }

    /// By hand from the t table: x = (1, 2, 3, 4, 5): mean 3, sd √2.5, SE √0.5,
    /// t(0.975, 4) = 2.776445105 → 3 ± 1.963243 = (1.036757, 4.963243).
    @Test func meanByHandFromTable() throws {
        let s = try #require(Summary.mean([1, 2, 3, 4, 5]))
        expectClose(s.standardDeviation, 2.5.squareRoot(), 1e-15, "sd")
        expectClose(s.lower, 3 - 2.776445105 * 0.5.squareRoot(), 1e-8, "lower")
        expectClose(s.upper, 3 + 2.776445105 * 0.5.squareRoot(), 1e-8, "upper")
    }

    @Test func degenerateInputs() throws {
        #expect(Summary.mean([]) == nil)
        let one = try #require(Summary.mean([4.2]))
        #expect(one.mean == 4.2 && one.standardDeviation == nil && one.lower == nil)
    }

    /// b <- c(18, 22, NA, 25, 30, 16, 21, 27, 19, NA); f <- c(35, 38, 40, NA, 44, 30, 36, 41, 28, 33)
    /// t.test(f[ok], b[ok], paired = TRUE) on the 7 complete pairs: mean 14.142857142857142,
    /// sd 2.5448360411214073, CI 11.789276350059495 16.496437935654789, t 14.703691013203613,
    /// p 6.2162388904952383e-06.
    @Test func pairedChange() throws {
        let b: [Double?] = [18, 22, nil, 25, 30, 16, 21, 27, 19, nil]
        let f: [Double?] = [35, 38, 40, nil, 44, 30, 36, 41, 28, 33]
        let p = try #require(try Summary.pairedChange(baseline: b, followUp: f))
        #expect(p.change.count == 7)
        #expect(p.incompletePairs == 3)
        expectClose(p.change.mean, 14.142857142857142, 1e-13, "mean change")
        expectClose(p.change.standardDeviation, 2.5448360411214073, 1e-13, "sd")
        expectClose(p.change.lower, 11.789276350059495, 1e-12, "lower")
        expectClose(p.change.upper, 16.496437935654789, 1e-12, "upper")
        expectClose(p.tStatistic, 14.703691013203613, 1e-12, "t")
        expectRelClose(try #require(p.pValue), 6.2162388904952383e-06, 1e-10, "p")
        #expect(try Summary.pairedChange(baseline: [nil, 1], followUp: [2, nil]) == nil)
        // Unpaired input is an error the caller can handle, not a crash.
        #expect(throws: StatsError.lengthMismatch("2 baseline values and 1 follow-up values (they must be paired)")) {
            try Summary.pairedChange(baseline: [1, 2], followUp: [3])
        }
    }
}
