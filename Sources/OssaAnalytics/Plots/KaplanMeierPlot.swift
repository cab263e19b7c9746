import Foundation

extension AnalyticsPlot {
    /// One step of a step function: the curve is `y` from `x` until the next point's `x`.
    public struct StepPoint: Sendable, Equatable, Hashable {
        public var x: Double
        public var y: Double
        /// Confidence limits for this step (the band is drawn where both are present).
        public var lower: Double?
        public var upper: Double?

        public init(x: Double, y: Double, lower: Double? = nil, upper: Double? = nil) {
            self.x = x
            self.y = y
            self.lower = lower
            self.upper = upper
        }
    }

    /// One group's curve: Kaplan–Meier survival (falling) or cumulative incidence (rising) alike.
    public struct StepCurve: Sendable, Equatable, Hashable {
        public var label: String
        /// x ascending, the first at x = 0.
        public var points: [StepPoint]
        /// Where subjects were censored (drawn as small vertical ticks on the curve). The curve runs on, flat, to
        /// the last censoring time when that is later than the last point.
        public var censorTimes: [Double]
        /// Draw the confidence band (a stepped translucent polygon).
        public var showBand: Bool
        /// The median (x where the curve crosses 0.5), if reached: drawn as a dashed drop line from y = 0.5.
        public var median: Double?

        public init(label: String, points: [StepPoint], censorTimes: [Double] = [], showBand: Bool = true,
                    median: Double? = nil) {
            self.label = label
            self.points = points
            self.censorTimes = censorTimes
            self.showBand = showBand
            self.median = median
        }
    }

    /// One row of the numbers-at-risk table: a group and its count at each time (strings, so that small cells can
    /// be suppressed: "<5").
    public struct AtRiskRow: Sendable, Equatable, Hashable {
        public var label: String
        public var counts: [String]

        public init(label: String, counts: [String]) {
            self.label = label
            self.counts = counts
        }
    }

    /// Numbers at risk, printed under the plot at each time (normally the x ticks).
    public struct AtRiskTable: Sendable, Equatable, Hashable {
        public var times: [Double]
        public var rows: [AtRiskRow]
        public var heading: String

        public init(times: [Double], rows: [AtRiskRow], heading: String = "Number at risk") {
            self.times = times
            self.rows = rows
            self.heading = heading
        }
    }

    /// A step plot: Kaplan–Meier survival free of an event, or cumulative incidence.
    public struct StepPlot: Sendable, Equatable, Hashable {
        public var id: String
        public var title: String
        /// Caller's summary for `<desc>` (e.g. "3 groups; median 4.1 years in group PRP"); the plot appends its own.
        public var description: String
        public var xLabel: String
        public var yLabel: String
        public var yRange: ClosedRange<Double>
        /// In the x unit shown (e.g. years).
        public var xTicks: [Double]
        public var curves: [StepCurve]
        public var atRisk: AtRiskTable?
        /// How the y axis is labelled (`.percent`: 0.8 → "80%").
        public var yFormat: ValueFormat

        public init(id: String, title: String, description: String, xLabel: String, yLabel: String,
                    yRange: ClosedRange<Double> = 0...1, xTicks: [Double], curves: [StepCurve],
                    atRisk: AtRiskTable? = nil, yFormat: ValueFormat = .number) {
            self.id = id
            self.title = title
            self.description = description
            self.xLabel = xLabel
            self.yLabel = yLabel
            self.yRange = yRange
            self.xTicks = xTicks
            self.curves = curves
            self.atRisk = atRisk
            self.yFormat = yFormat
        }
    }

    /// Step curves (Kaplan–Meier or cumulative incidence) with optional CI bands, censoring ticks, median drop lines
    /// and a numbers-at-risk table under the x axis. Nothing assumes the curves fall.
    public static func survival(_ p: StepPlot) -> String {
        typealias K = AnalyticsSVG
        let n = K.num, pid = K.safeID(p.id), width = 600.0
        let (yLo, yHi) = K.bounds(p.yRange)

        // Clean the data: finite points, sorted by x (ties keep their order), finite censoring times.
        let curves: [(points: [StepPoint], censor: [Double], end: Double)] = p.curves.map { c in
            let pts = c.points.enumerated()
                .filter { $0.element.x.isFinite && $0.element.y.isFinite }
                .sorted { $0.element.x != $1.element.x ? $0.element.x < $1.element.x : $0.offset < $1.offset }
                .map(\.element)
            let censor = c.censorTimes.filter(\.isFinite).sorted()
            let end = max(pts.last?.x ?? 0, censor.last ?? -Double.infinity)
            return (pts, censor, end)
        }

        // x domain: from 0 (or the first tick) to the last tick or the end of the longest curve.
        let ticksGiven = p.xTicks.filter(\.isFinite).sorted()
        let dataLo = curves.compactMap { $0.points.first?.x }.min() ?? 0
        let dataHi = curves.filter { !$0.points.isEmpty }.map(\.end).max() ?? 1
        var xLo = min(0, dataLo, ticksGiven.first ?? 0)
        var xHi = max(dataHi, ticksGiven.last ?? dataHi)
        if !(xHi > xLo) { xHi = xLo + 1 }
        var xTicks = ticksGiven
        if xTicks.isEmpty {
            let t = K.ticks(lo: xLo, hi: xHi, extend: true)
            (xLo, xHi, xTicks) = (t.lo, t.hi, t.values)
        }
        let yTicks = K.ticks(lo: yLo, hi: yHi, extend: false).values

        // Layout. The left margin fits both the y tick labels and the at-risk row labels.
        let rows = p.atRisk?.rows ?? []
        let rowLabels = rows.map { K.truncate($0.label, chars: 60) }
        // A row label (after its 34 px line sample) must clear half of the count centred under x = 0.
        let countHalf = (rows.flatMap { $0.counts.prefix(1) }.map { K.estimatedWidth($0, size: 13) }.max() ?? 0) / 2
        let rowLabelWidth = rowLabels.map { 42 + K.estimatedWidth($0, size: 13) + countHalf + 14 }.max() ?? 0
        let axisWidth = 30 + K.yTickWidth(yTicks, format: p.yFormat) + 10
        // Labels that would take more than a little of the plot's width go on their own line above their counts.
        let stacked = rowLabelWidth > max(axisWidth, 150)
        let left = stacked ? axisWidth : max(axisWidth, rowLabelWidth)
        let right = width - 24
        let head = K.heading(p.title, width: width)

        var legendItems: [K.LegendItem] = p.curves.enumerated().map { i, c in
            K.LegendItem(label: c.label, symbolWidth: 34, symbol: K.lineSample(i, width: 2.5, withMarker: false))
        }
        if curves.contains(where: { !$0.censor.isEmpty }) {
            legendItems.append(K.LegendItem(label: "censored", symbolWidth: 14) { x, cy in
                "<path d=\"M\(n(x)) \(n(cy))h14M\(n(x + 7)) \(n(cy - 5))v10\" fill=\"none\" stroke=\"\(K.muted)\" stroke-width=\"1.5\"/>"
            })
        }
        let bandShown = zip(p.curves, curves).contains { c, d in c.showBand && d.points.contains { $0.lower != nil && $0.upper != nil } }
        if bandShown {
            legendItems.append(K.LegendItem(label: "95% CI (shaded)", symbolWidth: 22) { x, cy in
                K.rect(x: x, y: cy - 6, w: 22, h: 12, fill: K.muted, cls: "plot-band plot-legend-band",
                       extra: " fill-opacity=\"0.22\"")
            })
        }
        let legend = K.legend(legendItems, top: head.bottom + 2, width: width)
        let top = legend.bottom + 14, plotH = 240.0, bottom = top + plotH

        let px = { (v: Double) in left + (min(max(v, xLo), xHi) - xLo) / (xHi - xLo) * (right - left) }
        let py = { (v: Double) in bottom - (min(max(v, yLo), yHi) - yLo) / (yHi - yLo) * plotH }

        var s = head.svg + legend.svg
        s += K.yAxis(ticks: yTicks, py: py, left: left, right: right, top: top, bottom: bottom, format: p.yFormat,
                     title: p.yLabel)
        s += "<g class=\"plot-axis plot-axis-x\">"
        for t in xTicks where t >= xLo && t <= xHi {
            s += K.line(x1: px(t), y1: top, x2: px(t), y2: bottom, stroke: K.gridColour, cls: "plot-grid")
            s += K.line(x1: px(t), y1: bottom, x2: px(t), y2: bottom + 5, stroke: K.muted)
            s += K.text(K.label(t), x: px(t), y: bottom + 19, size: 13, anchor: "middle", fill: K.muted, cls: "plot-tick")
        }
        s += K.text(p.xLabel, x: (left + right) / 2, y: bottom + 40, size: 13, anchor: "middle", cls: "plot-axis-title")
        s += "</g>"

        // Bands first (under every curve), then median drop lines, curves, censoring ticks.
        for (i, (c, d)) in zip(p.curves, curves).enumerated() where c.showBand {
            for run in bandRuns(d.points, end: d.end) {
                var pts: [(Double, Double)] = []
                for r in run { pts.append((px(r.x0), py(r.hi))); pts.append((px(r.x1), py(r.hi))) }
                for r in run.reversed() { pts.append((px(r.x1), py(r.lo))); pts.append((px(r.x0), py(r.lo))) }
                s += "<path d=\"\(polygon(pts))\" fill=\"\(K.colour(i))\" fill-opacity=\"0.14\""
                    + " class=\"plot-band \(K.seriesClass(i))\"/>"
            }
        }
        if yLo <= 0.5, 0.5 <= yHi {
            for (i, c) in p.curves.enumerated() {
                guard let m = c.median, m.isFinite, m >= xLo, m <= xHi else { continue }
                s += "<path d=\"M\(n(left)) \(n(py(0.5)))H\(n(px(m)))V\(n(bottom))\" fill=\"none\" stroke=\"\(K.colour(i))\""
                    + " stroke-width=\"1.25\" stroke-dasharray=\"3 3\" class=\"plot-median \(K.seriesClass(i))\">"
                    + K.tooltip("\(c.label): median \(K.label(m))") + "</path>"
            }
        }
        for (i, (c, d)) in zip(p.curves, curves).enumerated() {
            guard let first = d.points.first else { continue }
            var path = "M\(n(px(first.x))) \(n(py(first.y)))"
            for pt in d.points.dropFirst() { path += "H\(n(px(pt.x)))V\(n(py(pt.y)))" }
            if d.end > (d.points.last?.x ?? d.end) { path += "H\(n(px(d.end)))" }
            s += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(K.colour(i))\" stroke-width=\"2.25\""
                + " stroke-linejoin=\"miter\"\(K.dashAttribute(i)) class=\"plot-curve \(K.seriesClass(i))\">"
                + K.tooltip(c.label) + "</path>"
            if !d.censor.isEmpty {
                // One path per curve; ticks falling on the same pixel are drawn once.
                var seen = Set<String>(), marks = ""
                for t in d.censor where t >= xLo && t <= xHi {
                    let key = "\(n(px(t))) \(n(py(value(at: t, d.points))))"
                    guard seen.insert(key).inserted else { continue }
                    marks += "M\(n(px(t))) \(n(py(value(at: t, d.points)) - 5))v10"
                }
                if !marks.isEmpty {
                    s += "<path d=\"\(marks)\" fill=\"none\" stroke=\"\(K.colour(i))\" stroke-width=\"1.75\""
                        + " class=\"plot-censor \(K.seriesClass(i))\"/>"
                }
            }
        }
        s += K.frame(left: left, right: right, top: top, bottom: bottom)
        if curves.allSatisfy({ $0.points.isEmpty }) {
            s += K.text("No data yet", x: (left + right) / 2, y: (top + bottom) / 2 + 5, size: 14, anchor: "middle",
                        fill: K.muted)
        }

        // Numbers at risk: a heading, then one row per group aligned with the x ticks.
        var height = bottom + 56
        if let table = p.atRisk, !table.rows.isEmpty {
            var y = bottom + 66
            s += "<g class=\"plot-at-risk\">"
            s += K.text(table.heading, x: 8, y: y, size: 13, weight: "bold", cls: "plot-at-risk-heading")
            for (r, row) in table.rows.enumerated() {
                y += stacked ? 18 : 21
                let i = p.curves.firstIndex { $0.label == row.label } ?? r
                s += "<g class=\"plot-at-risk-row \(K.seriesClass(i))\">"
                s += K.line(x1: 8, y1: y - 4.5, x2: 36, y2: y - 4.5, stroke: K.colour(i), width: 2.5,
                            dash: K.dashes[i % K.dashes.count])
                s += K.text(rowLabels[r], x: 42, y: y, size: 13, cls: "plot-at-risk-label")
                if stacked { y += 17 }
                for (t, count) in zip(table.times, row.counts) where t.isFinite && t >= xLo && t <= xHi {
                    s += K.text(count, x: px(t), y: y, size: 13, anchor: "middle", cls: "plot-at-risk-count")
                }
                s += "</g>"
            }
            s += "</g>"
            height = y + 12
        }

        let desc = summary(p, curves.map(\.points))
        return K.root(id: pid, width: width, height: height, title: p.title, desc: desc, kind: "plot-survival")
            + s + "</svg>"
    }

    /// The curve's value at `t` (the last step at or before `t`; the first step before it starts).
    static func value(at t: Double, _ points: [StepPoint]) -> Double {
        var v = points.first?.y ?? 0
        for p in points {
            if p.x > t { break }
            v = p.y
        }
        return v
    }

    /// Contiguous steps that have both confidence limits, each as [x0, x1) with its limits.
    static func bandRuns(_ points: [StepPoint], end: Double) -> [[(x0: Double, x1: Double, lo: Double, hi: Double)]] {
        var runs: [[(x0: Double, x1: Double, lo: Double, hi: Double)]] = [], run: [(x0: Double, x1: Double, lo: Double, hi: Double)] = []
        for (k, p) in points.enumerated() {
            let x1 = k + 1 < points.count ? points[k + 1].x : max(end, p.x)
            if let lo = p.lower, let hi = p.upper, lo.isFinite, hi.isFinite {
                run.append((p.x, x1, min(lo, hi), max(lo, hi)))
            } else if !run.isEmpty {
                runs.append(run)
                run = []
            }
        }
        if !run.isEmpty { runs.append(run) }
        return runs
    }

    /// "M…L…Z" through the points, dropping consecutive duplicates (after rounding).
    static func polygon(_ pts: [(Double, Double)]) -> String {
        var d = "", last = ""
        for (x, y) in pts {
            let here = "\(AnalyticsSVG.num(x)) \(AnalyticsSVG.num(y))"
            if here == last { continue }
            d += (d.isEmpty ? "M" : "L") + here
            last = here
        }
        return d + "Z"
    }

    private static func summary(_ p: StepPlot, _ data: [[StepPoint]]) -> String {
        typealias K = AnalyticsSVG
        var parts: [String] = []
        if !p.description.isEmpty { parts.append(p.description.hasSuffix(".") ? p.description : p.description + ".") }
        let groups = p.curves.count == 1 ? "1 group" : "\(p.curves.count) groups"
        parts.append("Step plot of \(p.yLabel) against \(p.xLabel), \(groups).")
        let y = { (v: Double) in K.valueLabel(v, p.yFormat) }
        for (c, pts) in zip(p.curves, data) {
            guard let first = pts.first, let last = pts.last else {
                parts.append("\(c.label): no data.")
                continue
            }
            var s = "\(c.label): \(y(first.y)) at \(K.label(first.x))"
            if pts.count > 1 { s += ", \(y(last.y)) at \(K.label(last.x))" }
            if let m = c.median, m.isFinite { s += "; median \(K.label(m))" }
            if !c.censorTimes.isEmpty { s += "; \(c.censorTimes.count) censored" }
            parts.append(s + ".")
        }
        if let t = p.atRisk, !t.rows.isEmpty {
            let times = t.times.map(K.label).joined(separator: ", ")
            let rows = t.rows.map { "\($0.label) \($0.counts.joined(separator: ", "))" }.joined(separator: "; ")
            parts.append("\(t.heading) at \(times): \(rows).")
        }
        return parts.joined(separator: " ")
    }
}
