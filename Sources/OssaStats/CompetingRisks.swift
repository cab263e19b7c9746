/// One distinct time of an Aalen–Johansen estimate.
public struct CumulativeIncidenceStep: Sendable, Equatable {
    public let time: Double
    /// Subjects still event-free and under observation just before `time`.
    public let atRisk: Int
    /// Events at `time` per cause (order of `CumulativeIncidence.causes`).
    public let events: [Int]
    /// Censorings at `time`.
    public let censored: Int
    /// All-cause event-free probability S(time) (the Kaplan–Meier of any event).
    public let survival: Double
    /// Cumulative incidence F_c(time) per cause.
    public let incidence: [Double]
    /// Infinitesimal-jackknife SE of S(time) (R `survfit` multi-state default).
    public let survivalStdErr: Double
    /// Infinitesimal-jackknife SE of each F_c(time).
    public let incidenceStdErr: [Double]
}

/// Aalen–Johansen cumulative incidence functions for competing risks.
public struct CumulativeIncidence: Sendable {
    /// Cause codes (distinct positive status values, ascending).
    public let causes: [Int]
    /// One step per distinct time (censoring-only times included).
    public let steps: [CumulativeIncidenceStep]

    /// F_cause(t) (0 before the first time). nil if `cause` is not one of `causes`.
    public func incidence(at t: Double, cause: Int) -> Double? {
        guard let c = causes.firstIndex(of: cause) else { return nil }
        return step(at: t)?.incidence[c] ?? 0
    }

    /// All-cause event-free probability at t.
    public func survival(at t: Double) -> Double { step(at: t)?.survival ?? 1 }

    /// The last step with time ≤ t.
    public func step(at t: Double) -> CumulativeIncidenceStep? {
        var lo = 0, hi = steps.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if steps[mid].time <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : steps[lo - 1]
    }
}

/// The Aalen–Johansen estimator for a competing-risks (one transient, K absorbing
/// states) model: at each time with n at risk and d_c events of cause c,
/// F_c(t) = F_c(t−) + S(t−)·d_c/n and S(t) = S(t−)·(1 − d/n), d = Σ d_c.
public enum AalenJohansen: Sendable {
    /// Estimates the cumulative incidence of every cause.
    /// - Parameters:
    ///   - time: follow-up times (finite, ≥ 0).
    ///   - status: 0 = censored, 1, 2, … = cause of the event.
    public static func fit(time: [Double], status: [Int]) throws -> CumulativeIncidence {
        guard time.count == status.count else {
            throw StatsError.lengthMismatch("\(time.count) times but \(status.count) status codes")
        }
        guard !time.isEmpty else { throw StatsError.noSubjects }
        for (i, t) in time.enumerated() where !(t >= 0) || !t.isFinite { throw StatsError.invalidTime(index: i, value: t) }
        for (i, s) in status.enumerated() where s < 0 { throw StatsError.invalidStatus(index: i, value: s) }
        let causes = Array(Set(status.filter { $0 > 0 })).sorted()
        let k = causes.count
        var causeIndex = [Int: Int]()
        for (i, c) in causes.enumerated() { causeIndex[c] = i + 1 }   // state index; 0 = event-free
        let code = status.map { $0 == 0 ? 0 : causeIndex[$0]! }
        let order = radixSortIndices(time)
        let n = time.count
        let states = k + 1

        // p = state probabilities; A = influence of one subject still at risk;
        // M = Σ UᵢᵀUᵢ over subjects already out of the risk set (see `step`).
        var p = [Double](repeating: 0, count: states)
        p[0] = 1
        var inf = [Double](repeating: 0, count: states)
        var m = [Double](repeating: 0, count: states * states)
        var atRisk = n
        var steps: [CumulativeIncidenceStep] = []
        var d = [Int](repeating: 0, count: states)
        var i = 0
        while i < n {
            let t = time[Int(order[i])]
            for s in 0..<states { d[s] = 0 }
            while i < n && time[Int(order[i])] == t {
                d[code[Int(order[i])]] += 1
                i += 1
            }
            let censored = d[0]
            let dTotal = d[1...].reduce(0, +)
            let nd = Double(atRisk)
            let s0 = p[0]
            if dTotal > 0 {
                // Influence recursion Uᵢ(t) = Uᵢ(t−)H + p(t−)∂H/∂wᵢ; H has row 0 = (1 − d/n, d_1/n, …)
                // and identity rows for the absorbing states. Exited subjects evolve by H only.
                var h = [Double](repeating: 0, count: states)
                h[0] = 1 - Double(dTotal) / nd
                for c in 1..<states { h[c] = Double(d[c]) / nd }
                // M ← HᵀMH  (H = I + e₀(h − e₀)ᵀ)
                m = transform(m, h: h, states: states)
                // Common part for everyone at risk: A(t−)H + S(t−)/n·(d/n, −d_1/n, …)
                var newInf = [Double](repeating: 0, count: states)
                newInf[0] = inf[0] * h[0] + s0 / nd * (Double(dTotal) / nd)
                for c in 1..<states {
                    newInf[c] = inf[c] + inf[0] * h[c] - s0 / nd * (Double(d[c]) / nd)
                }
                inf = newInf
                // Subjects with an event of cause c: A + S(t−)/n·(−1, e_c), then leave.
                for c in 1..<states where d[c] > 0 {
                    var u = inf
                    u[0] -= s0 / nd
                    u[c] += s0 / nd
                    addOuter(&m, u, weight: Double(d[c]), states: states)
                }
                p[0] = s0 * h[0]
                for c in 1..<states { p[c] += s0 * h[c] }
            }
            if censored > 0 { addOuter(&m, inf, weight: Double(censored), states: states) }
            let remaining = Double(atRisk - dTotal - censored)
            var se = [Double](repeating: 0, count: states)
            for s in 0..<states { se[s] = max(m[s * states + s] + remaining * inf[s] * inf[s], 0).squareRoot() }
            steps.append(CumulativeIncidenceStep(time: t, atRisk: atRisk, events: Array(d[1...]), censored: censored,
                                                 survival: p[0], incidence: Array(p[1...]),
                                                 survivalStdErr: se[0], incidenceStdErr: Array(se[1...])))
            atRisk -= dTotal + censored
        }
        return CumulativeIncidence(causes: causes, steps: steps)
    }

    /// HᵀMH for H = identity except row 0 = h.
    private static func transform(_ m: [Double], h: [Double], states: Int) -> [Double] {
        // MH: column j of MH = M[:,j] + M[:,0]·(h_j − δ_j0)
        var mh = m
        for r in 0..<states {
            let m0 = m[r * states]
            for j in 0..<states { mh[r * states + j] = m[r * states + j] + m0 * (h[j] - (j == 0 ? 1 : 0)) }
        }
        // Hᵀ(MH): row j = (MH)[j,:] + (h_j − δ_j0)·(MH)[0,:]
        var out = mh
        for j in 0..<states {
            let f = h[j] - (j == 0 ? 1 : 0)
            for c in 0..<states { out[j * states + c] = mh[j * states + c] + f * mh[c] }
        }
        return out
    }

    private static func addOuter(_ m: inout [Double], _ u: [Double], weight: Double, states: Int) {
        for a in 0..<states { for b in 0..<states { m[a * states + b] += weight * u[a] * u[b] } }
    }
}
