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
                        FormField.choices("relatedness", "Related to the procedure? (adverse event)", values, errors,
                                          options: AdverseEventRelatedness.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) } + [("", "Not assessed")],
                                          inline: true),
                    ]),
                 ],
                 buttons: [FormButton("Save event")], cancelURL: Paths.episode.url(view.episode.id))
    }

    static func read(_ reader: inout FormReader, today: CalendarDate) -> (OutcomeEvent, AdverseEventRelatedness?)? {
        let kind = reader.choice(OutcomeKind.self, "kind", "Event", required: true)
        let date = reader.date("date", "Date", required: true, notAfter: today)
        let replacement = reader.choice(ReplacementKind.self, "replacementKind", "Joint replacement", required: kind == .jointReplacement)
        let needsText = kind == .otherSurgery || kind == .adverseEvent
        let description = reader.text("description", "Description", required: needsText, max: 2000)
        let severity = reader.choice(AdverseEventSeverity.self, "severity", "Severity", required: kind == .adverseEvent)
        let relatedness = reader.choice(AdverseEventRelatedness.self, "relatedness", "Relatedness")
        if relatedness != nil, kind != .adverseEvent { reader.errors.add("relatedness", "Relatedness is recorded for adverse events only") }
        guard reader.errors.isEmpty, let kind, let date else { return nil }
        let event: OutcomeEvent?
        switch kind {
        case .jointReplacement: event = replacement.map { .jointReplacement(kind: $0, date: date) }
        case .otherSurgery: event = description.map { .otherSurgery(description: $0, date: date) }
        case .repeatIO: event = .repeatIO(date: date)
        case .adverseEvent:
            guard let description, let severity else { return nil }
            event = .adverseEvent(description: description, severity: severity, date: date)
        case .death: event = .death(date: date)
        case .withdrawal: event = .withdrawal(date: date)
        case .lostToFollowUp: event = .lostToFollowUp(lastContact: date)
        }
        return event.map { ($0, relatedness) }
    }
}

/// The episode's follow-up status: the last day the patient was known to be followed (censoring for survival
/// analyses), whether the episode is open, and its diagnosis as it stands.
enum EpisodeStatusForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Episode status and last contact", user: user, caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))",
                 action: Paths.episodeEdit.url(view.episode.id), values: values, errors: errors,
                 sections: [FormSection("Follow-up", id: "follow-up", fields: [
                    FormField.date("lastContactDate", "Last contact", values, errors, hint: "The last day the patient was known to be followed; survival analyses censor here"),
                    FormField.choices("status", "Episode", values, errors, options: [("open", "Open"), ("closed", "Closed")], inline: true),
                 ])],
                 buttons: [FormButton("Save")], cancelURL: Paths.episode.url(view.episode.id))
    }

    static func values(_ episode: EpisodeRecord) -> FormValues {
        var v = FormValues()
        v.set("lastContactDate", episode.lastContactDate?.iso)
        v.set("status", episode.status.rawValue)
        return v
    }
}
