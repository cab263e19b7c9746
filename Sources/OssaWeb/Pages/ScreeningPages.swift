import Foundation
import OssaCore
import OssaStore

/// The screening form: the whole screening record in sections (fieldsets with legends), names mirroring
/// `ScreeningInput`'s JSON so that the engine's own checks land on the right field. Every problem is listed at once.
enum ScreeningForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, values: FormValues, errors: FormErrors) -> FormPage {
        let episode = view.episode
        let joint = episode.joint
        var sections = [
            FormSection("Evaluation", id: "evaluation", fields: [
                FormField.date("evaluationDate", "Evaluation date", values, errors, hint: "The day of the consultation, for example 2026-03-27"),
            ]),
            FormSection("Diagnosis", id: "diagnosis", hint: DiagnosisFields.hint, fields: DiagnosisFields.fields(values, errors)),
        ]
        sections += MRIFields.sections(joint: joint, values, errors, dateRequired: false)
        sections += [
            FormSection("Symptoms", id: "symptoms", fields: [
                FormField.choices("painConcordance", "Does the pain match the MRI lesions?", values, errors, options: [
                    ("concordant", "Concordant: pain where the lesions are"), ("partial", "Partly"), ("discordant", "Discordant"),
                    ("unknown", "Unknown"), ("", "Not recorded")]),
                FormField.number("painNRS", "Average pain (0–10)", values, errors, hint: "Numeric rating scale, 0 no pain, 10 worst imaginable"),
            ]),
            FormSection("Treatments tried", id: "treatments", hint: "Tick each treatment tried, with how long and how it helped.",
                        grid: FormGrid(caption: "Treatments tried before IO therapy", headers: ["Treatment", "Tried", "Weeks", "Response"],
                                       rows: PriorTreatment.allCases.map { t in
                                           let key = "treatments[\(t.rawValue)]"
                                           let label = treatmentLabel(t)
                                           var tried = FormField.choices("\(key)[tried]", "\(label): tried", values, errors, options: [("yes", "Tried")], multiple: true)
                                           tried.labelHidden = true
                                           return FormGrid.Row(header: label, cells: [
                                               tried,
                                               FormField.number("\(key)[weeks]", "\(label): weeks", values, errors, labelHidden: true),
                                               FormField.select("\(key)[response]", "\(label): response", values, errors,
                                                                options: TreatmentResponse.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, blank: "–", labelHidden: true),
                                           ])
                                       })),
            FormSection("Goals and surgical candidacy", id: "goals", fields: [
                FormField.yesNo("wishesToAvoidReplacement", "Wishes to avoid or delay joint replacement", values, errors),
                FormField.yesNo("surgicalCandidacy[candidate]", "Candidate for joint replacement", values, errors),
                FormField.input("surgicalCandidacy[reasonNot]", "If not a candidate, why not", values, errors, hint: "For example: too young, medical comorbidity, declines surgery"),
            ]),
            FormSection("Patient", id: "patient", fields: [
                FormField.number("age", "Age (years)", values, errors, decimal: false),
                FormField.number("activity[tegner]", "Tegner activity level (0–10)", values, errors, decimal: false),
                FormField.number("activity[ucla]", "UCLA activity score (1–10)", values, errors, decimal: false),
                FormField.number("heightCm", "Height (cm)", values, errors),
                FormField.number("weightKg", "Weight (kg)", values, errors),
                FormField.number("alignment[varusDegrees]", "Varus (degrees, long-leg film)", values, errors),
                FormField.number("alignment[valgusDegrees]", "Valgus (degrees, long-leg film)", values, errors),
            ]),
            FormSection("Comorbidities", id: "comorbidities", fields: [
                FormField.choices("comorbidities", "Comorbidities", values, errors,
                                  options: Comorbidity.allCases.map { ($0.rawValue, $0.rawValue.replacingOccurrences(of: "-", with: " ").capitalizedFirst) },
                                  multiple: true, hint: "Select all that apply"),
            ]),
            FormSection("Medications", id: "medications", fields: [
                FormField.yesNo("medications[anticoagulant]", "Takes an anticoagulant (warfarin, DOAC, heparin)", values, errors),
                FormField.yesNo("medications[antiplatelet]", "Takes an antiplatelet drug", values, errors),
                FormField.yesNo("medications[immunosuppressant]", "Takes an immunosuppressant", values, errors),
                FormField.yesNo("medications[nsaidCurrent]", "Takes NSAIDs regularly", values, errors),
                FormField.date("medications[nsaidLastDose]", "Last NSAID dose", values, errors),
                FormField.date("medications[systemicSteroidLastDose]", "Last systemic corticosteroid", values, errors),
                FormField.date("medications[iaSteroidLastDate]", "Last intra-articular corticosteroid injection", values, errors),
                FormField.date("medications[iaHyaluronicAcidLastDate]", "Last intra-articular hyaluronic acid injection", values, errors),
            ]),
            FormSection("Laboratory", id: "labs", fields: [
                FormField.number("labs[platelets]", "Platelets (×10⁹/L)", values, errors),
                FormField.number("labs[haemoglobin]", "Haemoglobin (g/dL)", values, errors),
                FormField.number("labs[hba1c]", "HbA1c (%)", values, errors),
                FormField.date("labs[date]", "Date of the blood test", values, errors),
            ]),
            FormSection("Safety", id: "safety", fields: [
                FormField.yesNo("infection[systemic]", "Systemic infection, sepsis or fever", values, errors),
                FormField.yesNo("infection[localSkin]", "Skin lesion or infection at the injection or harvest site", values, errors),
                FormField.select("malignancy", "Malignancy", values, errors, options: [
                    ("none", "None"), ("bone", "Bone tumour"), ("haematological", "Haematological malignancy"),
                    ("solid-active", "Solid tumour, active"), ("solid-history", "Solid tumour, history only")]),
                FormField.yesNo("pregnantOrBreastfeeding", "Pregnant or breastfeeding", values, errors),
                FormField.date("lastArthroscopyDate", "Last arthroscopy of this joint", values, errors),
            ]),
        ]
        return FormPage(title: "Screen for IO therapy", user: user,
                        caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(episode))",
                        intro: ["Fill in what is known; a field left empty is \"not recorded\" and the rules that need it say so."],
                        action: Paths.screeningNew.url(episode.id), values: values, errors: errors, sections: sections,
                        buttons: [FormButton("Screen")], cancelURL: Paths.episode.url(episode.id))
    }

    static func treatmentLabel(_ t: PriorTreatment) -> String {
        switch t {
        case .exercise: "Exercise"
        case .physiotherapy: "Physiotherapy"
        case .weightLoss: "Weight loss"
        case .nsaid: "NSAIDs"
        case .iaSteroid: "Intra-articular corticosteroid"
        case .hyaluronicAcid: "Hyaluronic acid"
        case .iaPRP: "Intra-articular PRP"
        case .bracing: "Bracing"
        case .other: "Other"
        }
    }

    /// What the form starts with: today, the episode's diagnosis, the latest MRI, the patient's age.
    static func initialValues(_ view: ReadModels.EpisodePage, today: CalendarDate) -> FormValues {
        var v = FormValues()
        v.set("evaluationDate", today.iso)
        DiagnosisFields.values(view.episode.diagnosis, into: &v)
        if let mri = view.imagingStudies.last(where: { $0.mri != nil })?.mri { MRIFields.values(mri, into: &v) }
        let born = view.patient.birthDate
        var age = today.year - born.year
        if (today.month, today.day) < (born.month, born.day) { age -= 1 }
        if (0...120).contains(age) { v.set("age", String(age)) }
        return v
    }

    /// The screening input, or nil with every problem in `reader.errors`.
    static func read(_ reader: inout FormReader, episode: EpisodeRecord, today: CalendarDate) -> ScreeningInput? {
        let evaluation = reader.date("evaluationDate", "Evaluation date", required: true, notAfter: today.adding(days: 365))
        let diagnosis = DiagnosisFields.read(&reader, joint: episode.joint, today: evaluation ?? today)
        let mri = MRIFields.read(&reader, joint: episode.joint, today: evaluation ?? today, dateRequired: false)
        let concordance = reader.choice(PainConcordance.self, "painConcordance", "Pain–MRI concordance")
        let pain = reader.double("painNRS", "Average pain", 0...10)
        var treatments: [TreatmentTried] = []
        for t in PriorTreatment.allCases {
            let key = "treatments[\(t.rawValue)]"
            let weeks = reader.double("\(key)[weeks]", "\(treatmentLabel(t)) weeks", 0...1040)
            let response = reader.choice(TreatmentResponse.self, "\(key)[response]", "\(treatmentLabel(t)) response")
            if reader.values.all("\(key)[tried]").contains("yes") || weeks != nil || response != nil {
                treatments.append(TreatmentTried(treatment: t, durationWeeks: weeks, response: response))
            }
        }
        let wishes = reader.yesNo("wishesToAvoidReplacement", "Wishes to avoid replacement")
        let candidate = reader.yesNo("surgicalCandidacy[candidate]", "Candidate for joint replacement")
        let reasonNot = reader.text("surgicalCandidacy[reasonNot]", "Reason", max: 500)
        if candidate == true, reasonNot != nil {
            reader.errors.add("surgicalCandidacy[reasonNot]", "Give a reason only when the patient is not a candidate")
        }
        let age = reader.int("age", "Age", 0...120)
        let tegner = reader.int("activity[tegner]", "Tegner activity level", 0...10)
        let ucla = reader.int("activity[ucla]", "UCLA activity score", 1...10)
        let height = reader.double("heightCm", "Height", 50...250, unit: " cm")
        let weight = reader.double("weightKg", "Weight", 20...350, unit: " kg")
        let varus = reader.double("alignment[varusDegrees]", "Varus", 0...45, unit: " degrees")
        let valgus = reader.double("alignment[valgusDegrees]", "Valgus", 0...45, unit: " degrees")
        let comorbidities = reader.choices(Comorbidity.self, "comorbidities", "Comorbidities")
        let latest = evaluation ?? today
        let meds = Medications(
            anticoagulant: reader.yesNo("medications[anticoagulant]", "Anticoagulant"),
            antiplatelet: reader.yesNo("medications[antiplatelet]", "Antiplatelet"),
            immunosuppressant: reader.yesNo("medications[immunosuppressant]", "Immunosuppressant"),
            nsaidCurrent: reader.yesNo("medications[nsaidCurrent]", "NSAIDs"),
            nsaidLastDose: reader.date("medications[nsaidLastDose]", "Last NSAID dose", notAfter: latest),
            systemicSteroidLastDose: reader.date("medications[systemicSteroidLastDose]", "Last systemic corticosteroid", notAfter: latest),
            iaSteroidLastDate: reader.date("medications[iaSteroidLastDate]", "Last intra-articular corticosteroid", notAfter: latest),
            iaHyaluronicAcidLastDate: reader.date("medications[iaHyaluronicAcidLastDate]", "Last hyaluronic acid injection", notAfter: latest))
        let labs = Labs(platelets: reader.double("labs[platelets]", "Platelets", 1...2000),
                        haemoglobin: reader.double("labs[haemoglobin]", "Haemoglobin", 1...25),
                        hba1c: reader.double("labs[hba1c]", "HbA1c", 2...20),
                        date: reader.date("labs[date]", "Date of the blood test", notAfter: latest))
        let infection = InfectionStatus(systemic: reader.yesNo("infection[systemic]", "Systemic infection"),
                                        localSkin: reader.yesNo("infection[localSkin]", "Skin lesion or infection"))
        let malignancy = reader.choice(MalignancyType.self, "malignancy", "Malignancy")
        let pregnant = reader.yesNo("pregnantOrBreastfeeding", "Pregnant or breastfeeding")
        let arthroscopy = reader.date("lastArthroscopyDate", "Last arthroscopy", notAfter: latest)
        guard let evaluation, let diagnosis else { return nil }
        let input = ScreeningInput(
            evaluationDate: evaluation, joint: episode.joint, side: episode.side, diagnosis: diagnosis, mri: mri,
            painConcordance: concordance, painNRS: pain, treatmentsTried: treatments.isEmpty ? nil : treatments,
            wishesToAvoidReplacement: wishes,
            surgicalCandidacy: candidate.map { SurgicalCandidacy(candidate: $0, reasonNot: reasonNot) },
            age: age, activity: (tegner == nil && ucla == nil) ? nil : ActivityLevel(tegner: tegner, ucla: ucla),
            heightCm: height, weightKg: weight,
            alignment: (varus == nil && valgus == nil) ? nil : Alignment(varusDegrees: varus, valgusDegrees: valgus),
            comorbidities: comorbidities.isEmpty ? nil : comorbidities,
            medications: meds == Medications() ? nil : meds, labs: labs == Labs() ? nil : labs,
            infection: infection == InfectionStatus() ? nil : infection, malignancy: malignancy, pregnantOrBreastfeeding: pregnant,
            lastArthroscopyDate: arthroscopy)
        // The engine's own checks (dates after the evaluation, implausible BMI, grades for the wrong joint), all at once.
        for problem in input.problems() {
            if let index = MRIFields.findingIndex(problem.path), let finding = mri?.bml[safe: index] {
                reader.errors.add("mri[bml][\(finding.subregion.rawValue)][\(problem.path.split(separator: ".").last ?? "size")]", problem.message)
            } else if problem.path.hasPrefix("treatmentsTried["), let index = Int(problem.path.dropFirst(16).prefix { $0 != "]" }),
                      let t = treatments[safe: index] {
                reader.errors.add("treatments[\(t.treatment.rawValue)][weeks]", problem.message)
            } else {
                reader.errors.add(problem)
            }
        }
        return reader.errors.isEmpty ? input : nil
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// GET /episodes/:episodeID/screening/:decisionID: the decision — category, every rule that fired with its reason and
/// evidence, next steps with dates, suggested targets, setting and sedation, adjuncts, what to expect — with sign and
/// override for a clinician, and the episode's decision history.
struct ScreeningDecisionPage: Page {
    static let template = "screening-decision"
    struct Rule: Sendable { var effect: String; var severity: String; var reason: String; var evidence: String; var id: String }
    struct Target: Sendable { var label: String; var detail: String; var evidence: String? }

    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var caption: String
    var episodeURL: String
    var category: String
    var categoryClass: String
    var summary: String
    var facts: SummaryList
    var rules: [Rule]
    var hasRules: Bool
    var nextSteps: [String]
    var hasNextSteps: Bool
    var targets: [Target]
    var hasTargets: Bool
    var setting: String?
    var adjuncts: [Target]
    var hasAdjuncts: Bool
    var expectations: [String]
    var hasExpectations: Bool
    var signURL: String
    var overrideURL: String
    var canSign: Bool
    var overrideForm: FormPage?
    var history: TableModel
    var diagram: String?

    init(_ view: ReadModels.EpisodePage, decision d: ScreeningDecisionRecord, user: UserBar, role: Role,
         overrideValues: FormValues = FormValues(), overrideErrors: FormErrors = FormErrors()) {
        let episodeID = view.episode.id
        let names = view.userNames
        title = "Screening decision of \(d.evaluationDate.iso)"
        self.user = user
        caption = "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))"
        episodeURL = Paths.episode.url(episodeID)
        category = Display.category(d.effectiveCategory)
        categoryClass = "category-\(d.effectiveCategory.rawValue)"
        summary = d.decision.summary
        var facts: [(String, String)] = [
            ("Engine's category", Display.category(d.category)),
            ("Ruleset", "\(d.rulesetID) version \(d.rulesetVersion)"),
            ("Evaluated", d.evaluationDate.iso),
            ("Screened by", d.decidedBy.flatMap { names[$0] } ?? "–"),
            ("Signed", d.signedBy.map { "\(names[$0] ?? "a clinician") on \(d.signedAt.map(Display.instant) ?? "–")" } ?? "Not signed"),
        ]
        if let o = d.overrideCategory {
            facts.append(("Overridden to", "\(Display.category(o)) by \(d.overriddenBy.flatMap { names[$0] } ?? "a clinician") on \(d.overriddenAt.map(Display.instant) ?? "–")"))
            facts.append(("Reason for the override", d.overrideReason ?? "–"))
        }
        if let eligible = d.decision.earliestEligibleDate { facts.append(("Earliest eligible date", eligible.iso)) }
        self.facts = SummaryList(facts)
        rules = d.firedRules.map { Rule(effect: $0.effect.rawValue, severity: $0.severity.rawValue, reason: $0.reason, evidence: $0.evidence, id: $0.id) }
        hasRules = !rules.isEmpty
        nextSteps = d.decision.nextSteps.map { step in step.eligibleFrom.map { "\(step.text) (from \($0.iso))" } ?? step.text }
        hasNextSteps = !nextSteps.isEmpty
        targets = d.decision.targets.map { t in
            var parts = [t.subregions.map { JointDiagram.subregionName($0.rawValue) }.joined(separator: ", ")]
            if let g = t.maxGrade { parts.append("maximal grade \(g)") }
            if let lo = t.minVolumeMl, let hi = t.maxVolumeMl { parts.append("\(Display.number(lo))–\(Display.number(hi)) ml") }
            return Target(label: t.label, detail: parts.filter { !$0.isEmpty }.joined(separator: " · "), evidence: t.evidence)
        }
        hasTargets = !targets.isEmpty
        setting = d.decision.setting.map { "\($0.setting.rawValue.replacingOccurrences(of: "-", with: " ")), \($0.anaesthesia.rawValue.replacingOccurrences(of: "-", with: " ")): \($0.reason)" }
        adjuncts = d.decision.adjuncts.map { Target(label: $0.adjunct, detail: $0.detail, evidence: $0.evidence) }
        hasAdjuncts = !adjuncts.isEmpty
        expectations = d.decision.expectations
        hasExpectations = !expectations.isEmpty
        signURL = Paths.screeningSign.url(episodeID, d.id)
        overrideURL = Paths.screeningOverride.url(episodeID, d.id)
        canSign = role == .clinician && !d.isSigned
        if role == .clinician && d.overrideCategory == nil {
            overrideForm = ScreeningDecisionPage.overrideForm(user: user, decision: d, episodeID: episodeID, values: overrideValues, errors: overrideErrors)
        }
        history = TableModel(caption: "Decision history", headers: ["Evaluated", "Category", "Ruleset", "Signed by", ""],
                             rows: view.screeningDecisions.map { h in
                                 TableModel.Row(.init(h.evaluationDate.iso), .init(Display.category(h.effectiveCategory) + (h.overrideCategory != nil ? " (overridden)" : "")),
                                                .init("\(h.rulesetID) \(h.rulesetVersion)"), .init(h.signedBy.map { names[$0] ?? "a clinician" } ?? "not signed"),
                                                h.id == d.id ? .init("this decision") : .link("Open", Paths.screeningDecision.url(episodeID, h.id)))
                             }, captionHidden: false)
        if let mri = d.input.mri, d.input.joint == .knee || d.input.joint == .hip {
            diagram = JointDiagram.svg(joint: d.input.joint.rawValue, side: d.input.side.rawValue,
                                       values: Dictionary(mri.bml.map { ($0.subregion.rawValue, $0.size.rawValue) }, uniquingKeysWith: max),
                                       mode: .grade, title: "MRI of \(mri.date.iso) used for this decision", id: "decision-mri")
        }
    }

    static func overrideForm(user: UserBar, decision d: ScreeningDecisionRecord, episodeID: UUID, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Override the category", user: user, action: Paths.screeningOverride.url(episodeID, d.id), values: values, errors: errors,
                 sections: [FormSection("Override", id: "override", fields: [
                    FormField.choices("category", "New category", values, errors,
                                      options: ScreeningCategory.allCases.filter { $0 != d.category }.map { ($0.rawValue, Display.category($0)) }),
                    FormField.textarea("reason", "Reason for the override", values, errors, hint: "Recorded with your name and kept with the decision"),
                 ])],
                 buttons: [FormButton("Override and sign", secondary: true)], cancelURL: nil)
    }
}

extension Display {
    static func instant(_ date: Date) -> String {
        let f = date.formatted(.iso8601)
        return String(f.prefix(10)) + " " + String(f.dropFirst(11).prefix(5)) + " UTC"
    }
}
