import Foundation
import OssaCore
import OssaStore

/// The injection plan form: one row per planned injection (bone and subregion, approach, volume range, product),
/// drafted from the signed decision's suggested targets and the latest MRI, edited by the clinician.
enum PlanForm {
    static let addRow = "add-planned"
    static let removePrefix = "remove-planned-"

    static func page(user: UserBar, view: ReadModels.EpisodePage, values: FormValues, errors: FormErrors) -> FormPage {
        let episode = view.episode
        let rows = values.rowIndices("injections").isEmpty ? [0] : values.rowIndices("injections")
        let grid = InjectionRows.grid(joint: episode.joint, values: values, errors: errors, removePrefix: removePrefix) { key, n in
            [FormField.input("\(key)[approach]", "Injection \(n): approach", values, errors, width: "10", labelHidden: true),
             FormField.number("\(key)[minVolumeMl]", "Injection \(n): smallest volume (ml)", values, errors, labelHidden: true),
             FormField.number("\(key)[maxVolumeMl]", "Injection \(n): largest volume (ml)", values, errors, labelHidden: true),
             FormField.select("\(key)[product]", "Injection \(n): product", values, errors, options: [("prp", "PRP"), ("bmc", "BMC")], blank: "Select", labelHidden: true)]
        }
        let signed = view.screeningDecisions.first { $0.isSigned }
        return FormPage(
            title: view.plan == nil ? "Draft the injection plan" : "Edit the injection plan", user: user,
            caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(episode))",
            intro: [signed.map { "Drafted from the decision of \($0.evaluationDate.iso) (\(Display.category($0.effectiveCategory))) and the latest MRI." }
                    ?? "No signed screening decision yet: the plan starts empty."],
            action: Paths.planEdit.url(episode.id), values: values, errors: errors,
            sections: [
                FormSection("Booking", id: "booking", fields: [
                    FormField.date("plannedDate", "Planned date", values, errors, hint: "Optional; the worklist shows the week's planned procedures"),
                    FormField.choices("setting", "Setting", values, errors, options: [("office", "Office"), ("surgery-centre", "Outpatient surgery centre")], inline: true),
                    FormField.select("anaesthesia", "Anaesthesia", values, errors, options: [("local", "Local"), ("local-nitrous", "Local with nitrous oxide"),
                                                                                            ("twilight-sedation", "Twilight sedation"), ("general", "General")], blank: "Select"),
                ]),
                FormSection("Injections", id: "injections", hint: "One row per target. The volumes are the range to prepare.",
                            grid: FormGrid(caption: "Planned injections", headers: ["Injection", "Target", "Subregion", "Approach", "From (ml)", "To (ml)", "Product"]
                                           + (rows.count > 1 ? ["Remove"] : []), rows: grid),
                            buttons: [FormButton("Add an injection", name: "action", value: addRow)]),
                FormSection("Notes", id: "notes", fields: [FormField.textarea("notes", "Notes for the procedure room", values, errors)]),
            ],
            buttons: [FormButton("Save plan", name: "action", value: "save")], cancelURL: Paths.plan.url(episode.id),
            hidden: signed.map { [FormField.hidden("decisionID", $0.id.lowercasedID)] } ?? [])
    }

    /// The stored plan, or a draft: the signed decision's targets (its volume range; the MRI subregion of the worst
    /// lesion in that bone) and its setting.
    static func initialValues(_ view: ReadModels.EpisodePage) -> FormValues {
        var v = FormValues()
        if let stored = view.plan?.plan {
            v.set("plannedDate", stored.plannedDate?.iso)
            v.set("setting", stored.setting.rawValue)
            v.set("anaesthesia", stored.anaesthesia.rawValue)
            v.set("notes", stored.notes)
            for (i, p) in stored.injections.enumerated() {
                InjectionRows.set(p.target, row: i, into: &v)
                v.set("injections[\(i)][approach]", p.approach)
                v.set("injections[\(i)][minVolumeMl]", Display.number(p.minVolumeMl))
                v.set("injections[\(i)][maxVolumeMl]", Display.number(p.maxVolumeMl))
                v.set("injections[\(i)][product]", p.product.rawValue)
            }
            return v
        }
        guard let decision = view.screeningDecisions.first(where: { $0.isSigned })?.decision else { return v }
        v.set("setting", decision.setting?.setting.rawValue)
        v.set("anaesthesia", decision.setting?.anaesthesia.rawValue)
        let mri = view.imagingStudies.last { $0.mri != nil }?.mri ?? decision.input.mri
        for (i, t) in decision.targets.enumerated() {
            v.set("injections[\(i)][target]", t.target)
            // The subregion with the largest lesion of this bone on the latest MRI, else the decision's first.
            let worst = mri?.bml.filter { $0.subregion.boneTarget.rawValue == t.target && $0.size != .none }.max { $0.size.rawValue < $1.size.rawValue }
            v.set("injections[\(i)][subregion]", (worst?.subregion ?? t.subregions.first)?.rawValue)
            v.set("injections[\(i)][minVolumeMl]", t.minVolumeMl.map(Display.number))
            v.set("injections[\(i)][maxVolumeMl]", t.maxVolumeMl.map(Display.number))
            v.set("injections[\(i)][product]", "prp")
        }
        return v
    }

    /// The form's values after an add or remove button (no write); nil for the save button.
    static func applying(_ values: FormValues) -> FormValues? {
        InjectionRows.applying(values, add: addRow, removePrefix: removePrefix)
    }

    static func read(_ reader: inout FormReader, today: CalendarDate) -> InjectionPlan? {
        let date = reader.date("plannedDate", "Planned date")
        let setting = reader.choice(ProcedureSetting.self, "setting", "Setting", required: true)
        let anaesthesia = reader.choice(Anaesthesia.self, "anaesthesia", "Anaesthesia", required: true)
        var injections: [PlannedInjection] = []
        for (position, i) in reader.values.rowIndices("injections").enumerated() {
            let key = "injections[\(i)]"
            let n = position + 1
            let target = InjectionRows.target(&reader, key, row: n)
            let approach = reader.text("\(key)[approach]", "Approach", max: 100)
            let low = reader.double("\(key)[minVolumeMl]", "Injection \(n) smallest volume", 0.1...60, required: true, unit: " ml")
            let high = reader.double("\(key)[maxVolumeMl]", "Injection \(n) largest volume", 0.1...60, required: true, unit: " ml")
            let product = reader.choice(InjectedProduct.self, "\(key)[product]", "Injection \(n) product", required: true)
            if let low, let high, high < low { reader.errors.add("\(key)[maxVolumeMl]", "Injection \(n): the largest volume is less than the smallest") }
            if let target, let low, let high, let product {
                injections.append(PlannedInjection(target: target, product: product, approach: approach, minVolumeMl: low, maxVolumeMl: high))
            }
        }
        if reader.values.rowIndices("injections").isEmpty { reader.errors.add("injections[0][target]", "Plan at least one injection") }
        let notes = reader.text("notes", "Notes", max: 4000)
        guard reader.errors.isEmpty, let setting, let anaesthesia else { return nil }
        return InjectionPlan(plannedDate: date, setting: setting, anaesthesia: anaesthesia, injections: injections, notes: notes)
    }
}

/// GET /episodes/:episodeID/plan: the plan as printed for the procedure room.
struct PlanPage: Page {
    static let template = "plan"
    var title = "Injection plan"
    var user: UserBar?
    var chrome = Chrome()
    var caption: String
    var episodeURL: String
    var editURL: String
    var procedureURL: String
    var hasPlan: Bool
    var canEdit: Bool
    var facts: SummaryList
    var injections: TableModel
    var notes: String?
    var diagram: String?
    var updated: String?

    init(_ view: ReadModels.EpisodePage, user: UserBar, role: Role) {
        let episode = view.episode
        self.user = user
        caption = "\(Display.name(view.patient)) · born \(view.patient.birthDate.iso) · \(view.patient.mrn.map { "MRN \($0)" } ?? "no MRN") · \(EpisodeView.jointLabel(episode))"
        episodeURL = Paths.episode.url(episode.id)
        editURL = Paths.planEdit.url(episode.id)
        procedureURL = Paths.procedureNew.url(episode.id)
        canEdit = role == .clinician
        let plan = view.plan?.plan
        hasPlan = plan != nil
        facts = SummaryList(plan.map { p in
            [("Planned date", p.plannedDate?.iso ?? "not booked"), ("Setting", p.setting.rawValue.replacingOccurrences(of: "-", with: " ")),
             ("Anaesthesia", p.anaesthesia.rawValue.replacingOccurrences(of: "-", with: " ")),
             ("Total volume", "\(Display.number(p.injections.reduce(0) { $0 + $1.minVolumeMl }))–\(Display.number(p.injections.reduce(0) { $0 + $1.maxVolumeMl })) ml")]
        } ?? [])
        injections = TableModel(caption: "Planned injections", headers: ["#", "Target", "Subregion", "Approach", "Volume (ml)", "Product"],
                                rows: (plan?.injections ?? []).enumerated().map { i, p in
                                    var subregion = "–"
                                    if case .bone(_, let s?) = p.target { subregion = JointDiagram.subregionName(s.rawValue) }
                                    return TableModel.Row(.init(String(i + 1), class: "num"), .init(p.target.label.capitalizedFirst), .init(subregion),
                                                          .init(p.approach ?? "–"), .init("\(Display.number(p.minVolumeMl))–\(Display.number(p.maxVolumeMl))", class: "num"),
                                                          .init(p.product.rawValue.uppercased()))
                                }, emptyText: "No injections planned.")
        notes = plan?.notes
        updated = view.plan.map { p in "Saved by \(p.updatedBy.flatMap { view.userNames[$0] } ?? "a clinician")\(p.updatedAt.map { " on \(Display.instant($0))" } ?? "")" }
        if let mri = view.imagingStudies.last(where: { $0.mri != nil })?.mri, episode.joint == .knee || episode.joint == .hip {
            diagram = JointDiagram.svg(joint: episode.joint.rawValue, side: episode.side.rawValue,
                                       values: Dictionary(mri.bml.map { ($0.subregion.rawValue, $0.size.rawValue) }, uniquingKeysWith: max),
                                       mode: .grade, title: "Latest MRI, \(mri.date.iso)", id: "plan-mri")
        }
    }
}

/// The adjunct session form: a focal shockwave course or an intra-articular injection.
enum AdjunctForm {
    static let sessions = 5

    static func page(user: UserBar, view: ReadModels.EpisodePage, values: FormValues, errors: FormErrors) -> FormPage {
        let dates = (0..<sessions).map { i in
            FormField.date("shockwave[sessionDates][\(i)]", "Session \(i + 1) date", values, errors, hint: i == 0 ? "Year-month-day; leave later sessions empty" : nil)
        }
        return FormPage(
            title: "Record an adjunct session", user: user, caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))",
            action: Paths.adjunctNew.url(view.episode.id), values: values, errors: errors,
            sections: [
                FormSection("Kind", id: "kind", fields: [
                    FormField.choices("kind", "Session", values, errors, options: [("shockwave", "Focal shockwave course"), ("intra-articular", "Intra-articular injection")]),
                ]),
                FormSection("Focal shockwave", id: "shockwave", hint: "Fill in for a shockwave course.", fields: [
                    FormField.select("shockwave[device]", "Device", values, errors, options: ShockwaveDevice.allCases.map { ($0.rawValue, $0.rawValue.replacingOccurrences(of: "-", with: " ").capitalizedFirst) }, blank: "Select"),
                    FormField.number("shockwave[energyFluxDensity]", "Energy flux density (mJ/mm²)", values, errors),
                    FormField.number("shockwave[pulsesPerSession]", "Pulses per session", values, errors, decimal: false),
                    FormField.number("shockwave[frequencyHz]", "Frequency (Hz)", values, errors),
                ] + dates),
                FormSection("Intra-articular injection", id: "ia", hint: "Fill in for an intra-articular injection.", fields: [
                    FormField.date("ia[date]", "Date", values, errors),
                    FormField.choices("ia[product]", "Product", values, errors, options: [("prp", "PRP"), ("bmc", "BMC")], inline: true),
                    FormField.number("ia[volumeMl]", "Volume (ml)", values, errors),
                ]),
            ],
            buttons: [FormButton("Save session")], cancelURL: Paths.episode.url(view.episode.id))
    }

    static func read(_ reader: inout FormReader, today: CalendarDate) -> AdjunctSession? {
        switch reader.choice(AdjunctKind.self, "kind", "Session", required: true) {
        case .shockwave?:
            let device = reader.choice(ShockwaveDevice.self, "shockwave[device]", "Device", required: true)
            let flux = reader.double("shockwave[energyFluxDensity]", "Energy flux density", 0.01...2, required: true, unit: " mJ/mm²")
            let pulses = reader.int("shockwave[pulsesPerSession]", "Pulses per session", 1...20_000, required: true)
            let frequency = reader.double("shockwave[frequencyHz]", "Frequency", 0.1...100, unit: " Hz")
            var dates: [CalendarDate] = []
            for i in 0..<sessions {
                if let date = reader.date("shockwave[sessionDates][\(i)]", "Session \(i + 1) date", notAfter: today) {
                    if let last = dates.last, date <= last { reader.errors.add("shockwave[sessionDates][\(i)]", "Session \(i + 1) must come after session \(dates.count)") }
                    dates.append(date)
                }
            }
            if dates.isEmpty { reader.errors.add("shockwave[sessionDates][0]", "Enter the date of the first session") }
            guard reader.errors.isEmpty, let device, let flux, let pulses else { return nil }
            return .shockwave(ShockwaveCourse(device: device, energyFluxDensity: flux, pulsesPerSession: pulses, frequencyHz: frequency, sessionDates: dates))
        case .intraArticular?:
            let date = reader.date("ia[date]", "Date", required: true, notAfter: today)
            let product = reader.choice(InjectedProduct.self, "ia[product]", "Product", required: true)
            let volume = reader.double("ia[volumeMl]", "Volume", 0.1...60, required: true, unit: " ml")
            guard reader.errors.isEmpty, let date, let product, let volume else { return nil }
            return .intraArticular(date: date, product: product, volumeMl: volume)
        case nil:
            return nil
        }
    }

    enum AdjunctKind: String, CaseIterable { case shockwave, intraArticular = "intra-articular" }

    static func describe(_ session: AdjunctSession) -> String {
        switch session {
        case .shockwave(let c):
            "Focal shockwave (\(c.device.rawValue.replacingOccurrences(of: "-", with: " "))): \(Display.number(c.energyFluxDensity)) mJ/mm², \(c.pulsesPerSession) pulses\(c.frequencyHz.map { " at \(Display.number($0)) Hz" } ?? ""), \(c.sessionDates.count) session\(c.sessionDates.count == 1 ? "" : "s") (\(c.sessionDates.map(\.iso).joined(separator: ", ")))"
        case .intraArticular(_, let product, let volume):
            "Intra-articular \(product.rawValue.uppercased()), \(Display.number(volume)) ml"
        }
    }
}

/// An addendum to a signed procedure record.
enum AddendumForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, procedure: StoredProcedure, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Add an addendum", user: user, action: Paths.procedureAddenda.url(view.episode.id, procedure.id), values: values, errors: errors,
                 sections: [FormSection("Addendum", id: "addendum", hint: "The signed record does not change; the addendum is shown under it with your name.", fields: [
                    FormField.textarea("text", "Correction or addition", values, errors),
                    FormField.input("reason", "Reason", values, errors, hint: "For example: volume misread from the syringe"),
                 ])],
                 buttons: [FormButton("Add addendum", secondary: true)], cancelURL: nil)
    }
}
