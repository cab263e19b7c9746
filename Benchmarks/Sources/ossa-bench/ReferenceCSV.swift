// The previous SurvivalCSV parser (2026-11), verbatim apart from its name: the baseline that
// `ossa-bench --parse` times the current parser against and compares it with, bit for bit.
// (The same copy is the oracle of Tests/OssaStatsTests/SurvivalCSVTests.swift.)
import Foundation
import OssaStats

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
