import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import OssaAnalytics

// The analytics plots: well-formed, accessible, CSP-clean SVG with the geometry the numbers call for. Set
// OSSA_PLOT_DIR (e.g. /tmp/plots) to also write one example of each plot there, with an HTML wrapper that links
// ossa.css, for looking at in a browser.

@Suite("Analytics plots")
struct PlotTests {
    typealias P = AnalyticsPlot

    // MARK: Every plot

    @Test("Every plot is well-formed, labelled, CSP-clean and escapes its text", arguments: PlotExamples.all(label: PlotNasty.text))
    func common(example: PlotExamples.Rendered) throws {
        let svg = example.svg
        let root = try parse(svg)
        #expect(root.name == "svg")
        #expect(attr(root, "role") == "img")
        #expect(attr(root, "viewBox")?.hasPrefix("0 0 ") == true)
        #expect(attr(root, "width") == "100%")
        #expect(attr(root, "class")?.split(separator: " ").contains("analytics-plot") == true)
        let id = example.id
        #expect(attr(root, "aria-labelledby") == "\(id)-title \(id)-desc")
        let title = root.elements(forName: "title").first, desc = root.elements(forName: "desc").first
        #expect(title.flatMap { attr($0, "id") } == "\(id)-title")
        #expect(desc.flatMap { attr($0, "id") } == "\(id)-desc")
        #expect(title?.stringValue?.contains(PlotNasty.text) == true)
        #expect((desc?.stringValue?.count ?? 0) > 20)
        // The Content-Security-Policy forbids inline styles and scripts.
        #expect(!svg.contains("style="))
        #expect(!svg.lowercased().contains("<script"))
        #expect(svg.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil, "no event-handler attributes")
        // The label went through the escaper (raw, it would not even parse).
        #expect(!svg.contains(PlotNasty.text))
        #expect(svg.contains(PlotNasty.escaped))
        // Deterministic: same input, same bytes; no locale-dependent decimal commas in coordinates.
        #expect(example.render() == svg)
        for e in descendants(root) {
            for a in ["x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height"] {
                if let v = attr(e, a), !v.hasSuffix("%") { #expect(Double(v) != nil, "\(e.name ?? "") \(a)=\(v)") }
            }
        }
    }

    // MARK: Survival / cumulative incidence

    @Test("A step curve at y = 0.5 sits halfway down the plot area; steps are horizontal then vertical")
    func stepGeometry() throws {
        let plot = P.StepPlot(id: "km", title: "KM", description: "", xLabel: "Years", yLabel: "Survival",
                              xTicks: [0, 1, 2], curves: [
                                  P.StepCurve(label: "A", points: [P.StepPoint(x: 0, y: 1), P.StepPoint(x: 1, y: 0.5),
                                                                   P.StepPoint(x: 2, y: 0)], median: 1),
                              ])
        let root = try parse(P.survival(plot))
        let curve = try #require(descendants(root).first { hasClass($0, "plot-curve") })
        let d = try #require(attr(curve, "d"))
        // M x0 y(1) H x1 V y(0.5) H x2 V y(0)
        #expect(d.filter { $0.isLetter } == "MHVHV")
        let n = numbers(d)
        let (x0, top, x1, mid, x2, bottom) = (n[0], n[1], n[2], n[3], n[4], n[5])
        #expect(top < bottom)
        #expect(abs(mid - (top + bottom) / 2) < 0.11)
        #expect(abs(x1 - (x0 + x2) / 2) < 0.11)
        // The frame's corner is the origin: x = 0 at the y axis, y = 0 on the x axis.
        let frame = try #require(descendants(root).first { hasClass($0, "plot-frame") })
        let f = numbers(attr(frame, "d") ?? "")
        #expect(abs(f[0] - x0) < 0.01 && abs(f[2] - bottom) < 0.01 && abs(f[1] - top) < 0.01)
        // The median drop line: dashed, across at y = 0.5 to the median, then down to the axis.
        let median = try #require(descendants(root).first { hasClass($0, "plot-median") })
        #expect(attr(median, "stroke-dasharray") != nil)
        let m = numbers(attr(median, "d") ?? "")
        #expect(m.count == 4 && abs(m[0] - x0) < 0.01 && abs(m[1] - mid) < 0.01 && abs(m[2] - x1) < 0.01
            && abs(m[3] - bottom) < 0.01)
    }

    @Test("Cumulative incidence (rising) draws upwards, with a stepped band and censoring ticks on the curve")
    func risingCurve() throws {
        let plot = P.StepPlot(id: "cif", title: "CIF", description: "", xLabel: "Years", yLabel: "Incidence",
                              yRange: 0...0.5, xTicks: [0, 1, 2, 3], curves: [
                                  P.StepCurve(label: "A", points: [
                                      P.StepPoint(x: 0, y: 0, lower: 0, upper: 0),
                                      P.StepPoint(x: 1, y: 0.1, lower: 0.05, upper: 0.2),
                                      P.StepPoint(x: 2, y: 0.25, lower: 0.15, upper: 0.35),
                                  ], censorTimes: [1.5, 3]),
                              ])
        let root = try parse(P.survival(plot))
        let all = descendants(root)
        let d = try #require(all.first { hasClass($0, "plot-curve") }.flatMap { attr($0, "d") })
        let n = numbers(d)
        // Pixel y falls as the incidence rises; the curve runs on, flat, to the last censoring time (x = 3).
        #expect(n[1] > n[3] && n[3] > n[5])
        #expect(d.filter { $0.isLetter } == "MHVHVH")
        let band = try #require(all.first { hasClass($0, "plot-band") && hasClass($0, "series-0") })
        #expect(attr(band, "d")?.hasSuffix("Z") == true)
        #expect(attr(band, "fill-opacity") != nil)
        let censor = try #require(all.first { hasClass($0, "plot-censor") }.flatMap { attr($0, "d") })
        // Two ticks, each centred on the curve: at 1.5 the curve is 0.1 (the tick spans y(0.1) ± 5).
        #expect(censor.components(separatedBy: "v10").count - 1 == 2)
        let c = numbers(censor)
        #expect(abs(c[1] + 5 - n[3]) < 0.11)
    }

    @Test("Numbers at risk: a labelled row per group, one count per tick, suppressed cells as \"<5\"")
    func atRisk() throws {
        let plot = P.StepPlot(id: "km", title: "KM", description: "", xLabel: "Years", yLabel: "Survival",
                              xTicks: [0, 2, 4], curves: [
                                  P.StepCurve(label: "PRP", points: [P.StepPoint(x: 0, y: 1), P.StepPoint(x: 3, y: 0.6)],
                                              median: 3.5),
                                  P.StepCurve(label: "BMAC", points: [P.StepPoint(x: 0, y: 1), P.StepPoint(x: 1, y: 0.8)]),
                              ],
                              atRisk: P.AtRiskTable(times: [0, 2, 4], rows: [
                                  P.AtRiskRow(label: "PRP", counts: ["120", "64", "<5"]),
                                  P.AtRiskRow(label: "BMAC", counts: ["40", "<5", "<5"]),
                              ]))
        let svg = P.survival(plot)
        #expect(svg.contains(">&lt;5</text>"))
        let root = try parse(svg)
        let rows = descendants(root).filter { hasClass($0, "plot-at-risk-row") }
        #expect(rows.count == 2)
        let texts = rows.map { descendants($0).filter { $0.name == "text" }.compactMap(\.stringValue) }
        #expect(texts[0] == ["PRP", "120", "64", "<5"])
        #expect(texts[1] == ["BMAC", "40", "<5", "<5"])
        #expect(descendants(root).contains { hasClass($0, "plot-at-risk-heading") && $0.stringValue == "Number at risk" })
        // Counts sit under their ticks.
        let tickXs = descendants(root).filter { hasClass($0, "plot-tick") && ($0.parent as? XMLElement).map { hasClass($0, "plot-axis-x") } == true }
            .compactMap { attr($0, "x") }
        let countXs = descendants(rows[0]).filter { hasClass($0, "plot-at-risk-count") }.compactMap { attr($0, "x") }
        #expect(countXs == tickXs)
        // The median drop line for PRP, and it is in the description.
        #expect(descendants(root).contains { hasClass($0, "plot-median") })
        let desc = root.elements(forName: "desc").first?.stringValue ?? ""
        #expect(desc.contains("PRP") && desc.contains("median 3.5") && desc.contains("2 groups"))
    }

    // MARK: Lines

    @Test("Line series are dodged apart at the same x, with error bars")
    func lineDodge() throws {
        let plot = P.LinePlot(id: "prom", title: "KOOS", description: "", xLabel: "Months", yLabel: "Score",
                              yRange: 0...100, xTicks: [P.Tick(value: 0, label: "Baseline"), P.Tick(value: 12, label: "12 mo")],
                              series: [
                                  P.LineSeries(label: "A", points: [P.LinePoint(x: 0, y: 50, lower: 45, upper: 55),
                                                                    P.LinePoint(x: 12, y: 70, lower: 60, upper: 80)]),
                                  P.LineSeries(label: "B", points: [P.LinePoint(x: 0, y: 50, lower: 40, upper: 60),
                                                                    P.LinePoint(x: 12, y: 60)]),
                              ])
        let root = try parse(P.line(plot))
        let all = descendants(root)
        let a = try #require(all.first { hasClass($0, "plot-marker") && hasClass($0, "series-0") })
        let b = try #require(all.first { hasClass($0, "plot-marker") && hasClass($0, "series-1") })
        let ax = Double(attr(a, "cx") ?? "") ?? .nan, bxs = numbers(attr(b, "d") ?? "")
        #expect(abs((bxs[0] + 4.2) - ax) >= 6, "dodged")
        #expect(all.filter { hasClass($0, "plot-errorbar") }.count == 3)
        #expect(all.filter { hasClass($0, "plot-line") }.count == 2)
        #expect(all.contains { hasClass($0, "plot-tick") && $0.stringValue == "Baseline" })
    }

    // MARK: Bars

    @Test("Bars print their values, draw CI whiskers, and show \"–\" for a missing bar")
    func bars() throws {
        let plot = P.BarPlot(id: "resp", title: "Responders", description: "", yLabel: "Responders",
                             categories: ["6 mo", "12 mo"], series: [
                                 P.BarSeries(label: "PRP", values: [P.BarValue(value: 0.45, lower: 0.38, upper: 0.52), nil]),
                                 P.BarSeries(label: "BMAC", values: [P.BarValue(value: 0.6), P.BarValue(value: 0.5)]),
                             ])
        let root = try parse(P.bars(plot))
        let all = descendants(root)
        let values = all.filter { hasClass($0, "plot-bar-value") }.compactMap(\.stringValue)
        #expect(values == ["45%", "\u{2013}", "60%", "50%"])
        #expect(all.filter { hasClass($0, "plot-bar") }.count == 3)
        #expect(all.filter { hasClass($0, "plot-whisker") }.count == 1)
        // A 45% bar on 0…1 is 45% of the plot height.
        let bar = try #require(all.first { hasClass($0, "plot-bar") })
        let base = try #require(all.first { hasClass($0, "plot-baseline") }.flatMap { attr($0, "y1") }.flatMap(Double.init))
        let top = try #require(all.first { hasClass($0, "plot-frame") }.map { numbers(attr($0, "d") ?? "")[1] })
        let h = Double(attr(bar, "height") ?? "") ?? 0
        #expect(abs(h - 0.45 * (base - top)) < 0.11)
        // Series 1 is hatched (a pattern defined in the plot's own <defs>).
        #expect(all.contains { $0.name == "pattern" && attr($0, "id") == "resp-bar-1" })
    }

    // MARK: Forest

    @Test("Forest plot: HR 1 on the reference line, HR 2 as far right as HR 0.5 is left")
    func forestSymmetry() throws {
        let plot = P.ForestPlot(id: "cox", title: "Cox model", description: "", rows: [
            P.ForestRow(label: "Half", estimate: 0.5, lower: 0.3, upper: 0.8, annotation: "0.50 (0.30\u{2013}0.80)"),
            P.ForestRow(label: "One", estimate: 1, lower: 0.9, upper: 1.1, annotation: "1.00 (0.90\u{2013}1.10)"),
            P.ForestRow(label: "Two", estimate: 2, lower: 1.5, upper: 3.1, annotation: "2.00 (1.50\u{2013}3.10)"),
        ], annotationHeader: "HR (95% CI)")
        let root = try parse(P.forest(plot))
        let all = descendants(root)
        let ref = try #require(all.first { hasClass($0, "plot-ref") })
        let refX = try #require(attr(ref, "x1").flatMap(Double.init))
        let xs = all.filter { hasClass($0, "plot-estimate") }.map { (Double(attr($0, "x") ?? "") ?? .nan) + 5 }
        #expect(xs.count == 3)
        #expect(abs(xs[1] - refX) < 0.11)
        #expect(abs((xs[2] - refX) - (refX - xs[0])) < 0.21)
        #expect(xs[2] > refX)
        // Log ticks with 1 among them; the 3.1 limit widens the axis to 4.
        let ticks = all.filter { hasClass($0, "plot-tick") }.compactMap(\.stringValue)
        #expect(ticks == ["0.25", "0.5", "1", "2", "4"])
        #expect(all.contains { hasClass($0, "plot-forest-annotation") && $0.stringValue == "2.00 (1.50\u{2013}3.10)" })
        #expect(all.contains { hasClass($0, "plot-axis-title") && $0.stringValue == "Hazard ratio (95% CI), log scale" })
    }

    @Test("Forest axis adapts to wide ranges and marks limits beyond it with arrows")
    func forestWide() throws {
        let axis = AnalyticsPlot.forestAxis([P.ForestRow(label: "x", estimate: 20, lower: 3, upper: 300, annotation: "")])
        #expect(axis.ticks == [0.1, 1, 10, 100, 1000])
        let root = try parse(P.forest(P.ForestPlot(id: "f", title: "t", description: "", rows: [
            P.ForestRow(label: "x", estimate: 3, lower: 1.2, upper: .infinity, annotation: "3.0 (1.2\u{2013}\u{221E})"),
            P.ForestRow(label: "not estimable", estimate: .nan, lower: .nan, upper: .nan, annotation: "\u{2013}"),
        ])))
        let ci = descendants(root).filter { hasClass($0, "plot-ci") }
        #expect(ci.count == 1)
        #expect((attr(ci[0], "d") ?? "").filter { $0 == "M" }.count == 2, "an arrowhead at the right end")
    }

    // MARK: Heat map

    @Test("Heat map: −0.8 and +0.8 get different classes, missing cells say n/a, every subregion is drawn")
    func heatMap() throws {
        let plot = P.SubregionHeatMap(id: "bml", title: "BML change", description: "", joint: "knee", cells: [
            "tibia-central-medial": P.SubregionCell(meanChange: -0.8, n: 24, improved: 0.58, unchanged: 0.33, worse: 0.08),
            "femur-central-medial": P.SubregionCell(meanChange: 0.8, n: 12),
            "subspinous": P.SubregionCell(meanChange: 0.02, n: 9),
            "patella-medial": P.SubregionCell(meanChange: nil, n: 0),
        ])
        let root = try parse(P.subregionChange(plot))
        let cells = descendants(root).filter { $0.name == "g" && attr($0, "data-subregion") != nil }
        #expect(cells.count == 15)
        let byID = Dictionary(uniqueKeysWithValues: cells.map { (attr($0, "data-subregion")!, $0) })
        let better = try #require(byID["tibia-central-medial"]), worse = try #require(byID["femur-central-medial"])
        #expect(hasClass(better, "heat-minus-2") && hasClass(worse, "heat-plus-2"))
        #expect(hasClass(try #require(byID["subspinous"]), "heat-zero"))
        let value = { (e: XMLElement) in descendants(e).first { hasClass($0, "plot-cell-value") }?.stringValue }
        #expect(value(better) == "\u{2212}0.8" && value(worse) == "+0.8")
        for sid in ["patella-medial", "tibia-posterior-lateral"] {
            let cell = try #require(byID[sid])
            #expect(hasClass(cell, "heat-none") && value(cell) == "n/a")
            #expect(descendants(cell).contains { attr($0, "fill") == "url(#bml-none)" })
        }
        // Class names are plain CSS identifiers.
        let classes = Set(descendants(root).flatMap { (attr($0, "class") ?? "").split(separator: " ").map(String.init) })
        for c in classes { #expect(c.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }, "\(c)") }
        #expect(classes.isSuperset(of: ["heat-minus-3", "heat-zero", "heat-plus-3", "heat-none"]), "legend")
        let desc = root.elements(forName: "desc").first?.stringValue ?? ""
        #expect(desc.contains("3 of 15 subregions with data"))
        #expect(desc.contains("tibia central medial \u{2212}0.8 (n 24)"))
    }

    @Test("Heat-map bins follow the printed value; the hip has its 9 subregions")
    func heatBinsAndHip() throws {
        #expect(AnalyticsPlot.heatClass(-0.04) == "heat-zero")
        #expect(AnalyticsPlot.heatClass(0.05) == "heat-plus-1")
        #expect(AnalyticsPlot.heatClass(-0.44) == "heat-minus-1")
        #expect(AnalyticsPlot.heatClass(-0.45) == "heat-minus-2")
        #expect(AnalyticsPlot.heatClass(0.96) == "heat-plus-3")
        #expect(AnalyticsPlot.heatClass(nil) == "heat-none")
        #expect(AnalyticsPlot.changeLabel(-0.04) == "0.0" && AnalyticsPlot.changeLabel(1.25) == "+1.3")
        let root = try parse(P.subregionChange(P.SubregionHeatMap(id: "hip", title: "Hip", description: "", joint: "hip",
                                                                   cells: ["femoral-head-central": P.SubregionCell(meanChange: -1.2, n: 7)])))
        let cells = descendants(root).filter { $0.name == "g" && attr($0, "data-subregion") != nil }
        #expect(cells.count == 9)
        #expect(cells.filter { hasClass($0, "heat-minus-3") }.count == 1)
    }

    @Test("Output does not depend on the order cells were inserted")
    func heatMapDeterministic() {
        var a: [String: P.SubregionCell] = [:], b: [String: P.SubregionCell] = [:]
        let ids = ["tibia-central-medial", "femur-central-lateral", "patella-lateral", "subspinous", "trochlea-medial"]
        for (i, sid) in ids.enumerated() { a[sid] = P.SubregionCell(meanChange: Double(i) * 0.3 - 0.6, n: i + 1) }
        for (i, sid) in ids.enumerated().reversed() { b[sid] = P.SubregionCell(meanChange: Double(i) * 0.3 - 0.6, n: i + 1) }
        let make = { (c: [String: P.SubregionCell]) in
            P.subregionChange(P.SubregionHeatMap(id: "h", title: "t", description: "", joint: "knee", cells: c))
        }
        #expect(make(a) == make(b))
    }

    // MARK: Number formatting

    @Test("Numbers are formatted without a locale")
    func numberFormatting() {
        #expect(AnalyticsSVG.num(-0.04) == "0")
        #expect(AnalyticsSVG.num(12.345) == "12.3")
        #expect(AnalyticsSVG.label(-1.5) == "\u{2212}1.5")
        #expect(AnalyticsSVG.fixedLabel(0.5, decimals: 2) == "0.50")
        #expect(AnalyticsSVG.axisLabel(0.25, .percent) == "25%")
    }

    // MARK: Examples for looking at

    @Test("Write the examples when OSSA_PLOT_DIR is set")
    func writeExamples() throws {
        guard let dir = ProcessInfo.processInfo.environment["OSSA_PLOT_DIR"], !dir.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let css = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/OssaWeb/Resources/static/ossa.css").path
        for example in PlotExamples.all(label: nil) {
            try example.svg.write(toFile: "\(dir)/\(example.name).svg", atomically: true, encoding: .utf8)
            let html = """
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(example.name)</title>
                <link rel="stylesheet" href="file://\(css)"></head>
                <body><main><figure class="plot-analytics">\(example.svg)</figure></main></body></html>
                """
            try html.write(toFile: "\(dir)/\(example.name).html", atomically: true, encoding: .utf8)
        }
    }
}

// MARK: - Examples

enum PlotNasty {
    static let text = "A<b>&\"c\""
    static let escaped = "A&lt;b&gt;&amp;&quot;c&quot;"
}

enum PlotExamples {
    struct Rendered: Sendable, CustomTestStringConvertible {
        var name: String
        var id: String
        var render: @Sendable () -> String
        var svg: String { render() }
        var testDescription: String { name }
    }

    /// One example of each plot; `label` (if given) is put into every title, series, row and category label.
    static func all(label: String?) -> [Rendered] {
        return [
            Rendered(name: "survival", id: "km-replacement") { AnalyticsPlot.survival(survival(label)) },
            Rendered(name: "incidence", id: "cif-replacement") { AnalyticsPlot.survival(incidence(label)) },
            Rendered(name: "trajectory", id: "prom-koos") { AnalyticsPlot.line(trajectory(label)) },
            Rendered(name: "responders", id: "responders") { AnalyticsPlot.bars(responders(label)) },
            Rendered(name: "forest", id: "cox-forest") { AnalyticsPlot.forest(forest(label)) },
            Rendered(name: "heatmap-knee", id: "bml-knee") { AnalyticsPlot.subregionChange(knee(label)) },
            Rendered(name: "heatmap-hip", id: "bml-hip") { AnalyticsPlot.subregionChange(hip(label)) },
        ]
    }

    /// A deterministic Kaplan–Meier-like curve: a constant hazard, events on a fixed grid.
    static func curve(_ label: String, hazard: Double, years: Double, n: Double, seed: Int, rising: Bool = false)
        -> AnalyticsPlot.StepCurve {
        var points = [AnalyticsPlot.StepPoint(x: 0, y: rising ? 0 : 1, lower: rising ? 0 : 1, upper: rising ? 0 : 1)]
        var censor: [Double] = []
        var s = 1.0, t = 0.0, k = seed
        while t < years {
            k = (k * 1103 + 12345) % 9973
            t += 0.15 + Double(k % 70) / 100
            if t >= years { break }
            s *= exp(-hazard * (0.15 + Double(k % 70) / 100))
            let atRisk = max(5, n * s * (1 - t / (years * 1.3)))
            let se = sqrt((1 - s) / (atRisk * max(s, 0.05)))
            let lo = max(0, s - 1.96 * se * s), hi = min(1, s + 1.96 * se * s)
            points.append(rising ? AnalyticsPlot.StepPoint(x: t, y: 1 - s, lower: 1 - hi, upper: 1 - lo)
                : AnalyticsPlot.StepPoint(x: t, y: s, lower: lo, upper: hi))
            if k % 3 == 0 { censor.append(t + 0.1) }
        }
        censor.append(years)
        let median = points.first { rising ? $0.y >= 0.5 : $0.y <= 0.5 }?.x
        return AnalyticsPlot.StepCurve(label: label, points: points, censorTimes: censor, showBand: true, median: median)
    }

    static func survival(_ label: String?) -> AnalyticsPlot.StepPlot {
        let l = { (s: String) in label.map { "\(s) \($0)" } ?? s }
        return AnalyticsPlot.StepPlot(
            id: "km-replacement", title: l("Survival free of joint replacement"),
            description: "3 groups; median 4.1 years in group PRP", xLabel: "Years since first injection",
            yLabel: "Free of replacement", xTicks: [0, 1, 2, 3, 4, 5, 6],
            curves: [curve(l("PRP"), hazard: 0.17, years: 6, n: 180, seed: 3),
                     curve(l("PRP + hyaluronic acid"), hazard: 0.1, years: 5.5, n: 90, seed: 11),
                     curve(l("BMAC"), hazard: 0.05, years: 4.2, n: 35, seed: 7)],
            atRisk: AnalyticsPlot.AtRiskTable(times: [0, 1, 2, 3, 4, 5, 6], rows: [
                AnalyticsPlot.AtRiskRow(label: l("PRP"), counts: ["180", "142", "109", "77", "48", "21", "6"]),
                AnalyticsPlot.AtRiskRow(label: l("PRP + hyaluronic acid"), counts: ["90", "81", "66", "49", "30", "9", "<5"]),
                AnalyticsPlot.AtRiskRow(label: l("BMAC"), counts: ["35", "30", "22", "14", "6", "<5", "<5"]),
            ]),
            yFormat: .percent)
    }

    static func incidence(_ label: String?) -> AnalyticsPlot.StepPlot {
        let l = { (s: String) in label.map { "\(s) \($0)" } ?? s }
        return AnalyticsPlot.StepPlot(
            id: "cif-replacement", title: l("Cumulative incidence of joint replacement (death as competing risk)"),
            description: "", xLabel: "Years since first injection", yLabel: "Cumulative incidence",
            yRange: 0...0.6, xTicks: [0, 1, 2, 3, 4, 5],
            curves: [curve(l("Knee"), hazard: 0.12, years: 5, n: 200, seed: 5, rising: true),
                     curve(l("Hip"), hazard: 0.2, years: 4.6, n: 60, seed: 9, rising: true)],
            atRisk: AnalyticsPlot.AtRiskTable(times: [0, 1, 2, 3, 4, 5], rows: [
                AnalyticsPlot.AtRiskRow(label: l("Knee"), counts: ["200", "171", "133", "96", "55", "18"]),
                AnalyticsPlot.AtRiskRow(label: l("Hip"), counts: ["60", "47", "31", "19", "8", "<5"]),
            ]),
            yFormat: .percent)
    }

    static func trajectory(_ label: String?) -> AnalyticsPlot.LinePlot {
        let l = { (s: String) in label.map { "\(s) \($0)" } ?? s }
        let months: [Double] = [0, 3, 6, 12, 24]
        let series = [(l("PRP"), 42.0, 18.0, 2.5), (l("PRP + hyaluronic acid"), 40.0, 22.0, 3.5), (l("BMAC"), 38.0, 26.0, 5.5)]
        return AnalyticsPlot.LinePlot(
            id: "prom-koos", title: l("KOOS pain over follow-up (mean, 95% CI)"), description: "",
            xLabel: "Months since first injection", yLabel: "KOOS pain (0\u{2013}100)", yRange: 0...100,
            xTicks: [AnalyticsPlot.Tick(value: 0, label: "Baseline"), AnalyticsPlot.Tick(value: 3, label: "3"),
                     AnalyticsPlot.Tick(value: 6, label: "6"), AnalyticsPlot.Tick(value: 12, label: "12"),
                     AnalyticsPlot.Tick(value: 24, label: "24")],
            series: series.map { label, base, gain, ci in
                AnalyticsPlot.LineSeries(label: label, points: months.enumerated().map { k, m in
                    let y = base + gain * (1 - exp(-m / 4)) - (m > 12 ? gain * 0.15 : 0)
                    let w = ci * (1 + Double(k) * 0.3)
                    return AnalyticsPlot.LinePoint(x: m, y: y, lower: y - w, upper: y + w)
                })
            })
    }

    static func responders(_ label: String?) -> AnalyticsPlot.BarPlot {
        let l = { (s: String) in label.map { "\(s) \($0)" } ?? s }
        return AnalyticsPlot.BarPlot(
            id: "responders", title: l("OMERACT-OARSI responders"), description: "", yLabel: "Responders",
            categories: [l("3 months"), l("6 months"), l("12 months"), l("24 months")],
            series: [
                AnalyticsPlot.BarSeries(label: l("PRP"), values: [
                    .init(value: 0.52, lower: 0.44, upper: 0.6), .init(value: 0.58, lower: 0.5, upper: 0.66),
                    .init(value: 0.49, lower: 0.4, upper: 0.58), .init(value: 0.41, lower: 0.3, upper: 0.53)]),
                AnalyticsPlot.BarSeries(label: l("PRP + hyaluronic acid"), values: [
                    .init(value: 0.61, lower: 0.5, upper: 0.71), .init(value: 0.66, lower: 0.55, upper: 0.76),
                    .init(value: 0.55, lower: 0.43, upper: 0.67), nil]),
                AnalyticsPlot.BarSeries(label: l("BMAC"), values: [
                    .init(value: 0.7, lower: 0.52, upper: 0.84), .init(value: 0.74, lower: 0.56, upper: 0.87),
                    .init(value: 0.68, lower: 0.47, upper: 0.84), .init(value: 0.93, lower: 0.7, upper: 0.99)]),
            ])
    }

    static func forest(_ label: String?) -> AnalyticsPlot.ForestPlot {
        let l = { (s: String) in label.map { "\(s) \($0)" } ?? s }
        let rows: [(String, Double, Double, Double)] = [
            (l("Age, per 10 years"), 1.42, 1.10, 1.83),
            (l("Female sex"), 0.88, 0.61, 1.27),
            (l("Kellgren–Lawrence grade 4 vs 2–3"), 2.71, 1.64, 4.48),
            (l("BMI, per 5 kg/m²"), 1.18, 0.97, 1.44),
            (l("BMAC vs PRP"), 0.46, 0.22, 0.96),
            (l("Subchondral insufficiency fracture at baseline"), 3.35, 1.41, 7.96),
        ]
        let f = { (v: Double) in AnalyticsSVG.fixedLabel(v, decimals: 2) }
        return AnalyticsPlot.ForestPlot(
            id: "cox-forest", title: l("Hazard of joint replacement (Cox model)"), description: "",
            rows: rows.map { AnalyticsPlot.ForestRow(label: $0.0, estimate: $0.1, lower: $0.2, upper: $0.3,
                                                      annotation: "\(f($0.1)) (\(f($0.2))\u{2013}\(f($0.3)))") },
            labelHeader: "Covariate", annotationHeader: "HR (95% CI)")
    }

    static func knee(_ label: String?) -> AnalyticsPlot.SubregionHeatMap {
        let l = { (s: String) in label.map { "\(s) \($0)" } ?? s }
        let values: [(String, Double?, Int)] = [
            ("patella-medial", -0.2, 14), ("patella-lateral", 0.1, 11), ("trochlea-medial", nil, 0),
            ("trochlea-lateral", -0.5, 8), ("femur-central-medial", -1.1, 31), ("femur-central-lateral", -0.3, 12),
            ("femur-posterior-medial", 0.4, 9), ("femur-posterior-lateral", 0.0, 6), ("tibia-anterior-medial", -0.6, 17),
            ("tibia-central-medial", -0.8, 42), ("tibia-posterior-medial", -0.4, 20), ("tibia-anterior-lateral", 0.7, 5),
            ("tibia-central-lateral", 1.2, 7), ("subspinous", -0.1, 10),
        ]
        var cells: [String: AnalyticsPlot.SubregionCell] = [:]
        for (sid, m, n) in values {
            cells[sid] = AnalyticsPlot.SubregionCell(meanChange: m, n: n, improved: 0.5, unchanged: 0.3, worse: 0.2)
        }
        return AnalyticsPlot.SubregionHeatMap(id: "bml-knee", title: l("Change in BML size grade, knee"),
                                              description: "Baseline to 12-month MRI", joint: "knee", cells: cells)
    }

    static func hip(_ label: String?) -> AnalyticsPlot.SubregionHeatMap {
        let l = { (s: String) in label.map { "\(s) \($0)" } ?? s }
        let values: [(String, Double?)] = [
            ("femoral-head-superior", -1.3), ("femoral-head-anterior", -0.6), ("femoral-head-posterior", 0.2),
            ("femoral-head-medial", nil), ("femoral-head-lateral", -0.2), ("femoral-head-central", -0.9),
            ("acetabulum-superior", 0.6), ("acetabulum-anterior", 0.0),
        ]
        var cells: [String: AnalyticsPlot.SubregionCell] = [:]
        for (k, (sid, m)) in values.enumerated() { cells[sid] = AnalyticsPlot.SubregionCell(meanChange: m, n: 4 + k) }
        return AnalyticsPlot.SubregionHeatMap(id: "bml-hip", title: l("Change in BML size grade, hip"), description: "",
                                              joint: "hip", cells: cells)
    }
}

// MARK: - XML helpers

private func parse(_ svg: String) throws -> XMLElement {
    let doc = try XMLDocument(xmlString: svg, options: [])
    return try #require(doc.rootElement())
}

private func descendants(_ e: XMLElement) -> [XMLElement] {
    var out: [XMLElement] = []
    for child in e.children ?? [] {
        guard let c = child as? XMLElement else { continue }
        out.append(c)
        out += descendants(c)
    }
    return out
}

/// An attribute by name. (Not `attribute(forName:)`: on Linux that misses attributes of elements in a default namespace.)
private func attr(_ e: XMLElement, _ name: String) -> String? {
    e.attributes?.first { $0.name == name }?.stringValue
}

private func hasClass(_ e: XMLElement, _ c: String) -> Bool {
    (attr(e, "class") ?? "").split(separator: " ").contains { $0 == c }
}

/// The numbers in a path's `d`, in order.
private func numbers(_ d: String) -> [Double] {
    var out: [Double] = [], cur = ""
    for ch in d {
        if ch.isNumber || ch == "." || (ch == "-" && cur.isEmpty) { cur.append(ch); continue }
        if let v = Double(cur) { out.append(v) }
        cur = ch == "-" ? "-" : ""
    }
    if let v = Double(cur) { out.append(v) }
    return out
}
