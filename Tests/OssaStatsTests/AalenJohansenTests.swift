import Foundation
import Testing
@testable import OssaStats

@Suite struct AalenJohansenTests {
    /// With a single cause the cumulative incidence is 1 − KM (telescoping sum of
    /// S(t−)·d/n), so on the whole cohort they agree to rounding.
    @Test func singleCauseIsOneMinusKaplanMeier() throws {
        let data = try Vectors.cohort(group: false)
        let aj = try AalenJohansen.fit(time: data.time, status: data.event.map { $0 ? 1 : 0 })
        let km = KaplanMeier.fit(PreparedSurvivalData(data))
        #expect(aj.causes == [1])
        #expect(aj.steps.count == km.steps.count)
        for (a, k) in zip(aj.steps, km.steps) {
            #expect(a.time == k.time && a.atRisk == k.atRisk && a.events == [k.events] && a.censored == k.censored)
            expectClose(a.incidence[0], 1 - k.survival, 1e-14, "F(\(a.time))")
            expectClose(a.survival, k.survival, 1e-14, "S(\(a.time))")
        }
    }

    /// Hand computation from the AJ definition. Subjects (time, status):
    /// (1,1) (2,2) (2,0) (3,1) (4,2) (5,0).
    ///   t=1: n=6, d1=1:        F1 = 1·1/6 = 1/6;                 S = 5/6
    ///   t=2: n=5, d2=1, c=1:   F2 = 5/6·1/5 = 1/6;               S = 5/6·4/5 = 2/3
    ///   t=3: n=3, d1=1:        F1 = 1/6 + 2/3·1/3 = 7/18;        S = 2/3·2/3 = 4/9
    ///   t=4: n=2, d2=1:        F2 = 1/6 + 4/9·1/2 = 7/18;        S = 4/9·1/2 = 2/9
    ///   t=5: n=1, censored:    unchanged (F1 + F2 + S = 7/18 + 7/18 + 4/18 = 1)
    @Test func handComputedExample() throws {
        let aj = try AalenJohansen.fit(time: [1, 2, 2, 3, 4, 5], status: [1, 2, 0, 1, 2, 0])
        #expect(aj.causes == [1, 2])
        #expect(aj.steps.map(\.atRisk) == [6, 5, 3, 2, 1])
        let f1: [Double] = [1.0 / 6, 1.0 / 6, 7.0 / 18, 7.0 / 18, 7.0 / 18]
        let f2: [Double] = [0, 1.0 / 6, 1.0 / 6, 7.0 / 18, 7.0 / 18]
        let s: [Double] = [5.0 / 6, 2.0 / 3, 4.0 / 9, 2.0 / 9, 2.0 / 9]
        for i in 0..<5 {
            expectClose(aj.steps[i].incidence[0], f1[i], 1e-15, "F1[\(i)]")
            expectClose(aj.steps[i].incidence[1], f2[i], 1e-15, "F2[\(i)]")
            expectClose(aj.steps[i].survival, s[i], 1e-15, "S[\(i)]")
        }
        #expect(aj.incidence(at: 0.5, cause: 1) == 0)
        expectClose(aj.incidence(at: 3.5, cause: 1), 7.0 / 18, 1e-15, "lookup")
        #expect(aj.incidence(at: 3.5, cause: 9) == nil)
    }

    /// Against R: Vectors/aj_reference_r.csv, produced by aj_reference.R with R 4.2.2 and
    /// survival 3.5-3 (`survfit(Surv(time, factor(status)) ~ 1)`; pstate and the
    /// infinitesimal-jackknife std.err).
    @Test func matchesRSurvfitMultiState() throws {
        let time: [Double] = [1, 2, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 12, 13]
        let status = [1, 2, 0, 1, 1, 2, 0, 2, 1, 0, 1, 0, 2, 1, 0, 1, 2]
        let aj = try AalenJohansen.fit(time: time, status: status)
        let rows = try Vectors.text("aj_reference_r.csv").split(whereSeparator: \.isNewline)
            .filter { !$0.hasPrefix("#") }.dropFirst()
        #expect(rows.count == aj.steps.count)
        for (row, step) in zip(rows, aj.steps) {
            let f = row.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
            #expect(step.time == f[0])
            #expect(step.atRisk == Int(f[1]) && step.events == [Int(f[2]), Int(f[3])] && step.censored == Int(f[4]))
            expectClose(step.survival, f[5], 1e-12, "S at \(f[0])")
            expectClose(step.incidence[0], f[6], 1e-12, "F1 at \(f[0])")
            expectClose(step.incidence[1], f[7], 1e-12, "F2 at \(f[0])")
            expectClose(step.survivalStdErr, f[8], 1e-12, "se S at \(f[0])")
            expectClose(step.incidenceStdErr[0], f[9], 1e-12, "se F1 at \(f[0])")
            expectClose(step.incidenceStdErr[1], f[10], 1e-12, "se F2 at \(f[0])")
        }
    }

    @Test func rejectsBadStatus() {
        #expect(throws: StatsError.self) { try AalenJohansen.fit(time: [1, 2], status: [1, -1]) }
        #expect(throws: StatsError.self) { try AalenJohansen.fit(time: [1, 2], status: [1]) }
    }
}
