import Foundation
import OssaCore
import OssaStore

/// GET /patients/:patientID: the patient's details and episodes, with links to edit and to open an episode.
/// Model: `PatientPage`; view: `patient.mustache`; read model: `ReadModels.patientPage`.
struct PatientPage: Page {
    static let template = "patient"
    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var facts: SummaryList
    var episodes: TableModel
    var editURL: String
    var newEpisodeURL: String
    var canEdit: Bool
    /// The standing decision of each kind, then the history.
    var consents: SummaryList
    var consentHistory: TableModel
    var newConsentURL: String

    init(_ view: ReadModels.PatientPage, user: UserBar, role: Role) {
        let p = view.patient
        title = Display.name(p)
        self.user = user
        facts = SummaryList([("Name", Display.name(p)), ("Born", p.birthDate.iso), ("Sex", p.sex?.rawValue ?? "not recorded"),
                             ("MRN", p.mrn ?? "–"), ("Site", view.site.map { "\($0.code) · \($0.name)" } ?? "–"),
                             ("E-mail", p.email ?? "–"), ("Phone", p.phone ?? "–")])
        episodes = TableModel(caption: "Episodes", headers: ["Episode", "Diagnosis", "Status", "Opened"], rows: view.episodes.map { e in
            let v = EpisodeView(e)
            return TableModel.Row(.link("\(v.side) \(v.joint)", Paths.episode.url(e.id)), .init(v.diagnosis), .init(v.status), .init(v.opened))
        }, captionHidden: false, emptyText: "No episodes yet.")
        editURL = Paths.patientEdit.url(p.id)
        newEpisodeURL = Paths.episodeNew.url(p.id)
        canEdit = role == .clinician || role == .coordinator
        let current = ConsentRecord.current(view.consents)
        consents = SummaryList(ConsentKind.allCases.map { kind in
            (kind.label, current[kind].map { "\($0.decision == .permit ? "Permitted" : "Denied") on \($0.date.iso)" } ?? "Not recorded")
        })
        consentHistory = TableModel(caption: "Consent history", headers: ["Consent", "Decision", "Date", "Recorded by", "Signed form"],
                                    rows: view.consents.reversed().map { c in
            TableModel.Row(.init(c.kind.label), .init(c.decision == .permit ? "Permit" : "Deny"), .init(c.date.iso),
                           .init(c.recordedByName ?? "–"), .init(c.formReference ?? "–"))
        }, captionHidden: false, emptyText: "No consent recorded yet.")
        newConsentURL = Paths.consentNew.url(p.id)
    }
}

/// The consent form: which consent, permit or deny, the day, where the signed form is kept.
enum ConsentForm {
    static func page(user: UserBar, patient: PatientRecord, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Record a consent", user: user, caption: Display.name(patient),
                 intro: ["A new decision supersedes the earlier one of the same kind, which stays in the history. "
                         + "A patient who denies research use is left out of every de-identified export and of researchers' analytics."],
                 action: Paths.consentNew.url(patient.id), values: values, errors: errors,
                 sections: [FormSection("Consent", id: "consent", fields: [
                    FormField.choices("kind", "Consent to", values, errors, options: ConsentKind.allCases.map { ($0.rawValue, $0.label) }),
                    FormField.choices("decision", "Decision", values, errors, options: [("permit", "Permit"), ("deny", "Deny")], inline: true),
                    FormField.date("date", "Date of the decision", values, errors),
                    FormField.input("formReference", "Signed form", values, errors, hint: "Optional. Where the signed form is kept, for example \"scanned to the EHR, 2026-03-02\""),
                 ])],
                 buttons: [FormButton("Save consent")], cancelURL: Paths.patient.url(patient.id))
    }

    static func read(_ reader: inout FormReader, today: CalendarDate) -> NewConsent? {
        let kind = reader.choice(ConsentKind.self, "kind", "Consent to", required: true)
        let decision = reader.choice(ConsentDecision.self, "decision", "Decision", required: true)
        let date = reader.date("date", "Date of the decision", required: true, notAfter: today)
        let reference = reader.text("formReference", "Signed form", required: false, max: 500)
        guard reader.errors.isEmpty, let kind, let decision, let date else { return nil }
        return NewConsent(kind: kind, decision: decision, date: date, formReference: reference)
    }
}

/// The patient form (new and edit): name, birth date, sex, MRN, site (new only), contact details.
enum PatientForm {
    static func page(user: UserBar, sites: [SiteRecord], values: FormValues, errors: FormErrors, editing patient: PatientRecord? = nil) -> FormPage {
        var identity = [
            FormField.input("familyName", "Family name", values, errors, autocomplete: "off"),
            FormField.input("givenName", "Given name", values, errors, autocomplete: "off"),
            FormField.date("birthDate", "Date of birth", values, errors),
            FormField.choices("sex", "Sex", values, errors, options: PatientSex.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) } + [("", "Not recorded")], inline: true),
            FormField.input("mrn", "Medical record number (MRN)", values, errors, hint: "Optional; unique within the site", width: "10"),
        ]
        if patient == nil {
            identity.insert(FormField.select("siteID", "Site", values, errors, options: sites.map { ($0.id.lowercasedID, "\($0.code) · \($0.name)") },
                                             blank: sites.count == 1 ? nil : "Select a site"), at: 0)
        }
        let contact = [
            FormField.input("email", "E-mail address", values, errors, hint: "For questionnaire invitations", inputmode: "email", autocomplete: "off"),
            FormField.input("phone", "Mobile phone", values, errors, hint: "For questionnaire invitations by text message", width: "20", inputmode: "tel", autocomplete: "off"),
        ]
        let title = patient.map { "Edit \(Display.name($0))" } ?? "New patient"
        return FormPage(title: title, user: user, action: patient.map { Paths.patientEdit.url($0.id) } ?? Paths.patientNew.template,
                        values: values, errors: errors,
                        sections: [FormSection("Identity", fields: identity), FormSection("Contact", fields: contact)],
                        buttons: [FormButton(patient == nil ? "Create patient" : "Save changes")],
                        cancelURL: patient.map { Paths.patient.url($0.id) } ?? Paths.patients.template)
    }

    static func values(_ p: PatientRecord) -> FormValues {
        var v = FormValues()
        v.set("familyName", p.familyName)
        v.set("givenName", p.givenName)
        v.set("birthDate", p.birthDate.iso)
        v.set("sex", p.sex?.rawValue)
        v.set("mrn", p.mrn)
        v.set("email", p.email)
        v.set("phone", p.phone)
        return v
    }

    /// What the form posts (decoded as sent, so that a refused form shows the user's own text again).
    struct Posted: Decodable, Sendable {
        var siteID: String?
        var familyName: String
        var givenName: String
        var birthDate: String
        var sex: String?
        var mrn: String?
        var email: String?
        var phone: String?
    }

    struct Read { var siteID: UUID?; var familyName: String; var givenName: String; var birthDate: CalendarDate; var sex: PatientSex?
                  var mrn: String?; var email: String?; var phone: String? }

    static func read(_ reader: inout FormReader, today: CalendarDate, requireSite: Bool) -> Read? {
        let site = reader.text("siteID", "Site", required: requireSite).flatMap { text -> UUID? in
            guard let id = UUID(uuidString: text) else { reader.errors.add("siteID", "Select a site from the list"); return nil }
            return id
        }
        let family = reader.text("familyName", "Family name", required: true, max: 100)
        let given = reader.text("givenName", "Given name", required: true, max: 100)
        let born = reader.date("birthDate", "Date of birth", required: true, notAfter: today)
        let sex = reader.choice(PatientSex.self, "sex", "Sex")
        let mrn = reader.text("mrn", "MRN", max: 64)
        let email = reader.text("email", "E-mail address", max: 254)
        if let email, !email.contains("@") || email.contains(" ") { reader.errors.add("email", "Enter an e-mail address like name@example.org") }
        let phone = reader.text("phone", "Mobile phone", max: 32)
        if let phone, !phone.allSatisfy({ $0.isNumber || "+ ()-".contains($0) }) {
            reader.errors.add("phone", "Enter a phone number with digits, spaces and + ( ) - only")
        }
        guard reader.errors.isEmpty, let family, let given, let born, !(requireSite && site == nil) else { return nil }
        return Read(siteID: site, familyName: family, givenName: given, birthDate: born, sex: sex, mrn: mrn, email: email, phone: phone)
    }
}

/// The diagnosis fields, shared by the new-episode and screening forms (`diagnosis[type]`, `diagnosis[kellgrenLawrence]`…).
enum DiagnosisFields {
    static func fields(_ values: FormValues, _ errors: FormErrors) -> [FormField] {
        [
            FormField.select("diagnosis[type]", "Diagnosis", values, errors, options: Diagnosis.Kind.allCases.map { ($0.rawValue, label($0)) },
                             blank: "Select a diagnosis"),
            FormField.select("diagnosis[kellgrenLawrence]", "Kellgren–Lawrence grade (osteoarthritis)", values, errors, options: grades(KellgrenLawrenceGrade.self)),
            FormField.select("diagnosis[ahlback]", "Ahlbäck grade (knee osteoarthritis)", values, errors, options: grades(AhlbackGrade.self)),
            FormField.select("diagnosis[tonnis]", "Tönnis grade (hip osteoarthritis)", values, errors, options: grades(TonnisGrade.self)),
            FormField.select("diagnosis[koshino]", "Koshino stage (knee insufficiency fracture or osteonecrosis)", values, errors, options: grades(KoshinoStage.self)),
            FormField.select("diagnosis[arco]", "ARCO stage (avascular necrosis)", values, errors, options: grades(ARCOStage.self)),
            FormField.date("diagnosis[injuryDate]", "Date of injury (bone bruise)", values, errors, hint: "Or give the months since injury"),
            FormField.number("diagnosis[monthsSinceInjury]", "Months since injury (bone bruise)", values, errors, decimal: false),
        ]
    }

    static let hint = "Give the grades that apply to the diagnosis chosen; the others are left out."

    static func label(_ kind: Diagnosis.Kind) -> String {
        switch kind {
        case .osteoarthritis: "Osteoarthritis"
        case .boneMarrowLesion: "Bone marrow lesion"
        case .insufficiencyFracture: "Subchondral insufficiency fracture"
        case .boneBruise: "Persistent bone bruise"
        case .avascularNecrosis: "Avascular necrosis"
        case .boneMarrowEdemaSyndrome: "Bone marrow edema syndrome"
        }
    }

    static func grades<G: GradingScale>(_ type: G.Type) -> [(String, String)] {
        G.allCases.map { ($0.label, $0.label) }
    }

    /// The diagnosis from the form; only the fields of the chosen type are read.
    static func read(_ reader: inout FormReader, joint: Joint?, today: CalendarDate) -> Diagnosis? {
        guard let kind = reader.choice(Diagnosis.Kind.self, "diagnosis[type]", "Diagnosis", required: true) else { return nil }
        func grade<G: GradingScale>(_ type: G.Type, _ key: String, _ label: String) -> G? {
            let name = "diagnosis[\(key)]"
            let text = reader.values[name].trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { return nil }
            guard let grade = G.allCases.first(where: { $0.label == text }) else {
                reader.errors.add(name, "Select the \(label) from the list")
                return nil
            }
            return grade
        }
        let diagnosis: Diagnosis
        switch kind {
        case .osteoarthritis:
            diagnosis = .osteoarthritis(OAGrading(kellgrenLawrence: grade(KellgrenLawrenceGrade.self, "kellgrenLawrence", "Kellgren–Lawrence grade"),
                                                  ahlback: grade(AhlbackGrade.self, "ahlback", "Ahlbäck grade"),
                                                  tonnis: grade(TonnisGrade.self, "tonnis", "Tönnis grade")))
        case .boneMarrowLesion: diagnosis = .boneMarrowLesion
        case .boneMarrowEdemaSyndrome: diagnosis = .boneMarrowEdemaSyndrome
        case .insufficiencyFracture: diagnosis = .insufficiencyFracture(koshino: grade(KoshinoStage.self, "koshino", "Koshino stage"))
        case .boneBruise:
            let date = reader.date("diagnosis[injuryDate]", "Date of injury", notAfter: today)
            let months = reader.int("diagnosis[monthsSinceInjury]", "Months since injury", Diagnosis.plausibleMonthsSinceInjury)
            diagnosis = .boneBruise(injuryDate: date, monthsSinceInjury: date == nil ? months : nil)
        case .avascularNecrosis:
            let arco = grade(ARCOStage.self, "arco", "ARCO stage")
            let koshino = grade(KoshinoStage.self, "koshino", "Koshino stage")
            if arco != nil, koshino != nil { reader.errors.add("diagnosis[koshino]", "Give either an ARCO or a Koshino stage, not both") }
            diagnosis = .avascularNecrosis(arco.map(AVNStaging.arco) ?? koshino.map(AVNStaging.koshino))
        }
        if let joint {
            do { try diagnosis.validate(joint: joint, at: "diagnosis") } catch { reader.errors.add(error) }
        }
        return diagnosis
    }

    static func values(_ diagnosis: Diagnosis, into v: inout FormValues) {
        v.set("diagnosis[type]", diagnosis.kind.rawValue)
        switch diagnosis {
        case .osteoarthritis(let g):
            v.set("diagnosis[kellgrenLawrence]", g.kellgrenLawrence?.label)
            v.set("diagnosis[ahlback]", g.ahlback?.label)
            v.set("diagnosis[tonnis]", g.tonnis?.label)
        case .insufficiencyFracture(let k): v.set("diagnosis[koshino]", k?.label)
        case .avascularNecrosis(.arco(let a)?): v.set("diagnosis[arco]", a.label)
        case .avascularNecrosis(.koshino(let k)?): v.set("diagnosis[koshino]", k.label)
        case .boneBruise(let date, let months):
            v.set("diagnosis[injuryDate]", date?.iso)
            v.set("diagnosis[monthsSinceInjury]", months.map(String.init))
        default: break
        }
    }
}

/// The new-episode form: joint, side, diagnosis with its grade.
enum EpisodeForm {
    static func page(user: UserBar, patient: PatientRecord, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "New episode", user: user, caption: Display.name(patient), action: Paths.episodeNew.url(patient.id),
                 values: values, errors: errors,
                 sections: [
                    FormSection("Joint", fields: [
                        FormField.choices("joint", "Joint", values, errors, options: Joint.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, inline: true),
                        FormField.choices("side", "Side", values, errors, options: Side.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, inline: true),
                    ]),
                    FormSection("Diagnosis", hint: DiagnosisFields.hint, fields: DiagnosisFields.fields(values, errors)),
                 ],
                 buttons: [FormButton("Open episode")], cancelURL: Paths.patient.url(patient.id))
    }

    struct Posted: Decodable, Sendable {
        var joint: String?
        var side: String?
        var diagnosis: [String: String]?
    }
}
