// The Swift side of the survival benchmark (`bash Benchmarks/run`). Prints one JSON object in the
// same shape as peers/r_survival.R and peers/lifelines_bench.py so the driver can compare them.
//
// Usage: ossa-bench COHORT.csv REPS
//        ossa-bench --parse COHORT.csv REPS   (CSV reading only: current parser vs the previous one)
//        OSSA_BENCH_PROFILE=1 ossa-bench --parse COHORT.csv REPS   (profiling aid: the current parser on
//            the bytes in memory, REPS times; prints wall and CPU time)
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

let cohortColumns = SurvivalColumns(time: "time", event: "event", group: "group", covariates: ["age", "bmi"])

/// The file's bytes as `ossa stats survival` reads them: mapped (Sources/ossa/Stats.swift).
func readFile(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
}

/// Reads the file and parses it: what `ossa stats survival` does before any statistics.
func readAndParse(_ path: String) throws -> SurvivalDataset {
    try SurvivalCSV.parse(data: try readFile(path), columns: cohortColumns)
}

/// The columns' bits, for comparing two parses exactly.
func fingerprint(_ d: SurvivalDataset) -> [[UInt64]] {
    [d.time.map(\.bitPattern), d.event.map { $0 ? 1 : 0 }, (d.groups?.codes ?? []).map { UInt64(UInt32(bitPattern: $0)) }]
        + d.covariates.map { $0.values.map(\.bitPattern) }
}

/// `--parse`: minimum-of-REPS times of (read + parse) for the current parser and the previous one
/// (String of the file + `ReferenceSurvivalCSV`), whether they agree bit for bit, and column sums
/// for checking against the peers' reads of the same file.
func parseBenchmark(path: String, reps: Int) throws {
    var current: SurvivalDataset?
    var currentTimes: [Double] = []
    var readTimes: [Double] = []
    for _ in 0..<reps {
        current = nil   // the previous run's columns are freed before the clock starts
        currentTimes.append(try seconds { current = try readAndParse(path) })
        readTimes.append(try seconds { _ = try readFile(path) })
    }
    var old: SurvivalDataset?
    var oldTimes: [Double] = []
    for _ in 0..<reps {
        old = nil
        oldTimes.append(try seconds {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            old = try ReferenceSurvivalCSV.parse(text, columns: cohortColumns)
        })
    }
    guard let current, let old else { exit(1) }
    let identical = fingerprint(current) == fingerprint(old) && current.groups?.labels == old.groups?.labels
    var groupCounts = [Int](repeating: 0, count: current.groups?.labels.count ?? 0)
    for c in current.groups?.codes ?? [] { groupCounts[Int(c)] += 1 }
    let groups = zip(current.groups?.labels ?? [], groupCounts).map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
    print("""
        {"tool":"Ossa","cores":\(ProcessInfo.processInfo.activeProcessorCount),"parse_s":\(json(currentTimes)),\
        "read_s":\(json(readTimes)),"parse_old_s":\(json(oldTimes)),"identical_to_old":\(identical),\
        "rows":\(current.count),"sums":{"time":\(json(current.time.reduce(0, +))),\
        "event":\(current.event.filter { $0 }.count),"age":\(json(current.covariates[0].values.reduce(0, +))),\
        "bmi":\(json(current.covariates[1].values.reduce(0, +))),"groups":{\(groups)}}}
        """)
}

var arguments = CommandLine.arguments
let parseOnly = arguments.count > 1 && arguments[1] == "--parse"
if parseOnly { arguments.remove(at: 1) }
guard arguments.count == 3, let reps = Int(arguments[2]), reps > 0 else {
    FileHandle.standardError.write(Data("usage: ossa-bench [--parse] COHORT.csv REPS\n".utf8))
    exit(2)
}
if parseOnly, ProcessInfo.processInfo.environment["OSSA_BENCH_PROFILE"] != nil,
   let data = try? readFile(arguments[1]) {
    // Profiling aid: only the current parser on bytes in memory, REPS times.
    var times: [Double] = []
    var cpu: [Double] = []
    func cpuNow() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    for _ in 0..<reps {
        let c0 = cpuNow()
        times.append(try seconds { _ = try SurvivalCSV.parse(data: data, columns: cohortColumns) })
        cpu.append(cpuNow() - c0)
    }
    print("wall min \(times.min()!) median \(times.sorted()[times.count / 2]); cpu min \(cpu.min()!) median \(cpu.sorted()[cpu.count / 2])")
    exit(0)
}
if parseOnly {
    do {
        try parseBenchmark(path: arguments[1], reps: reps)
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("ossa-bench: \(error)\n".utf8))
        exit(1)
    }
}

do {
    var dataset: SurvivalDataset?
    let parse = try seconds { dataset = try readAndParse(arguments[1]) }
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
