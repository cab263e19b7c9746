/// Plain-text tables for `ossa stats survival` (no Foundation formatting: fixed
/// decimals are produced here so output is locale-independent).
extension SurvivalAnalysis {
    /// A readable report: per curve a table (time, at risk, events, survival, std err,
    /// lower, upper) and the median, then the log-rank and Cox tables.
    /// - Parameter eventTimesOnly: list only times with events (as R's `summary(survfit)`),
    ///   keeping tables short; pass false for every distinct time.
    public func renderText(eventTimesOnly: Bool = true) -> String {
        var out = ""
        let pct = TextFormat.fixed(confidenceLevel * 100, 0)
        out += "Kaplan–Meier estimates (\(pct)% CI, \(confidenceType.rawValue) transform, Greenwood variance)\n"
        for curve in [overall] + byGroup {
            out += "\n"
            out += curve.group.map { "Group \($0)" } ?? "All subjects"
            out += ": n = \(curve.subjects), events = \(curve.totalEvents), median = "
            out += curve.median.map { TextFormat.number($0) } ?? "not reached"
            out += "\n"
            let rows = curve.steps.filter { !eventTimesOnly || $0.events > 0 }
            var table = TextTable(headers: ["time", "at risk", "events", "survival", "std err", "lower", "upper"])
            for s in rows {
                table.add([TextFormat.number(s.time), "\(s.atRisk)", "\(s.events)", TextFormat.fixed(s.survival, 4),
                           s.stdErr.map { TextFormat.fixed($0, 4) } ?? "NA",
                           s.lower.map { TextFormat.fixed($0, 4) } ?? "NA",
                           s.upper.map { TextFormat.fixed($0, 4) } ?? "NA"])
            }
            out += rows.isEmpty ? "  (no events)\n" : table.render(indent: "  ")
        }
        if let lr = logRank {
            out += "\nLog-rank test\n"
            var table = TextTable(headers: ["group", "n", "observed", "expected", "(O-E)^2/E"])
            for (g, label) in lr.groups.enumerated() {
                let o = lr.observed[g], e = lr.expected[g]
                table.add([label, "\(lr.subjects[g])", TextFormat.number(o), TextFormat.fixed(e, 2),
                           e > 0 ? TextFormat.fixed((o - e) * (o - e) / e, 3) : "NA"])
            }
            out += table.render(indent: "  ")
            out += "  chi-square = \(TextFormat.fixed(lr.chiSquare, 3)) on \(lr.degreesOfFreedom) df, "
            out += "p = \(TextFormat.pValue(lr.pValue))\n"
        }
        if let cox {
            out += "\nCox proportional hazards (Efron ties): n = \(cox.subjects), events = \(cox.events)\n"
            var table = TextTable(headers: ["term", "coef", "HR", "lower \(pct)%", "upper \(pct)%", "se(coef)", "z", "p"])
            for t in cox.terms {
                table.add([t.name, TextFormat.fixed(t.coefficient, 5), TextFormat.fixed(t.hazardRatio, 4),
                           TextFormat.fixed(t.lowerHazardRatio, 4), TextFormat.fixed(t.upperHazardRatio, 4),
                           TextFormat.fixed(t.stdErr, 5), TextFormat.fixed(t.z, 3), TextFormat.pValue(t.pValue)])
            }
            out += table.render(indent: "  ")
            out += "  log partial likelihood = \(TextFormat.fixed(cox.logLikelihood, 4))"
            out += " (null \(TextFormat.fixed(cox.nullLogLikelihood, 4)))\n"
            out += "  likelihood-ratio test = \(TextFormat.fixed(cox.likelihoodRatioChiSquare, 3)) on "
            out += "\(cox.terms.count) df, p = \(TextFormat.pValue(cox.likelihoodRatioPValue))"
            out += cox.converged ? "\n" : "  (WARNING: did not converge in \(cox.iterations) iterations)\n"
        }
        return out
    }
}

/// Right-aligned columns, first column left-aligned.
struct TextTable {
    let headers: [String]
    var rows: [[String]] = []

    init(headers: [String]) { self.headers = headers }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(indent: String) -> String {
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var s = indent
            for (i, c) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                s += i == 0 ? c + pad : "  " + pad + c
            }
            return s + "\n"
        }
        return ([line(headers)] + rows.map(line)).joined()
    }
}

/// Locale-independent number formatting.
enum TextFormat {
    /// Fixed number of decimals (round half away from zero).
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "NA" : (x > 0 ? "Inf" : "-Inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e15 else { return scientific(x, 4) }
        let digits = String(UInt64(scaled))
        let padded = digits.count <= decimals ? String(repeating: "0", count: decimals - digits.count + 1) + digits : digits
        let intPart = padded.dropLast(decimals)
        let frac = padded.suffix(decimals)
        let sign = x < 0 && scaled != 0 ? "-" : ""
        return decimals == 0 ? sign + intPart : sign + intPart + "." + frac
    }

    /// Integers without decimals, other values with up to 4 decimals.
    static func number(_ x: Double) -> String {
        if x.isFinite && x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
        return fixed(x, 4)
    }

    /// d.ddde±XX
    static func scientific(_ x: Double, _ significant: Int) -> String {
        guard x.isFinite, x != 0 else { return fixed(x, 0) }
        var e = 0
        var m = abs(x)
        while m >= 10 { m /= 10; e += 1 }
        while m < 1 { m *= 10; e -= 1 }
        var mant = fixed(m, significant - 1)
        if mant.hasPrefix("10") { mant = fixed(m / 10, significant - 1); e += 1 }
        let es = e < 0 ? "-" + (abs(e) < 10 ? "0" : "") + String(abs(e)) : "+" + (e < 10 ? "0" : "") + String(e)
        return (x < 0 ? "-" : "") + mant + "e" + es
    }

    /// p-values: 4 decimals, scientific below 0.0001.
    static func pValue(_ p: Double) -> String {
        guard p.isFinite else { return "NA" }
        return p < 1e-4 ? scientific(p, 3) : fixed(p, 4)
    }
}
