import Foundation
import Testing
@testable import OssaStats

/// Whole-number times (days) take a counting sort; any other time takes the radix sort. Both must
/// give R's answers, so the reference cohort is run through both.
@Suite("Sorting paths")
struct SortPathTests {
    @Test("Fractional times (days / 7 → weeks) take the radix path and still match R")
    func fractionalTimesMatchR() throws {
        let days = try Vectors.cohort()
        #expect(wholeNumberMaximum(days.time) != nil)
        // Weeks are a monotone rescaling: survival, at-risk counts and log-rank are unchanged.
        let weeks = try SurvivalDataset(time: days.time.map { $0 / 7 }, event: days.event, groups: days.groups)
        #expect(wholeNumberMaximum(weeks.time) == nil)

        let r = try Vectors.json("expected_r_survival.json")
        let overall = try #require(r["km_overall"] as? [String: Any])
        let curve = KaplanMeier.fit(PreparedSurvivalData(weeks), confidenceType: .logLog)
        for day in ["365", "730", "1825"] {
            let expected = try #require(overall[day] as? [String: Any])
            let s = curve.survival(at: Double(day)! / 7)
            expectClose(s, expected["surv"] as? Double, 1e-9, "S(\(day) days)")
        }
        let chi = try #require(LogRank.test(PreparedSurvivalData(weeks))).chiSquare
        expectClose(chi, (r["logrank"] as? [String: Any])?["chi2"] as? Double, 1e-9, "log-rank")
    }

    @Test("Both paths sort stably and carry event and group with their time")
    func pathsAgree() throws {
        let time: [Double] = [5, 3, 5, 1, 3, 0, 2]
        let event = [true, false, false, true, true, false, true]
        let groups = try GroupCoding(codes: [0, 1, 1, 0, 0, 1, 0], labels: ["a", "b"])
        let counting = PreparedSurvivalData(try SurvivalDataset(time: time, event: event, groups: groups))
        let radix = PreparedSurvivalData(try SurvivalDataset(time: time.map { $0 + 0.5 }, event: event, groups: groups))
        // Stable ascending order of the original indices: 0→5, 1→3, 2→6, 3→1,4, 5→0,2.
        #expect(counting.originalIndex == [5, 3, 6, 1, 4, 0, 2])
        #expect(radix.originalIndex == counting.originalIndex)
        #expect(counting.time == [0, 1, 2, 3, 3, 5, 5])
        #expect(counting.event == [0, 1, 1, 0, 1, 1, 0])
        #expect(counting.group == [1, 0, 0, 1, 0, 0, 1])
        #expect(radix.event == counting.event && radix.group == counting.group)
    }
}
