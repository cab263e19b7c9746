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

    @Test("The histogram of whole-day times gives R's full KM table and log-rank without sorting")
    func histogramMatchesR() throws {
        let days = try Vectors.cohort()
        let table = SurvivalTable(days)
        let sorted = SurvivalTable(PreparedSurvivalData(days))
        // Same counts whichever way the table was built.
        #expect(table.time == sorted.time)
        #expect(table.events == sorted.events)
        #expect(table.censored == sorted.censored)
        #expect(table.subjects == sorted.subjects)

        let curve = KaplanMeier.fit(table, confidenceType: .logLog)
        var rows = try Vectors.text("km_table_overall_r.csv").split(whereSeparator: \.isNewline).map(String.init)
        rows.removeFirst()
        #expect(rows.count == curve.steps.count)
        for (row, step) in zip(rows, curve.steps) {
            let f = row.split(separator: ",").map(String.init)
            #expect(step.time == Double(f[0]))
            #expect(step.atRisk == Int(f[1]) && step.events == Int(f[2]) && step.censored == Int(f[3]))
            expectClose(step.survival, Double(f[4]), 1e-9, "surv at \(f[0])")
            expectClose(step.varianceLogSurvival, Double(f[5]), 1e-9, "greenwood at \(f[0])")
        }
        let r = try Vectors.json("expected_r_survival.json")
        let logRank = try #require(LogRank.test(table))
        expectClose(logRank.chiSquare, (r["logrank"] as? [String: Any])?["chi2"] as? Double, 1e-9, "log-rank")
        #expect(KaplanMeier.fitByGroup(table).map(\.group) == days.groups?.labels)
    }

    @Test("Widely spread whole-number times fall back to sorting instead of a huge histogram")
    func sparseTimesAreSorted() throws {
        // Whole numbers within the counting-sort limit, but a histogram would need more counters
        // (65,551) than the table allows for 4 subjects (2·4 + 65,536).
        let data = try SurvivalDataset(time: [65_550, 1, 40_000, 1], event: [true, false, true, true])
        #expect(wholeNumberMaximum(data.time) == 65_550)
        let table = SurvivalTable(data)
        #expect(table.time == [1, 40_000, 65_550])
        #expect(table.events == [1, 1, 1])
        #expect(table.censored == [1, 0, 0])
        #expect(!table.hasGroups && table.subjects == [4])
    }
}
