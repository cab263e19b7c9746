import Foundation
import OssaCore

extension AnalyticsPlot {
    /// The change in BML size grade in one subregion, over the knees (or hips) with a baseline and follow-up MRI.
    public struct SubregionCell: Sendable, Equatable, Hashable {
        /// Mean of follow-up minus baseline size grade (negative = improvement); `nil` when not estimable.
        public var meanChange: Double?
        /// Joints contributing.
        public var n: Int
        /// Shares (0…1) of joints whose grade fell, stayed, rose.
        public var improved: Double?
        public var unchanged: Double?
        public var worse: Double?

        public init(meanChange: Double?, n: Int, improved: Double? = nil, unchanged: Double? = nil,
                    worse: Double? = nil) {
            self.meanChange = meanChange
            self.n = n
            self.improved = improved
            self.unchanged = unchanged
            self.worse = worse
        }
    }

    /// A heat map of the mean change in BML size grade per subregion, on the knee (MOAKS, 15 subregions) or hip
    /// (9 subregions) schematic.
    public struct SubregionHeatMap: Sendable, Equatable, Hashable {
        public var id: String
        public var title: String
        /// Caller's summary for `<desc>`; the plot appends its own.
        public var description: String
        /// "knee" or "hip".
        public var joint: String
        /// Keyed by the subregion's raw value (`BMLSubregion.rawValue`, e.g. "tibia-central-medial"); subregions
        /// absent, with `n == 0` or without a mean are drawn hatched and labelled "n/a".
        public var cells: [String: SubregionCell]

        public init(id: String, title: String, description: String, joint: String, cells: [String: SubregionCell]) {
            self.id = id
            self.title = title
            self.description = description
            self.joint = joint
            self.cells = cells
        }
    }

    /// The joint schematic with each subregion shaded on a diverging, colour-blind-safe scale (blue = lesions
    /// shrank, red = grew, near-white = about unchanged; 7 classes `heat-minus-3` … `heat-zero` … `heat-plus-3`,
    /// `heat-none` for no data), labelled with its short name and mean change, and a legend.
    public static func subregionChange(_ p: SubregionHeatMap) -> String {
        SubregionHeatMapRenderer(p).svg()
    }

    /// The colour class for a mean change: binned on the value as printed (one decimal), so label and colour agree:
    /// 0.0 → 0; 0.1–0.4 → 1; 0.5–0.9 → 2; ≥ 1.0 → 3, signed.
    static func heatBin(_ v: Double) -> Int {
        guard v.isFinite else { return 0 }
        let tenths = Int((abs(v) * 10).rounded())
        let bin = tenths == 0 ? 0 : tenths <= 4 ? 1 : tenths <= 9 ? 2 : 3
        return v < 0 ? -bin : bin
    }

    static func heatClass(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "heat-none" }
        let b = heatBin(v)
        return b == 0 ? "heat-zero" : b < 0 ? "heat-minus-\(-b)" : "heat-plus-\(b)"
    }

    /// "−0.8", "+0.3", "0.0".
    static func changeLabel(_ v: Double) -> String {
        let s = AnalyticsSVG.fixedLabel(v, decimals: 1)
        return Int((abs(v) * 10).rounded()) > 0 && v > 0 ? "+" + s : s
    }
}

private struct SubregionHeatMapRenderer {
    typealias K = AnalyticsSVG
    let p: AnalyticsPlot.SubregionHeatMap
    let pid: String
    let isHip: Bool

    init(_ p: AnalyticsPlot.SubregionHeatMap) {
        self.p = p
        pid = K.safeID(p.id)
        isHip = p.joint.lowercased() == "hip"
    }

    // RdBu (ColorBrewer), colour-blind safe; text ink is computed from the fill for ≥ 4.5:1 contrast.
    static let fills = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"]

    var ids: [String] { BMLSubregion.subregions(of: isHip ? .hip : .knee).map(\.rawValue) }

    /// The cell's mean change, or nil when there is nothing to show.
    func change(_ sid: String) -> Double? {
        guard let c = p.cells[sid], c.n > 0, let m = c.meanChange, m.isFinite else { return nil }
        return m
    }

    func svg() -> String {
        let width = 560.0
        let head = K.heading(p.title, width: width)
        let caption = isHip ? "Hip schematic, right-side view (left hips mirrored)"
            : "Knee schematic, front view; medial and lateral sides of left and right knees pooled"
        var body = K.text(caption, x: 8, y: head.bottom + 10, size: 12, fill: K.muted, cls: "plot-caption")
        let y0 = head.bottom + 18
        let height = isHip ? hip(&body, y0: y0) : knee(&body, y0: y0)
        let legendBottom = legend(&body, x: 384, y: y0 + 30)
        let defs = "<pattern id=\"\(pid)-none\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\""
            + " patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ececec\"/>"
            + "<rect width=\"1.5\" height=\"6\" fill=\"#b0b0b0\"/></pattern>"
        return K.root(id: pid, width: width, height: max(height, legendBottom) + 8, title: p.title, desc: summary(),
                      kind: "plot-heatmap", defs: defs) + head.svg + body + "</svg>"
    }

    // MARK: Cells

    func fill(_ v: Double?) -> String {
        guard let v else { return "url(#\(pid)-none)" }
        return Self.fills[AnalyticsPlot.heatBin(v) + 3]
    }

    func ink(_ v: Double?) -> String { v.map { K.ink(on: fill($0)) } ?? K.inkColour }

    func valueText(_ v: Double?) -> String { v.map(AnalyticsPlot.changeLabel) ?? "n/a" }

    func tooltip(_ sid: String) -> String {
        var s = Self.name(sid) + ": "
        guard let c = p.cells[sid], let v = change(sid) else { return K.tooltip(s + "no data") }
        s += "mean change \(AnalyticsPlot.changeLabel(v)), n = \(c.n)"
        let shares = [("improved", c.improved), ("unchanged", c.unchanged), ("worse", c.worse)]
            .compactMap { name, v in v.map { "\(name) \(K.fixedLabel($0 * 100, decimals: 0))%" } }
        if !shares.isEmpty { s += "; " + shares.joined(separator: ", ") }
        return K.tooltip(s)
    }

    func cellOpen(_ sid: String) -> String {
        "<g class=\"plot-cell \(AnalyticsPlot.heatClass(change(sid)))\" data-subregion=\"\(K.escape(sid))\">"
            + tooltip(sid)
    }

    // MARK: Knee (geometry from OssaWeb's JointDiagram)

    static let abbreviations = [
        "patella-medial": "PM", "patella-lateral": "PL", "trochlea-medial": "TrM", "trochlea-lateral": "TrL",
        "femur-central-medial": "FCM", "femur-central-lateral": "FCL", "femur-posterior-medial": "FPM",
        "femur-posterior-lateral": "FPL", "tibia-anterior-medial": "TAM", "tibia-central-medial": "TCM",
        "tibia-posterior-medial": "TPM", "tibia-anterior-lateral": "TAL", "tibia-central-lateral": "TCL",
        "tibia-posterior-lateral": "TPL", "subspinous": "SS",
        "femoral-head-superior": "FHS", "femoral-head-anterior": "FHA", "femoral-head-posterior": "FHP",
        "femoral-head-medial": "FHM", "femoral-head-lateral": "FHL", "femoral-head-central": "FHC",
        "acetabulum-superior": "AcS", "acetabulum-anterior": "AcA", "acetabulum-posterior": "AcP",
    ]

    /// "Tibia, central medial", "Subspinous", "Femoral head, superior".
    static func name(_ id: String) -> String {
        if id == "subspinous" { return "Subspinous" }
        let bones = [("femoral-head-", "Femoral head"), ("acetabulum-", "Acetabulum"), ("patella-", "Patella"),
                     ("trochlea-", "Trochlea"), ("femur-", "Femur"), ("tibia-", "Tibia")]
        for (prefix, bone) in bones where id.hasPrefix(prefix) {
            return bone + ", " + id.dropFirst(prefix.count).replacingOccurrences(of: "-", with: " ")
        }
        let words = id.replacingOccurrences(of: "-", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// Three blocks of two-column rows (medial, lateral), plus the subspinous box between the tibial columns.
    func knee(_ out: inout String, y0: Double) -> Double {
        let sides = ["medial", "lateral"]
        let colX: [Double] = [88, 248], cellW = 108.0, rowH = 38.0, gap = 4.0
        for (i, s) in sides.enumerated() {
            out += K.text(s.prefix(1).uppercased() + s.dropFirst(), x: colX[i] + cellW / 2, y: y0 + 26, size: 13,
                          anchor: "middle", weight: "bold")
        }
        let blocks: [(name: String, rows: [(label: String, prefix: String)])] = [
            ("Patellofemoral", [("Patella", "patella-"), ("Trochlea", "trochlea-")]),
            ("Femur", [("Central", "femur-central-"), ("Posterior", "femur-posterior-")]),
            ("Tibia", [("Anterior", "tibia-anterior-"), ("Central", "tibia-central-"), ("Posterior", "tibia-posterior-")]),
        ]
        var y = y0 + 38
        for block in blocks {
            out += K.text(block.name, x: 8, y: y + 13, size: 13, weight: "bold")
            y += 20
            for row in block.rows {
                out += K.text(row.label, x: 8, y: y + rowH / 2 + 4.5, size: 13)
                for (i, s) in sides.enumerated() {
                    out += cell(row.prefix + s, x: colX[i], y: y, w: cellW, h: rowH)
                }
                if row.prefix == "tibia-central-" {
                    out += cell("subspinous", x: colX[0] + cellW + 4, y: y - rowH / 2, w: colX[1] - colX[0] - cellW - 8,
                                h: rowH * 2, stacked: true)
                }
                y += rowH + gap
            }
            y += 10
        }
        return y
    }

    func cell(_ sid: String, x: Double, y: Double, w: Double, h: Double, stacked: Bool = false) -> String {
        let v = change(sid), textInk = ink(v), abbr = Self.abbreviations[sid] ?? sid
        var s = cellOpen(sid)
        s += K.rect(x: x, y: y, w: w, h: h, fill: fill(v), stroke: K.edge, strokeWidth: 1.5, cls: "plot-cell-shape",
                    extra: " rx=\"3\"")
        if stacked {
            s += K.text(abbr, x: x + w / 2, y: y + h / 2 - 6, size: 12, anchor: "middle", fill: textInk, halo: v == nil)
            s += K.text(valueText(v), x: x + w / 2, y: y + h / 2 + 14, size: 13, anchor: "middle",
                        weight: "bold", fill: textInk, halo: v == nil, cls: "plot-cell-value")
        } else {
            s += K.text(abbr, x: x + 10, y: y + h / 2 + 4.5, size: 13, fill: textInk, halo: v == nil)
            s += K.text(valueText(v), x: x + w - 10, y: y + h / 2 + 5.5, size: 16, anchor: "end", weight: "bold",
                        fill: textInk, halo: v == nil, cls: "plot-cell-value")
        }
        return s + "</g>"
    }

    // MARK: Hip (geometry from OssaWeb's JointDiagram, right hip)

    func hip(_ out: inout String, y0: Double) -> Double {
        let cx = 180.0, cy = y0 + 232
        func point(_ a: Double, _ r: Double) -> (Double, Double) {
            (cx + r * sin(a * .pi / 180), cy - r * cos(a * .pi / 180))
        }
        func sector(_ sid: String, from a0: Double, to a1: Double, rIn: Double, rOut: Double, name: String,
                    rotate: Bool) -> String {
            let v = change(sid), textInk = ink(v), n = K.num
            let large = a1 - a0 > 180 ? 1 : 0
            let p0 = point(a0, rOut), p1 = point(a1, rOut), p2 = point(a1, rIn), p3 = point(a0, rIn)
            let d = "M\(n(p0.0)) \(n(p0.1))A\(n(rOut)) \(n(rOut)) 0 \(large) 1 \(n(p1.0)) \(n(p1.1))"
                + "L\(n(p2.0)) \(n(p2.1))A\(n(rIn)) \(n(rIn)) 0 \(large) 0 \(n(p3.0)) \(n(p3.1))Z"
            let mid = (a0 + a1) / 2, c = point(mid, (rIn + rOut) / 2)
            let t = rotate ? " transform=\"rotate(\(n(mid)) \(n(c.0)) \(n(c.1)))\"" : ""
            return cellOpen(sid)
                + "<path d=\"\(d)\" fill=\"\(fill(v))\" stroke=\"\(K.edge)\" stroke-width=\"1.5\" class=\"plot-cell-shape\"/><g\(t)>"
                + K.text(name, x: c.0, y: c.1 - 3, size: 13, anchor: "middle", fill: textInk, halo: v == nil)
                + K.text(valueText(v), x: c.0, y: c.1 + 14, size: 15, anchor: "middle", weight: "bold", fill: textInk,
                         halo: v == nil, cls: "plot-cell-value")
                + "</g></g>"
        }
        out += K.text("Acetabulum", x: cx, y: y0 + 36, size: 13, anchor: "middle", weight: "bold")
        let acetabulum = [("acetabulum-posterior", "Posterior"), ("acetabulum-superior", "Superior"),
                          ("acetabulum-anterior", "Anterior")]
        for (i, (sid, name)) in acetabulum.enumerated() {
            let a0 = -66.0 + Double(i) * 44
            out += sector(sid, from: a0, to: a0 + 44, rIn: 124, rOut: 166, name: name, rotate: true)
        }
        let ring = [("femoral-head-superior", "Superior"), ("femoral-head-medial", "Medial"),
                    ("femoral-head-anterior", "Anterior"), ("femoral-head-posterior", "Posterior"),
                    ("femoral-head-lateral", "Lateral")]
        for (i, (sid, name)) in ring.enumerated() {
            let a0 = -36.0 + Double(i) * 72
            out += sector(sid, from: a0, to: a0 + 72, rIn: 46, rOut: 112, name: name, rotate: false)
        }
        let sid = "femoral-head-central", v = change(sid), textInk = ink(v)
        out += cellOpen(sid)
            + "<circle cx=\"\(K.num(cx))\" cy=\"\(K.num(cy))\" r=\"46\" fill=\"\(fill(v))\" stroke=\"\(K.edge)\""
            + " stroke-width=\"1.5\" class=\"plot-cell-shape\"/>"
            + K.text("Central", x: cx, y: cy - 3, size: 13, anchor: "middle", fill: textInk, halo: v == nil)
            + K.text(valueText(v), x: cx, y: cy + 14, size: 15, anchor: "middle", weight: "bold", fill: textInk,
                     halo: v == nil, cls: "plot-cell-value")
            + "</g>"
        out += K.text("Femoral head", x: cx, y: cy + 132, size: 13, anchor: "middle", weight: "bold")
        return cy + 146
    }

    // MARK: Legend and description

    /// A vertical key: one swatch per class, improved at the top, then "no data".
    func legend(_ out: inout String, x: Double, y: Double) -> Double {
        var s = "<g class=\"plot-legend\">"
        s += K.text("Mean change in", x: x, y: y, size: 13, weight: "bold")
        s += K.text("BML size grade", x: x, y: y + 16, size: 13, weight: "bold")
        let labels = ["\u{2212}1.0 or less", "\u{2212}0.9 to \u{2212}0.5", "\u{2212}0.4 to \u{2212}0.1", "0.0 (unchanged)",
                      "+0.1 to +0.4", "+0.5 to +0.9", "+1.0 or more"]
        var yy = y + 44
        for b in -3...3 {
            let f = Self.fills[b + 3]
            let cls = b == 0 ? "heat-zero" : b < 0 ? "heat-minus-\(-b)" : "heat-plus-\(b)"
            s += "<g class=\"plot-legend-swatch \(cls)\">"
            s += K.rect(x: x, y: yy, w: 30, h: 22, fill: f, stroke: K.edge, strokeWidth: 1.5, extra: " rx=\"3\"")
            s += K.text(labels[b + 3], x: x + 38, y: yy + 15.5, size: 13)
            s += "</g>"
            if b == -3 { s += K.text("improved", x: x + 38, y: yy - 6, size: 12, weight: "bold", fill: K.muted) }
            yy += 26
        }
        s += K.text("worse", x: x + 38, y: yy + 10, size: 12, weight: "bold", fill: K.muted)
        yy += 22
        s += "<g class=\"plot-legend-swatch heat-none\">"
        s += K.rect(x: x, y: yy, w: 30, h: 22, fill: "url(#\(pid)-none)", stroke: K.edge, strokeWidth: 1.5,
                    extra: " rx=\"3\"")
        s += K.text("n/a: no data", x: x + 38, y: yy + 15.5, size: 13)
        s += "</g>"
        out += s + "</g>"
        return yy + 30
    }

    func summary() -> String {
        var parts: [String] = []
        if !p.description.isEmpty { parts.append(p.description.hasSuffix(".") ? p.description : p.description + ".") }
        let jointName = isHip ? "Hip" : "Knee"
        let withData = ids.filter { change($0) != nil }
        parts.append("\(jointName): mean change in BML size grade per subregion (negative = improvement), "
            + "\(withData.count) of \(ids.count) subregions with data.")
        let spoken = { (sid: String) -> String in
            let c = p.cells[sid]!
            return "\(Self.name(sid).replacingOccurrences(of: ",", with: "").lowercased()) "
                + "\(AnalyticsPlot.changeLabel(c.meanChange!)) (n \(c.n))"
        }
        // (subregion, anatomical index, mean change, bin); largest change first, ties in anatomical order.
        let bins = withData.enumerated().map { ($1, $0, change($1)!, AnalyticsPlot.heatBin(change($1)!)) }
        let improved = bins.filter { $0.3 < 0 }.sorted { $0.2 != $1.2 ? $0.2 < $1.2 : $0.1 < $1.1 }.map(\.0)
        let worse = bins.filter { $0.3 > 0 }.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : $0.1 < $1.1 }.map(\.0)
        let same = bins.filter { $0.3 == 0 }.map(\.0)
        if !improved.isEmpty { parts.append("Improved: " + K.join(improved.map(spoken)) + ".") }
        if !worse.isEmpty { parts.append("Worse: " + K.join(worse.map(spoken)) + ".") }
        if !same.isEmpty { parts.append("Unchanged on average: " + K.join(same.map(spoken)) + ".") }
        let none = ids.filter { change($0) == nil }
        if !none.isEmpty {
            parts.append("No data: " + K.join(none.map { Self.name($0).replacingOccurrences(of: ",", with: "").lowercased() }) + ".")
        }
        return parts.joined(separator: " ")
    }
}
