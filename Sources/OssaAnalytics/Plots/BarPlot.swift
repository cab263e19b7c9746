import Foundation

extension AnalyticsPlot {
    /// One bar: a value (a proportion for responder rates) with its confidence limits.
    public struct BarValue: Sendable, Equatable, Hashable {
        public var value: Double
        public var lower: Double?
        public var upper: Double?

        public init(value: Double, lower: Double? = nil, upper: Double? = nil) {
            self.value = value
            self.lower = lower
            self.upper = upper
        }
    }

    /// One group's bars, one value per category (`nil`: no bar, shown as "–").
    public struct BarSeries: Sendable, Equatable, Hashable {
        public var label: String
        public var values: [BarValue?]

        public init(label: String, values: [BarValue?]) {
            self.label = label
            self.values = values
        }
    }

    /// Grouped bars (e.g. responder rate per timepoint, one bar per group) with CI whiskers and printed values.
    public struct BarPlot: Sendable, Equatable, Hashable {
        public var id: String
        public var title: String
        /// Caller's summary for `<desc>`; the plot appends its own.
        public var description: String
        public var yLabel: String
        public var yRange: ClosedRange<Double>
        public var valueFormat: ValueFormat
        /// The x groups (e.g. timepoints).
        public var categories: [String]
        public var series: [BarSeries]

        public init(id: String, title: String, description: String, yLabel: String, yRange: ClosedRange<Double> = 0...1,
                    valueFormat: ValueFormat = .percent, categories: [String], series: [BarSeries]) {
            self.id = id
            self.title = title
            self.description = description
            self.yLabel = yLabel
            self.yRange = yRange
            self.valueFormat = valueFormat
            self.categories = categories
            self.series = series
        }
    }

    /// Grouped bars. Series differ by colour and by fill pattern (solid, hatched, dotted…), so they stay apart in
    /// greyscale print; every bar prints its value above its whisker.
    public static func bars(_ p: BarPlot) -> String {
        typealias K = AnalyticsSVG
        let n = K.num, pid = K.safeID(p.id), width = 600.0
        let (yLo, yHi) = K.bounds(p.yRange)
        let yTicks = K.ticks(lo: yLo, hi: yHi, extend: false).values
        let allValues = p.series.flatMap { $0.values.compactMap { $0?.value } }.filter(\.isFinite)
        let decimals = allValues.allSatisfy { $0 == $0.rounded() } ? 0 : 1
        let show = { (v: Double) -> String in
            switch p.valueFormat {
            case .percent: return K.fixedLabel(v * 100, decimals: 0) + "%"
            case .number: return K.fixedLabel(v, decimals: decimals)
            }
        }

        let left = 30 + K.yTickWidth(yTicks, format: p.valueFormat) + 10, right = width - 12
        let head = K.heading(p.title, width: width)
        let legend = K.legend(p.series.enumerated().map { i, s in
            K.LegendItem(label: s.label, symbolWidth: 22) { x, cy in
                K.rect(x: x, y: cy - 7, w: 22, h: 14, fill: fill(pid, i), stroke: K.colour(i), strokeWidth: 1.5,
                       cls: "plot-legend-bar \(K.seriesClass(i))")
            }
        }, top: head.bottom + 2, width: width)
        // Headroom above the plot for the value printed over a bar at the top of the range.
        let top = legend.bottom + 24, plotH = 220.0, bottom = top + plotH
        let py = { (v: Double) in bottom - (min(max(v, yLo), yHi) - yLo) / (yHi - yLo) * plotH }
        let base = py(max(yLo, min(0, yHi)))

        var s = head.svg + legend.svg
        s += K.yAxis(ticks: yTicks, py: py, left: left, right: right, top: top, bottom: bottom, format: p.valueFormat,
                     title: p.yLabel)

        let groups = max(p.categories.count, 1), seriesCount = max(p.series.count, 1)
        let groupW = (right - left) / Double(groups)
        let barW = min(56, groupW * 0.8 / Double(seriesCount))
        let valueSize = barW < 30 ? 11.0 : 12.0
        let chars = max(6, Int(groupW / (13 * 0.6)))
        var labelLines = 1
        s += "<g class=\"plot-axis plot-axis-x\">"
        for (c, category) in p.categories.enumerated() {
            let cx = left + (Double(c) + 0.5) * groupW
            let lines = Array(K.wrap(category, chars: chars).prefix(2))
            labelLines = max(labelLines, lines.count)
            for (k, l) in lines.enumerated() {
                s += K.text(l, x: cx, y: bottom + 19 + Double(k) * 15, size: 13, anchor: "middle", cls: "plot-tick")
            }
        }
        s += "</g>"

        for (i, series) in p.series.enumerated() {
            s += "<g class=\"plot-series \(K.seriesClass(i))\">"
            for (c, category) in p.categories.enumerated() {
                let x = left + (Double(c) + 0.5) * groupW + (Double(i) - Double(seriesCount) / 2) * barW
                let cx = x + barW / 2
                guard c < series.values.count, let bar = series.values[c], bar.value.isFinite else {
                    s += "<g class=\"plot-bar-missing\">" + K.tooltip("\(series.label), \(category): no data")
                    s += K.text("\u{2013}", x: cx, y: base - 6, size: 16, anchor: "middle", weight: "bold",
                                fill: K.muted, cls: "plot-bar-value") + "</g>"
                    continue
                }
                let y = py(bar.value)
                var tip = "\(series.label), \(category): \(show(bar.value))"
                if let lo = bar.lower, let hi = bar.upper { tip += " (95% CI \(show(lo)) to \(show(hi)))" }
                s += "<rect x=\"\(n(x + 1))\" y=\"\(n(min(y, base)))\" width=\"\(n(barW - 2))\" height=\"\(n(abs(base - y)))\""
                    + " fill=\"\(fill(pid, i))\" stroke=\"\(K.colour(i))\" stroke-width=\"1.5\""
                    + " class=\"plot-bar \(K.seriesClass(i))\">\(K.tooltip(tip))</rect>"
                var labelY = min(y, base)
                if let lo = bar.lower, let hi = bar.upper, lo.isFinite, hi.isFinite {
                    let y0 = py(min(lo, hi)), y1 = py(max(lo, hi))
                    let d = "M\(n(cx)) \(n(y0))V\(n(y1))M\(n(cx - 5)) \(n(y0))h10M\(n(cx - 5)) \(n(y1))h10"
                    // A white underlay keeps the dark whisker visible over a dark bar.
                    s += "<path d=\"\(d)\" fill=\"none\" stroke=\"#ffffff\" stroke-width=\"4\" class=\"plot-whisker-halo\"/>"
                    s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(K.inkColour)\" stroke-width=\"1.5\" class=\"plot-whisker\"/>"
                    labelY = min(labelY, y1)
                }
                s += K.text(show(bar.value), x: cx, y: labelY - 5, size: valueSize, anchor: "middle", halo: true,
                            cls: "plot-bar-value")
            }
            s += "</g>"
        }
        s += K.line(x1: left, y1: base, x2: right, y2: base, stroke: K.muted, width: 1.5, cls: "plot-baseline")
        s += K.frame(left: left, right: right, top: top, bottom: bottom)

        var parts: [String] = []
        if !p.description.isEmpty { parts.append(p.description.hasSuffix(".") ? p.description : p.description + ".") }
        parts.append("Bar chart of \(p.yLabel): \(p.categories.count) categories, \(p.series.count) series.")
        for series in p.series {
            let items = p.categories.enumerated().map { c, category -> String in
                guard c < series.values.count, let bar = series.values[c], bar.value.isFinite else {
                    return "\(category) no data"
                }
                var t = "\(category) \(show(bar.value))"
                if let lo = bar.lower, let hi = bar.upper { t += " (\(show(lo)) to \(show(hi)))" }
                return t
            }
            parts.append("\(series.label): \(items.joined(separator: ", ")).")
        }
        let defs = p.series.indices.map { pattern(pid, $0) }.joined()
        return K.root(id: pid, width: width, height: bottom + 40 + Double(labelLines - 1) * 15, title: p.title,
                      desc: parts.joined(separator: " "), kind: "plot-bars", defs: defs) + s + "</svg>"
    }

    /// Series 0 solid; the others a pattern in the series colour on a pale ground, so greyscale prints differ.
    private static func fill(_ pid: String, _ i: Int) -> String {
        i % 6 == 0 ? AnalyticsSVG.colour(i) : "url(#\(pid)-bar-\(i))"
    }

    private static func pattern(_ pid: String, _ i: Int) -> String {
        let c = AnalyticsSVG.colour(i)
        let open = { (size: Int, rotate: Int) in
            "<pattern id=\"\(pid)-bar-\(i)\" patternUnits=\"userSpaceOnUse\" width=\"\(size)\" height=\"\(size)\""
                + (rotate == 0 ? "" : " patternTransform=\"rotate(\(rotate))\"")
                + "><rect width=\"\(size)\" height=\"\(size)\" fill=\"#ffffff\"/>"
        }
        switch i % 6 {
        case 0: return ""
        case 1: // Diagonal hatching.
            return open(6, 45) + "<rect width=\"3\" height=\"6\" fill=\"\(c)\"/></pattern>"
        case 2: // Dots.
            return open(6, 0) + "<circle cx=\"3\" cy=\"3\" r=\"1.9\" fill=\"\(c)\"/></pattern>"
        case 3: // Horizontal stripes.
            return open(6, 0) + "<rect width=\"6\" height=\"3\" fill=\"\(c)\"/></pattern>"
        case 4: // Cross-hatching.
            return open(8, 45) + "<rect width=\"2\" height=\"8\" fill=\"\(c)\"/><rect width=\"8\" height=\"2\" fill=\"\(c)\"/></pattern>"
        default: // Vertical stripes.
            return open(6, 0) + "<rect width=\"3\" height=\"6\" fill=\"\(c)\"/></pattern>"
        }
    }
}
