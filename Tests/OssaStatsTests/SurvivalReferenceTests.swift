import Foundation
import Testing
@testable import OssaStats

/// Kaplan–Meier, log-rank and Cox against R survival 3.5-3 (and lifelines) on cohort_1000.csv.
@Suite struct SurvivalReferenceTests {
    let prepared: PreparedSurvivalData

    init() throws {
        prepared = PreparedSurvivalData(try Vectors.cohort(covariates: ["age", "bmi"]))
    }

    @Test func kmTableMatchesREveryRow() throws {
        let curve = KaplanMeier.fit(prepared, confidenceType: .logLog)
        var rows = try Vectors.text("km_table_overall_r.csv").split(whereSeparator: \.isNewline).map(String.init)
        rows.removeFirst()
        #expect(rows.count == curve.steps.count)
        for (row, step) in zip(rows, curve.steps) {
            let f = row.split(separator: ",").map(String.init)
            let t = try #require(Double(f[0]))
            #expect(step.time == t)
            #expect(step.atRisk == Int(f[1]), "n_risk at \(t)")
            #expect(step.events == Int(f[2]), "n_event at \(t)")
            #expect(step.censored == Int(f[3]), "n_censor at \(t)")
            expectClose(step.survival, Double(f[4]), 1e-9, "surv at \(t)")
            expectClose(step.varianceLogSurvival, Double(f[5]), 1e-9, "greenwood at \(t)")
            expectClose(step.lower, f[6] == "NA" ? nil : Double(f[6]), 1e-9, "lower at \(t)")
            expectClose(step.upper, f[7] == "NA" ? nil : Double(f[7]), 1e-9, "upper at \(t)")
        }
    }

    /// Compares one curve at 365/730/1825 with an expected block (R or lifelines keys).
    func check(_ curve: KaplanMeierCurve, against block: [String: Any], label: String) throws {
        let z = Normal.quantile(0.975)
        for key in ["365", "730", "1825"] {
            let exp = try #require(block[key] as? [String: Any])
            let t = try #require(Double(key))
            let step = try #require(curve.step(at: t))
            expectClose(curve.survival(at: t), double(exp["surv"]), 1e-9, "\(label) surv \(key)")
            if let nRisk = double(exp["n_risk"]) {
                // survfit's summary(times=) n.risk is the number at risk at the first time ≥ t.
                let next = curve.steps.first { $0.time >= t }
                #expect(Double(next?.atRisk ?? -1) == nRisk, "\(label) n_risk \(key)")
            }
            expectClose(step.varianceLogSurvival, double(exp["greenwood_var_logS"]), 1e-9, "\(label) var \(key)")
            expectClose(step.stdErr, double(exp["se_surv"]), 1e-9, "\(label) se \(key)")
            for (type, suffix) in [(ConfidenceIntervalType.logLog, "loglog"), (.log, "log"), (.plain, "plain")] {
                guard let lo = double(exp["lower95_\(suffix)"]) else { continue }
                let ci = KaplanMeier.confidenceInterval(survival: step.survival,
                                                        varianceLogSurvival: step.varianceLogSurvival,
                                                        type: type, z: z)
                expectClose(ci.lower, lo, 1e-9, "\(label) lower \(suffix) \(key)")
                expectClose(ci.upper, double(exp["upper95_\(suffix)"]), 1e-9, "\(label) upper \(suffix) \(key)")
                // The curve's own limits (fit with that type) must agree too.
                let refit = curve.withConfidence(type)
                expectClose(refit.step(at: t)?.lower, lo, 1e-9, "\(label) curve lower \(suffix) \(key)")
            }
        }
        expectClose(curve.median, double(block["median"]), 0, "\(label) median")
    }

    @Test(arguments: ["expected_r_survival.json", "expected_lifelines.json"])
    func kmOverallAndByGroup(file: String) throws {
        let ref = try Vectors.json(file)
        try check(KaplanMeier.fit(prepared), against: try #require(ref["km_overall"] as? [String: Any]), label: "overall")
        let byGroup = try #require(ref["km_by_group"] as? [String: Any])
        let curves = KaplanMeier.fitByGroup(prepared)
        #expect(curves.map(\.group) == ["A", "B", "C"])
        #expect(curves.map(\.subjects) == [500, 288, 212])
        for curve in curves {
            let g = try #require(curve.group)
            try check(curve, against: try #require(byGroup[g] as? [String: Any]), label: g)
        }
    }

    @Test(arguments: ["expected_r_survival.json", "expected_lifelines.json"])
    func logRank(file: String) throws {
        let ref = try #require(try Vectors.json(file)["logrank"] as? [String: Any])
        let lr = try #require(LogRank.test(prepared))
        expectClose(lr.chiSquare, double(ref["chi2"]), 1e-9, "chi2")
        #expect(Double(lr.degreesOfFreedom) == double(ref["df"]))
        expectClose(lr.pValue, double(ref["p"]), 1e-9, "p")
        #expect(lr.observed.reduce(0, +) == 279)
        expectClose(lr.expected.reduce(0, +), 279, 1e-9, "Σ expected = Σ observed")
    }

    @Test func coxMatchesR() throws {
        let ref = try #require(try Vectors.json("expected_r_survival.json")["cox"] as? [String: Any])
        let coef = try #require(ref["coef"] as? [String: Any])
        let se = try #require(ref["se"] as? [String: Any])
        let fit = try CoxModel.fit(prepared)
        #expect(fit.converged)
        #expect(fit.terms.map(\.name) == ["age", "bmi"])
        for term in fit.terms {
            expectClose(term.coefficient, double(coef[term.name]), 1e-9, "coef \(term.name)")
            expectClose(term.stdErr, double(se[term.name]), 1e-9, "se \(term.name)")
            expectClose(term.hazardRatio, exp(try #require(double(coef[term.name]))), 1e-9, "HR \(term.name)")
        }
        expectClose(fit.logLikelihood, double(ref["loglik"]), 1e-9, "loglik")
        #expect(fit.nullLogLikelihood < fit.logLikelihood)
    }

    /// summary(coxph(Surv(time, event) ~ age + bmi, control = coxph.control(eps = 1e-14))) in
    /// R 4.2.2 / survival 3.5-3: loglik -1699.0595507145490 -1689.1604115432688, iter 3;
    /// z 3.4897163216131508 3.0067653236566154; p 0.00048353353394310823 0.00264043517171020118;
    /// HR CI age 1.0114675842294822–1.0414566259940097, bmi 1.0141089646350845–1.0687337804088344;
    /// likelihood-ratio test 19.798278342560479 on 2 df, p 5.0217892459203724e-05.
    @Test func coxSummaryMatchesR() throws {
        let fit = try CoxModel.fit(prepared)
        #expect(fit.iterations == 3)
        expectClose(fit.nullLogLikelihood, -1699.0595507145490, 1e-9, "null loglik")
        let z = [3.4897163216131508, 3.0067653236566154], p = [0.00048353353394310823, 0.00264043517171020118]
        let lo = [1.0114675842294822, 1.0141089646350845], hi = [1.0414566259940097, 1.0687337804088344]
        for j in 0..<2 {
            expectClose(fit.terms[j].z, z[j], 1e-9, "z \(j)")
            expectRelClose(fit.terms[j].pValue, p[j], 1e-9, "p \(j)")
            expectClose(fit.terms[j].lowerHazardRatio, lo[j], 1e-9, "HR lower \(j)")
            expectClose(fit.terms[j].upperHazardRatio, hi[j], 1e-9, "HR upper \(j)")
        }
        expectClose(fit.likelihoodRatioChiSquare, 19.798278342560479, 1e-9, "LR")
        expectRelClose(fit.likelihoodRatioPValue, 5.0217892459203724e-05, 1e-9, "LR p")
    }

    /// Four covariates (group dummies) and heavy ties, against R 4.2.2 / survival 3.5-3:
    ///   d$gB <- as.numeric(d$group == "B"); d$gC <- as.numeric(d$group == "C")
    ///   coxph(Surv(time, event) ~ age + bmi + gB + gC, control = coxph.control(eps = 1e-14))
    ///   d2 <- d[d$time > 200, ]; d2$time <- ceiling(d2$time / 90)    # 905 rows, many ties
    ///   coxph(Surv(time, event) ~ age + bmi + gB, data = d2, control = coxph.control(eps = 1e-14))
    @Test func coxMoreCovariatesAndHeavyTies() throws {
        let base = try Vectors.cohort(covariates: ["age", "bmi"])
        let codes = try #require(base.groups?.codes)
        let gB = codes.map { $0 == 1 ? 1.0 : 0 }, gC = codes.map { $0 == 2 ? 1.0 : 0 }
        let four = try SurvivalDataset(time: base.time, event: base.event,
                                       covariates: base.covariates + [Covariate(name: "gB", values: gB),
                                                                      Covariate(name: "gC", values: gC)])
        let fit4 = try CoxModel.fit(PreparedSurvivalData(four))
        let coef4 = [0.027603192633859699, 0.040977529083556577, 0.331481705332264953, -0.140469292824941139]
        let se4 = [0.0075067271418369011, 0.0134262481616853821, 0.1345177072288421816, 0.1651957771306922229]
        for j in 0..<4 {
            expectClose(fit4.terms[j].coefficient, coef4[j], 1e-9, "coef4 \(j)")
            expectClose(fit4.terms[j].stdErr, se4[j], 1e-9, "se4 \(j)")
        }
        expectClose(fit4.logLikelihood, -1684.6394724953359, 1e-9, "loglik4")

        let keep = base.time.indices.filter { base.time[$0] > 200 }
        let tied = try SurvivalDataset(
            time: keep.map { (base.time[$0] / 90).rounded(.up) }, event: keep.map { base.event[$0] },
            covariates: [Covariate(name: "age", values: keep.map { base.covariates[0].values[$0] }),
                         Covariate(name: "bmi", values: keep.map { base.covariates[1].values[$0] }),
                         Covariate(name: "gB", values: keep.map { gB[$0] })])
        #expect(tied.count == 905)
        let fitT = try CoxModel.fit(PreparedSurvivalData(tied))
        let coefT = [0.027584018410123270, 0.044371537803158195, 0.346015006763991828]
        let seT = [0.0077366772867646406, 0.0138905106909912989, 0.1314573049874546984]
        for j in 0..<3 {
            expectClose(fitT.terms[j].coefficient, coefT[j], 1e-9, "coefT \(j)")
            expectClose(fitT.terms[j].stdErr, seT[j], 1e-9, "seT \(j)")
        }
        expectClose(fitT.nullLogLikelihood, -1582.2855044117043, 1e-9, "null loglikT")
        expectClose(fitT.logLikelihood, -1568.9028724975440, 1e-9, "loglikT")
    }

    @Test func coxMatchesIndependentEfron() throws {
        // cox_efron_independent.txt: "iterations=4 coef=[a, b] se=[c, d] loglik=x |score|=…"
        let line = try Vectors.text("cox_efron_independent.txt")
        func list(_ key: String) throws -> [Double] {
            let r = try #require(line.range(of: key + "=["))
            let rest = line[r.upperBound...]
            let close = try #require(rest.firstIndex(of: "]"))
            return rest[..<close].split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        }
        let fit = try CoxModel.fit(prepared)
        let coef = try list("coef"), se = try list("se")
        for j in 0..<2 {
            expectClose(fit.terms[j].coefficient, coef[j], 1e-12, "coef \(j)")
            expectClose(fit.terms[j].stdErr, se[j], 1e-12, "se \(j)")
        }
    }
}
