import Foundation
import OssaCore
import OssaStore

/// The public self-screen's pages (PRODUCT.md §2.1): the questions, the result with the consult request form, and
/// what happens next. No sign-in and no identifiers in the questions; the name and contact details are asked only
/// when the person asks for a consult.
enum SelfScreenForms {
    /// The name in the public bar of the self-screen's pages (no one clinic: the person chooses one when asking for a consult).
    static let publicName = "Ossa"

    /// The honeypot field: visually hidden, out of the tab order, labelled so that a screen reader user leaves it.
    static let honeypot = "website"
    /// The button of the result page's "change your answers" form (the answers come back in the questions' form).
    static let change = "change"

    /// The question groups, in page order; a question the definition adds under another id goes into the last one.
    static let groups: [(legend: String, id: String, questions: Set<String>)] = [
        ("Your joint", "joint", ["joint", "side", "kneeAreas", "hipAreas"]),
        ("MRI scan", "mri", ["mri", "mriFindings"]),
        ("Treatment so far", "treatment", ["treatments", "avoidReplacement", "surgeonAdvice"]),
        ("About you", "about-you", ["ageBand", "activity", "heightCm", "weightKg"]),
    ]

    /// The questions, in the definition's words and order: radios, checkboxes or a whole-number box each, a hint for
    /// a question asked only after a given answer, "(optional)" on questions that may be left out.
    static func questions(_ definition: SelfScreenDefinition, values: FormValues, errors: FormErrors, csrf: String) -> FormPage {
        var sections: [FormSection] = groups.map { FormSection($0.legend, id: $0.id) }
        for question in definition.questions {
            let index = groups.firstIndex { $0.questions.contains(question.id) } ?? groups.count - 1
            sections[index].fields.append(field(question, definition, values, errors))
        }
        var page = FormPage(title: definition.title, user: nil,
                            intro: [definition.introduction, "Questions marked “(optional)” can be left out; the others need an answer."],
                            action: Paths.SelfScreen.form.template, values: values, errors: errors,
                            sections: sections.filter { !$0.fields.isEmpty }, buttons: [FormButton("See the result")], cancelURL: nil)
        page.chrome = .publicPage(publicName)
        page.publicCSRF = csrf
        return page
    }

    static func field(_ q: SelfScreenQuestion, _ definition: SelfScreenDefinition, _ values: FormValues, _ errors: FormErrors) -> FormField {
        var hints: [String] = []
        if let condition = q.askedWhen, let controller = definition.question(condition.question) {
            let answers = condition.values.map { "“\(controller.label(of: $0))”" }.joined(separator: " or ")
            hints.append("Answer this only if you chose \(answers) above.")
        }
        if let hint = q.hint { hints.append(hint) }
        let hint = hints.isEmpty ? nil : hints.joined(separator: " ")
        let label = q.required ? q.text : "\(q.text) (optional)"
        switch q.kind {
        case .singleChoice, .multipleChoice:
            return FormField.choices(q.id, label, values, errors, options: q.options.map { ($0.value, $0.label) },
                                     multiple: q.kind == .multipleChoice, hint: hint)
        case .wholeNumber:
            return FormField.input(q.id, q.unit.map { "\(label) (\($0))" } ?? label, values, errors, hint: hint, width: "5",
                                   inputmode: "numeric", autocomplete: "off")
        }
    }

    /// The problems of a submitted form under their questions (the summary links to each question's fieldset or box).
    static func errors(_ problems: [SelfScreenProblem]) -> FormErrors {
        var errors = FormErrors()
        for problem in problems { errors.add(problem.questionID, problem.message) }
        return errors
    }

    /// The answers as the hidden fields of the result page's forms, in question order (a checkbox's values repeat the name).
    static func hidden(_ answers: SelfScreenAnswers, _ definition: SelfScreenDefinition) -> [FormField] {
        let values = answers.formValues
        return definition.questions.flatMap { q in (values[q.id] ?? []).map { FormField.hidden(q.id, $0) } }
    }

    /// Whether the result offers a consult request: a consult is the next step (worthwhile, or may help).
    static func offersConsult(_ outcome: SelfScreenOutcome) -> Bool {
        outcome == .consultWorthwhile || outcome == .consultMayHelp
    }

    /// What the result page says instead of the request form when a consult is not the next step.
    static func notOffered(_ outcome: SelfScreenOutcome) -> String {
        switch outcome {
        case .consultUnlikelyToHelp:
            "A consult request is not offered for these answers. A family doctor is the best person to talk to about the pain."
        case .seeDoctorFirst:
            "Please show your doctor or surgeon the MRI report first. If they think this treatment could still be considered, they can refer you to the clinic."
        case .consultWorthwhile, .consultMayHelp:
            ""
        }
    }

    /// The request form's fields: name, e-mail and phone (at least one), the preferred site, consent.
    static func contactFields(_ values: FormValues, _ errors: FormErrors, sites: [PublicSite]) -> [FormField] {
        var fields = [
            FormField.input("name", "Your name", values, errors, autocomplete: "name"),
            FormField.input("email", "E-mail address", values, errors, hint: "Give an e-mail address, a phone number or both.",
                            inputmode: "email", autocomplete: "email"),
            FormField.input("phone", "Phone number", values, errors, hint: "Digits, with spaces or + ( ) - if you like.", width: "20",
                            inputmode: "tel", autocomplete: "tel"),
        ]
        if !sites.isEmpty {
            fields.append(FormField.select("siteID", "Preferred clinic", values, errors, options: sites.map { ($0.id.lowercasedID, $0.name) },
                                           blank: sites.count == 1 ? nil : "No preference",
                                           hint: "The clinic you would rather go to (optional)."))
        }
        fields.append(FormField.choices("consent", "Consent to be contacted", values, errors,
                                        options: [("yes", "I agree that the clinic may contact me by e-mail or phone to arrange a consult, and may keep my answers with my request.")],
                                        multiple: true))
        return fields
    }

    /// What the request form sends, checked as the store checks it, every problem at once in the form's order.
    struct Contact: Sendable {
        var name: String
        var email: String?
        var phone: String?
        var siteID: UUID?
    }

    static func readContact(_ values: FormValues, sites: [PublicSite]) -> (Contact?, FormErrors) {
        var reader = FormReader(values)
        let name = reader.text("name", "Your name", required: true, max: 200)
        let email = reader.text("email", "E-mail address", max: 254)
        if let email, !ConsultContact.isEmail(email) { reader.errors.add("email", "Enter an e-mail address like name@example.org") }
        let phone = reader.text("phone", "Phone number", max: 40)
        if let phone, !ConsultContact.isPhone(phone) {
            reader.errors.add("phone", "Enter a phone number of 6 to 15 digits, with spaces or + ( ) - only")
        }
        if values["email"].trimmingCharacters(in: .whitespaces).isEmpty, values["phone"].trimmingCharacters(in: .whitespaces).isEmpty {
            reader.errors.add("email", "Enter an e-mail address or a phone number, so that the clinic can contact you")
        }
        var site: UUID?
        let siteText = values["siteID"].trimmingCharacters(in: .whitespaces)
        if !siteText.isEmpty {
            site = UUID(uuidString: siteText).flatMap { id in sites.contains { $0.id == id } ? id : nil }
            if site == nil { reader.errors.add("siteID", "Select a clinic from the list, or “No preference”") }
        }
        if values.all("consent") != ["yes"] {
            reader.errors.add("consent", "Tick the box to agree that the clinic may contact you")
        }
        guard reader.errors.isEmpty, let name else { return (nil, reader.errors) }
        return (Contact(name: name, email: email, phone: phone, siteID: site), reader.errors)
    }

    /// After a request (and after a filled honeypot, which gets the same page): what happens next.
    static func thanks(site: PublicSite?) -> PortalMessagePage {
        let clinic = site?.name ?? "the clinic"
        return PortalMessagePage(
            clinic: site?.contact, heading: "Thank you: your request has been sent",
            paragraphs: [
                "A coordinator at \(clinic) will contact you by e-mail or phone to arrange a consult.",
                "At the consult a clinician examines the joint and looks at your MRI, or arranges one, before any treatment is offered. Bring any MRI and x-ray reports you have.",
                "Your answers are kept only with your request. If you change your mind, tell the clinic when they contact you.",
            ],
            links: [.init(url: Paths.SelfScreen.form.template, label: "Start the self-screen again")])
    }

    /// Too many requests from one address: said in plain words, nothing stored.
    static func tooMany() -> PortalMessagePage {
        PortalMessagePage(clinic: nil, heading: "Too many requests",
                          paragraphs: ["Several consult requests have already been sent from this connection in the last hour, so this one was not sent.",
                                       "Please try again in an hour, or contact the clinic directly."])
    }
}

/// The result of a self-screen: whether a consult is worthwhile and why, what to expect, that it is not a diagnosis,
/// the answers (with a button to change them) and, when a consult is the next step, the request form carrying the
/// answers. Model: `SelfScreenResultPage`; view: `self-screen-result.mustache`.
struct SelfScreenResultPage: Page {
    static let template = "self-screen-result"
    struct Reason: Sendable {
        var text: String
        /// `supports`, `caution`, `stop` (the `reason-…` class).
        var tone: String
        var toneLabel: String
        var sources: String?
    }
    struct Expectation: Sendable {
        var text: String
        var sources: String?
    }
    struct Source: Sendable {
        var short: String
        var citation: String
        var url: String?
        var reference: String?
    }

    var title: String
    var user: UserBar? = nil
    var chrome = Chrome.publicPage(SelfScreenForms.publicName)
    var errors: ErrorSummary
    var outcome: String
    var headline: String
    var summary: String
    var reasons: [Reason]
    var hasReasons: Bool
    var expectations: [Expectation]
    var hasExpectations: Bool
    var disclaimer: String
    var sources: [Source]
    var hasSources: Bool
    var answers: SummaryList
    var versions: String
    var hidden: [FormField]
    var changeAction: String
    var offersConsult: Bool
    var notOffered: String
    var consultAction: String
    var contactFields: [FormField]
    var honeypot: String
    var publicCSRF: String

    init(result: SelfScreenResult, answers: SelfScreenAnswers, screener: SelfScreener, sites: [PublicSite], values: FormValues = FormValues(),
         errors: FormErrors = FormErrors(), csrf: String) {
        title = errors.isEmpty ? result.headline : "Error: \(result.headline)"
        self.errors = errors.summary
        outcome = result.outcome.rawValue
        headline = result.headline
        summary = result.summary
        var cited: [EvidenceSource] = []
        func names(_ evidence: [EvidenceSource]) -> String? {
            for source in evidence where !cited.contains(where: { $0.id == source.id }) { cited.append(source) }
            return evidence.isEmpty ? nil : "Source: " + evidence.map(\.short).joined(separator: "; ")
        }
        reasons = result.reasons.map { reason in
            let label = switch reason.tone {
            case .supports: "In favour"
            case .caution: "To sort out or discuss"
            case .stop: "Important"
            }
            return Reason(text: reason.text, tone: reason.tone.rawValue, toneLabel: label, sources: names(reason.evidence))
        }
        hasReasons = !reasons.isEmpty
        expectations = result.whatToExpect.map { Expectation(text: $0.text, sources: names($0.evidence)) }
        hasExpectations = !expectations.isEmpty
        disclaimer = result.disclaimer
        sources = cited.map { source in
            let reference = source.reference
            let url = reference.flatMap { $0.hasPrefix("https://") ? $0 : nil }
            return Source(short: source.short, citation: source.citation, url: url, reference: url == nil ? reference : nil)
        }
        hasSources = !sources.isEmpty
        self.answers = SummaryList(screener.episodeDraft(for: answers).summary.map { ($0.label, $0.answer) })
        versions = "Worked out on \(result.evaluationDate.iso) with the self-screen \(result.definitionVersion) and the candidacy rules \(result.rulesetVersion)."
        hidden = SelfScreenForms.hidden(answers, screener.definition)
        changeAction = Paths.SelfScreen.form.template
        offersConsult = SelfScreenForms.offersConsult(result.outcome)
        notOffered = SelfScreenForms.notOffered(result.outcome)
        consultAction = Paths.SelfScreen.consult.template
        var values = values
        if sites.count == 1, values["siteID"].isEmpty { values.set("siteID", sites[0].id.lowercasedID) }
        contactFields = SelfScreenForms.contactFields(values, errors, sites: sites)
        honeypot = SelfScreenForms.honeypot
        publicCSRF = csrf
    }
}
