import Foundation
import Testing
@testable import OssaStats

@Suite struct SurvivalReportTests {
    func jsonObject(_ report: SurvivalReport) throws -> [String: Any] {
        let data = Data(try report.jsonString(prettyPrinted: false).utf8)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func contractKeysAndValues() throws {
        let analysis = try SurvivalPipeline.analyze(
            csv: try Vectors.text("cohort_1000.csv"),
            columns: SurvivalColumns(time: "time", event: "event", group: "group", covariates: ["age", "bmi"]),
            confidenceType: .logLog)
        let json = try jsonObject(analysis.report)
        #expect(Set(json.keys) == ["kaplanMeier", "logRank", "cox"])
        let curves = try #require(json["kaplanMeier"] as? [[String: Any]])
        #expect(curves.count == 4)
        #expect(curves[0]["group"] is NSNull, "first curve is the whole cohort, group null")
        #expect(curves.dropFirst().map { $0["group"] as? String } == ["A", "B", "C"])
        for c in curves {
            #expect(Set(c.keys) == ["group", "median", "steps"])
            let steps = try #require(c["steps"] as? [[String: Any]])
            for s in steps {
                #expect(Set(s.keys) == ["time", "atRisk", "events", "survival", "stdErr", "lower", "upper"])
            }
        }
        // Overall: every distinct time (R table has 800 rows), medians as R.
        let overallSteps = try #require(curves[0]["steps"] as? [[String: Any]])
        let rTable = try Vectors.text("km_table_overall_r.csv").split(whereSeparator: \.isNewline).count - 1
        #expect(overallSteps.count == rTable)
        #expect(curves.map { double($0["median"]) } == [2773, 2742, 2576, 2846])
        // log-log limits are explicit nulls while S = 1.
        #expect(overallSteps[0]["lower"] is NSNull && overallSteps[0]["upper"] is NSNull)
        #expect(double(overallSteps[0]["stdErr"]) == 0)
        let lr = try #require(json["logRank"] as? [String: Any])
        #expect(Set(lr.keys) == ["chiSquare", "degreesOfFreedom", "pValue"])
        expectClose(double(lr["chiSquare"]), 7.831543607984678, 1e-9, "chi2")
        #expect(lr["degreesOfFreedom"] as? Int == 2)
        let cox = try #require(json["cox"] as? [String: Any])
        #expect(Set(cox.keys) == ["terms", "logLikelihood"])
        let terms = try #require(cox["terms"] as? [[String: Any]])
        #expect(terms.map { $0["name"] as? String } == ["age", "bmi"])
        for t in terms { #expect(Set(t.keys) == ["name", "coefficient", "stdErr", "hazardRatio", "pValue"]) }
        expectClose(double(terms[0]["coefficient"]), 0.026011332513677977, 1e-9, "age coef")
        expectClose(double(cox["logLikelihood"]), -1689.1604115432688, 1e-9, "loglik")
    }

    @Test func explicitNullsWithoutGroupOrCovariates() throws {
        // S reaches 0 at t = 6 (stdErr/lower/upper null); median not reached for none here → 5.
        let csv = "t,e\n1,1\n2,0\n2,1\n3,1\n4,0\n5,1\n5,1\n6,1\n"
        let report = try SurvivalPipeline.analyze(csv: csv, columns: SurvivalColumns(time: "t", event: "e")).report
        let text = try report.jsonString(prettyPrinted: false)
        #expect(text.contains("\"logRank\":null"))
        #expect(text.contains("\"cox\":null"))
        #expect(text.contains("\"group\":null"))
        #expect(!text.contains("NaN") && !text.lowercased().contains("inf"))
        let json = try jsonObject(report)
        #expect(json["logRank"] is NSNull && json["cox"] is NSNull)
        let steps = try #require((json["kaplanMeier"] as? [[String: Any]])?.first?["steps"] as? [[String: Any]])
        let last = try #require(steps.last)
        #expect(last["stdErr"] is NSNull && last["lower"] is NSNull && last["upper"] is NSNull)
        #expect(double(last["survival"]) == 0)
        // Median not reached → explicit null.
        let notReached = try SurvivalPipeline.analyze(csv: "t,e\n1,1\n2,0\n3,0\n", columns: SurvivalColumns(time: "t", event: "e"))
        #expect(try notReached.report.jsonString(prettyPrinted: false).contains("\"median\":null"))
    }

    @Test func keyOrderAndRoundTrip() throws {
        let csv = "time,status,arm,x\n5,1,b,1.5\n8,0,a,2\n3,1,a,0.5\n9,1,b,3\n4,0,b,1\n6,1,a,2.5\n"
        let analysis = try SurvivalPipeline.analyze(
            csv: csv, columns: SurvivalColumns(time: "time", event: "status", group: "arm", covariates: ["x"]))
        let text = try analysis.report.jsonString(prettyPrinted: false)
        // Contract order of top-level keys and step keys.
        let k = ["\"kaplanMeier\"", "\"logRank\"", "\"cox\""].map { text.range(of: $0)!.lowerBound }
        #expect(k[0] < k[1] && k[1] < k[2])
        #expect(text.contains("{\"time\":3,\"atRisk\":6,\"events\":1,\"survival\":"))
        let decoded = try JSONDecoder().decode(SurvivalReport.self, from: Data(text.utf8))
        #expect(decoded == analysis.report)
        #expect(decoded.kaplanMeier.map(\.group) == [nil, "a", "b"])
        // Pretty output parses to the same report.
        let pretty = try analysis.report.jsonString()
        #expect(pretty.contains("\n"))
        #expect(try JSONDecoder().decode(SurvivalReport.self, from: Data(pretty.utf8)) == analysis.report)
    }

    /// The Codable path (JSONEncoder) gives the same keys and explicit nulls as jsonString.
    @Test func codableEncodingMatchesWriter() throws {
        let csv = "t,e\n1,1\n2,0\n2,1\n3,1\n"
        let report = try SurvivalPipeline.analyze(csv: csv, columns: SurvivalColumns(time: "t", event: "e")).report
        let viaEncoder = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(report)) as? NSDictionary
        let viaWriter = try JSONSerialization.jsonObject(with: Data(try report.jsonString().utf8)) as? NSDictionary
        #expect(viaEncoder != nil && viaEncoder == viaWriter)
        let encoded = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(encoded.contains("\"cox\":null") && encoded.contains("\"logRank\":null"))
    }

    @Test func textRendering() throws {
        let analysis = try SurvivalPipeline.analyze(
            csv: try Vectors.text("cohort_1000.csv"),
            columns: SurvivalColumns(time: "time", event: "event", group: "group", covariates: ["age", "bmi"]))
        let text = analysis.renderText()
        #expect(text.contains("All subjects: n = 1000, events = 279, median = 2773"))
        #expect(text.contains("Group B: n = 288"))
        #expect(text.contains("chi-square = 7.832 on 2 df, p = 0.0199"))
        #expect(text.contains("age"))
        #expect(text.contains("time  at risk  events  survival  std err   lower   upper"))
        // event-times-only table is shorter than the full one
        #expect(text.count < analysis.renderText(eventTimesOnly: false).count)
        #expect(TextFormat.fixed(0.00005, 4) == "0.0001")
        #expect(TextFormat.fixed(-1.23456, 2) == "-1.23")
        #expect(TextFormat.pValue(1.234e-7) == "1.23e-07")
    }

    @Test func parserErrorsPropagate() {
        #expect(throws: SurvivalCSVError(line: 3, problem: .invalidEvent("x"))) {
            try SurvivalPipeline.analyze(csv: "t,e\n1,1\n2,x\n", columns: SurvivalColumns(time: "t", event: "e"))
        }
    }

    @Test func constantCovariateIsReported() {
        #expect(throws: StatsError.singularCovariates(["k"])) {
            try SurvivalPipeline.analyze(csv: "t,e,k\n1,1,2\n2,0,2\n3,1,2\n",
                                         columns: SurvivalColumns(time: "t", event: "e", covariates: ["k"]))
        }
    }
}
