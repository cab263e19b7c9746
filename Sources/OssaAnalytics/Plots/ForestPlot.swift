import Foundation

extension AnalyticsPlot {
    /// One estimate: a hazard ratio (or any ratio) with its confidence limits and the text printed at the right.
    public struct ForestRow: Sendable, Equatable, Hashable {
        public var label: String
        public var estimate: Double
        public var lower: Double
        public var upper: Double
        /// E.g. "1.42 (1.10–1.83)".
        public var annotation: String

        public init(label: String, estimate: Double, lower: Double, upper: Double, annotation: String) {
            self.label = label
            self.estimate = estimate
            self.lower = lower
            self.upper = upper
            self.annotation = annotation
        }
    }

    /// A forest plot of ratios on a log scale (Cox hazard ratios).
    public struct ForestPlot: Sendable, Equatable, Hashable {
        public var id: String
        public var title: String
        /// Caller's summary for `<desc>`; the plot appends its own.
        public var description: String
        public var xLabel: String
        public var rows: [ForestRow]
        /// Optional column headings over the labels and the annotations (e.g. "Covariate", "HR (95% CI)").
        public var labelHeader: String
        public var annotationHeader: String

        public init(id: String, title: String, description: String,
                    xLabel: String = "Hazard ratio (95% CI), log scale", rows: [ForestRow], labelHeader: String = "",
                    annotationHeader: String = "") {
            self.id = id
            self.title = title
            self.description = description
            self.xLabel = xLabel
            self.rows = rows
            self.labelHeader = labelHeader
            self.annotationHeader = annotationHeader
        }
    }

    /// Rows of square markers with CI lines on a log x axis, a reference line at 1, labels at the left and the
    /// annotation text at the right. Limits outside the axis end in an arrow; rows without a positive finite
    /// estimate keep their label and annotation but draw nothing.
    public static func forest(_ p: ForestPlot) -> String {
        typealias K = AnalyticsSVG
        let n = K.num, pid = K.safeID(p.id), width = 640.0
        let axis = forestAxis(p.rows)

        // Columns: labels (wrapped), the plot, annotations (right-aligned).
        let labelSize = 13.0
        let labelW = min(210, max(60, p.rows.map { K.estimatedWidth($0.label, size: labelSize) }.max() ?? 60,
                                  K.estimatedWidth(p.labelHeader, size: labelSize)))
        let annW = max(p.rows.map { K.estimatedWidth($0.annotation, size: labelSize) }.max() ?? 0,
                       K.estimatedWidth(p.annotationHeader, size: labelSize))
        let left = 8 + labelW + 16, right = width - 8 - annW - 18
        let lx = { (v: Double) in left + (log(v) - axis.lo) / (axis.hi - axis.lo) * (right - left) }

        let head = K.heading(p.title, width: width)
        var s = head.svg
        var y = head.bottom + 6
        if !p.labelHeader.isEmpty || !p.annotationHeader.isEmpty {
            y += 16
            s += K.text(p.labelHeader, x: 8, y: y, size: labelSize, weight: "bold", cls: "plot-forest-header")
            s += K.text(p.annotationHeader, x: width - 8, y: y, size: labelSize, anchor: "end", weight: "bold",
                        cls: "plot-forest-header")
            y += 8
        }
        let top = y
        let chars = max(8, Int(labelW / (labelSize * 0.6)))
        var rowsSVG = ""
        var centres: [Double] = []
        for (r, row) in p.rows.enumerated() {
            let lines = K.wrap(row.label, chars: chars)
            let h = max(30, Double(lines.count) * 16 + 12), cy = y + h / 2
            centres.append(cy)
            rowsSVG += "<g class=\"plot-forest-row\">"
            if r % 2 == 1 {
                rowsSVG += K.rect(x: 0, y: y, w: width, h: h, fill: "#f2f2f2", cls: "plot-zebra")
            }
            rowsSVG += K.tooltip("\(row.label): \(row.annotation)")
            for (k, l) in lines.enumerated() {
                let ly = cy + 4.5 + (Double(k) - Double(lines.count - 1) / 2) * 16
                rowsSVG += K.text(l, x: 8, y: ly, size: labelSize, cls: "plot-forest-label")
            }
            rowsSVG += K.text(row.annotation, x: width - 8, y: cy + 4.5, size: labelSize, anchor: "end",
                              cls: "plot-forest-annotation")
            y += h
            rowsSVG += "</g>"
        }
        let bottom = y + 4
        // Zebra rows first, then gridlines, reference line and estimates on top.
        s += rowsSVG
        s += "<g class=\"plot-axis plot-axis-x\">"
        // Where tick labels would collide, every other one is labelled (always including 1); all keep a gridline.
        let tickText = { (t: Double) in K.fixed(t, decimals: 3, minus: "\u{2212}", trim: true) }
        let spacing = axis.ticks.count > 1 ? (right - left) / Double(axis.ticks.count - 1) : right - left
        let widest = axis.ticks.map { K.estimatedWidth(tickText($0), size: 12) }.max() ?? 0
        let one = axis.ticks.firstIndex { abs($0 - 1) < 1e-9 } ?? 0
        for (k, t) in axis.ticks.enumerated() {
            s += K.line(x1: lx(t), y1: top, x2: lx(t), y2: bottom, stroke: K.gridColour, cls: "plot-grid")
            s += K.line(x1: lx(t), y1: bottom, x2: lx(t), y2: bottom + 5, stroke: K.muted)
            guard widest + 6 <= spacing || (k - one) % 2 == 0 else { continue }
            s += K.text(tickText(t), x: lx(t), y: bottom + 19, size: 12, anchor: "middle", fill: K.muted,
                        cls: "plot-tick")
        }
        s += K.line(x1: left, y1: bottom, x2: right, y2: bottom, stroke: K.muted, width: 1.5, cls: "plot-frame")
        s += K.text(p.xLabel, x: (left + right) / 2, y: bottom + 40, size: 13, anchor: "middle", cls: "plot-axis-title")
        s += "</g>"
        s += K.line(x1: lx(1), y1: top, x2: lx(1), y2: bottom, stroke: K.muted, width: 1.25, cls: "plot-ref")

        let lo = exp(axis.lo), hi = exp(axis.hi)
        let colour = K.colour(0)
        for (row, cy) in zip(p.rows, centres) {
            guard row.estimate.isFinite, row.estimate > 0 else { continue }
            let a = row.lower.isFinite && row.lower > 0 ? min(row.lower, row.estimate) : 0
            let b = row.upper.isFinite ? max(row.upper, row.estimate) : .infinity
            let x0 = lx(max(a, lo)), x1 = lx(min(b, hi))
            var d = "M\(n(x0)) \(n(cy))H\(n(x1))"
            if a < lo { d += "M\(n(x0 + 6)) \(n(cy - 4))L\(n(x0)) \(n(cy))L\(n(x0 + 6)) \(n(cy + 4))" }
            if b > hi { d += "M\(n(x1 - 6)) \(n(cy - 4))L\(n(x1)) \(n(cy))L\(n(x1 - 6)) \(n(cy + 4))" }
            s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(K.inkColour)\" stroke-width=\"1.75\" class=\"plot-ci\"/>"
            let e = min(max(row.estimate, lo), hi)
            s += K.rect(x: lx(e) - 5, y: cy - 5, w: 10, h: 10, fill: colour, stroke: K.inkColour, strokeWidth: 1,
                        cls: "plot-marker plot-estimate")
        }

        var parts: [String] = []
        if !p.description.isEmpty { parts.append(p.description.hasSuffix(".") ? p.description : p.description + ".") }
        parts.append("Forest plot, \(p.rows.count) \(p.rows.count == 1 ? "row" : "rows"), \(p.xLabel); reference line at 1.")
        for row in p.rows { parts.append("\(row.label): \(row.annotation).") }
        return K.root(id: pid, width: width, height: bottom + 54, title: p.title, desc: parts.joined(separator: " "),
                      kind: "plot-forest") + s + "</svg>"
    }

    /// The log axis (natural-log bounds) and its ticks: powers of 2 (0.25, 0.5, 1, 2, 4…) for ratios within
    /// 1/64…64, otherwise powers of 10. Always includes 1; clamped to 0.001…1000.
    static func forestAxis(_ rows: [ForestRow]) -> (lo: Double, hi: Double, ticks: [Double]) {
        let values = rows.flatMap { [$0.estimate, $0.lower, $0.upper] }.filter { $0.isFinite && $0 > 0 }
        let l2 = values.map { log2($0) }
        let minL = min(-1, (l2.min() ?? -1)), maxL = max(1, (l2.max() ?? 1))
        var lo = (minL - 1e-9).rounded(.down), hi = (maxL + 1e-9).rounded(.up)
        if hi - lo <= 6 {
            let ticks = stride(from: lo, through: hi, by: 1).map { pow(2, $0) }
            return (lo * log(2.0), hi * log(2.0), ticks)
        }
        lo = max(-3, (log10(pow(2, minL)) - 1e-9).rounded(.down))
        hi = min(3, (log10(pow(2, maxL)) + 1e-9).rounded(.up))
        let ticks = stride(from: lo, through: hi, by: 1).map { pow(10, $0) }
        return (lo * log(10.0), hi * log(10.0), ticks)
    }
}
