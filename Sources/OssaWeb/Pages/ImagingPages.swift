import Foundation
import OssaCore
import OssaStore

/// The imaging form: an MRI (the MOAKS grid) or x-ray grades, baseline or follow-up.
enum ImagingForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, modality: ImagingModality, values: FormValues, errors: FormErrors) -> FormPage {
        let episode = view.episode
        let timing = FormField.choices("timing", "Timing", values, errors,
                                       options: [("baseline", "Baseline (before treatment)"), ("follow-up", "Follow-up (after treatment)")], inline: true)
        var sections: [FormSection]
        if modality == .mri {
            sections = [FormSection("Study", id: "study", fields: [timing])] + MRIFields.sections(joint: episode.joint, values, errors, dateRequired: true)
        } else {
            var grades = [FormField.date("date", "X-ray date", values, errors),
                          FormField.select("kellgrenLawrence", "Kellgren–Lawrence grade", values, errors, options: DiagnosisFields.grades(KellgrenLawrenceGrade.self))]
            if episode.joint == .knee { grades.append(FormField.select("ahlback", "Ahlbäck grade", values, errors, options: DiagnosisFields.grades(AhlbackGrade.self))) }
            if episode.joint == .hip { grades.append(FormField.select("tonnis", "Tönnis grade", values, errors, options: DiagnosisFields.grades(TonnisGrade.self))) }
            sections = [FormSection("X-ray", id: "xray", fields: [timing] + grades)]
        }
        return FormPage(title: modality == .mri ? "Record an MRI" : "Record x-ray grades", user: user,
                        caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(episode))",
                        action: Paths.imagingNew.url(episode.id) + "?modality=\(modality.rawValue)", values: values, errors: errors,
                        sections: sections, buttons: [FormButton("Save study")], cancelURL: Paths.episode.url(episode.id))
    }

    static func initialValues(_ view: ReadModels.EpisodePage) -> FormValues {
        var v = FormValues()
        v.set("timing", view.imagingStudies.contains { $0.timing == .baseline } || !view.procedures.isEmpty ? "follow-up" : "baseline")
        return v
    }

    static func read(_ reader: inout FormReader, episode: EpisodeRecord, modality: ImagingModality, today: CalendarDate) -> NewImagingStudy? {
        let timing = reader.choice(ImagingTiming.self, "timing", "Timing", required: true)
        if modality == .mri {
            let mri = MRIFields.read(&reader, joint: episode.joint, today: today, dateRequired: true)
            guard reader.errors.isEmpty, let timing, let mri else { return nil }
            return NewImagingStudy(episodeID: episode.id, timing: timing, mri: mri)
        }
        let date = reader.date("date", "X-ray date", required: true, notAfter: today)
        func grade<G: GradingScale>(_ type: G.Type, _ name: String, _ label: String) -> G? {
            let text = reader.values[name].trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { return nil }
            guard let grade = G.allCases.first(where: { $0.label == text }) else { reader.errors.add(name, "Select the \(label) from the list"); return nil }
            return grade
        }
        let grades = XRayGrades(kellgrenLawrence: grade(KellgrenLawrenceGrade.self, "kellgrenLawrence", "Kellgren–Lawrence grade"),
                                ahlback: episode.joint == .knee ? grade(AhlbackGrade.self, "ahlback", "Ahlbäck grade") : nil,
                                tonnis: episode.joint == .hip ? grade(TonnisGrade.self, "tonnis", "Tönnis grade") : nil)
        if grades == XRayGrades() { reader.errors.add("kellgrenLawrence", "Give at least one grade") }
        guard reader.errors.isEmpty, let timing, let date else { return nil }
        return NewImagingStudy(episodeID: episode.id, timing: timing, xrayOn: date, grades: grades)
    }
}

/// GET /episodes/:episodeID/imaging/:studyID: the study's joint diagram (SVG drawn on the server, each subregion
/// shaded by its grade and labelled) with the same data as a table; a follow-up MRI against the baseline: the
/// diagram of the change and a per-subregion table (improved / same / worse), burden and maximal grade before and after.
struct ImagingStudyPage: Page {
    static let template = "imaging-study"
    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var caption: String
    var episodeURL: String
    var facts: SummaryList
    var diagram: String?
    var findings: TableModel
    var comparisonHeading: String?
    var changeDiagram: String?
    var changeFacts: SummaryList?
    var changes: TableModel?

    init(_ view: ReadModels.EpisodePage, study: ImagingStudyRecord, user: UserBar) {
        let episode = view.episode
        title = "\(Display.modality(study.modality)) of \(study.date.iso)"
        self.user = user
        caption = "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(episode))"
        episodeURL = Paths.episode.url(episode.id)
        let joint = episode.joint
        if let mri = study.mri {
            let s = mri.bmlSummary
            var rows: [(String, String)] = [("Timing", study.timing.rawValue), ("BML burden (sum of size grades)", String(s.burden)),
                                            ("Maximal grade", String(s.maxGrade)), ("Subregions with a lesion", String(s.subregionsInvolved)),
                                            ("Compartments", s.compartments.map { $0.rawValue.replacingOccurrences(of: "-", with: " ") }.joined(separator: ", ").ifEmpty("none"))]
            if let f = mri.insufficiencyFracture {
                rows.append(("Insufficiency fracture", [f.subregion.map { JointDiagram.subregionName($0.rawValue) }, f.lengthMm.map { "\(Display.number($0)) mm" }].compactMap { $0 }.joined(separator: ", ").ifEmpty("yes")))
            }
            if let a = mri.avn {
                rows.append(("Avascular necrosis", [a.subregion.map { JointDiagram.subregionName($0.rawValue) }, a.collapse.map { $0 ? "collapse" : "no collapse" },
                                                     a.depressionMm.map { "depression \(Display.number($0)) mm" }].compactMap { $0 }.joined(separator: ", ").ifEmpty("yes")))
            }
            for lesion in mri.focalCartilageLesions ?? [] {
                rows.append(("Focal cartilage lesion", [lesion.subregion.map { JointDiagram.subregionName($0.rawValue) }, lesion.areaCm2.map { "\(Display.number($0)) cm²" },
                                                         lesion.depth?.rawValue].compactMap { $0 }.joined(separator: ", ").ifEmpty("yes")))
            }
            if mri.suspectedTumourOrInfection == true { rows.append(("Red flag", "Suspected tumour or infection")) }
            facts = SummaryList(rows)
            let byRegion = Dictionary(mri.bml.map { ($0.subregion, $0) }, uniquingKeysWith: { a, _ in a })
            let regions = BMLSubregion.subregions(of: joint)
            if joint == .knee || joint == .hip {
                diagram = JointDiagram.svg(joint: joint.rawValue, side: episode.side.rawValue,
                                           values: Dictionary(mri.bml.map { ($0.subregion.rawValue, $0.size.rawValue) }, uniquingKeysWith: max),
                                           mode: .grade, title: "BML size grade by subregion, \(study.date.iso)", id: "study")
            }
            findings = TableModel(caption: "BML by subregion (the diagram's data)", headers: ["Subregion", "Size grade", "% BML", "Lesions"],
                                  rows: regions.map { r in
                                      let f = byRegion[r]
                                      return TableModel.Row(.init(JointDiagram.subregionName(r.rawValue)), .init(String(f?.size.rawValue ?? 0), class: "num"),
                                                            .init(f?.bmlPercent.map { String($0.rawValue) } ?? "–", class: "num"),
                                                            .init(f?.count.map(String.init) ?? "–", class: "num"))
                                  }, captionHidden: false)
            // A follow-up MRI is read against the episode's baseline MRI (the latest one before it).
            if study.timing == .followUp,
               let baseline = view.imagingStudies.last(where: { $0.modality == .mri && $0.timing == .baseline && $0.date <= study.date && $0.id != study.id }),
               let before = baseline.mri {
                let change = BMLChange.compare(baseline: before.bml, followUp: mri.bml)
                let byChange = Dictionary(change.map { ($0.subregion, $0) }, uniquingKeysWith: { a, _ in a })
                comparisonHeading = "Change from the baseline MRI of \(baseline.date.iso)"
                if joint == .knee || joint == .hip {
                    changeDiagram = JointDiagram.svg(joint: joint.rawValue, side: episode.side.rawValue,
                                                     values: Dictionary(change.map { ($0.subregion.rawValue, $0.change) }, uniquingKeysWith: { a, _ in a }),
                                                     mode: .change, title: "Change in BML size grade since \(baseline.date.iso)", id: "change")
                }
                let b = before.bmlSummary
                changeFacts = SummaryList([("BML burden", "\(b.burden) → \(s.burden)"), ("Maximal grade", "\(b.maxGrade) → \(s.maxGrade)"),
                                           ("Subregions improved", String(change.filter { $0.change < 0 }.count)),
                                           ("Subregions worse", String(change.filter { $0.change > 0 }.count))])
                changes = TableModel(caption: "Change by subregion", headers: ["Subregion", "Baseline", "Follow-up", "Change"],
                                     rows: regions.map { r in
                                         let c = byChange[r]
                                         let delta = c?.change ?? 0
                                         return TableModel.Row(.init(JointDiagram.subregionName(r.rawValue)), .init(String(c?.baseline ?? 0), class: "num"),
                                                               .init(String(c?.followUp ?? 0), class: "num"),
                                                               .init(delta < 0 ? "improved (\(delta))" : delta > 0 ? "worse (+\(delta))" : "same",
                                                                     class: delta < 0 ? "change-better" : delta > 0 ? "change-worse" : nil))
                                     }, captionHidden: false)
            }
        } else {
            let g = study.xray ?? XRayGrades()
            facts = SummaryList([("Timing", study.timing.rawValue), ("Kellgren–Lawrence", g.kellgrenLawrence?.label ?? "–"),
                                 ("Ahlbäck", g.ahlback?.label ?? "–"), ("Tönnis", g.tonnis?.label ?? "–")])
            findings = TableModel(caption: "", headers: [], rows: [])
        }
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
