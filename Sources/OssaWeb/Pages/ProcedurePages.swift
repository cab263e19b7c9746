import Foundation
import OssaCore
import OssaStore

/// What the procedure form and the plan form share: one row per injection under `injections[i]`, added and removed
/// with submit buttons, each with a target (a bone of the joint, or intra-articular) and an optional subregion.
enum InjectionRows {
    static func targetOptions(_ joint: Joint) -> [(String, String)] {
        let bones = BoneTarget.allCases.filter { bone in BMLSubregion.subregions(of: joint).contains { $0.boneTarget == bone } }
        return bones.map { ($0.rawValue, $0.displayName.capitalizedFirst) } + [("intra-articular", "Intra-articular")]
    }

    /// The values after an add or remove button (`add`, `removePrefix` + row index); nil for any other action.
    static func applying(_ values: FormValues, add: String, removePrefix: String) -> FormValues? {
        let action = values["action"]
        var v = values
        let rows = values.rowIndices("injections")
        if action == add {
            v.set("injections[\((rows.max() ?? 0) + 1)][product]", values["injections[\(rows.last ?? 0)][product]"].ifEmpty("prp"))
            return v
        }
        if action.hasPrefix(removePrefix), let index = Int(action.dropFirst(removePrefix.count)) {
            for key in values.values.keys where key.hasPrefix("injections[\(index)]") { v.set(key, nil) }
            return v
        }
        return nil
    }

    /// The grid rows: each row's target and subregion selects, then `cells` (the form's own columns), then its
    /// remove button when there is more than one row.
    static func grid(joint: Joint, values: FormValues, errors: FormErrors, removePrefix: String,
                     cells: (_ key: String, _ n: Int) -> [FormField]) -> [FormGrid.Row] {
        let rows = values.rowIndices("injections").isEmpty ? [0] : values.rowIndices("injections")
        let targets = targetOptions(joint)
        return rows.enumerated().map { position, i in
            let key = "injections[\(i)]"
            let n = position + 1
            return FormGrid.Row(header: "Injection \(n)", cells: [
                FormField.select("\(key)[target]", "Injection \(n): target", values, errors, options: targets, blank: "Select", labelHidden: true),
                FormField.select("\(key)[subregion]", "Injection \(n): subregion", values, errors, options: MRIFields.subregionOptions(joint), blank: "–", labelHidden: true),
            ] + cells(key, n), button: rows.count > 1 ? FormButton("Remove", name: "action", value: "\(removePrefix)\(i)", ariaLabel: "Remove injection \(n)") : nil)
        }
    }

    /// Writes a target into row `index`'s fields.
    static func set(_ target: InjectionTarget, row index: Int, into values: inout FormValues) {
        switch target {
        case .bone(let bone, let subregion):
            values.set("injections[\(index)][target]", bone.rawValue)
            values.set("injections[\(index)][subregion]", subregion?.rawValue)
        case .intraArticular:
            values.set("injections[\(index)][target]", "intra-articular")
        }
    }

    /// Row `key`'s target, or nil with the problem recorded (a subregion outside its bone included).
    static func target(_ reader: inout FormReader, _ key: String, row n: Int) -> InjectionTarget? {
        let text = reader.values["\(key)[target]"]
        let subregion = reader.choice(BMLSubregion.self, "\(key)[subregion]", "Subregion")
        if text == "intra-articular" { return .intraArticular }
        guard let bone = BoneTarget(rawValue: text) else {
            reader.errors.add("\(key)[target]", "Select injection \(n)'s target")
            return nil
        }
        if let subregion, subregion.boneTarget != bone {
            reader.errors.add("\(key)[subregion]", "\(JointDiagram.subregionName(subregion.rawValue)) is not in the \(bone.displayName)")
        }
        return .bone(bone, subregion: subregion)
    }
}

/// The procedure record form. Injection rows are added and removed with submit buttons (`action=add-injection`,
/// `action=remove-injection-N`), which re-render the form with the values kept: no JavaScript needed.
enum ProcedureForm {
    static let addInjection = "add-injection"
    static let removePrefix = "remove-injection-"

    static func page(user: UserBar, view: ReadModels.EpisodePage, values: FormValues, errors: FormErrors) -> FormPage {
        let episode = view.episode
        let rows = values.rowIndices("injections").isEmpty ? [0] : values.rowIndices("injections")
        let injectionRows = InjectionRows.grid(joint: episode.joint, values: values, errors: errors, removePrefix: removePrefix) { key, n in
            [FormField.select("\(key)[product]", "Injection \(n): product", values, errors, options: [("prp", "PRP"), ("bmc", "BMC")], blank: "Select", labelHidden: true),
             FormField.input("\(key)[approach]", "Injection \(n): approach", values, errors, width: "10", labelHidden: true),
             FormField.number("\(key)[gauge]", "Injection \(n): needle gauge", values, errors, decimal: false, labelHidden: true),
             FormField.number("\(key)[volumeMl]", "Injection \(n): volume (ml)", values, errors, labelHidden: true)]
        }
        let sections = [
            FormSection("Procedure", id: "procedure", fields: [
                FormField.date("date", "Procedure date", values, errors),
                FormField.choices("kind", "Kind", values, errors, options: [("io", "Intraosseous injection"), ("intra-articular", "Intra-articular injection only")], inline: true),
                FormField.choices("setting", "Setting", values, errors, options: [("office", "Office"), ("surgery-centre", "Outpatient surgery centre")], inline: true),
                FormField.select("anaesthesia", "Anaesthesia", values, errors, options: [("local", "Local"), ("local-nitrous", "Local with nitrous oxide"),
                                                                                        ("twilight-sedation", "Twilight sedation"), ("general", "General")], blank: "Select"),
                FormField.choices("guidance", "Guidance", values, errors, options: [("fluoroscopy", "Fluoroscopy"), ("ultrasound", "Ultrasound")], multiple: true),
                FormField.number("fluoroscopySeconds", "Fluoroscopy time (seconds)", values, errors),
                FormField.number("doseAreaProduct", "Dose–area product (mGy·cm²)", values, errors),
            ]),
            FormSection("PRP", id: "prp", hint: "Fill in when PRP is injected.", fields: [
                FormField.input("prp[system]", "Preparation system", values, errors, width: "20"),
                FormField.number("prp[bloodDrawnMl]", "Blood drawn (ml)", values, errors),
                FormField.number("prp[finalVolumeMl]", "Final PRP volume (ml)", values, errors),
                FormField.number("prp[plateletConcentration]", "Platelet concentration (×10⁹/L)", values, errors),
                FormField.number("prp[foldOverWholeBlood]", "Fold over whole blood", values, errors),
                FormField.choices("prp[leukocytes]", "Leukocytes", values, errors, options: [("leukocyte-poor", "Leukocyte-poor"), ("leukocyte-rich", "Leukocyte-rich"), ("", "Not recorded")], inline: true),
                FormField.select("prp[activation]", "Activation", values, errors, options: [("none", "None"), ("calcium-chloride", "Calcium chloride"), ("thrombin", "Thrombin"), ("other", "Other")]),
            ]),
            FormSection("BMC", id: "bmc", hint: "Fill in when bone marrow concentrate is injected.", fields: [
                FormField.select("bmc[harvestSite]", "Harvest site", values, errors, options: HarvestSite.allCases.map { ($0.rawValue, $0.rawValue.replacingOccurrences(of: "-", with: " ").capitalizedFirst) }),
                FormField.number("bmc[aspirateVolumeMl]", "Aspirate volume (ml)", values, errors),
                FormField.number("bmc[concentrateVolumeMl]", "Concentrate volume (ml)", values, errors),
                FormField.number("bmc[nucleatedCellsPerMl]", "Nucleated cells per ml", values, errors),
                FormField.number("bmc[cfuFPerMl]", "CFU-F per ml", values, errors),
            ]),
            FormSection("Injections", id: "injections", hint: "One row per injection. Add or remove rows with the buttons; what you typed is kept.",
                        grid: FormGrid(caption: "Injections", headers: ["Injection", "Target", "Subregion", "Product", "Approach", "Gauge", "Volume (ml)"] + (rows.count > 1 ? ["Remove"] : []),
                                       rows: injectionRows),
                        buttons: [FormButton("Add an injection", name: "action", value: addInjection)]),
            FormSection("Complications and discharge", id: "discharge", fields: [
                FormField.input("complications[0][description]", "Complication, if any", values, errors, hint: "Leave empty when there was none"),
                FormField.select("complications[0][severity]", "Severity of the complication", values, errors,
                                 options: AdverseEventSeverity.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, blank: "–"),
                FormField.textarea("dischargeInstructions", "Discharge instructions", values, errors, hint: "Prefilled from the protocol; edit as needed"),
                FormField.input("operator", "Operator", values, errors, width: "20"),
            ]),
        ]
        return FormPage(title: "Record a procedure", user: user, caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(episode))",
                        action: Paths.procedureNew.url(episode.id), values: values, errors: errors, sections: sections,
                        buttons: [FormButton("Save procedure", name: "action", value: "save")], cancelURL: Paths.episode.url(episode.id))
    }

    /// The plan: the signed decision's suggested targets (mid-range volume) and setting, the protocol's discharge
    /// instructions, today's date and the signed-in clinician as operator.
    static func initialValues(_ view: ReadModels.EpisodePage, operatorName: String, today: CalendarDate) -> FormValues {
        var v = FormValues()
        v.set("date", today.iso)
        v.set("kind", "io")
        v.set(["guidance"].first!, all: ["fluoroscopy"])
        v.set("operator", operatorName)
        if let plan = view.plan?.plan {
            v.set("setting", plan.setting.rawValue)
            v.set("anaesthesia", plan.anaesthesia.rawValue)
            for (i, p) in plan.injections.enumerated() {
                InjectionRows.set(p.target, row: i, into: &v)
                v.set("injections[\(i)][approach]", p.approach)
                v.set("injections[\(i)][product]", p.product.rawValue)
                v.set("injections[\(i)][volumeMl]", Display.number((p.minVolumeMl + p.maxVolumeMl) / 2))
            }
            v.set("dischargeInstructions", defaultDischarge(view))
            return v
        }
        let decision = view.screeningDecisions.first { $0.isSigned }
        if let s = decision?.decision.setting {
            v.set("setting", s.setting.rawValue)
            v.set("anaesthesia", s.anaesthesia.rawValue)
        }
        let targets = decision?.decision.targets ?? []
        for (i, t) in targets.enumerated() {
            v.set("injections[\(i)][target]", t.target)
            v.set("injections[\(i)][subregion]", t.subregions.first?.rawValue)
            v.set("injections[\(i)][product]", "prp")
            if let lo = t.minVolumeMl, let hi = t.maxVolumeMl { v.set("injections[\(i)][volumeMl]", Display.number((lo + hi) / 2)) }
        }
        v.set("dischargeInstructions", defaultDischarge(view))
        return v
    }

    /// The protocol's words for after the procedure (the signed decision's expectations, from the ruleset).
    static func defaultDischarge(_ view: ReadModels.EpisodePage) -> String {
        let expectations = view.screeningDecisions.first { $0.isSigned }?.decision.expectations ?? []
        return expectations.isEmpty
            ? "Bear weight as tolerated. Expect discomfort for 2–3 days. Avoid NSAIDs for several weeks; ask which pain relief to use."
            : expectations.prefix(3).joined(separator: " ")
    }

    /// The form's values after an add or remove button (no write); nil for the save button.
    static func applying(_ values: FormValues) -> FormValues? {
        InjectionRows.applying(values, add: addInjection, removePrefix: removePrefix)
    }

    static func read(_ reader: inout FormReader, episode: EpisodeRecord, today: CalendarDate) -> NewProcedure? {
        let date = reader.date("date", "Procedure date", required: true, notAfter: today)
        let kind = reader.choice(ProcedureKind.self, "kind", "Kind", required: true)
        let setting = reader.choice(ProcedureSetting.self, "setting", "Setting", required: true)
        let anaesthesia = reader.choice(Anaesthesia.self, "anaesthesia", "Anaesthesia", required: true)
        let guidance = reader.choices(Guidance.self, "guidance", "Guidance")
        let fluoro = reader.double("fluoroscopySeconds", "Fluoroscopy time", 0...7200, unit: " s")
        let dap = reader.double("doseAreaProduct", "Dose–area product", 0...100_000)
        let prpValues = ["system", "bloodDrawnMl", "finalVolumeMl", "plateletConcentration", "foldOverWholeBlood", "leukocytes", "activation"]
            .contains { !reader.values["prp[\($0)]"].isEmpty }
        let prp = PRPDetails(system: reader.text("prp[system]", "Preparation system", max: 100),
                             bloodDrawnMl: reader.double("prp[bloodDrawnMl]", "Blood drawn", 1...500, unit: " ml"),
                             finalVolumeMl: reader.double("prp[finalVolumeMl]", "Final PRP volume", 0.1...200, unit: " ml"),
                             plateletConcentration: reader.double("prp[plateletConcentration]", "Platelet concentration", 1...20_000),
                             foldOverWholeBlood: reader.double("prp[foldOverWholeBlood]", "Fold over whole blood", 0.1...50),
                             leukocytes: reader.choice(LeukocyteContent.self, "prp[leukocytes]", "Leukocytes"),
                             activation: reader.choice(PRPActivation.self, "prp[activation]", "Activation"))
        let harvest = reader.choice(HarvestSite.self, "bmc[harvestSite]", "Harvest site")
        let bmcValues = ["aspirateVolumeMl", "concentrateVolumeMl", "nucleatedCellsPerMl", "cfuFPerMl"].contains { !reader.values["bmc[\($0)]"].isEmpty }
        let aspirate = reader.double("bmc[aspirateVolumeMl]", "Aspirate volume", 1...500, unit: " ml")
        let concentrate = reader.double("bmc[concentrateVolumeMl]", "Concentrate volume", 0.1...200, unit: " ml")
        let cells = reader.double("bmc[nucleatedCellsPerMl]", "Nucleated cells per ml", 0...1e12)
        let cfu = reader.double("bmc[cfuFPerMl]", "CFU-F per ml", 0...1e9)
        if bmcValues, harvest == nil { reader.errors.add("bmc[harvestSite]", "Select the harvest site of the bone marrow") }
        var injections: [Injection] = []
        for i in reader.values.rowIndices("injections") {
            let key = "injections[\(i)]"
            let n = injections.count + 1
            let target = InjectionRows.target(&reader, key, row: n)
            let product = reader.choice(InjectedProduct.self, "\(key)[product]", "Injection \(n) product", required: true)
            let approach = reader.text("\(key)[approach]", "Approach", max: 100)
            let gauge = reader.int("\(key)[gauge]", "Needle gauge", 8...30, unit: " G")
            let volume = reader.double("\(key)[volumeMl]", "Injection \(n) volume", 0.1...60, required: true, unit: " ml")
            if let target, let product, let volume {
                injections.append(Injection(target: target, product: product, approach: approach, gauge: gauge, volumeMl: volume))
            }
        }
        if reader.values.rowIndices("injections").isEmpty { reader.errors.add("injections[0][target]", "Record at least one injection") }
        let complication = reader.text("complications[0][description]", "Complication", max: 500)
        let severity = reader.choice(AdverseEventSeverity.self, "complications[0][severity]", "Severity")
        if complication != nil, severity == nil { reader.errors.add("complications[0][severity]", "Select the complication's severity") }
        let discharge = reader.text("dischargeInstructions", "Discharge instructions", max: 4000)
        let operatorName = reader.text("operator", "Operator", required: true, max: 200)
        guard reader.errors.isEmpty, let date, let kind, let setting, let anaesthesia, let operatorName else { return nil }
        let record = ProcedureRecord(
            date: date, setting: setting, anaesthesia: anaesthesia, guidance: guidance, fluoroscopySeconds: fluoro, doseAreaProduct: dap,
            prp: prpValues ? prp : nil,
            bmc: harvest.map { BMCDetails(harvestSite: $0, aspirateVolumeMl: aspirate, concentrateVolumeMl: concentrate, nucleatedCellsPerMl: cells, cfuFPerMl: cfu) },
            injections: injections,
            complications: complication.map { [Complication(description: $0, severity: severity ?? .mild)] } ?? [],
            dischargeInstructions: discharge, operator_: operatorName)
        do { try record.validate() } catch {
            reader.errors.add(error)
            return nil
        }
        return NewProcedure(episodeID: episode.id, kind: kind, record: record)
    }
}

/// GET /episodes/:episodeID/procedures/:procedureID: the record as signed (or awaiting signature), printable.
struct ProcedurePage: Page {
    static let template = "procedure"
    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var caption: String
    var episodeURL: String
    var facts: SummaryList
    var prp: SummaryList?
    var bmc: SummaryList?
    var injections: TableModel
    var complications: [String]
    var hasComplications: Bool
    var discharge: String?
    var signed: String?
    var canSign: Bool
    var signURL: String
    struct Addendum: Sendable { var text: String; var reason: String; var byline: String }
    var addenda: [Addendum]
    var hasAddenda: Bool
    var addendumForm: FormPage?

    init(_ view: ReadModels.EpisodePage, procedure p: StoredProcedure, user: UserBar, role: Role,
         addendumValues: FormValues = FormValues(), addendumErrors: FormErrors = FormErrors()) {
        let r = p.record
        title = "\(Display.procedureKind(p.kind)) of \(r.date.iso)"
        self.user = user
        caption = "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))"
        episodeURL = Paths.episode.url(view.episode.id)
        facts = SummaryList([("Date", r.date.iso), ("Setting", r.setting.rawValue.replacingOccurrences(of: "-", with: " ")),
                             ("Anaesthesia", r.anaesthesia.rawValue.replacingOccurrences(of: "-", with: " ")),
                             ("Guidance", r.guidance.map(\.rawValue).joined(separator: ", ").ifEmpty("–")),
                             ("Fluoroscopy time", r.fluoroscopySeconds.map { "\(Display.number($0)) s" } ?? "–"),
                             ("Dose–area product", r.doseAreaProduct.map { "\(Display.number($0)) mGy·cm²" } ?? "–"),
                             ("Operator", r.operator_)])
        prp = r.prp.map { d in
            SummaryList([("System", d.system ?? "–"), ("Blood drawn", d.bloodDrawnMl.map { "\(Display.number($0)) ml" } ?? "–"),
                         ("Final volume", d.finalVolumeMl.map { "\(Display.number($0)) ml" } ?? "–"),
                         ("Platelet concentration", d.plateletConcentration.map { "\(Display.number($0)) ×10⁹/L" } ?? "–"),
                         ("Fold over whole blood", Display.number(d.foldOverWholeBlood)), ("Leukocytes", d.leukocytes?.rawValue ?? "–"),
                         ("Activation", d.activation?.rawValue ?? "–")])
        }
        bmc = r.bmc.map { d in
            SummaryList([("Harvest site", d.harvestSite.rawValue.replacingOccurrences(of: "-", with: " ")),
                         ("Aspirate", d.aspirateVolumeMl.map { "\(Display.number($0)) ml" } ?? "–"),
                         ("Concentrate", d.concentrateVolumeMl.map { "\(Display.number($0)) ml" } ?? "–"),
                         ("Nucleated cells per ml", Display.number(d.nucleatedCellsPerMl)), ("CFU-F per ml", Display.number(d.cfuFPerMl))])
        }
        injections = TableModel(caption: "Injections", headers: ["#", "Target", "Product", "Approach", "Gauge", "Volume (ml)"],
                                rows: r.injections.enumerated().map { i, inj in
                                    var target = inj.target.label
                                    if case .bone(_, let sub?) = inj.target { target += " (\(JointDiagram.subregionName(sub.rawValue)))" }
                                    return TableModel.Row(.init(String(i + 1), class: "num"), .init(target), .init(inj.product.rawValue.uppercased()),
                                                          .init(inj.approach ?? "–"), .init(inj.gauge.map { "\($0) G" } ?? "–"),
                                                          .init(Display.number(inj.volumeMl), class: "num"))
                                }, captionHidden: false)
        complications = r.complications.map { "\($0.description) (\($0.severity.rawValue))" }
        hasComplications = !complications.isEmpty
        discharge = r.dischargeInstructions
        signed = p.signedBy.map { "Signed by \(view.userNames[$0] ?? "a clinician") on \(p.signedAt.map(Display.instant) ?? "–"); the record is locked." }
        canSign = role == .clinician && p.signedBy == nil
        signURL = Paths.procedureSign.url(view.episode.id, p.id)
        addenda = (view.addenda[p.id] ?? []).map { a in
            Addendum(text: a.text, reason: a.reason, byline: "\(view.userNames[a.authorID] ?? "A clinician"), \(Display.instant(a.createdAt))")
        }
        hasAddenda = !addenda.isEmpty
        if role == .clinician, p.signedBy != nil {
            addendumForm = AddendumForm.page(user: user, view: view, procedure: p, values: addendumValues, errors: addendumErrors)
        }
    }
}
