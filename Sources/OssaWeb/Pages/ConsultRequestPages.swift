import Foundation
import OssaCore
import OssaStore

/// How the staff pages name a consult request's parts.
enum ConsultDisplay {
    static func status(_ status: ConsultRequestStatus) -> String {
        switch status {
        case .new: "New"
        case .converted: "Turned into a patient"
        case .closed: "Closed"
        }
    }

    static func outcome(_ outcome: SelfScreenOutcome) -> String {
        switch outcome {
        case .consultWorthwhile: "Consult worthwhile"
        case .consultMayHelp: "Consult may help"
        case .consultUnlikelyToHelp: "Consult unlikely to help"
        case .seeDoctorFirst: "See a doctor first"
        }
    }

    /// "left knee", "both hips".
    static func joint(_ answers: SelfScreenAnswers) -> String {
        let joint = answers.joint.rawValue
        switch answers.side {
        case .both: return "both \(joint)s"
        case .left, .right: return "\(answers.side.rawValue) \(joint)"
        }
    }

    static func site(_ id: UUID?, _ sites: [SiteRecord]) -> String {
        guard let id else { return "No preference" }
        return sites.first { $0.id == id }.map { "\($0.code) · \($0.name)" } ?? "Another site"
    }

    /// Family and given name from the one name a person typed: the last word is taken as the family name
    /// ("Anna Maria Müller" → Müller, Anna Maria), which the coordinator checks before converting.
    static func split(_ name: String) -> (family: String, given: String) {
        let words = name.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let family = words.last else { return ("", "") }
        return (family, words.dropLast().joined(separator: " "))
    }
}

/// GET /consult-requests: the consult requests of the user's sites (and those with no preferred site), newest
/// first, by status (new by default), paged. Model: `ConsultRequestListPage`; view: `consult-requests.mustache`.
struct ConsultRequestListPage: Page {
    static let template = "consult-requests"
    struct Filter: Sendable {
        var url: String
        var label: String
        var current: Bool
    }

    var title = "Consult requests"
    var user: UserBar?
    var chrome = Chrome()
    var intro: String
    var filters: [Filter]
    var table: TableModel
    var pagination: Pagination
    var selfScreenURL: String

    init(page: StorePage<ConsultRequestRecord>, status: ConsultRequestStatus?, sites: [SiteRecord], user: UserBar) {
        self.user = user
        intro = "People who ran the public self-screen and asked to be contacted. Open a request to call them back, then turn it into a patient and episode, or close it with a reason."
        let statuses: [ConsultRequestStatus?] = [.new, .converted, .closed, nil]
        filters = statuses.map { option in
            Filter(url: Paths.consultRequests.template + "?status=\(option?.rawValue ?? "all")",
                   label: option.map(ConsultDisplay.status) ?? "All", current: option == status)
        }
        table = TableModel(caption: "Consult requests", headers: ["Received", "Name", "Joint", "Self-screen result", "Preferred site", "Status"],
                           rows: page.items.map { r in
                               TableModel.Row(.init(Display.instant(r.createdAt)), .link(r.name, Paths.consultRequest.url(r.id)),
                                              .init(ConsultDisplay.joint(r.answers)), .init(ConsultDisplay.outcome(r.outcome)),
                                              .init(ConsultDisplay.site(r.siteID, sites)), .init(ConsultDisplay.status(r.status)))
                           }, emptyText: "No consult requests.")
        let query = "?status=\(status?.rawValue ?? "all")"
        let first = page.offset + 1, last = page.offset + page.items.count
        pagination = Pagination(
            previousURL: page.offset > 0 ? Paths.consultRequests.template + query + "&offset=\(max(0, page.offset - page.limit))" : nil,
            nextURL: last < page.total ? Paths.consultRequests.template + query + "&offset=\(page.offset + page.limit)" : nil,
            summary: page.total == 0 ? "No requests." : "Showing \(first)–\(last) of \(page.total) \(page.total == 1 ? "request" : "requests").")
        selfScreenURL = Paths.SelfScreen.form.template
    }
}

/// GET /consult-requests/:requestID: who asked and how to reach them, the self-screen's answers and result, and,
/// while the request is new, the forms to turn it into a patient and episode or to close it.
/// Model: `ConsultRequestPage`; view: `consult-request.mustache`.
struct ConsultRequestPage: Page {
    static let template = "consult-request"
    struct Reason: Sendable {
        var text: String
        var tone: String
        var ruleID: String
    }

    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var listURL: String
    var heading: String
    var status: String
    var contact: SummaryList
    var outcome: String
    var outcomeClass: String
    var headline: String
    var reasons: [Reason]
    var hasReasons: Bool
    var answers: SummaryList
    var versions: String
    var handled: String?
    var patientURL: String?
    var episodeURL: String?
    /// Shown while the request is new, to the roles that may handle it.
    var convertForm: FormPage?
    var closeForm: FormPage?
    var errors: ErrorSummary

    init(_ request: ConsultRequestRecord, sites: [SiteRecord], user: UserBar, role: Role, definition: SelfScreenDefinition,
         convertValues: FormValues? = nil, convertErrors: FormErrors = FormErrors(),
         closeValues: FormValues = FormValues(), closeErrors: FormErrors = FormErrors()) {
        let refused = !convertErrors.isEmpty || !closeErrors.isEmpty
        title = refused ? "Error: Consult request: \(request.name)" : "Consult request: \(request.name)"
        self.user = user
        listURL = Paths.consultRequests.template
        heading = request.name
        status = ConsultDisplay.status(request.status)
        contact = SummaryList([
            ("Received", Display.instant(request.createdAt)),
            ("E-mail", request.email ?? "–"),
            ("Phone", request.phone ?? "–"),
            ("Preferred site", ConsultDisplay.site(request.siteID, sites)),
            ("Consent to be contacted", request.consent ? "Given on \(Display.instant(request.createdAt))" : "Not given"),
        ])
        outcome = ConsultDisplay.outcome(request.outcome)
        outcomeClass = "outcome-\(request.outcome.rawValue)"
        headline = request.result.headline
        reasons = request.result.reasons.map { Reason(text: $0.text, tone: $0.tone.rawValue, ruleID: $0.ruleID) }
        hasReasons = !reasons.isEmpty
        let draft = request.answers.episodeDraft(using: definition)
        answers = SummaryList(draft.summary.map { ($0.label, $0.answer) }
                              + [("Suggested diagnosis", draft.suggestedDiagnosis.map(DiagnosisFields.label) ?? "None (no MRI findings reported)")])
        let result = request.result
        versions = "Evaluated on \(result.evaluationDate.iso) with \(result.definitionID) \(result.definitionVersion) and ruleset \(result.rulesetID) \(result.rulesetVersion)."
        switch request.status {
        case .new: handled = nil
        case .converted: handled = request.handledAt.map { "Turned into a patient and episode on \(Display.instant($0))." }
        case .closed: handled = "Closed\(request.handledAt.map { " on \(Display.instant($0))" } ?? ""): \(request.closeReason ?? "")"
        }
        patientURL = request.patientID.map { Paths.patient.url($0) }
        episodeURL = request.episodeID.map { Paths.episode.url($0) }
        let mayHandle = request.status == .new && AccessPolicy.allows(role, .update, .consultRequest)
            && AccessPolicy.allows(role, .create, .patient) && AccessPolicy.allows(role, .create, .episode)
        if mayHandle {
            let values = convertValues ?? ConsultConvertForm.values(request, sites: sites, definition: definition)
            convertForm = ConsultConvertForm.page(request, user: user, sites: sites, draft: draft, values: values, errors: convertErrors)
            closeForm = ConsultCloseForm.page(request, user: user, values: closeValues, errors: closeErrors)
        }
        errors = !convertErrors.isEmpty ? convertErrors.summary : closeErrors.summary
    }
}

/// Turning a request into a patient and an episode: the patient form's fields (names split from the request's
/// name, contact details from the request, the birth date required) and the episode's (joint, side, diagnosis with
/// its grade; prefilled from the self-screen's episode draft).
enum ConsultConvertForm {
    static func page(_ request: ConsultRequestRecord, user: UserBar, sites: [SiteRecord], draft: SelfScreenEpisodeDraft,
                     values: FormValues, errors: FormErrors) -> FormPage {
        let identity = [
            FormField.select("siteID", "Site", values, errors, options: sites.map { ($0.id.lowercasedID, "\($0.code) · \($0.name)") },
                             blank: sites.count == 1 ? nil : "Select a site",
                             hint: request.siteID == nil ? "The person gave no preferred site." : nil),
            FormField.input("familyName", "Family name", values, errors, hint: "Split from the name given; check it with the person", autocomplete: "off"),
            FormField.input("givenName", "Given name", values, errors, autocomplete: "off"),
            FormField.date("birthDate", "Date of birth", values, errors, hint: "Year-month-day, for example 1961-04-03; the self-screen does not ask it"),
            FormField.choices("sex", "Sex", values, errors, options: PatientSex.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) } + [("", "Not recorded")], inline: true),
            FormField.input("mrn", "Medical record number (MRN)", values, errors, hint: "Optional; unique within the site", width: "10"),
        ]
        let contact = [
            FormField.input("email", "E-mail address", values, errors, hint: "From the request; for questionnaire invitations", inputmode: "email", autocomplete: "off"),
            FormField.input("phone", "Mobile phone", values, errors, hint: "From the request", width: "20", inputmode: "tel", autocomplete: "off"),
        ]
        let sideHint = draft.side == nil ? "Both sides hurt: choose the side this episode is about (open another episode for the other side later)." : nil
        let episode = [
            FormField.choices("joint", "Joint", values, errors, options: Joint.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, inline: true),
            FormField.choices("side", "Side", values, errors, options: Side.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) },
                              hint: sideHint, inline: true),
        ]
        let diagnosisHint = draft.suggestedDiagnosis == nil
            ? "The self-screen reported no MRI findings: choose the diagnosis from the MRI report. " + DiagnosisFields.hint
            : "Suggested from the MRI findings the person reported: confirm it from the MRI report. " + DiagnosisFields.hint
        var page = FormPage(title: "Turn into a patient and episode", user: user, action: Paths.consultRequestConvert.url(request.id),
                            values: values, errors: errors,
                            sections: [FormSection("Patient", id: "convert-patient", fields: identity),
                                       FormSection("Contact", id: "convert-contact", fields: contact),
                                       FormSection("Episode", id: "convert-episode", fields: episode),
                                       FormSection("Diagnosis", id: "convert-diagnosis", hint: diagnosisHint, fields: DiagnosisFields.fields(values, errors))],
                            buttons: [FormButton("Create patient and episode")], cancelURL: nil)
        page.chrome = Chrome()
        return page
    }

    /// The form as it opens: everything the request tells, nothing it does not (the birth date is left empty).
    static func values(_ request: ConsultRequestRecord, sites: [SiteRecord], definition: SelfScreenDefinition) -> FormValues {
        let draft = request.answers.episodeDraft(using: definition)
        var v = FormValues()
        if let site = request.siteID, sites.contains(where: { $0.id == site }) {
            v.set("siteID", site.lowercasedID)
        } else if sites.count == 1 {
            v.set("siteID", sites[0].id.lowercasedID)
        }
        let (family, given) = ConsultDisplay.split(request.name)
        v.set("familyName", family)
        v.set("givenName", given)
        v.set("email", request.email)
        v.set("phone", request.phone)
        v.set("joint", draft.joint.rawValue)
        v.set("side", draft.side?.rawValue)
        v.set("diagnosis[type]", draft.suggestedDiagnosis?.rawValue)
        return v
    }

    /// The conversion from the form, every problem at once (the patient and episode forms' own readers).
    static func read(_ reader: inout FormReader, today: CalendarDate) -> ConsultConversion? {
        let patient = PatientForm.read(&reader, today: today, requireSite: true)
        let joint = reader.choice(Joint.self, "joint", "Joint", required: true)
        let side = reader.choice(Side.self, "side", "Side", required: true)
        let diagnosis = DiagnosisFields.read(&reader, joint: joint, today: today)
        guard reader.errors.isEmpty, let patient, let site = patient.siteID, let joint, let side, let diagnosis else { return nil }
        return ConsultConversion(patient: NewPatient(siteID: site, mrn: patient.mrn, familyName: patient.familyName, givenName: patient.givenName,
                                                     birthDate: patient.birthDate, sex: patient.sex, email: patient.email, phone: patient.phone),
                                 joint: joint, side: side, diagnosis: diagnosis)
    }
}

/// Closing a request with a reason (a duplicate, not reachable, asked not to be contacted…).
enum ConsultCloseForm {
    static func page(_ request: ConsultRequestRecord, user: UserBar, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Close the request", user: user, action: Paths.consultRequestClose.url(request.id), values: values, errors: errors,
                 sections: [FormSection("Close", id: "close", fields: [
                    FormField.textarea("reason", "Reason for closing", values, errors,
                                       hint: "For example: a duplicate request, could not be reached, asked not to be contacted. Kept with the request."),
                 ])],
                 buttons: [FormButton("Close the request", secondary: true)], cancelURL: nil)
    }
}

/// Samples of the self-screen's and the consult requests' pages for the catalog (`PageCatalog.named`): a typical
/// candidate's answers (knee, bone marrow edema on a recent MRI, physiotherapy tried, wishes to avoid a replacement).
enum ConsultPageSamples {
    static let screener = try! SelfScreener.bundled()
    static let candidateForm: [String: [String]] = [
        "joint": ["knee"], "side": ["left"], "kneeAreas": ["inside"], "mri": ["yes-within-6-months"], "mriFindings": ["bone-marrow-edema"],
        "treatments": ["exercise-physiotherapy", "anti-inflammatories"], "avoidReplacement": ["yes"], "surgeonAdvice": ["never-asked"],
        "ageBand": ["40-64"], "activity": ["light"], "heightCm": ["170"], "weightKg": ["78"],
    ]
    static var candidate: SelfScreenAnswers { screener.read(candidateForm).answers! }
    static var result: SelfScreenResult { screener.evaluate(candidate, today: PageFixtures.today) }
    static let sites = [
        PublicSite(id: PageFixtures.id(1), contact: ClinicContact(name: "Vienna Bone Clinic", phone: "+43 1 555 0100", email: "consults@example.org")),
        PublicSite(id: PageFixtures.id(5), contact: ClinicContact(name: "Graz Joint Centre")),
    ]
    static var request: ConsultRequestRecord {
        ConsultRequestRecord(id: PageFixtures.id(700), siteID: PageFixtures.id(1), name: "Anna Maria Huber", email: "anna.huber@example.org",
                             phone: "+43 660 555 0199", consent: true, answers: candidate, result: result, status: .new,
                             createdAt: Date(timeIntervalSince1970: 1_789_452_000))
    }

    static var named: [(String, any Page)] {
        let definition = screener.definition
        let user = PageCatalog.sampleUser
        var partial = FormValues()
        partial.set("joint", "knee")
        partial.set("mri", "yes-within-6-months")
        partial.set("heightCm", "1.70")
        let (_, problems) = screener.read(partial.values)
        var collapse = candidateForm
        collapse["mriFindings"] = ["avascular-necrosis", "collapse"]
        let collapsed = screener.read(collapse).answers!
        var contact = FormValues()
        contact.set("name", "Anna Huber")
        contact.set("email", "anna.huber@")
        var contactErrors = FormErrors()
        contactErrors.add("email", "Enter an e-mail address like name@example.org")
        contactErrors.add("consent", "Tick the box to agree that the clinic may contact you")
        var converted = request
        (converted.status, converted.handledAt, converted.patientID, converted.episodeID) = (.converted, converted.createdAt.addingTimeInterval(3600),
                                                                                             PageFixtures.patient.id, PageFixtures.episode.id)
        let staffSites = [PageFixtures.site]
        var convertValues = ConsultConvertForm.values(request, sites: staffSites, definition: definition)
        convertValues.set("birthDate", "1961-02-30")
        var convertErrors = FormErrors()
        convertErrors.add("birthDate", "Date of birth must be a real date, for example 2026-03-27")
        var second = request
        (second.id, second.name, second.siteID, second.createdAt) = (PageFixtures.id(701), "J. Novak", nil, request.createdAt.addingTimeInterval(-86_400))
        return [
            ("self-screen", SelfScreenForms.questions(definition, values: FormValues(), errors: FormErrors(), csrf: "sample-csrf")),
            ("self-screen-refused", SelfScreenForms.questions(definition, values: partial, errors: SelfScreenForms.errors(problems), csrf: "sample-csrf")),
            ("self-screen-result", SelfScreenResultPage(result: result, answers: candidate, screener: screener, sites: sites, csrf: "sample-csrf")),
            ("self-screen-result-refused", SelfScreenResultPage(result: result, answers: candidate, screener: screener, sites: sites, values: contact,
                                                                errors: contactErrors, csrf: "sample-csrf")),
            ("self-screen-result-see-doctor", SelfScreenResultPage(result: screener.evaluate(collapsed, today: PageFixtures.today), answers: collapsed,
                                                                   screener: screener, sites: sites, csrf: "sample-csrf")),
            ("self-screen-thanks", SelfScreenForms.thanks(site: sites[0])),
            ("self-screen-too-many", SelfScreenForms.tooMany()),
            ("consult-requests", ConsultRequestListPage(page: StorePage([request, second], total: 2, limit: 25, offset: 0), status: .new,
                                                        sites: staffSites, user: user)),
            ("consult-request", ConsultRequestPage(request, sites: staffSites, user: user, role: .coordinator, definition: definition)),
            ("consult-request-refused", ConsultRequestPage(request, sites: staffSites, user: user, role: .coordinator, definition: definition,
                                                           convertValues: convertValues, convertErrors: convertErrors)),
            ("consult-request-converted", ConsultRequestPage(converted, sites: staffSites, user: user, role: .coordinator, definition: definition)),
        ]
    }
}
