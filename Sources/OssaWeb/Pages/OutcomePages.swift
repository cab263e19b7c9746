import Foundation
import OssaCore
import OssaStore

/// The outcome event form: joint replacement (TKA / UKA / THA, date), other surgery, repeat IO, adverse event
/// (severity), death, withdrawal, lost to follow-up (last contact).
enum OutcomeForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Record an outcome event", user: user,
                 caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))",
                 action: Paths.outcomeNew.url(view.episode.id), values: values, errors: errors,
                 sections: [
                    FormSection("Event", id: "event", fields: [
                        FormField.choices("kind", "Event", values, errors, options: [
                            ("joint-replacement", "Joint replacement"), ("other-surgery", "Other surgery of the joint"),
                            ("repeat-io", "Repeat IO injection"), ("adverse-event", "Adverse event"), ("death", "Death"),
                            ("withdrawal", "Withdrawal from follow-up"), ("lost-to-follow-up", "Lost to follow-up")]),
                        FormField.date("date", "Date", values, errors, hint: "For loss to follow-up, the date of the last contact"),
                    ]),
                    FormSection("Details", id: "details", hint: "Fill in what applies to the event chosen.", fields: [
                        FormField.choices("replacementKind", "Joint replacement", values, errors,
                                          options: [("TKA", "Total knee (TKA)"), ("UKA", "Unicompartmental knee (UKA)"), ("THA", "Total hip (THA)"), ("other", "Other")], inline: true),
                        FormField.input("description", "Description", values, errors, hint: "Required for other surgery and adverse events"),
                        FormField.choices("severity", "Severity (adverse event)", values, errors,
                                          options: AdverseEventSeverity.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, inline: true),
                    ]),
                 ],
                 buttons: [FormButton("Save event")], cancelURL: Paths.episode.url(view.episode.id))
    }

    static func read(_ reader: inout FormReader, today: CalendarDate) -> OutcomeEvent? {
        let kind = reader.choice(OutcomeKind.self, "kind", "Event", required: true)
        let date = reader.date("date", "Date", required: true, notAfter: today)
        let replacement = reader.choice(ReplacementKind.self, "replacementKind", "Joint replacement", required: kind == .jointReplacement)
        let needsText = kind == .otherSurgery || kind == .adverseEvent
        let description = reader.text("description", "Description", required: needsText, max: 2000)
        let severity = reader.choice(AdverseEventSeverity.self, "severity", "Severity", required: kind == .adverseEvent)
        guard reader.errors.isEmpty, let kind, let date else { return nil }
        switch kind {
        case .jointReplacement: return replacement.map { .jointReplacement(kind: $0, date: date) }
        case .otherSurgery: return description.map { .otherSurgery(description: $0, date: date) }
        case .repeatIO: return .repeatIO(date: date)
        case .adverseEvent:
            guard let description, let severity else { return nil }
            return .adverseEvent(description: description, severity: severity, date: date)
        case .death: return .death(date: date)
        case .withdrawal: return .withdrawal(date: date)
        case .lostToFollowUp: return .lostToFollowUp(lastContact: date)
        }
    }
}
