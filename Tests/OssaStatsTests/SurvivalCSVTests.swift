import Testing
@testable import OssaStats

@Suite struct SurvivalCSVTests {
    let all = SurvivalColumns(time: "time", event: "event", group: "arm", covariates: ["age", "bmi"])

    func error(_ text: String, _ columns: SurvivalColumns? = nil) -> SurvivalCSVError? {
        do {
            _ = try SurvivalCSV.parse(text, columns: columns ?? all)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesHeaderCRLFQuotesAndBlankLines() throws {
        let text = "\u{FEFF}id,time,event,arm,age,bmi\r\n"
            + "1,10,1,\"B, left\",61,27.5\r\n"
            + "2, 3.25 ,0,A,70,31\r\n"
            + "\r\n"
            + "3,7,1,\"say \"\"hi\"\"\",55,22.1\r\n"
            + "\r\n\r\n"
        let d = try SurvivalCSV.parse(text, columns: all)
        #expect(d.time == [10, 3.25, 7])
        #expect(d.event == [true, false, true])
        let g = try #require(d.groups)
        #expect(g.labels == ["A", "B, left", "say \"hi\""])
        #expect(g.codes == [1, 0, 2])
        #expect(d.covariates.map(\.name) == ["age", "bmi"])
        #expect(d.covariates[1].values == [27.5, 31, 22.1])
    }

    @Test func numbersParseExactlyLikeTheStandardLibrary() throws {
        let values = ["0.1", "28.2", "123456.789", "1e3", "-0", "007", "3.", ".5", "12345678901234567", "2.5E-3"]
        var text = "time,event,x\n"
        for v in values { text += "1,0,\(v)\n" }
        let d = try SurvivalCSV.parse(text, columns: SurvivalColumns(time: "time", event: "event", covariates: ["x"]))
        #expect(d.covariates[0].values == values.map { Double($0)! })
    }

    @Test func emptyFile() {
        #expect(error("") == SurvivalCSVError(line: 1, problem: .emptyInput))
        #expect(error("\n  \n")?.problem == .emptyInput)
        #expect(error("time,event,arm,age,bmi\n\n") == SurvivalCSVError(line: 2, problem: .noDataRows))
    }

    @Test func missingColumnNamed() {
        let e = error("time,event,arm,age\n1,1,A,50\n")
        #expect(e == SurvivalCSVError(line: 1, problem: .missingColumn("bmi")))
        #expect(e?.description == "line 1: column 'bmi' not found in the header")
    }

    @Test func wrongFieldCount() {
        let e = error("time,event,arm,age,bmi\n1,1,A,50,20\n2,0,B,60\n")
        #expect(e == SurvivalCSVError(line: 3, problem: .wrongFieldCount(expected: 5, found: 4)))
        #expect(e?.description.hasPrefix("line 3:") == true)
    }

    @Test func badTime() {
        #expect(error("time,event,arm,age,bmi\n1,1,A,50,20\nabc,0,B,60,20\n")
                == SurvivalCSVError(line: 3, problem: .nonNumericTime("abc")))
        #expect(error("time,event,arm,age,bmi\n,1,A,50,20\n") == SurvivalCSVError(line: 2, problem: .nonNumericTime("")))
        #expect(error("time,event,arm,age,bmi\nNaN,1,A,50,20\n")?.problem == .nonNumericTime("NaN"))
        #expect(error("time,event,arm,age,bmi\n1,1,A,50,20\n\n-4,1,A,50,20\n")
                == SurvivalCSVError(line: 4, problem: .negativeTime("-4")))
    }

    @Test func badEvent() {
        let e = error("time,event,arm,age,bmi\n1,2,A,50,20\n")
        #expect(e == SurvivalCSVError(line: 2, problem: .invalidEvent("2")))
        #expect(e?.description == "line 2: event '2' must be 0 or 1")
        #expect(error("time,event,arm,age,bmi\n1,yes,A,50,20\n")?.problem == .invalidEvent("yes"))
    }

    @Test func badCovariate() {
        let e = error("time,event,arm,age,bmi\n1,1,A,50,20\n2,0,A,NA,20\n")
        #expect(e == SurvivalCSVError(line: 3, problem: .nonNumericCovariate(column: "age", value: "NA")))
        #expect(e?.description == "line 3: covariate 'age' value 'NA' is not a number")
    }

    @Test func missingGroupAndUnterminatedQuote() {
        #expect(error("time,event,arm,age,bmi\n1,1,,50,20\n") == SurvivalCSVError(line: 2, problem: .missingGroup(column: "arm")))
        #expect(error("time,event,arm,age,bmi\n1,1,\"A,50,20\n") == SurvivalCSVError(line: 2, problem: .unterminatedQuote))
    }

    /// Group labels: quoted and unquoted spellings of one label are the same group, and more
    /// than 32 distinct labels still map correctly (dictionary fallback).
    @Test func groupLabelMapping() throws {
        var text = "t,e,g\n1,1,A\n2,0,\"A\"\n3,1,AB\n4,0,B\n"
        for i in 0..<40 { text += "\(i + 5),1,L\(i)\n" }
        text += "99,0,L7\n100,1,AB\n"
        let d = try SurvivalCSV.parse(text, columns: SurvivalColumns(time: "t", event: "e", group: "g"))
        let g = try #require(d.groups)
        let labels = (0..<d.count).map { g.labels[Int(g.codes[$0])] }
        #expect(labels[0] == "A" && labels[1] == "A" && labels[2] == "AB" && labels[3] == "B")
        #expect(labels[4] == "L0" && labels[43] == "L39" && labels[44] == "L7" && labels[45] == "AB")
        #expect(g.labels.count == 43)
        #expect(g.labels == g.labels.sorted())
    }

    @Test func cohortFile() throws {
        let d = try Vectors.cohort(covariates: ["age", "bmi"])
        #expect(d.count == 1000)
        #expect(d.event.filter { $0 }.count == 279)
        #expect(d.groups?.labels == ["A", "B", "C"])
        #expect(d.covariates[1].values[0] == 28.2)
    }
}
