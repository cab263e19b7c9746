import Foundation
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

/// The parser against the reference implementation it replaced (`ReferenceSurvivalCSV`, the byte
/// parser of 2026-11, kept verbatim below): same values bit for bit, same errors with the same line
/// numbers, whether the rows are read in one piece or cut into several read concurrently.
@Suite struct SurvivalCSVEquivalenceTests {
    let all = SurvivalColumns(time: "time", event: "event", group: "arm", covariates: ["age", "bmi"])

    /// Values or error of one parse, comparable bit for bit.
    enum Outcome: Equatable, CustomStringConvertible {
        case data(time: [UInt64], event: [Bool], labels: [String]?, codes: [Int32]?, covariates: [[UInt64]], names: [String])
        case failure(SurvivalCSVError)

        init(_ body: () throws(SurvivalCSVError) -> SurvivalDataset) {
            do {
                let d = try body()
                self = .data(time: d.time.map(\.bitPattern), event: d.event, labels: d.groups?.labels,
                             codes: d.groups?.codes, covariates: d.covariates.map { $0.values.map(\.bitPattern) },
                             names: d.covariates.map(\.name))
            } catch {
                self = .failure(error)
            }
        }

        var description: String {
            switch self {
            case .data(let t, _, let l, _, _, _): return "data(\(t.count) rows, labels \(l ?? []))"
            case .failure(let e): return "failure(\(e))"
            }
        }
    }

    func outcomes(_ text: String, _ columns: SurvivalColumns) -> (reference: Outcome, pieces: [Outcome]) {
        let reference = Outcome { () throws(SurvivalCSVError) in try ReferenceSurvivalCSV.parse(text, columns: columns) }
        var pieces: [Outcome] = []
        var copy = text
        copy.withUTF8 { bytes in
            for n in [1, 2, 3, 5, 16] {
                pieces.append(Outcome { () throws(SurvivalCSVError) in try SurvivalCSV.parseBytes(bytes, columns: columns, chunks: n) })
            }
        }
        pieces.append(Outcome { () throws(SurvivalCSVError) in try SurvivalCSV.parse(text, columns: columns) })
        pieces.append(Outcome { () throws(SurvivalCSVError) in try SurvivalCSV.parse(data: Data(text.utf8), columns: columns) })
        pieces.append(Outcome { () throws(SurvivalCSVError) in try SurvivalCSV.parse(bytes: Array(text.utf8), columns: columns) })
        return (reference, pieces)
    }

    func expectSame(_ text: String, _ columns: SurvivalColumns, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation) {
        let (reference, pieces) = outcomes(text, columns)
        for (k, o) in pieces.enumerated() {
            #expect(o == reference, "\(what), variant \(k): \(o) vs reference \(reference)", sourceLocation: sourceLocation)
        }
    }

    @Test func cohortFileIsBitIdentical() throws {
        let text = try Vectors.text("cohort_1000.csv")
        let columns = SurvivalColumns(time: "time", event: "event", group: "group", covariates: ["age", "bmi"])
        expectSame(text, columns, "cohort_1000.csv")
        // CRLF line ends, no final newline, and a different column subset.
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        expectSame(crlf, columns, "cohort CRLF")
        expectSame(String(text.dropLast()), SurvivalColumns(time: "time", event: "event", covariates: ["bmi"]), "no final newline")
        // A column used twice (time is also a covariate) takes the general path throughout.
        expectSame(text, SurvivalColumns(time: "time", event: "event", group: "group", covariates: ["time", "age"]), "overlap")
    }

    @Test func exponentAndEdgeNumbersMatchTheStandardLibrary() throws {
        let values = ["1e3", "1E3", "2.5e-3", "2.5E+03", "-4.25e1", "+7", "1.e2", ".5e1", "0e0", "-0e5", "123456789012345e7",
                      "9007199254740993", "1e22", "1e23", "4.9e-22", "1e-23", "0.000000000000000000000001", "3.14159265358979",
                      "1e00002", "12345.678901234567", "0x1p3", "-0.0", "00012.50", "1.7976931348623157e308"]
        var text = "time,event,x\n"
        for v in values { text += "1,0,\(v)\n" }
        text += String(repeating: "2,1,3.5\n", count: 8)
        let columns = SurvivalColumns(time: "time", event: "event", covariates: ["x"])
        let d = try SurvivalCSV.parse(text, columns: columns)
        #expect(d.covariates[0].values.prefix(values.count).map(\.bitPattern) == values.map { Double($0)!.bitPattern })
        expectSame(text, columns, "numbers")
        // Not numbers: the error quotes the field as written.
        // Each as the last line and, followed by more lines, where the word-at-a-time path reads it.
        let tail = String(repeating: "2,1,3.5\n", count: 8)
        for bad in ["1e10000", "1e", "e5", "1e+", "1.2.3", "--1", "1e1e1", "inf", "nan", "1,5", ".", "-", "+", "-.", "+.",
                    "", ".e1", "1.e", "1..", "0x", "1-", "1+1", "12345678.9", "123456789", "1234567.89012345678"] {
            expectSame("time,event,x\n1,0,\(bad)\n", columns, "bad number \(bad)")
            expectSame("time,event,x\n1,0,\(bad)\n" + tail, columns, "bad number \(bad), more lines")
            expectSame("time,event,x\n\(bad),0,1\n" + tail, columns, "bad time \(bad), more lines")
        }
    }

    @Test func everyErrorKeepsItsLineAcrossPieces() {
        let good = (1...300).map { "\($0),\($0 % 7 + 1),\($0 % 2),\(["A", "B", "C"][$0 % 3]),\(40 + $0 % 30),2\($0 % 10).5" }
        let header = "id,time,event,arm,age,bmi"
        let faults = ["x,1,1,A,50,20", "7,-3,1,A,50,20", "7,3,2,A,50,20", "7,3,1,,50,20", "7,3,1,A,NA,20",
                      "7,3,1,A,50", "7,3,1,A,50,20,9", "7,3,1,\"A,50,20", "7,3 x,1,A,50,20", "7,3,1,A,50,2e"]
        for (k, fault) in faults.enumerated() {
            for at in [0, 1, 149, 150, 151, 299] {
                var lines = good
                lines[at] = fault
                // A blank line and a CRLF line before the fault shift the physical line numbers.
                lines[200 % (at + 1)] += "\r"
                lines.insert("", at: at / 2)
                let text = header + "\n" + lines.joined(separator: "\n") + "\n"
                expectSame(text, all, "fault \(k) at row \(at)")
            }
        }
    }

    /// Labels whose bytes could be mistaken for another label's: padding inside and outside quotes,
    /// a \r inside a field or before a CRLF line end, quotes inside unquoted fields, long labels.
    @Test func lookalikeLabelsStayDistinct() {
        let columns = SurvivalColumns(time: "t", event: "e", group: "g", covariates: ["x"])
        let labels = ["\" A\"", " A", "A", "\"A \"", "A ", "\tA", "A\r", "a\"b", "\"a\"\"b\"", "averyverylonglabel",
                      "\"averyverylonglabel\"", "\"A\"", "\"\tA\"", "A"]
        for order in [labels, labels.reversed(), labels + labels.reversed()] {
            let middle = order.enumerated().map { "\($0.offset + 1),\($0.offset % 2),\($0.element),5" }
            expectSame("t,e,g,x\n" + middle.joined(separator: "\n") + "\n", columns, "label third")
            let last = order.enumerated().map { "\($0.offset + 1),\($0.offset % 2),5,\($0.element)" }
            expectSame("t,e,x,g\n" + last.joined(separator: "\r\n") + "\r\n", columns, "label last, CRLF")
            expectSame("t,e,x,g\n" + last.joined(separator: "\n") + "\n", columns, "label last")
        }
    }

    /// Seeded random files in every shape the reader accepts: quoting (with and without `""`),
    /// padding, CRLF, blank lines, signs, exponents, long mantissas, many labels.
    @Test func randomFilesAgreeWithTheReference() {
        var rng = CSVTestRandom(seed: 20261202)
        for round in 0..<60 {
            var text = round % 5 == 0 ? "\u{FEFF}" : ""
            let crlf = rng.next() % 3 == 0
            let nl = crlf ? "\r\n" : "\n"
            text += (rng.next() % 4 == 0 ? "\"id\",time,\"event\",arm,age,bmi" : "id,time,event,arm,age,bmi") + nl
            let rows = Int(rng.next() % 400) + 1
            let labelCount = rng.next() % 2 == 0 ? 3 : 45
            for i in 0..<rows {
                if rng.next() % 40 == 0 { text += (rng.next() % 2 == 0 ? "" : "  \t") + nl }
                var f: [String] = []
                f.append(rng.next() % 10 == 0 ? "\"\(i)\"" : "\(i)")
                f.append(number(&rng, nonNegative: true))
                f.append(["0", "1", "1.0", " 0", "\"1\"", "0e0", "+1"][Int(rng.next() % 30 < 24 ? rng.next() % 2 : rng.next() % 7)])
                let label = "L\(rng.next() % UInt64(labelCount))"
                switch rng.next() % 12 {
                case 0: f.append("\"\(label)\"")
                case 1: f.append(" \(label) ")
                case 2: f.append("\"\(label), \"\"q\"\"\"")
                case 3: f.append("\"\(label)\"  ")
                default: f.append(label)
                }
                f.append(number(&rng, nonNegative: false))
                f.append(number(&rng, nonNegative: false))
                text += f.joined(separator: ",") + nl
            }
            if rng.next() % 3 == 0 { text.removeLast(nl.count) }
            expectSame(text, all, "round \(round)")
        }
    }

    func number(_ rng: inout CSVTestRandom, nonNegative: Bool) -> String {
        let sign = nonNegative ? "" : ["", "", "", "-", "+"][Int(rng.next() % 5)]
        let n = rng.next()
        switch n % 9 {
        case 0: return sign + "\(n % 5000)"
        case 1: return sign + "\(n % 500).\(n % 10)"
        case 2: return sign + String(format: "%.6f", Double(n % 1_000_000) / 7919)
        case 3: return sign + "\(n % 100)e\(Int(n % 9) - 4)"
        case 4: return sign + "\(n % 10).\(n % 1000)E+\(n % 3)"
        case 5: return sign + "\(Double(n % 1_000_000_007) / 3)"   // 16–17 significant digits: the slow path
        case 6: return sign + "0.\(String(repeating: "0", count: Int(n % 25)))\(n % 97 + 1)"
        case 7: return " \(n % 90) "
        default: return sign + "\(n % 70)"
        }
    }

    @Test func largeInputIsCutOverTheCoresAndIdentical() throws {
        // Above the parallel threshold the default entry point cuts the rows into pieces.
        let text = try Vectors.text("cohort_1000.csv")
        let body = text.drop { $0 != "\n" }.dropFirst()
        var big = String(text.prefix { $0 != "\n" }) + "\n"
        while big.utf8.count < SurvivalCSV.parallelThreshold + 100_000 { big += body }
        let columns = SurvivalColumns(time: "time", event: "event", group: "group", covariates: ["age", "bmi"])
        expectSame(big, columns, "large")
        let d = try SurvivalCSV.parse(data: Data(big.utf8), columns: columns)
        #expect(d.count % 1000 == 0 && d.count > 40_000)
    }
}

/// SplitMix64, for seeded test inputs.
struct CSVTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Reference implementation

/// The previous parser, verbatim apart from its name: one pass over the bytes, fields split into
/// ranges per line, plain decimals parsed exactly, everything else through `Double(String)`.
enum ReferenceSurvivalCSV {
    static func parse(_ text: String, columns: SurvivalColumns) throws(SurvivalCSVError) -> SurvivalDataset {
        var copy = text
        // withUTF8 is untyped-rethrows, so carry the typed error out in a Result.
        let result = copy.withUTF8 { bytes in
            Result { () throws(SurvivalCSVError) -> SurvivalDataset in try parseBytes(bytes, columns: columns) }
        }
        return try result.get()
    }

    private static func parseBytes(_ all: UnsafeBufferPointer<UInt8>,
                                   columns: SurvivalColumns) throws(SurvivalCSVError) -> SurvivalDataset {
        var start = 0
        if all.count >= 3 && all[0] == 0xEF && all[1] == 0xBB && all[2] == 0xBF { start = 3 }   // BOM
        var lineNumber = 0
        var header: [String]? = nil
        var headerLine = 1
        var timeCol = 0, eventCol = 0, groupCol: Int? = nil
        var covCols: [Int] = []
        var times: [Double] = []
        var events: [Bool] = []
        var groups = LabelTable()
        var groupCodes: [Int32] = []
        var covValues: [[Double]] = Array(repeating: [], count: columns.covariates.count)
        var fields: [Range<Int>] = []
        var quoted: [Bool] = []
        var pos = start
        let end = all.count
        while pos < end {
            lineNumber += 1
            var lineEnd = pos
            while lineEnd < end && all[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd + 1
            var contentEnd = lineEnd
            if contentEnd > pos && all[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            defer { pos = next }
            if isBlank(all, pos, contentEnd) { continue }
            guard splitFields(all, pos, contentEnd, into: &fields, quoted: &quoted) else {
                throw SurvivalCSVError(line: lineNumber, problem: .unterminatedQuote)
            }
            guard let names = header else {
                let h = fields.indices.map { fieldString(all, fields[$0], quoted[$0]) }
                header = h
                headerLine = lineNumber
                func column(_ name: String) throws(SurvivalCSVError) -> Int {
                    guard let i = h.firstIndex(of: name) else {
                        throw SurvivalCSVError(line: lineNumber, problem: .missingColumn(name))
                    }
                    return i
                }
                timeCol = try column(columns.time)
                eventCol = try column(columns.event)
                if let g = columns.group { groupCol = try column(g) }
                covCols = []
                for c in columns.covariates { covCols.append(try column(c)) }
                continue
            }
            guard fields.count == names.count else {
                throw SurvivalCSVError(line: lineNumber, problem: .wrongFieldCount(expected: names.count, found: fields.count))
            }
            // time
            let tr = fields[timeCol]
            guard let t = parseNumber(all, tr, quoted[timeCol]) else {
                throw SurvivalCSVError(line: lineNumber, problem: .nonNumericTime(fieldString(all, tr, quoted[timeCol])))
            }
            guard t >= 0 else {
                throw SurvivalCSVError(line: lineNumber, problem: .negativeTime(fieldString(all, tr, quoted[timeCol])))
            }
            times.append(t + 0.0)
            // event
            let er = fields[eventCol]
            let e = parseNumber(all, er, quoted[eventCol])
            guard e == 0 || e == 1 else {
                throw SurvivalCSVError(line: lineNumber, problem: .invalidEvent(fieldString(all, er, quoted[eventCol])))
            }
            events.append(e == 1)
            if let gc = groupCol {
                let r = fields[gc]
                if r.isEmpty { throw SurvivalCSVError(line: lineNumber, problem: .missingGroup(column: names[gc])) }
                groupCodes.append(groups.code(all, r, quoted[gc]))
            }
            for (k, c) in covCols.enumerated() {
                guard let v = parseNumber(all, fields[c], quoted[c]) else {
                    throw SurvivalCSVError(line: lineNumber, problem: .nonNumericCovariate(
                        column: columns.covariates[k], value: fieldString(all, fields[c], quoted[c])))
                }
                covValues[k].append(v)
            }
        }
        guard header != nil else { throw SurvivalCSVError(line: max(lineNumber, 1), problem: .emptyInput) }
        guard !times.isEmpty else { throw SurvivalCSVError(line: headerLine + 1, problem: .noDataRows) }
        let covariates = zip(columns.covariates, covValues).map { Covariate(name: $0.0, values: $0.1) }
        do {
            return try SurvivalDataset(time: times, event: events,
                                       groups: groupCol == nil ? nil : try GroupCoding(codes: groupCodes, labels: groups.labels),
                                       covariates: covariates)
        } catch {
            // Unreachable: every value was validated above.
            throw SurvivalCSVError(line: headerLine, problem: .noDataRows)
        }
    }

    /// Maps group fields to codes straight from the bytes, so no String is made per row
    /// (registry files have a handful of distinct labels).
    private struct LabelTable {
        var labels: [String] = []
        private var bytes: [[UInt8]] = []
        private var overflow: [String: Int32] = [:]

        mutating func code(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ isQuoted: Bool) -> Int32 {
            if bytes.count <= 32 && !isQuoted {
                for (i, known) in bytes.enumerated() where known.count == r.count {
                    var same = true
                    var k = 0
                    for j in r {
                        if b[j] != known[k] { same = false; break }
                        k += 1
                    }
                    if same { return Int32(i) }
                }
            }
            let label = ReferenceSurvivalCSV.fieldString(b, r, isQuoted)
            if let c = overflow[label] { return c }
            let c = Int32(labels.count)
            labels.append(label)
            overflow[label] = c
            if !isQuoted { bytes.append(Array(UnsafeBufferPointer(rebasing: b[r]))) } else { bytes.append([]) }
            return c
        }
    }

    private static func isBlank(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        var i = from
        while i < to {
            let c = b[i]
            if c != 0x20 && c != 0x09 && c != 0x0D { return false }
            i += 1
        }
        return true
    }

    /// Splits one line into field ranges. Quoted fields get the range inside the quotes.
    private static func splitFields(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int,
                                    into fields: inout [Range<Int>], quoted: inout [Bool]) -> Bool {
        fields.removeAll(keepingCapacity: true)
        quoted.removeAll(keepingCapacity: true)
        var i = from
        while true {
            // skip leading spaces
            var s = i
            while s < to && (b[s] == 0x20 || b[s] == 0x09) { s += 1 }
            if s < to && b[s] == 0x22 {
                var j = s + 1
                while true {
                    if j >= to { return false }
                    if b[j] == 0x22 {
                        if j + 1 < to && b[j + 1] == 0x22 { j += 2; continue }
                        break
                    }
                    j += 1
                }
                fields.append((s + 1)..<j)
                quoted.append(true)
                var k = j + 1
                while k < to && b[k] != 0x2C { k += 1 }
                if k >= to { return true }
                i = k + 1
            } else {
                var j = s
                while j < to && b[j] != 0x2C { j += 1 }
                var e = j
                while e > s && (b[e - 1] == 0x20 || b[e - 1] == 0x09) { e -= 1 }
                fields.append(s..<e)
                quoted.append(false)
                if j >= to { return true }
                i = j + 1
            }
        }
    }

    static func fieldString(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ isQuoted: Bool) -> String {
        let s = String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
        return isQuoted ? s.replacingOccurrences(of: "\"\"", with: "\"") : s
    }

    private static let powersOfTen: [Double] = (0...22).map { pow(10.0, Double($0)) }

    /// Parses a finite decimal number. Fast exact path for plain decimals with at most
    /// 15 significant digits (an integer mantissa divided by an exact power of ten is
    /// correctly rounded); anything else goes through the standard library parser.
    private static func parseNumber(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ isQuoted: Bool) -> Double? {
        var i = r.lowerBound
        let end = r.upperBound
        if isQuoted {
            let s = fieldString(b, r, true).trimmingCharacters(in: .whitespaces)
            return slowParse(s)
        }
        guard i < end else { return nil }
        var negative = false
        if b[i] == 0x2D { negative = true; i += 1 } else if b[i] == 0x2B { i += 1 }
        var mantissa: Int64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenDot = false
        var anyDigit = false
        while i < end {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                anyDigit = true
                if mantissa == 0 && c == 0x30 {
                    if seenDot { fractionDigits += 1 }
                } else {
                    mantissa = mantissa * 10 + Int64(c - 0x30)
                    digits += 1
                    if seenDot { fractionDigits += 1 }
                    if digits > 15 { return slowParse(fieldString(b, r, false)) }
                }
            } else if c == 0x2E && !seenDot {
                seenDot = true
            } else {
                return slowParse(fieldString(b, r, false))
            }
            i += 1
        }
        guard anyDigit else { return nil }
        if fractionDigits > 22 { return slowParse(fieldString(b, r, false)) }
        let v = Double(mantissa) / powersOfTen[fractionDigits]
        return negative ? -v : v
    }

    private static func slowParse(_ s: String) -> Double? {
        guard let v = Double(s), v.isFinite else { return nil }
        return v
    }
}
