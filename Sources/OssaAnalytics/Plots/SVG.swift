import Foundation

// Registry analytics plots as inline SVG strings, built on the server (Foundation only, no JavaScript).
//
// Conventions, shared with OssaWeb's SVGPlots.swift (copied here: this module cannot import OssaWeb):
// - no `style=` attribute anywhere (the Content-Security-Policy forbids inline styles): colours are SVG
//   presentation attributes, so a plot renders the same when saved on its own; every element also carries a class
//   (`plot-curve series-0`, `plot-band`, `heat-minus-2`…) that the "Analytics plots" block of ossa.css hooks for
//   layout and print;
// - `role="img"` with `<title>` and `<desc>` (ids derived from the plot id) named by `aria-labelledby`;
// - responsive: a `viewBox`, `width="100%"`, height from the aspect ratio;
// - colour never carries meaning alone: series also differ by dash pattern, marker shape or bar hatching, and the
//   heat map prints every value as text;
// - deterministic: inputs are walked in the given order (dictionaries through a fixed key list) and numbers are
//   formatted by integer arithmetic, never through a locale, so snapshot tests stay stable.

/// The analytics plots. Each function returns one self-contained `<svg>` element.
public enum AnalyticsPlot {
    /// How values print on an axis and on bars: proportions 0…1 as percentages, or plain numbers.
    public enum ValueFormat: Sendable, Equatable, Hashable {
        /// 0.456 → "46%" on bars, "45.6%" in descriptions; axis ticks as whole percentages where possible.
        case percent
        /// Plain numbers: up to two decimals on axes; on bars one decimal unless every value is whole.
        case number
    }

    /// One labelled position on an axis ("Baseline" at 0, "6 mo" at 6).
    public struct Tick: Sendable, Equatable, Hashable {
        public var value: Double
        public var label: String

        public init(value: Double, label: String) {
            self.value = value
            self.label = label
        }
    }
}

/// Shared drawing helpers for the analytics plots (internal to the module).
enum AnalyticsSVG {
    static let inkColour = "#1a1a1a"
    static let muted = "#4a4a4a"
    static let gridColour = "#e0e0e0"
    /// Outlines: ≥ 3:1 against white (WCAG 1.4.11).
    static let edge = "#5c5c5c"

    // Okabe–Ito-derived hues (the same as the patient pages' trajectory plot), darkened where needed for ≥ 3:1
    // against white; safe for the common colour-vision deficiencies and always paired with a dash pattern / marker.
    static let colours = ["#0072b2", "#c85200", "#007a5a", "#a2367e", "#1a1a1a", "#7a5c00"]
    static let dashes = ["", "8 4", "2 3", "10 3 2 3", "16 5", "10 3 2 3 2 3"]

    static func colour(_ i: Int) -> String { colours[((i % colours.count) + colours.count) % colours.count] }

    /// ` stroke-dasharray="…"` for series `i`, or "" for the solid first series.
    static func dashAttribute(_ i: Int) -> String {
        let d = dashes[((i % dashes.count) + dashes.count) % dashes.count]
        return d.isEmpty ? "" : " stroke-dasharray=\"\(d)\""
    }

    static func seriesClass(_ i: Int) -> String { "series-\(((i % colours.count) + colours.count) % colours.count)" }

    // MARK: Document

    static func root(id: String, width: Double, height: Double, title: String, desc: String, kind: String,
                     defs: String = "") -> String {
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(num(width)) \(num(height))\" width=\"100%\""
        s += " role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\" class=\"analytics-plot \(kind)\""
        s += " font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\">"
        s += "<title id=\"\(id)-title\">\(escape(title))</title><desc id=\"\(id)-desc\">\(escape(desc))</desc>"
        if !defs.isEmpty { s += "<defs>\(defs)</defs>" }
        return s
    }

    /// The visible title, wrapped; returns the markup and the y just below it.
    static func heading(_ title: String, width: Double) -> (svg: String, bottom: Double) {
        let lines = wrap(title, chars: max(20, Int((width - 16) / (16 * 0.6))))
        var s = ""
        for (i, line) in lines.enumerated() {
            s += text(line, x: 8, y: 22 + Double(i) * 20, size: 16, weight: "bold", cls: "plot-title")
        }
        return (s, 22 + Double(lines.count - 1) * 20 + 8)
    }

    static func text(_ s: String, x: Double, y: Double, size: Double, anchor: String = "start", weight: String = "",
                     fill: String = inkColour, halo: Bool = false, cls: String = "") -> String {
        var out = "<text x=\"\(num(x))\" y=\"\(num(y))\" font-size=\"\(num(size))\""
        if anchor != "start" { out += " text-anchor=\"\(anchor)\"" }
        if !weight.isEmpty { out += " font-weight=\"\(weight)\"" }
        if halo { out += " stroke=\"#ffffff\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\"" }
        if !cls.isEmpty { out += " class=\"\(cls)\"" }
        return out + " fill=\"\(fill)\">\(escape(s))</text>"
    }

    static func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                     dash: String = "", cls: String = "") -> String {
        var s = "<line x1=\"\(num(x1))\" y1=\"\(num(y1))\" x2=\"\(num(x2))\" y2=\"\(num(y2))\" stroke=\"\(stroke)\""
        if width != 1 { s += " stroke-width=\"\(num(width))\"" }
        if !dash.isEmpty { s += " stroke-dasharray=\"\(dash)\"" }
        if !cls.isEmpty { s += " class=\"\(cls)\"" }
        return s + "/>"
    }

    static func rect(x: Double, y: Double, w: Double, h: Double, fill: String, stroke: String = "",
                     strokeWidth: Double = 1, cls: String = "", extra: String = "") -> String {
        var s = "<rect x=\"\(num(x))\" y=\"\(num(y))\" width=\"\(num(max(0, w)))\" height=\"\(num(max(0, h)))\""
        s += " fill=\"\(fill)\""
        if !stroke.isEmpty { s += " stroke=\"\(stroke)\" stroke-width=\"\(num(strokeWidth))\"" }
        if !cls.isEmpty { s += " class=\"\(cls)\"" }
        return s + extra + "/>"
    }

    /// `<title>` child used as a tooltip.
    static func tooltip(_ s: String) -> String { "<title>\(escape(s))</title>" }

    /// XML-escapes text and attribute values, dropping characters XML 1.0 forbids.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value >= 0x20, u.value != 0xFFFE, u.value != 0xFFFF { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    /// An id safe inside `id=`, `url(#…)` and the space-separated `aria-labelledby` (anything else becomes "-").
    static func safeID(_ s: String) -> String {
        let cleaned = String(s.unicodeScalars.map { u -> Character in
            (u.isASCII && (CharacterSet.alphanumerics.contains(u) || u == "-" || u == "_")) ? Character(u) : "-"
        })
        return cleaned.first?.isLetter == true ? cleaned : "plot-" + cleaned
    }

    // MARK: Numbers

    /// Coordinates: at most one decimal, "-0" normalised; integer arithmetic, so no locale can change it.
    static func num(_ v: Double) -> String { fixed(v, decimals: 1, minus: "-", trim: true) }

    /// Values shown to people: up to two decimals, trailing zeros dropped, typographic minus.
    static func label(_ v: Double) -> String { fixed(v, decimals: 2, minus: "\u{2212}", trim: true) }

    /// Exactly `decimals` decimals with a typographic minus ("−0.8", "0.50").
    static func fixedLabel(_ v: Double, decimals: Int) -> String {
        fixed(v, decimals: decimals, minus: "\u{2212}", trim: false)
    }

    static func fixed(_ v: Double, decimals: Int, minus: String, trim: Bool) -> String {
        guard v.isFinite else { return "0" }
        let d = min(max(decimals, 0), 6)
        var scale = 1
        for _ in 0..<d { scale *= 10 }
        let scaled = (abs(v) * Double(scale)).rounded()
        guard scaled < 9e15 else { return (v < 0 ? minus : "") + String(Int(abs(v).rounded())) }
        let i = Int(scaled), whole = i / scale, frac = i % scale
        var s = String(whole)
        if d > 0 {
            var f = String(frac)
            while f.count < d { f = "0" + f }
            if trim { while f.hasSuffix("0") { f.removeLast() } }
            if !f.isEmpty { s += "." + f }
        }
        return (v < 0 && i != 0 ? minus : "") + s
    }

    /// An axis tick value: percentages for `.percent` (0.25 → "25%"), otherwise `label`.
    static func axisLabel(_ v: Double, _ format: AnalyticsPlot.ValueFormat) -> String {
        switch format {
        case .percent: return fixed(v * 100, decimals: 1, minus: "\u{2212}", trim: true) + "%"
        case .number: return label(v)
        }
    }

    /// A value in running text (descriptions, tooltips): "45.6%" or "0.82".
    static func valueLabel(_ v: Double, _ format: AnalyticsPlot.ValueFormat) -> String {
        axisLabel(v, format)
    }

    /// Tick values with a "nice" step (1, 2, 5, and for whole steps 3 and 6, × 10ⁿ). With `extend` the axis grows
    /// to whole steps; otherwise ticks stay inside [lo, hi].
    static func ticks(lo: Double, hi: Double, extend: Bool) -> (lo: Double, hi: Double, values: [Double]) {
        let span = hi - lo
        guard span > 0, span.isFinite else { return (lo, lo + 1, [lo, lo + 1]) }
        var best: (score: Double, step: Double)?
        let e0 = Int((log10(span / 8)).rounded(.down))
        for e in e0...(e0 + 1) {
            let p = pow(10, Double(e))
            for m in (e >= 0 ? [1.0, 2, 3, 5, 6] : [1.0, 2, 2.5, 5]) {
                let step = m * p, a = (lo / step).rounded(.down) * step, b = (hi / step).rounded(.up) * step
                let count = ((b - a) / step).rounded()
                guard count >= 2, count <= 8 else { continue }
                // Least padding first, then closest to five intervals.
                let score = (b - a - span) / span + abs(count - 5) * 0.01
                if best == nil || score < best!.score - 1e-9 { best = (score, step) }
            }
        }
        let step = best?.step ?? span / 4
        let a = extend ? (lo / step).rounded(.down) * step : lo, b = extend ? (hi / step).rounded(.up) * step : hi
        var values: [Double] = []
        var k = (a / step - 1e-9).rounded(.up)
        while k * step <= b + step * 1e-9 {
            values.append((k * step * 1e6).rounded() / 1e6)
            k += 1
        }
        return (a, b, values)
    }

    /// A usable (lo, hi) from a range: hi > lo, both finite.
    static func bounds(_ r: ClosedRange<Double>) -> (lo: Double, hi: Double) {
        let lo = r.lowerBound.isFinite ? r.lowerBound : 0
        let hi = r.upperBound.isFinite && r.upperBound > lo ? r.upperBound : lo + 1
        return (lo, hi)
    }

    // MARK: Colour

    /// Black or white, whichever contrasts more with a `#rrggbb` fill (WCAG relative luminance).
    static func ink(on hex: String) -> String {
        let l = luminance(hex)
        return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? inkColour : "#ffffff"
    }

    static func luminance(_ hex: String) -> Double {
        let v = Int(hex.dropFirst(), radix: 16) ?? 0
        let c = [v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff].map { x -> Double in
            let s = Double(x) / 255
            return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    }

    // MARK: Text layout (no font metrics on the server: widths are estimated from character counts)

    static func estimatedWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.6 }

    /// Greedy word wrap by character count.
    static func wrap(_ s: String, chars: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in s.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > chars { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// At most `chars` characters, with "…" when cut.
    static func truncate(_ s: String, chars: Int) -> String {
        s.count <= chars ? s : String(s.prefix(max(1, chars - 1))) + "\u{2026}"
    }

    /// "a", "a and b", "a, b and c".
    static func join(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }

    // MARK: Shared pieces

    /// Marker shapes cycle circle, square, triangle, diamond, inverted triangle, cross.
    static func marker(_ i: Int, x: Double, y: Double, colour: String, title: String?, cls: String = "plot-marker")
        -> String {
        let n = num, t = title.map(tooltip) ?? ""
        let paint = " fill=\"\(colour)\" stroke=\"#ffffff\" stroke-width=\"1.2\" class=\"\(cls) \(seriesClass(i))\""
        let d: String
        switch ((i % 6) + 6) % 6 {
        case 0: return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"4.5\"\(paint)>\(t)</circle>"
        case 1: d = "M\(n(x - 4.2)) \(n(y - 4.2))h8.4v8.4h-8.4Z"
        case 2: d = "M\(n(x)) \(n(y - 5.5))L\(n(x + 5.2)) \(n(y + 3.8))H\(n(x - 5.2))Z"
        case 3: d = "M\(n(x)) \(n(y - 5.8))L\(n(x + 5.8)) \(n(y))L\(n(x)) \(n(y + 5.8))L\(n(x - 5.8)) \(n(y))Z"
        case 4: d = "M\(n(x)) \(n(y + 5.5))L\(n(x + 5.2)) \(n(y - 3.8))H\(n(x - 5.2))Z"
        default:
            return "<path d=\"M\(n(x - 4)) \(n(y - 4))L\(n(x + 4)) \(n(y + 4))M\(n(x + 4)) \(n(y - 4))L\(n(x - 4)) \(n(y + 4))\""
                + " fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.5\" stroke-linecap=\"round\""
                + " class=\"\(cls) \(seriesClass(i))\">\(t)</path>"
        }
        return "<path d=\"\(d)\"\(paint)>\(t)</path>"
    }

    /// A legend entry: a symbol drawn in a box `symbolWidth` wide whose vertical centre is `cy`, then the label.
    struct LegendItem {
        var label: String
        var symbolWidth: Double
        var symbol: (_ x: Double, _ cy: Double) -> String
    }

    /// Legend entries in rows that wrap within `width`; returns the markup and the y below the last row.
    static func legend(_ items: [LegendItem], top: Double, width: Double, size: Double = 13) -> (svg: String, bottom: Double) {
        guard !items.isEmpty else { return ("", top) }
        var s = "<g class=\"plot-legend\">", x = 8.0, baseline = top + size
        for item in items {
            let w = item.symbolWidth + 6 + estimatedWidth(item.label, size: size) + 18
            if x > 8, x + w > width - 8 { x = 8; baseline += size + 9 }
            s += item.symbol(x, baseline - size * 0.35)
            s += text(item.label, x: x + item.symbolWidth + 6, y: baseline, size: size)
            x += w
        }
        return (s + "</g>", baseline + 6)
    }

    /// A line sample for a legend: the series colour and dash, optionally with its marker.
    static func lineSample(_ i: Int, width: Double = 2.5, withMarker: Bool) -> LegendItem.Symbol {
        { x, cy in
            var s = line(x1: x, y1: cy, x2: x + 34, y2: cy, stroke: colour(i), width: width,
                         dash: dashes[((i % dashes.count) + dashes.count) % dashes.count])
            if withMarker { s += marker(i, x: x + 17, y: cy, colour: colour(i), title: nil, cls: "plot-legend-marker") }
            return s
        }
    }

    /// Horizontal gridlines with their tick labels, and the rotated y-axis title left of them.
    static func yAxis(ticks: [Double], py: (Double) -> Double, left: Double, right: Double, top: Double,
                      bottom: Double, format: AnalyticsPlot.ValueFormat, title: String) -> String {
        var s = "<g class=\"plot-axis plot-axis-y\">"
        for t in ticks {
            s += line(x1: left, y1: py(t), x2: right, y2: py(t), stroke: gridColour, cls: "plot-grid")
            s += text(axisLabel(t, format), x: left - 7, y: py(t) + 4.5, size: 13, anchor: "end", fill: muted,
                      cls: "plot-tick")
        }
        // The rotated title sits just left of the tick labels, however wide the margin is.
        let midY = num((top + bottom) / 2)
        let tx = num(max(15, left - 7 - yTickWidth(ticks, format: format) - 10))
        s += "<text x=\"\(tx)\" y=\"\(midY)\" transform=\"rotate(-90 \(tx) \(midY))\" font-size=\"13\" text-anchor=\"middle\""
            + " class=\"plot-axis-title\" fill=\"\(inkColour)\">\(escape(title))</text>"
        return s + "</g>"
    }

    /// The width the y tick labels need.
    static func yTickWidth(_ ticks: [Double], format: AnalyticsPlot.ValueFormat) -> Double {
        ticks.map { estimatedWidth(axisLabel($0, format), size: 13) }.max() ?? 0
    }

    /// The L-shaped frame (y axis and x axis).
    static func frame(left: Double, right: Double, top: Double, bottom: Double) -> String {
        "<path d=\"M\(num(left)) \(num(top))V\(num(bottom))H\(num(right))\" fill=\"none\" stroke=\"\(muted)\""
            + " stroke-width=\"1.5\" class=\"plot-frame\"/>"
    }
}

extension AnalyticsSVG.LegendItem {
    typealias Symbol = (_ x: Double, _ cy: Double) -> String
}
