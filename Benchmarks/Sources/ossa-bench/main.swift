// The Swift side of the survival benchmark (`bash Benchmarks/run`). Prints one JSON object in the
// same shape as peers/r_survival.R and peers/lifelines_bench.py so the driver can compare them.
//
// Usage: ossa-bench COHORT.csv REPS
import Foundation
import OssaStats

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func json(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "null" }
    return "\(value)"
}

func json(_ values: [Double]) -> String { "[" + values.map { json($0) }.joined(separator: ",") + "]" }

let arguments = CommandLine.arguments
guard arguments.count == 3, let reps = Int(arguments[2]), reps > 0 else {
    FileHandle.standardError.write(Data("usage: ossa-bench COHORT.csv REPS\n".utf8))
    exit(2)
}

do {
    var dataset: SurvivalDataset?
    let parse = try seconds {
        let text = try String(contentsOfFile: arguments[1], encoding: .utf8)
        dataset = try SurvivalCSV.parse(text, columns: SurvivalColumns(
            time: "time", event: "event", group: "group", covariates: ["age", "bmi"]))
    }
    guard let dataset else { exit(1) }

    // Each timed block starts from the parsed (unsorted) columns, as R's survfit/coxph do; the
    // Kaplan–Meier block carries only the columns survfit/survdiff use (time, event, group).
    let kmData = try SurvivalDataset(time: dataset.time, event: dataset.event, groups: dataset.groups)
    if ProcessInfo.processInfo.environment["OSSA_BENCH_DETAIL"] != nil {
        var table: SurvivalTable?
        let tTable = seconds { table = SurvivalTable(kmData) }
        let tKM = seconds { _ = KaplanMeier.fit(table!, confidenceType: .logLog) }
        let tGroups = seconds { _ = KaplanMeier.fitByGroup(table!, confidenceType: .logLog) }
        let tLR = seconds { _ = LogRank.test(table!) }
        let tSort = seconds { _ = PreparedSurvivalData(kmData) }
        FileHandle.standardError.write(Data(
            "table \(tTable) km \(tKM) byGroup \(tGroups) logrank \(tLR) (sort alone \(tSort))\n".utf8))
    }
    var overall: KaplanMeierCurve?
    var logRank: LogRankResult?
    var kmTimes: [Double] = []
    for _ in 0..<reps {
        kmTimes.append(seconds {
            let table = SurvivalTable(kmData)
            overall = KaplanMeier.fit(table, confidenceType: .logLog)
            _ = KaplanMeier.fitByGroup(table, confidenceType: .logLog)
            logRank = LogRank.test(table)
        })
    }

    var cox: CoxResult?
    var coxTimes: [Double] = []
    for _ in 0..<reps {
        coxTimes.append(try seconds {
            cox = try CoxModel.fit(PreparedSurvivalData(dataset))
        })
    }

    guard let overall, let logRank, let cox else { exit(1) }
    let survivalAt = [365.0, 730, 1825].map { overall.survival(at: $0) }
    print("""
        {"tool":"Ossa","parse_s":\(parse),"km_logrank_s":\(json(kmTimes)),"cox_s":\(json(coxTimes)),\
        "results":{"survival_at":\(json(survivalAt)),"median":\(json(overall.median)),\
        "logrank_chisq":\(json(logRank.chiSquare)),"cox_coef":\(json(cox.terms.map(\.coefficient))),\
        "cox_se":\(json(cox.terms.map(\.stdErr))),"cox_loglik":\(json(cox.logLikelihood))}}
        """)
} catch {
    FileHandle.standardError.write(Data("ossa-bench: \(error)\n".utf8))
    exit(1)
}
