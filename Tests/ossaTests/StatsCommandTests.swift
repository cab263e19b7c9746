import Foundation
import Testing

/// `ossa stats survival` on the reference cohort, checked against R `survival` 3.5-3
/// (Tests/OssaStatsTests/Vectors/expected_r_survival.json, copied from shared/vectors).
@Suite("ossa stats survival")
struct StatsCommandTests {
    static let cohort = "Tests/OssaStatsTests/Vectors/cohort_1000.csv"

    static func expectedR() throws -> [String: Any] {
        let url = CLI.packageRoot.appendingPathComponent("Tests/OssaStatsTests/Vectors/expected_r_survival.json")
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func close(_ a: Any?, _ b: Any?, _ tolerance: Double = 1e-9) -> Bool {
        guard let x = (a as? NSNumber)?.doubleValue, let y = (b as? NSNumber)?.doubleValue else { return false }
        return abs(x - y) <= tolerance * max(1, abs(y))
    }

    /// The step in effect at `t` (the last step at or before it).
    static func step(at t: Double, in steps: [[String: Any]]) -> [String: Any]? {
        steps.last { (($0["time"] as? NSNumber)?.doubleValue ?? .infinity) <= t }
    }

    @Test("JSON contract: whole cohort first, groups sorted, log-rank and Cox equal to R")
    func contractAndValues() throws {
        let result = try CLI.run(["stats", "survival", "--input", Self.cohort, "--time", "time", "--event", "event",
                                  "--group", "group", "--covariate", "age", "--covariate", "bmi", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try CLI.json(result)
        #expect(Set(json.keys) == ["kaplanMeier", "logRank", "cox"])
        let r = try Self.expectedR()

        let curves = try #require(json["kaplanMeier"] as? [[String: Any]])
        #expect(curves.count == 4)
        #expect(curves[0]["group"] is NSNull)
        #expect(curves.dropFirst().map { $0["group"] as? String } == ["A", "B", "C"])

        let overall = try #require(curves[0]["steps"] as? [[String: Any]])
        let rOverall = try #require(r["km_overall"] as? [String: Any])
        #expect(Self.close(curves[0]["median"], rOverall["median"]))
        for t in ["365", "730", "1825"] {
            let expected = try #require(rOverall[t] as? [String: Any])
            let step = try #require(Self.step(at: Double(t)!, in: overall))
            #expect(Set(step.keys).isSuperset(of: ["time", "atRisk", "events", "survival", "stdErr", "lower", "upper"]))
            #expect(Self.close(step["survival"], expected["surv"]), "S(\(t))")
            #expect(Self.close(step["stdErr"], expected["se_surv"]), "SE(\(t))")
            // The default transform is log-log, as in the vectors' full table.
            #expect(Self.close(step["lower"], expected["lower95_loglog"]), "lower(\(t))")
            #expect(Self.close(step["upper"], expected["upper95_loglog"]), "upper(\(t))")
        }
        // Steps at every distinct time, censoring times included.
        let csv = try String(contentsOf: CLI.packageRoot.appendingPathComponent(Self.cohort), encoding: .utf8)
        let times = Set(csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] })
        #expect(overall.count == times.count)
        // While S = 1 the log-log interval is undefined: explicit nulls.
        #expect(overall[0]["lower"] is NSNull && overall[0]["upper"] is NSNull)

        let rGroups = try #require(r["km_by_group"] as? [String: [String: Any]])
        for (index, name) in ["A", "B", "C"].enumerated() {
            let steps = try #require(curves[index + 1]["steps"] as? [[String: Any]])
            let expected = try #require(rGroups[name]?["730"] as? [String: Any])
            #expect(Self.close(Self.step(at: 730, in: steps)?["survival"], expected["surv"]), "group \(name)")
        }

        let logRank = try #require(json["logRank"] as? [String: Any])
        let rLogRank = try #require(r["logrank"] as? [String: Any])
        #expect(Self.close(logRank["chiSquare"], rLogRank["chi2"]))
        #expect(logRank["degreesOfFreedom"] as? Int == 2)
        #expect(Self.close(logRank["pValue"], rLogRank["p"]))

        let cox = try #require(json["cox"] as? [String: Any])
        let rCox = try #require(r["cox"] as? [String: Any])
        #expect(Self.close(cox["logLikelihood"], rCox["loglik"]))
        let terms = try #require(cox["terms"] as? [[String: Any]])
        #expect(terms.map { $0["name"] as? String } == ["age", "bmi"])
        for term in terms {
            let name = try #require(term["name"] as? String)
            let coefficient = try #require((rCox["coef"] as? [String: Any])?[name] as? Double)
            #expect(Self.close(term["coefficient"], coefficient), "\(name) coefficient")
            #expect(Self.close(term["stdErr"], (rCox["se"] as? [String: Any])?[name]), "\(name) SE")
            #expect(Self.close(term["hazardRatio"], exp(coefficient)), "\(name) HR")
            #expect(term["pValue"] is NSNumber)
        }
    }

    @Test("Without --group and covariates, logRank and cox are null; --conf-type log changes the interval")
    func optionalParts() throws {
        let result = try CLI.run(["stats", "survival", "--input", Self.cohort, "--time", "time", "--event", "event",
                                  "--conf-type", "log"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try CLI.json(result)
        #expect(json["logRank"] is NSNull)
        #expect(json["cox"] is NSNull)
        let curves = try #require(json["kaplanMeier"] as? [[String: Any]])
        #expect(curves.count == 1)
        let expected = try #require((try Self.expectedR()["km_overall"] as? [String: Any])?["1825"] as? [String: Any])
        let steps = try #require(curves[0]["steps"] as? [[String: Any]])
        let step = try #require(Self.step(at: 1825, in: steps))
        #expect(Self.close(step["lower"], expected["lower95_log"]))
        #expect(Self.close(step["upper"], expected["upper95_log"]))
    }

    @Test("Text output is a readable table with the median and the tests")
    func text() throws {
        let result = try CLI.run(["stats", "survival", "--input", Self.cohort, "--time", "time", "--event", "event",
                                  "--group", "group", "--covariate", "age", "--format", "text"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("median = 2773"))
        #expect(result.stdout.contains("Log-rank"))
        #expect(result.stdout.contains("age"))
    }

    @Test("Malformed CSV: each problem names the line", arguments: [
        ("id,time,event\n1,10,1\n2,abc,0\n", "line 3"),
        ("id,time,event\n1,10,1\n2,-4,0\n", "line 3"),
        ("id,time,event\n1,10,2\n", "line 2"),
        ("id,time,event\n1,10,1\n2,20\n", "line 3"),
        ("id,duration,event\n1,10,1\n", "time"),
    ])
    func malformed(csv: String, mention: String) throws {
        let file = try CLI.temporaryFile(csv, name: "cohort.csv")
        let result = try CLI.run(["stats", "survival", "--input", file, "--time", "time", "--event", "event"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(mention), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("Bad arguments: unknown conf type, missing covariate column")
    func badArguments() throws {
        let conf = try CLI.run(["stats", "survival", "--input", Self.cohort, "--time", "time", "--event", "event", "--conf-type", "logit"])
        #expect(conf.status != 0)
        let covariate = try CLI.run(["stats", "survival", "--input", Self.cohort, "--time", "time", "--event", "event", "--covariate", "weight"])
        #expect(covariate.status != 0)
        #expect(covariate.stderr.contains("weight"))
    }
}
