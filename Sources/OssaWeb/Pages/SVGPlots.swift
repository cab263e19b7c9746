import Foundation

// Server-side SVG for the pages: a joint schematic of bone-marrow-lesion grades and a line chart of questionnaire
// scores. Both return an inline `<svg>` string; the CSP forbids `style=`, so only presentation attributes are used.
// Sizing is left to CSS (viewBox only). Output is deterministic: subregions and series are walked in a fixed order
// and numbers go through `SVGKit.num`, never through a locale. Colour never carries meaning alone: every cell shows
// its value as text, and series differ by marker shape and dash pattern as well as colour.

/// A schematic knee (MOAKS, 15 subregions) or hip (9 subregions), one labelled cell per subregion shaded by grade.
enum JointDiagram {
    enum Mode: Sendable {
        /// MOAKS BML size grade 0–3 (0 lightest, 3 darkest).
        case grade
        /// Follow-up minus baseline, −3…+3, on a diverging palette (negative = improved).
        case change
    }

    static let kneeSubregions = [
        "patella-medial", "patella-lateral", "trochlea-medial", "trochlea-lateral",
        "femur-central-medial", "femur-central-lateral", "femur-posterior-medial", "femur-posterior-lateral",
        "tibia-anterior-medial", "tibia-central-medial", "tibia-posterior-medial",
        "tibia-anterior-lateral", "tibia-central-lateral", "tibia-posterior-lateral", "subspinous",
    ]
    static let hipSubregions = [
        "femoral-head-superior", "femoral-head-anterior", "femoral-head-posterior", "femoral-head-medial",
        "femoral-head-lateral", "femoral-head-central", "acetabulum-superior", "acetabulum-anterior",
        "acetabulum-posterior",
    ]

    /// A readable name: "Tibia, central medial", "Subspinous", "Femoral head, superior".
    static func subregionName(_ id: String) -> String {
        if id == "subspinous" { return "Subspinous" }
        let bones = [("femoral-head-", "Femoral head"), ("acetabulum-", "Acetabulum"), ("patella-", "Patella"),
                     ("trochlea-", "Trochlea"), ("femur-", "Femur"), ("tibia-", "Tibia")]
        for (prefix, bone) in bones where id.hasPrefix(prefix) {
            return bone + ", " + id.dropFirst(prefix.count).replacingOccurrences(of: "-", with: " ")
        }
        let words = id.replacingOccurrences(of: "-", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    static func svg(joint: String, side: String, values: [String: Int], mode: Mode, title: String, id: String) -> String {
        let isHip = joint.lowercased() == "hip"
        let isLeft = side.lowercased() == "left"
        let sideName = isLeft ? "Left" : side.lowercased() == "right" ? "Right" : ""
        let jointName = isHip ? "hip" : "knee"
        let ids = isHip ? hipSubregions : kneeSubregions
        let range = mode == .grade ? 0...3 : -3...3
        let value: (String) -> Int = { min(max(values[$0] ?? 0, range.lowerBound), range.upperBound) }
        let pid = SVGKit.safeID(id)
        let heading = sideName.isEmpty ? (isHip ? "Hip" : "Knee") : "\(sideName) \(jointName)"
        let caption = heading + (isHip ? " · schematic, as facing the patient" : " · front view, as facing the patient")

        var body = ""
        let height: Double
        if isHip {
            height = hip(&body, isLeft: isLeft, value: value, mode: mode)
        } else {
            height = knee(&body, isLeft: isLeft, value: value, mode: mode)
        }
        let legendHeight = legend(&body, y: height, mode: mode)
        let desc = summary(heading: heading, ids: ids, value: value, mode: mode)

        return SVGKit.root(id: pid, width: 360, height: height + legendHeight, title: title, desc: desc,
                           className: "joint-diagram")
            + SVGKit.text(caption, x: 180, y: 20, size: 13, anchor: "middle", fill: SVGKit.muted)
            + body + "</svg>"
    }

    // MARK: Knee

    /// Three blocks of two-column rows, plus the subspinous box between the tibial columns; returns the height used.
    private static func knee(_ out: inout String, isLeft: Bool, value: (String) -> Int, mode: Mode) -> Double {
        // Front view, as facing the patient: a right knee's medial side is on the viewer's right, a left knee's on the
        // viewer's left. The column headings spell it out so nobody has to remember the convention.
        let sides = isLeft ? ["medial", "lateral"] : ["lateral", "medial"]
        let colX: [Double] = [88, 240], cellW = 112.0, rowH = 38.0, gap = 4.0
        for (i, s) in sides.enumerated() {
            out += SVGKit.text(s.prefix(1).uppercased() + s.dropFirst(), x: colX[i] + cellW / 2, y: 46, size: 13,
                               anchor: "middle", weight: "bold")
        }
        let blocks: [(name: String, rows: [(label: String, prefix: String)])] = [
            ("Patellofemoral", [("Patella", "patella-"), ("Trochlea", "trochlea-")]),
            ("Femur", [("Central", "femur-central-"), ("Posterior", "femur-posterior-")]),
            ("Tibia", [("Anterior", "tibia-anterior-"), ("Central", "tibia-central-"), ("Posterior", "tibia-posterior-")]),
        ]
        var y = 58.0
        for block in blocks {
            out += SVGKit.text(block.name, x: 8, y: y + 13, size: 13, weight: "bold")
            y += 20
            for row in block.rows {
                out += SVGKit.text(row.label, x: 8, y: y + rowH / 2 + 4.5, size: 13)
                for (i, s) in sides.enumerated() {
                    let sid = row.prefix + s
                    out += cell(sid, x: colX[i], y: y, w: cellW, h: rowH, value: value(sid), mode: mode)
                }
                if row.prefix == "tibia-central-" {
                    // Subspinous: the small box between the tibial plateaus, under the spines.
                    out += cell("subspinous", x: colX[0] + cellW + 4, y: y - rowH / 2, w: colX[1] - colX[0] - cellW - 8,
                                h: rowH * 2, value: value("subspinous"), mode: mode, stacked: true)
                }
                y += rowH + gap
            }
            y += 10
        }
        return y
    }

    private static let abbreviations = [
        "patella-medial": "PM", "patella-lateral": "PL", "trochlea-medial": "TrM", "trochlea-lateral": "TrL",
        "femur-central-medial": "FCM", "femur-central-lateral": "FCL", "femur-posterior-medial": "FPM",
        "femur-posterior-lateral": "FPL", "tibia-anterior-medial": "TAM", "tibia-central-medial": "TCM",
        "tibia-posterior-medial": "TPM", "tibia-anterior-lateral": "TAL", "tibia-central-lateral": "TCL",
        "tibia-posterior-lateral": "TPL", "subspinous": "SS",
    ]

    /// One rectangular cell: `<title>` (tooltip with the full name), the shaded box, abbreviation and value.
    private static func cell(_ sid: String, x: Double, y: Double, w: Double, h: Double, value v: Int, mode: Mode,
                             stacked: Bool = false) -> String {
        let fill = colour(v, mode), ink = SVGKit.ink(on: fill), abbr = abbreviations[sid] ?? sid
        var s = "<g>" + tooltip(sid, v, mode)
        s += "<rect x=\"\(SVGKit.num(x))\" y=\"\(SVGKit.num(y))\" width=\"\(SVGKit.num(w))\" height=\"\(SVGKit.num(h))\""
            + " rx=\"3\" fill=\"\(fill)\" stroke=\"\(SVGKit.edge)\" stroke-width=\"1.5\"/>"
        if stacked {
            s += SVGKit.text(abbr, x: x + w / 2, y: y + h / 2 - 6, size: 12, anchor: "middle", fill: ink)
            s += SVGKit.text(label(v, mode), x: x + w / 2, y: y + h / 2 + 14, size: 16, anchor: "middle", weight: "bold", fill: ink)
        } else {
            s += SVGKit.text(abbr, x: x + 10, y: y + h / 2 + 4.5, size: 13, fill: ink)
            s += SVGKit.text(label(v, mode), x: x + w - 12, y: y + h / 2 + 5.5, size: 16, anchor: "end", weight: "bold", fill: ink)
        }
        return s + "</g>"
    }

    // MARK: Hip

    /// Femoral head as a centre disc and a ring of five sectors; the acetabulum as a three-cell arc above it.
    private static func hip(_ out: inout String, isLeft: Bool, value: (String) -> Int, mode: Mode) -> Double {
        let cx = 180.0, cy = 252.0, m = isLeft ? -1.0 : 1.0
        // Angles are degrees clockwise from straight up, for a right hip; `m` mirrors a left hip so that, as in the
        // knee, the lateral side is on the viewer's left for a right joint (front view).
        func point(_ a: Double, _ r: Double) -> (Double, Double) {
            (cx + m * r * sin(a * .pi / 180), cy - r * cos(a * .pi / 180))
        }
        func sector(_ sid: String, from a0: Double, to a1: Double, rIn: Double, rOut: Double, name: String,
                    rotate: Bool) -> String {
            let v = value(sid), fill = colour(v, mode), ink = SVGKit.ink(on: fill)
            let sweep = m > 0 ? 1 : 0, large = a1 - a0 > 180 ? 1 : 0
            let p0 = point(a0, rOut), p1 = point(a1, rOut), p2 = point(a1, rIn), p3 = point(a0, rIn)
            let n = SVGKit.num
            let d = "M\(n(p0.0)) \(n(p0.1))A\(n(rOut)) \(n(rOut)) 0 \(large) \(sweep) \(n(p1.0)) \(n(p1.1))"
                + "L\(n(p2.0)) \(n(p2.1))A\(n(rIn)) \(n(rIn)) 0 \(large) \(1 - sweep) \(n(p3.0)) \(n(p3.1))Z"
            let mid = (a0 + a1) / 2, c = point(mid, (rIn + rOut) / 2)
            // Acetabular cells tilt with the arc; head sectors stay level, which reads better in a small ring.
            let t = rotate ? " transform=\"rotate(\(n(m * mid)) \(n(c.0)) \(n(c.1)))\"" : ""
            return "<g>" + tooltip(sid, v, mode)
                + "<path d=\"\(d)\" fill=\"\(fill)\" stroke=\"\(SVGKit.edge)\" stroke-width=\"1.5\"/><g\(t)>"
                + SVGKit.text(name, x: c.0, y: c.1 - 3, size: 13, anchor: "middle", fill: ink)
                + SVGKit.text(label(v, mode), x: c.0, y: c.1 + 14, size: 15, anchor: "middle", weight: "bold", fill: ink)
                + "</g></g>"
        }
        out += SVGKit.text("Acetabulum", x: cx, y: 56, size: 13, anchor: "middle", weight: "bold")
        let acetabulum = [("acetabulum-posterior", "Posterior"), ("acetabulum-superior", "Superior"),
                          ("acetabulum-anterior", "Anterior")]
        for (i, (sid, name)) in acetabulum.enumerated() {
            let a0 = -66.0 + Double(i) * 44
            out += sector(sid, from: a0, to: a0 + 44, rIn: 124, rOut: 166, name: name, rotate: true)
        }
        // Ring order (clockwise from the top, right hip): superior, medial, anterior, posterior, lateral.
        let ring = [("femoral-head-superior", "Superior"), ("femoral-head-medial", "Medial"),
                    ("femoral-head-anterior", "Anterior"), ("femoral-head-posterior", "Posterior"),
                    ("femoral-head-lateral", "Lateral")]
        for (i, (sid, name)) in ring.enumerated() {
            let a0 = -36.0 + Double(i) * 72
            out += sector(sid, from: a0, to: a0 + 72, rIn: 46, rOut: 112, name: name, rotate: false)
        }
        let v = value("femoral-head-central"), fill = colour(v, mode), ink = SVGKit.ink(on: fill)
        out += "<g>" + tooltip("femoral-head-central", v, mode)
            + "<circle cx=\"\(SVGKit.num(cx))\" cy=\"\(SVGKit.num(cy))\" r=\"46\" fill=\"\(fill)\" stroke=\"\(SVGKit.edge)\" stroke-width=\"1.5\"/>"
            + SVGKit.text("Central", x: cx, y: cy - 3, size: 13, anchor: "middle", fill: ink)
            + SVGKit.text(label(v, mode), x: cx, y: cy + 14, size: 15, anchor: "middle", weight: "bold", fill: ink)
            + "</g>"
        out += SVGKit.text("Femoral head", x: cx, y: cy + 132, size: 13, anchor: "middle", weight: "bold")
        return cy + 150
    }

    // MARK: Shared

    private static func label(_ v: Int, _ mode: Mode) -> String {
        mode == .grade ? String(v) : v > 0 ? "+\(v)" : v < 0 ? "\u{2212}\(-v)" : "0"
    }

    private static func meaning(_ v: Int, _ mode: Mode) -> String {
        mode == .grade ? "grade \(v)" : "\(label(v, mode)) (\(v < 0 ? "improved" : v > 0 ? "worse" : "same"))"
    }

    private static func tooltip(_ sid: String, _ v: Int, _ mode: Mode) -> String {
        "<title>\(SVGKit.escape(subregionName(sid))): \(SVGKit.escape(meaning(v, mode)))</title>"
    }

    // Sequential (white→dark red) for grade, diverging blue–grey–red for change; the cell text colour is computed
    // from the fill, so all of these keep ≥ 4.5:1 text contrast.
    private static let gradeFills = ["#f7f7f7", "#fdcc8a", "#fc8d59", "#b30000"]
    private static let changeFills = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"]

    private static func colour(_ v: Int, _ mode: Mode) -> String {
        mode == .grade ? gradeFills[min(max(v, 0), 3)] : changeFills[min(max(v, -3), 3) + 3]
    }

    private static func legend(_ out: inout String, y: Double, mode: Mode) -> Double {
        let swatch = { (v: Int, x: Double, w: Double) -> String in
            let fill = colour(v, mode)
            return "<rect x=\"\(SVGKit.num(x))\" y=\"\(SVGKit.num(y + 22))\" width=\"\(SVGKit.num(w))\" height=\"26\" rx=\"3\""
                + " fill=\"\(fill)\" stroke=\"\(SVGKit.edge)\" stroke-width=\"1.5\"/>"
                + SVGKit.text(label(v, mode), x: x + w / 2, y: y + 40, size: 14, anchor: "middle", weight: "bold",
                              fill: SVGKit.ink(on: fill))
        }
        switch mode {
        case .grade:
            out += SVGKit.text("Lesion size grade (share of subregion volume)", x: 8, y: y + 12, size: 13, weight: "bold")
            var x = 8.0
            for (v, text) in ["none", "<10%", "10\u{2013}33%", ">33%"].enumerated() {
                out += swatch(v, x, 28) + SVGKit.text(text, x: x + 34, y: y + 40, size: 13)
                x += 34 + SVGKit.estimatedWidth(text, size: 13) + 20
            }
            return 60
        case .change:
            out += SVGKit.text("Change in lesion grade since baseline", x: 8, y: y + 12, size: 13, weight: "bold")
            for v in -3...3 { out += swatch(v, 8 + Double(v + 3) * 49, 45) }
            out += SVGKit.text("\u{2190} improved", x: 8, y: y + 66, size: 13)
            out += SVGKit.text("same", x: 8 + 3 * 49 + 22.5, y: y + 66, size: 13, anchor: "middle")
            out += SVGKit.text("worse \u{2192}", x: 8 + 6 * 49 + 45, y: y + 66, size: 13, anchor: "end")
            return 80
        }
    }

    /// The `<desc>`: a one-line summary, then every non-zero subregion, for screen-reader users.
    private static func summary(heading: String, ids: [String], value: (String) -> Int, mode: Mode) -> String {
        let nonZero = ids.map { ($0, value($0)) }.filter { $0.1 != 0 }
        // "tibia central medial" rather than "Tibia, central medial": the lists below are already comma-separated.
        let spoken = { (sid: String) in subregionName(sid).replacingOccurrences(of: ",", with: "").lowercased() }
        let names = { (list: [(String, Int)]) in SVGKit.join(list.map { spoken($0.0) }) }
        switch mode {
        case .grade:
            guard let top = nonZero.map(\.1).max() else {
                return "\(heading), no bone marrow lesions in any of \(ids.count) subregions."
            }
            var s = "\(heading), \(nonZero.count) of \(ids.count) subregions with lesions; highest grade \(top): "
                + names(nonZero.filter { $0.1 == top }) + "."
            let others = (1..<top).reversed().compactMap { g -> String? in
                let list = nonZero.filter { $0.1 == g }
                return list.isEmpty ? nil : "grade \(g): " + names(list)
            }
            if !others.isEmpty { s += " Also " + others.joined(separator: "; ") + "." }
            return s
        case .change:
            let worse = nonZero.filter { $0.1 > 0 }, better = nonZero.filter { $0.1 < 0 }
            var s = "\(heading), change in lesion grade since baseline: \(worse.count) of \(ids.count) subregions worse, "
                + "\(better.count) improved, \(ids.count - nonZero.count) unchanged"
            // Every changed subregion, largest change first, so the list says everything the picture does.
            let list = { (l: [(String, Int)]) in SVGKit.join(l.map { "\(spoken($0.0)) \(label($0.1, mode))" }) }
            if !worse.isEmpty { s += "; worse: " + list(worse.sorted { $0.1 > $1.1 }) }
            if !better.isEmpty { s += "; improved: " + list(better.sorted { $0.1 < $1.1 }) }
            return s + "."
        }
    }
}

/// A line chart of questionnaire scores over follow-up, one line per series.
enum TrajectoryPlot {
    struct Series: Sendable {
        var label: String
        var points: [(x: Double, y: Double)]

        init(label: String, points: [(x: Double, y: Double)]) {
            self.label = label
            self.points = points
        }
    }

    // Okabe–Ito-derived hues, darkened where needed for ≥ 3:1 against white; each series also gets its own marker
    // and dash pattern so the lines stay distinguishable in greyscale or with colour-vision deficiency.
    private static let colours = ["#0072b2", "#c85200", "#007a5a", "#a2367e", "#1a1a1a", "#7a5c00"]
    private static let dashes = ["", "8 4", "2 3", "10 3 2 3", "16 5", "10 3 2 3 2 3"]

    static func svg(title: String, id: String, xLabel: String, yLabel: String, yRange: ClosedRange<Double>,
                    series: [Series], referenceLines: [(label: String, y: Double)] = []) -> String {
        let pid = SVGKit.safeID(id), n = SVGKit.num
        let data = series.map { s in
            s.points.filter { $0.x.isFinite && $0.y.isFinite }.sorted { $0.x < $1.x }
        }
        let xs = data.flatMap { $0.map(\.x) }
        let x = SVGKit.ticks(lo: min(0, xs.min() ?? 0), hi: max(1, xs.max() ?? 1), extend: true)
        let yLo = yRange.lowerBound, yHi = yRange.upperBound > yLo ? yRange.upperBound : yLo + 1
        let y = SVGKit.ticks(lo: yLo, hi: yHi, extend: false)

        // Narrow viewBox so the text stays ≥ 11 CSS px on a 360 px phone; the title wraps rather than overflows.
        let width = 400.0, left = 62.0, right = width - 18
        let titleLines = SVGKit.wrap(title, chars: 40)
        let top = 30 + Double(titleLines.count) * 20, plotH = 200.0, bottom = top + plotH
        let px = { (v: Double) in left + (v - x.lo) / (x.hi - x.lo) * (right - left) }
        let py = { (v: Double) in bottom - (min(max(v, yLo), yHi) - yLo) / (yHi - yLo) * plotH }

        var s = ""
        for (i, line) in titleLines.enumerated() {
            s += SVGKit.text(line, x: 8, y: 24 + Double(i) * 20, size: 16, weight: "bold")
        }
        // Gridlines and ticks.
        for t in y.values {
            s += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(right))\" y2=\"\(n(py(t)))\" stroke=\"#e0e0e0\"/>"
            s += SVGKit.text(SVGKit.label(t), x: left - 7, y: py(t) + 5, size: 14, anchor: "end", fill: SVGKit.muted)
        }
        for t in x.values {
            s += "<line x1=\"\(n(px(t)))\" y1=\"\(n(top))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom))\" stroke=\"#e0e0e0\"/>"
            s += "<line x1=\"\(n(px(t)))\" y1=\"\(n(bottom))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom + 5))\" stroke=\"\(SVGKit.muted)\"/>"
            s += SVGKit.text(SVGKit.label(t), x: px(t), y: bottom + 20, size: 14, anchor: "middle", fill: SVGKit.muted)
        }
        s += "<path d=\"M\(n(left)) \(n(top))V\(n(bottom))H\(n(right))\" fill=\"none\" stroke=\"\(SVGKit.muted)\" stroke-width=\"1.5\"/>"
        s += SVGKit.text(xLabel, x: (left + right) / 2, y: bottom + 42, size: 14, anchor: "middle")
        let midY = n((top + bottom) / 2)
        s += "<text x=\"16\" y=\"\(midY)\" transform=\"rotate(-90 16 \(midY))\" font-size=\"14\" text-anchor=\"middle\""
            + " fill=\"\(SVGKit.inkColour)\">\(SVGKit.escape(yLabel))</text>"

        // Reference lines sit under the data; their labels get a white halo so gridlines don't cut through them.
        for ref in referenceLines where ref.y.isFinite && yRange.contains(ref.y) {
            let ry = py(ref.y), ly = ry - 6 < top + 12 ? ry + 16 : ry - 6
            s += "<line x1=\"\(n(left))\" y1=\"\(n(ry))\" x2=\"\(n(right))\" y2=\"\(n(ry))\" stroke=\"#4a4a4a\" stroke-width=\"1.25\" stroke-dasharray=\"5 4\"/>"
            s += SVGKit.text("\(ref.label) (\(SVGKit.label(ref.y)))", x: right - 4, y: ly, size: 13, anchor: "end",
                             fill: SVGKit.muted, halo: true)
        }

        for (i, pts) in data.enumerated() {
            let colour = colours[i % colours.count], dash = dashes[i % dashes.count]
            if pts.count > 1 {
                let coords = pts.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
                s += "<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.5\""
                    + " stroke-linejoin=\"round\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>"
            }
            for p in pts {
                let tip = "\(series[i].label) \u{2014} \(xLabel): \(SVGKit.label(p.x)), \(yLabel): \(SVGKit.label(p.y))"
                s += marker(i, x: px(p.x), y: py(p.y), colour: colour, title: tip)
            }
        }
        if xs.isEmpty {
            s += SVGKit.text("No data yet", x: (left + right) / 2, y: (top + bottom) / 2 + 5, size: 14,
                             anchor: "middle", fill: SVGKit.muted)
        }

        // Legend under the plot, wrapping into rows; widths are estimated from character counts (no font metrics).
        var lx = 8.0, ly = bottom + 70
        for (i, item) in series.enumerated() {
            let w = 46 + SVGKit.estimatedWidth(item.label, size: 14) + 18
            if lx > 8, lx + w > width - 8 { lx = 8; ly += 26 }
            let colour = colours[i % colours.count], dash = dashes[i % dashes.count]
            s += "<line x1=\"\(n(lx))\" y1=\"\(n(ly - 4.5))\" x2=\"\(n(lx + 38))\" y2=\"\(n(ly - 4.5))\" stroke=\"\(colour)\""
                + " stroke-width=\"2.5\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>"
            s += marker(i, x: lx + 19, y: ly - 4.5, colour: colour, title: nil)
            s += SVGKit.text(item.label, x: lx + 46, y: ly, size: 14)
            lx += w
        }
        let height = series.isEmpty ? bottom + 50 : ly + 14

        return SVGKit.root(id: pid, width: width, height: height, title: title,
                           desc: summary(xLabel: xLabel, yLabel: yLabel, series: series, data: data, refs: referenceLines),
                           className: "trajectory-plot") + s + "</svg>"
    }

    /// Marker shapes cycle circle, square, triangle, diamond, inverted triangle, cross.
    private static func marker(_ i: Int, x: Double, y: Double, colour: String, title: String?) -> String {
        let n = SVGKit.num, t = title.map { "<title>\(SVGKit.escape($0))</title>" } ?? ""
        let paint = " fill=\"\(colour)\" stroke=\"#fff\" stroke-width=\"1.2\""
        let d: String
        switch i % 6 {
        case 0: return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"4.5\"\(paint)>\(t)</circle>"
        case 1: d = "M\(n(x - 4.2)) \(n(y - 4.2))h8.4v8.4h-8.4Z"
        case 2: d = "M\(n(x)) \(n(y - 5.5))L\(n(x + 5.2)) \(n(y + 3.8))H\(n(x - 5.2))Z"
        case 3: d = "M\(n(x)) \(n(y - 5.8))L\(n(x + 5.8)) \(n(y))L\(n(x)) \(n(y + 5.8))L\(n(x - 5.8)) \(n(y))Z"
        case 4: d = "M\(n(x)) \(n(y + 5.5))L\(n(x + 5.2)) \(n(y - 3.8))H\(n(x - 5.2))Z"
        default:
            return "<path d=\"M\(n(x - 4)) \(n(y - 4))L\(n(x + 4)) \(n(y + 4))M\(n(x + 4)) \(n(y - 4))L\(n(x - 4)) \(n(y + 4))\""
                + " stroke=\"\(colour)\" stroke-width=\"2.5\" stroke-linecap=\"round\">\(t)</path>"
        }
        return "<path d=\"\(d)\"\(paint)>\(t)</path>"
    }

    private static func summary(xLabel: String, yLabel: String, series: [Series], data: [[(x: Double, y: Double)]],
                                refs: [(label: String, y: Double)]) -> String {
        var parts = ["Line chart of \(yLabel) against \(xLabel)."]
        if series.isEmpty { parts.append("No data.") }
        for (s, pts) in zip(series, data) {
            let at = { (p: (x: Double, y: Double)) in "\(SVGKit.label(p.y)) at \(SVGKit.label(p.x))" }
            switch pts.count {
            case 0: parts.append("\(s.label): no data.")
            case 1: parts.append("\(s.label): \(at(pts[0])).")
            default: parts.append("\(s.label): from \(at(pts[0])) to \(at(pts[pts.count - 1])), \(pts.count) points.")
            }
        }
        for r in refs where r.y.isFinite { parts.append("Reference line \(r.label) at \(SVGKit.label(r.y)).") }
        return parts.joined(separator: " ")
    }
}

/// Shared SVG helpers (file-private so they don't leak into the module's namespace).
private enum SVGKit {
    static let inkColour = "#1a1a1a"
    static let muted = "#4a4a4a"
    /// Cell outlines: ≥ 3:1 against white so even grade-0 cells have a visible edge (WCAG 1.4.11).
    static let edge = "#5c5c5c"

    static func root(id: String, width: Double, height: Double, title: String, desc: String, className: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(num(width)) \(num(height))\" role=\"img\""
            + " aria-labelledby=\"\(id)-title \(id)-desc\" class=\"\(className)\""
            + " font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\">"
            + "<title id=\"\(id)-title\">\(escape(title))</title><desc id=\"\(id)-desc\">\(escape(desc))</desc>"
    }

    static func text(_ s: String, x: Double, y: Double, size: Double, anchor: String = "start", weight: String = "",
                     fill: String = inkColour, halo: Bool = false) -> String {
        "<text x=\"\(num(x))\" y=\"\(num(y))\" font-size=\"\(num(size))\""
            + (anchor == "start" ? "" : " text-anchor=\"\(anchor)\"")
            + (weight.isEmpty ? "" : " font-weight=\"\(weight)\"")
            + (halo ? " stroke=\"#fff\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\"" : "")
            + " fill=\"\(fill)\">\(escape(s))</text>"
    }

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

    /// An id safe inside `id=` and the space-separated `aria-labelledby` (anything else becomes "-").
    static func safeID(_ s: String) -> String {
        let cleaned = String(s.unicodeScalars.map { u -> Character in
            (u.isASCII && (CharacterSet.alphanumerics.contains(u) || u == "-" || u == "_")) ? Character(u) : "-"
        })
        return cleaned.first?.isLetter == true ? cleaned : "svg-" + cleaned
    }

    /// Coordinates: at most one decimal, "-0" normalised; integer arithmetic, so no locale can change it.
    static func num(_ v: Double) -> String { fixed(v, decimals: 1, minus: "-") }

    /// Values shown to people: up to two decimals and a typographic minus.
    static func label(_ v: Double) -> String { fixed(v, decimals: 2, minus: "\u{2212}") }

    private static func fixed(_ v: Double, decimals: Int, minus: String) -> String {
        guard v.isFinite else { return "0" }
        let scale = decimals == 1 ? 10.0 : 100.0
        let scaled = (abs(v) * scale).rounded()
        guard scaled < 9e15 else { return (v < 0 ? minus : "") + String(format: "%.0f", abs(v)) }
        let i = Int(scaled), whole = i / Int(scale), frac = i % Int(scale)
        var s = String(whole)
        if frac != 0 {
            var f = String(frac)
            while f.count < decimals { f = "0" + f }
            while f.hasSuffix("0") { f.removeLast() }
            s += "." + f
        }
        return (v < 0 && i != 0 ? minus : "") + s
    }

    /// Tick values with a "nice" step (1, 2, 5, and for whole steps 3 and 6, × 10ⁿ — months come out as 0, 6, 12, 18,
    /// 24). With `extend` the axis grows to whole steps; otherwise ticks stay inside [lo, hi].
    static func ticks(lo: Double, hi: Double, extend: Bool) -> (lo: Double, hi: Double, values: [Double]) {
        let span = hi - lo
        var best: (score: Double, step: Double)?
        let e0 = Int((log10(span / 8)).rounded(.down))
        for e in e0...(e0 + 1) {
            let p = pow(10, Double(e))
            for m in (e >= 0 ? [1.0, 2, 3, 5, 6] : [1.0, 2, 5]) {
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

    /// Black or white, whichever contrasts more with a `#rrggbb` fill (WCAG relative luminance).
    static func ink(on hex: String) -> String {
        let l = luminance(hex)
        return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? inkColour : "#ffffff"
    }

    private static func luminance(_ hex: String) -> Double {
        let v = Int(hex.dropFirst(), radix: 16) ?? 0
        let c = [v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff].map { x -> Double in
            let s = Double(x) / 255
            return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    }

    static func estimatedWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.6 }

    /// Greedy word wrap by character count (fine for a title; no font metrics server-side).
    static func wrap(_ s: String, chars: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in s.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > chars { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// "a", "a and b", "a, b and c".
    static func join(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }
}
