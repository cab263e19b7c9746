import Foundation

extension AnalyticsPlot {
    /// A mean with its confidence limits at one time.
    public struct LinePoint: Sendable, Equatable, Hashable {
        public var x: Double
        public var y: Double
        public var lower: Double?
        public var upper: Double?

        public init(x: Double, y: Double, lower: Double? = nil, upper: Double? = nil) {
            self.x = x
            self.y = y
            self.lower = lower
            self.upper = upper
        }
    }

    /// One group's trajectory.
    public struct LineSeries: Sendable, Equatable, Hashable {
        public var label: String
        public var points: [LinePoint]

        public init(label: String, points: [LinePoint]) {
            self.label = label
            self.points = points
        }
    }

    /// PROM trajectories: mean ± 95% CI over time, one series per group.
    public struct LinePlot: Sendable, Equatable, Hashable {
        public var id: String
        public var title: String
        /// Caller's summary for `<desc>`; the plot appends its own.
        public var description: String
        public var xLabel: String
        public var yLabel: String
        public var yRange: ClosedRange<Double>
        /// The x positions and their labels ("Baseline", "6 mo"…); they also set the x range.
        public var xTicks: [Tick]
        public var series: [LineSeries]
        public var yFormat: ValueFormat

        public init(id: String, title: String, description: String, xLabel: String, yLabel: String,
                    yRange: ClosedRange<Double>, xTicks: [Tick], series: [LineSeries], yFormat: ValueFormat = .number) {
            self.id = id
            self.title = title
            self.description = description
            self.xLabel = xLabel
            self.yLabel = yLabel
            self.yRange = yRange
            self.xTicks = xTicks
            self.series = series
            self.yFormat = yFormat
        }
    }

    /// Means joined by lines with error bars; series are dodged a few pixels apart so their bars don't overlap, and
    /// differ by colour, dash pattern and marker shape.
    public static func line(_ p: LinePlot) -> String {
        typealias K = AnalyticsSVG
        let n = K.num, pid = K.safeID(p.id), width = 600.0
        let (yLo, yHi) = K.bounds(p.yRange)
        let data = p.series.map { s in
            s.points.enumerated().filter { $0.element.x.isFinite && $0.element.y.isFinite }
                .sorted { $0.element.x != $1.element.x ? $0.element.x < $1.element.x : $0.offset < $1.offset }
                .map(\.element)
        }
        let ticks = p.xTicks.filter { $0.value.isFinite }.sorted { $0.value < $1.value }
        let xs = ticks.map(\.value) + data.flatMap { $0.map(\.x) }
        var xLo = xs.min() ?? 0, xHi = xs.max() ?? 1
        if !(xHi > xLo) { xLo -= 1; xHi += 1 }
        let pad = (xHi - xLo) * 0.06
        xLo -= pad
        xHi += pad
        let yTicks = K.ticks(lo: yLo, hi: yHi, extend: false).values

        let left = 30 + K.yTickWidth(yTicks, format: p.yFormat) + 10, right = width - 16
        let head = K.heading(p.title, width: width)
        let legend = K.legend(p.series.enumerated().map { i, s in
            K.LegendItem(label: s.label, symbolWidth: 34, symbol: K.lineSample(i, width: 2.5, withMarker: true))
        }, top: head.bottom + 2, width: width)
        let top = legend.bottom + 14, plotH = 240.0, bottom = top + plotH
        let px = { (v: Double) in left + (v - xLo) / (xHi - xLo) * (right - left) }
        let py = { (v: Double) in bottom - (min(max(v, yLo), yHi) - yLo) / (yHi - yLo) * plotH }

        var s = head.svg + legend.svg
        s += K.yAxis(ticks: yTicks, py: py, left: left, right: right, top: top, bottom: bottom, format: p.yFormat,
                     title: p.yLabel)
        s += "<g class=\"plot-axis plot-axis-x\">"
        // Tick labels wrap to two lines when they are long for the space between ticks.
        let spacing = ticks.count > 1 ? (px(ticks[ticks.count - 1].value) - px(ticks[0].value)) / Double(ticks.count - 1)
            : right - left
        let chars = max(4, Int(spacing / (13 * 0.6)))
        var labelLines = 1
        for t in ticks {
            s += K.line(x1: px(t.value), y1: top, x2: px(t.value), y2: bottom, stroke: K.gridColour, cls: "plot-grid")
            s += K.line(x1: px(t.value), y1: bottom, x2: px(t.value), y2: bottom + 5, stroke: K.muted)
            let lines = Array(K.wrap(t.label, chars: chars).prefix(2))
            labelLines = max(labelLines, lines.count)
            for (k, l) in lines.enumerated() {
                s += K.text(l, x: px(t.value), y: bottom + 19 + Double(k) * 15, size: 13, anchor: "middle",
                            fill: K.muted, cls: "plot-tick")
            }
        }
        let xTitleY = bottom + 40 + Double(labelLines - 1) * 15
        s += K.text(p.xLabel, x: (left + right) / 2, y: xTitleY, size: 13, anchor: "middle", cls: "plot-axis-title")
        s += "</g>"

        // Dodge: series spread symmetrically around each x, at most 7 px apart.
        let k = Double(max(p.series.count, 1)), step = min(7, 30 / k)
        for (i, pts) in data.enumerated() {
            let colour = K.colour(i), dx = (Double(i) - (k - 1) / 2) * step
            let label = p.series[i].label
            s += "<g class=\"plot-series \(K.seriesClass(i))\">"
            for pt in pts {
                guard let lo = pt.lower, let hi = pt.upper, lo.isFinite, hi.isFinite else { continue }
                let x = px(pt.x) + dx
                s += "<path d=\"M\(n(x)) \(n(py(lo)))V\(n(py(hi)))M\(n(x - 4)) \(n(py(lo)))h8M\(n(x - 4)) \(n(py(hi)))h8\""
                    + " fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" class=\"plot-errorbar \(K.seriesClass(i))\"/>"
            }
            if pts.count > 1 {
                let coords = pts.map { "\(n(px($0.x) + dx)),\(n(py($0.y)))" }.joined(separator: " ")
                s += "<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.25\""
                    + " stroke-linejoin=\"round\"\(K.dashAttribute(i)) class=\"plot-line \(K.seriesClass(i))\"/>"
            }
            for pt in pts {
                var tip = "\(label) \u{2014} \(tickName(pt.x, ticks)): \(K.valueLabel(pt.y, p.yFormat))"
                if let lo = pt.lower, let hi = pt.upper {
                    tip += " (95% CI \(K.valueLabel(lo, p.yFormat)) to \(K.valueLabel(hi, p.yFormat)))"
                }
                s += K.marker(i, x: px(pt.x) + dx, y: py(pt.y), colour: colour, title: tip)
            }
            s += "</g>"
        }
        s += K.frame(left: left, right: right, top: top, bottom: bottom)
        if data.allSatisfy(\.isEmpty) {
            s += K.text("No data yet", x: (left + right) / 2, y: (top + bottom) / 2 + 5, size: 14, anchor: "middle",
                        fill: K.muted)
        }

        var parts: [String] = []
        if !p.description.isEmpty { parts.append(p.description.hasSuffix(".") ? p.description : p.description + ".") }
        let count = p.series.count == 1 ? "1 series" : "\(p.series.count) series"
        parts.append("Line chart of mean \(p.yLabel) by \(p.xLabel) with 95% confidence intervals, \(count).")
        for (series, pts) in zip(p.series, data) {
            let at = { (pt: LinePoint) in "\(K.valueLabel(pt.y, p.yFormat)) at \(tickName(pt.x, ticks))" }
            switch pts.count {
            case 0: parts.append("\(series.label): no data.")
            case 1: parts.append("\(series.label): \(at(pts[0])).")
            default: parts.append("\(series.label): from \(at(pts[0])) to \(at(pts[pts.count - 1])).")
            }
        }
        return K.root(id: pid, width: width, height: xTitleY + 14, title: p.title, desc: parts.joined(separator: " "),
                      kind: "plot-line-chart") + s + "</svg>"
    }

    /// The tick label at `x` if there is one, else the number.
    private static func tickName(_ x: Double, _ ticks: [Tick]) -> String {
        ticks.first { abs($0.value - x) < 1e-9 }?.label ?? AnalyticsSVG.label(x)
    }
}
