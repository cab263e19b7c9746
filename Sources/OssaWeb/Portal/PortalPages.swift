import Foundation
import OssaCore
import OssaStore

/// A patient-facing message: a closed link, thanks after submitting, the opt-out. Says what happened in plain words
/// and how to reach the clinic. Model: `PortalMessagePage`; view: `portal-message.mustache`.
struct PortalMessagePage: Page {
    static let template = "portal-message"
    struct Action: Sendable {
        var action: String
        var label: String
        var secondary: Bool
    }
    var title: String
    var user: UserBar? = nil
    var chrome: Chrome
    var heading: String
    var paragraphs: [String]
    var contact: [String]
    var hasContact: Bool
    var links: [FormPage.Link]
    /// A one-button form (stop messages).
    var form: Action?
    var publicCSRF: String

    init(clinic: ClinicContact?, heading: String, paragraphs: [String], links: [FormPage.Link] = [], form: Action? = nil, csrf: String = "") {
        chrome = .publicPage(clinic?.name ?? "Ossa")
        title = heading
        self.heading = heading
        self.paragraphs = paragraphs
        contact = Self.contact(clinic)
        hasContact = !contact.isEmpty
        self.links = links
        self.form = form
        publicCSRF = csrf
    }

    /// How to reach the clinic: its name with its telephone and e-mail address where the site has them.
    static func contact(_ clinic: ClinicContact?) -> [String] {
        guard let clinic else { return [] }
        var lines = [clinic.name]
        if let phone = clinic.phone, !phone.isEmpty { lines.append("Telephone: \(phone)") }
        if let email = clinic.email, !email.isEmpty { lines.append("E-mail: \(email)") }
        return lines
    }
}

extension FormPage {
    struct Link: Sendable {
        var url: String
        var label: String
    }
}

/// The last page before submitting: every answer by page, each page with a link to change it, then the submit
/// button. Model: `PortalReviewPage`; view: `portal-review.mustache`.
struct PortalReviewPage: Page {
    static let template = "portal-review"
    struct Answer: Sendable { var question: String; var answer: String }
    struct Section: Sendable {
        var title: String
        var changeURL: String
        var answers: [Answer]
        var summary: String
    }
    var title = "Check your answers"
    var user: UserBar? = nil
    var chrome: Chrome
    var caption: String
    var sections: [Section]
    var action: String
    var publicCSRF: String
    var errors: ErrorSummary

    init(token: String, clinic: ClinicContact, questionnaire: PortalQuestionnaire, draft: [String: [String: Int?]], csrf: String,
         errors: FormErrors = FormErrors()) {
        chrome = .publicPage(clinic.name)
        caption = "Step \(questionnaire.sections.count + 1) of \(questionnaire.sections.count + 1)"
        sections = questionnaire.sections.map { section in
            let saved = draft[section.instrument.id] ?? [:]
            let answers = section.items.map { item -> Answer in
                let value = saved[item.code] ?? nil
                let label = value.flatMap { v in section.instrument.options(for: item).first { $0.value == v }?.label } ?? "Not answered"
                return Answer(question: item.text, answer: label)
            }
            let answered = questionnaire.answered(section, draft)
            return Section(title: section.title, changeURL: Paths.Portal.page.url(token, String(section.number)), answers: answers,
                           summary: "\(answered) of \(section.items.count) answered")
        }
        action = Paths.Portal.submit.url(token)
        publicCSRF = csrf
        self.errors = errors.summary
        if !errors.isEmpty { title = "Error: Check your answers" }
    }
}

/// The pages of a questionnaire link, built from the instrument definitions.
enum PortalForms {
    /// The date-of-birth check: three boxes (day, month, year), as GOV.UK's date input, because a patient on a phone
    /// should not have to know an ISO date format.
    static func birthDate(token: String, clinic: ClinicContact, values: FormValues, errors: FormErrors, csrf: String) -> FormPage {
        var page = FormPage(title: "Confirm it is you", user: nil,
                            intro: ["\(clinic.name) has asked you to answer a short questionnaire about your joint.",
                                    "To keep your answers private, enter your date of birth first. Nothing about you is shown until you do."],
                            action: Paths.Portal.link.url(token), values: values, errors: errors,
                            sections: [FormSection("What is your date of birth?", id: "dob", hint: "For example, 27 3 1980", fields: [
                                FormField.input("day", "Day", values, errors, width: "2", inputmode: "numeric", autocomplete: "bday-day"),
                                FormField.input("month", "Month", values, errors, width: "2", inputmode: "numeric", autocomplete: "bday-month"),
                                FormField.input("year", "Year", values, errors, width: "4", inputmode: "numeric", autocomplete: "bday-year"),
                            ])],
                            buttons: [FormButton("Continue")], cancelURL: nil)
        page.chrome = .publicPage(clinic.name)
        page.publicCSRF = csrf
        return page
    }

    /// Reads the three boxes; every problem at once.
    static func readBirthDate(_ values: FormValues) -> (CalendarDate?, FormErrors) {
        var errors = FormErrors()
        func number(_ name: String, _ label: String, _ range: ClosedRange<Int>) -> Int? {
            let text = values[name].trimmingCharacters(in: .whitespaces)
            if text.isEmpty { errors.add(name, "Enter the \(label) of your date of birth"); return nil }
            guard let value = Int(text), range.contains(value) else {
                errors.add(name, "The \(label) must be a number from \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            return value
        }
        let day = number("day", "day", 1...31)
        let month = number("month", "month", 1...12)
        let year = number("year", "year", 1900...2100)
        guard let day, let month, let year else { return (nil, errors) }
        guard let date = try? CalendarDate(year: year, month: month, day: day) else {
            errors.add("day", "Date of birth must be a real date")
            return (nil, errors)
        }
        return (date, errors)
    }

    /// One page of questions: a radio group per item, the answers saved so far selected.
    static func section(token: String, clinic: ClinicContact, questionnaire: PortalQuestionnaire, section: PortalQuestionnaire.Section,
                        values: FormValues, errors: FormErrors, csrf: String) -> FormPage {
        let fields = section.items.map { item -> FormField in
            var hint: String?
            if let condition = item.enableWhen, let controller = section.instrument.item(condition.item) {
                let answer = section.instrument.options(for: controller).first { $0.value == condition.equals }?.label ?? "\(condition.equals)"
                hint = "Only if you answered \"\(answer)\" to: \(controller.text)"
            }
            return FormField.choices(PortalQuestionnaire.field(section.instrument.id, item.code), item.text, values, errors,
                                     options: section.instrument.options(for: item).map { (String($0.value), $0.label) }, hint: hint)
        }
        let total = questionnaire.sections.count + 1
        var intro: [String] = []
        if let recall = section.instrument.recallPeriod { intro.append("Think about \(recall).") }
        intro.append("Your answers are saved when you continue; you can come back to this link later.")
        var buttons = [FormButton("Save and continue", name: "go", value: "next")]
        if section.number > 1 { buttons.append(FormButton("Back", name: "go", value: "back", secondary: true)) }
        var page = FormPage(title: section.title, user: nil, caption: "Step \(section.number) of \(total)", intro: intro,
                            action: Paths.Portal.page.url(token, String(section.number)), values: values, errors: errors,
                            sections: [FormSection(section.instrument.abbreviation, id: "questions", fields: fields)],
                            buttons: buttons, cancelURL: nil)
        page.chrome = .publicPage(clinic.name)
        page.publicCSRF = csrf
        return page
    }

    /// The form values of a section from the saved draft.
    static func values(_ section: PortalQuestionnaire.Section, draft: [String: [String: Int?]]) -> FormValues {
        var values = FormValues()
        for item in section.items {
            if let value = draft[section.instrument.id]?[item.code] ?? nil {
                values.set(PortalQuestionnaire.field(section.instrument.id, item.code), String(value))
            }
        }
        return values
    }
}

extension PortalForms {
    /// A recovery-diary day: the protocol's short daily form on one page, drawn from its definition (a 0–10 scale as
    /// a row of large radio buttons, single and multiple choices, yes/no, a number, an optional note).
    static func diary(token: String, clinic: ClinicContact, diary: RecoveryDiaryProtocol, day: Int, values: FormValues, errors: FormErrors,
                      csrf: String) -> FormPage {
        let fields = diary.form.fields.map { field -> FormField in
            var hint = field.help
            switch field.kind {
            case .scale:
                let low = Int(field.min ?? 0), high = Int(field.max ?? 10)
                if field.help == nil, let minLabel = field.minLabel, let maxLabel = field.maxLabel {
                    hint = "\(low) = \(minLabel), \(high) = \(maxLabel)"
                }
                return FormField.choices(field.id, field.question, values, errors, options: (low...high).map { (String($0), String($0)) },
                                         hint: hint, inline: true)
            case .single, .yesNo:
                return FormField.choices(field.id, field.question, values, errors, options: (field.options ?? []).map { ($0.value, $0.label) }, hint: hint)
            case .multiple:
                return FormField.choices(field.id, field.question, values, errors, options: (field.options ?? []).map { ($0.value, $0.label) },
                                         multiple: true, hint: hint)
            case .number:
                if let unit = field.unit {
                    hint = [hint.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }, "In \(unit)."].compactMap { $0 }.joined(separator: ". ")
                }
                return FormField.number(field.id, field.question + (field.required ? "" : " (optional)"), values, errors, hint: hint)
            case .text:
                return FormField.textarea(field.id, field.question + (field.required ? "" : " (optional)"), values, errors, hint: hint)
            }
        }
        var page = FormPage(title: "Recovery diary, day \(day)", user: nil, caption: "Day \(day) of \(DiaryEntry.days.upperBound)",
                            intro: [diary.form.intro].compactMap { $0 },
                            action: Paths.Portal.page.url(token, "1"), values: values, errors: errors,
                            sections: [FormSection("Today", id: "diary", fields: fields)],
                            buttons: [FormButton("Send today's answers", name: "go", value: "next")], cancelURL: nil)
        page.chrome = .publicPage(clinic.name)
        page.publicCSRF = csrf
        return page
    }

    /// The day's form problems under their fields.
    static func errors(_ problems: [DiaryProblem]) -> FormErrors {
        var errors = FormErrors()
        for problem in problems { errors.add(problem.field, problem.message) }
        return errors
    }

    /// After a diary day: thanks, and — when an answer needs attention — what to do now, with the clinic's number.
    static func diaryDone(clinic: ClinicContact, day: Int, flags: [DiaryRedFlag]) -> PortalMessagePage {
        guard !flags.isEmpty else {
            return PortalMessagePage(clinic: clinic, heading: "Thank you",
                                     paragraphs: ["Your answers for day \(day) have been sent to \(clinic.name).",
                                                  day < DiaryEntry.days.upperBound ? "We will send you tomorrow's diary in the morning." : "That was the last day of the diary."])
        }
        var advice: [String] = []
        for flag in flags where !advice.contains(flag.patientAdvice) { advice.append(flag.patientAdvice) }
        return PortalMessagePage(clinic: clinic, heading: "Thank you — some answers need attention",
                                 paragraphs: ["Your answers for day \(day) have been sent to \(clinic.name), and the clinical team has been told."] + advice)
    }
}
