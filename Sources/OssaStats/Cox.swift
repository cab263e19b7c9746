import Foundation

/// One covariate's row in a Cox model summary.
public struct CoxTerm: Sendable, Equatable {
    public let name: String
    /// Log hazard ratio β.
    public let coefficient: Double
    /// SE of β (from the inverse information at the final β).
    public let stdErr: Double
    /// exp(β).
    public let hazardRatio: Double
    /// Lower confidence limit of the hazard ratio, exp(β − z·SE).
    public let lowerHazardRatio: Double
    /// Upper confidence limit of the hazard ratio, exp(β + z·SE).
    public let upperHazardRatio: Double
    /// Wald statistic β / SE.
    public let z: Double
    /// Two-sided Wald p-value (normal).
    public let pValue: Double
}

/// A fitted Cox proportional hazards model (Efron ties).
public struct CoxResult: Sendable {
    public let terms: [CoxTerm]
    /// Log partial likelihood at the final β.
    public let logLikelihood: Double
    /// Log partial likelihood at β = 0.
    public let nullLogLikelihood: Double
    /// Likelihood-ratio statistic 2(ℓ − ℓ₀) on `terms.count` df, and its p-value.
    public let likelihoodRatioChiSquare: Double
    public let likelihoodRatioPValue: Double
    /// Newton–Raphson iterations (counted as R's `coxph` counts them).
    public let iterations: Int
    public let converged: Bool
    public let subjects: Int
    public let events: Int
    /// Covariance matrix of β (p×p, row-major).
    public let covariance: [Double]
    public let confidenceLevel: Double
}

/// Cox proportional hazards regression with Efron's tie handling.
public enum CoxModel: Sendable {
    /// Fits the model on all covariates of `data` by Newton–Raphson with step halving,
    /// following R's `coxph` (coxfit6): covariates centred at their means, start at β = 0,
    /// stop when |1 − ℓ_old/ℓ_new| ≤ `tolerance` (or the step is negligible).
    public static func fit(_ data: PreparedSurvivalData, confidenceLevel: Double = 0.95,
                           maxIterations: Int = 30, tolerance: Double = 1e-14) throws -> CoxResult {
        let p = data.covariateNames.count
        let n = data.count
        guard p > 0 else { throw StatsError.invalidArgument("the Cox model needs at least one covariate") }
        guard n > 0 else { throw StatsError.noSubjects }
        let totalEvents = data.event.reduce(0) { $0 + Int($1) }
        guard totalEvents > 0 else { throw StatsError.noEvents }

        // Centre covariates (numerical stability of exp(η) and of the risk-set sums).
        var means = [Double](repeating: 0, count: p)
        for i in 0..<n { for j in 0..<p { means[j] += data.covariates[i * p + j] } }
        for j in 0..<p { means[j] /= Double(n) }
        var x = data.covariates
        x.withUnsafeMutableBufferPointer { xb in
            for i in 0..<n { for j in 0..<p { xb[i * p + j] -= means[j] } }
        }

        var evaluator = Evaluator(p: p, n: n)
        var beta = [Double](repeating: 0, count: p)
        var current = evaluator.evaluate(beta: beta, x: x, time: data.time, event: data.event)
        let nullLoglik = current.loglik
        let initialSolver = SymmetricSolver(matrix: current.information, n: p)
        let singular = (0..<p).filter { !initialSolver.nonSingular[$0] }
        if !singular.isEmpty { throw StatsError.singularCovariates(singular.map { data.covariateNames[$0] }) }

        var iterations = 0
        var converged = false
        var accepted = current           // last accepted evaluation
        var acceptedBeta = beta
        var step = initialSolver.solve(current.score)
        var halving = false
        while iterations < maxIterations {
            iterations += 1
            var trial = acceptedBeta
            for j in 0..<p { trial[j] += step[j] }
            let eval = evaluator.evaluate(beta: trial, x: x, time: data.time, event: data.event)
            let ll = eval.loglik
            if ll.isFinite && !halving && abs(1 - accepted.loglik / ll) <= tolerance {
                beta = trial
                current = eval
                converged = true
                break
            }
            if !ll.isFinite || ll < accepted.loglik {
                // Likelihood went down: halve the step (R's coxfit6 does the same).
                halving = true
                for j in 0..<p { step[j] /= 2 }
                if step.allSatisfy({ abs($0) <= 1e-300 }) { break }
                continue
            }
            halving = false
            accepted = eval
            acceptedBeta = trial
            beta = trial
            current = eval
            step = SymmetricSolver(matrix: eval.information, n: p).solve(eval.score)
            // A step far below rounding of β cannot change anything: done.
            var negligible = true
            for j in 0..<p where abs(step[j]) > 1e-15 * max(abs(beta[j]), 1e-300) { negligible = false }
            if negligible { converged = true; break }
        }
        if !converged {
            beta = acceptedBeta
            current = accepted
        }
        let covariance = SymmetricSolver(matrix: current.information, n: p).inverse()
        let z = Normal.quantile(1 - (1 - confidenceLevel) / 2)
        var terms: [CoxTerm] = []
        for j in 0..<p {
            let se = covariance[j * p + j].squareRoot()
            let b = beta[j]
            let wald = b / se
            terms.append(CoxTerm(name: data.covariateNames[j], coefficient: b, stdErr: se, hazardRatio: exp(b),
                                 lowerHazardRatio: exp(b - z * se), upperHazardRatio: exp(b + z * se),
                                 z: wald, pValue: Normal.twoSidedPValue(wald)))
        }
        let lr = max(2 * (current.loglik - nullLoglik), 0)
        return CoxResult(terms: terms, logLikelihood: current.loglik, nullLogLikelihood: nullLoglik,
                         likelihoodRatioChiSquare: lr,
                         likelihoodRatioPValue: ChiSquare.upperTail(lr, degreesOfFreedom: Double(p)),
                         iterations: iterations, converged: converged, subjects: n, events: totalEvents,
                         covariance: covariance, confidenceLevel: confidenceLevel)
    }

    /// Log partial likelihood, score and information at one β.
    struct Evaluation {
        var loglik: Double
        var score: [Double]
        var information: [Double]
    }

    /// Holds the scratch buffers so each Newton iteration allocates nothing per subject.
    struct Evaluator {
        let p: Int
        let n: Int
        var risk: [Double]

        init(p: Int, n: Int) {
            self.p = p
            self.n = n
            risk = [Double](repeating: 0, count: n)
        }

        /// One backward pass over the time-sorted data: risk-set sums are accumulated
        /// from the latest time down, tied deaths handled with Efron's approximation.
        mutating func evaluate(beta: [Double], x: [Double], time: [Double], event: [UInt8]) -> Evaluation {
            let p = self.p
            let n = self.n
            var loglik = 0.0
            var u = [Double](repeating: 0, count: p)
            var imat = [Double](repeating: 0, count: p * p)
            var a = [Double](repeating: 0, count: p)       // Σ r x over the risk set
            var cmat = [Double](repeating: 0, count: p * p) // Σ r x xᵀ over the risk set
            var a2 = [Double](repeating: 0, count: p)      // the same over tied deaths
            var cmat2 = [Double](repeating: 0, count: p * p)
            var xbar = [Double](repeating: 0, count: p)
            var denom = 0.0
            risk.withUnsafeMutableBufferPointer { r in
                x.withUnsafeBufferPointer { xb in
                    time.withUnsafeBufferPointer { tb in
                        event.withUnsafeBufferPointer { eb in
                            u.withUnsafeMutableBufferPointer { u in
                            imat.withUnsafeMutableBufferPointer { imat in
                            a.withUnsafeMutableBufferPointer { a in
                            cmat.withUnsafeMutableBufferPointer { cmat in
                            a2.withUnsafeMutableBufferPointer { a2 in
                            cmat2.withUnsafeMutableBufferPointer { cmat2 in
                            xbar.withUnsafeMutableBufferPointer { xbar in
                                for i in 0..<n {
                                    var eta = 0.0
                                    for j in 0..<p { eta += beta[j] * xb[i * p + j] }
                                    r[i] = eta
                                }
                                var i = n - 1
                                while i >= 0 {
                                    let t = tb[i]
                                    var deaths = 0
                                    var denom2 = 0.0
                                    for j in 0..<p { a2[j] = 0 }
                                    for j in 0..<(p * p) { cmat2[j] = 0 }
                                    while i >= 0 && tb[i] == t {
                                        let eta = r[i]
                                        let ri = exp(eta)
                                        let base = i * p
                                        denom += ri
                                        for j in 0..<p {
                                            let xij = xb[base + j]
                                            a[j] += ri * xij
                                            for k in 0...j { cmat[j * p + k] += ri * xij * xb[base + k] }
                                        }
                                        if eb[i] != 0 {
                                            deaths += 1
                                            denom2 += ri
                                            loglik += eta
                                            for j in 0..<p {
                                                let xij = xb[base + j]
                                                u[j] += xij
                                                a2[j] += ri * xij
                                                for k in 0...j { cmat2[j * p + k] += ri * xij * xb[base + k] }
                                            }
                                        }
                                        i -= 1
                                    }
                                    if deaths > 0 {
                                        let dd = Double(deaths)
                                        for m in 0..<deaths {
                                            let temp = Double(m) / dd
                                            let d2 = denom - temp * denom2
                                            loglik -= log(d2)
                                            for j in 0..<p {
                                                xbar[j] = (a[j] - temp * a2[j]) / d2
                                                u[j] -= xbar[j]
                                            }
                                            for j in 0..<p {
                                                for k in 0...j {
                                                    imat[j * p + k] += (cmat[j * p + k] - temp * cmat2[j * p + k]) / d2
                                                        - xbar[j] * xbar[k]
                                                }
                                            }
                                        }
                                    }
                                }
                            }}}}}}}
                        }
                    }
                }
            }
            for j in 0..<p { for k in 0..<j { imat[k * p + j] = imat[j * p + k] } }
            return Evaluation(loglik: loglik, score: u, information: imat)
        }
    }
}
