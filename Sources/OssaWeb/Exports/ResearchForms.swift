import Foundation
import OssaCore

/// One variable of the research files, as a REDCap data dictionary row describes it.
struct ResearchField: Sendable {
    enum Kind: String, Sendable {
        case text, radio
    }
    var name: String
    var form: String
    var kind: Kind
    var label: String
    /// Coded value → label (radio).
    var choices: [(code: String, label: String)] = []
    /// REDCap's "Text Validation Type": `integer`, `number`, `date_ymd`.
    var validation: String?
    var minimum: String?
    var maximum: String?
    /// A direct identifier (REDCap's "Identifier?" column, which its own de-identified export drops).
    var identifier = false
    var note: String?
    /// Shown only when another variable has a value (REDCap branching logic, e.g. `[koos_jr_q2] = '1'`).
    var branching: String?
}

/// One form (REDCap instrument) of the research files.
struct ResearchForm: Sendable {
    var name: String
    var label: String
    var fields: [ResearchField]
    /// The instrument, for a questionnaire form.
    var instrument: InstrumentDefinition?
}

/// The variables of the wide and long files: an `episode` form (who, which joint, diagnosis, the first IO procedure
/// and the outcomes that survival analysis needs), a `visit` form (each timepoint's due date and status), and a form
/// per instrument of the library (completion date, every choice item with its coded answers, every score).
///
/// Names follow REDCap's rules (lower-case letters, digits and underscores, starting with a letter): the instrument
/// `koos-jr` is the form `koos_jr`, its item `Q2` the variable `koos_jr_q2`, its score `interval` the variable
/// `koos_jr_interval_score`. Date and free-text items of an instrument are not stored as answers and have no variable.
struct ResearchForms: Sendable {
    let forms: [ResearchForm]
    let deidentified: Bool

    init(library: InstrumentLibrary, deidentified: Bool) {
        self.deidentified = deidentified
        let date = deidentified ? ResearchField(name: "", form: "", kind: .text, label: "", validation: "integer",
                                                note: "Days from the first IO procedure (negative before it)")
                                : ResearchField(name: "", form: "", kind: .text, label: "", validation: "date_ymd")
        func dated(_ name: String, _ form: String, _ label: String) -> ResearchField {
            var field = date
            (field.name, field.form, field.label) = (deidentified ? name.replacingOccurrences(of: "_date", with: "_day") : name, form, label)
            return field
        }
        func radio(_ name: String, _ form: String, _ label: String, _ values: [String]) -> ResearchField {
            ResearchField(name: name, form: form, kind: .radio, label: label,
                          choices: values.map { (Self.code($0), $0.replacingOccurrences(of: "-", with: " ")) })
        }
        func integer(_ name: String, _ form: String, _ label: String, min: String? = "0", max: String? = nil) -> ResearchField {
            ResearchField(name: name, form: form, kind: .text, label: label, validation: "integer", minimum: min, maximum: max)
        }
        var episode: [ResearchField] = []
        if deidentified {
            episode.append(ResearchField(name: "record_id", form: "episode", kind: .text, label: "Research id of the episode",
                                         note: "Keyed hash of Ossa's episode id: stable across exports, not reversible without the installation's key"))
            episode.append(ResearchField(name: "patient_research_id", form: "episode", kind: .text, label: "Research id of the patient",
                                         note: "Keyed hash: the same for every episode of one patient"))
            episode.append(ResearchField(name: "site", form: "episode", kind: .text, label: "Research id of the site"))
            episode.append(ResearchField(name: "age_at_first_procedure", form: "episode", kind: .text,
                                         label: "Age in whole years at the first IO procedure", note: "Ages over 89 are 90+ (HIPAA Safe Harbor)"))
        } else {
            episode.append(ResearchField(name: "record_id", form: "episode", kind: .text, label: "Ossa episode id"))
            episode.append(ResearchField(name: "patient_id", form: "episode", kind: .text, label: "Ossa patient id", identifier: true))
            episode.append(ResearchField(name: "site", form: "episode", kind: .text, label: "Site code"))
            episode.append(ResearchField(name: "mrn", form: "episode", kind: .text, label: "Medical record number", identifier: true))
            episode.append(ResearchField(name: "family_name", form: "episode", kind: .text, label: "Family name", identifier: true))
            episode.append(ResearchField(name: "given_name", form: "episode", kind: .text, label: "Given name", identifier: true))
            var birth = dated("birth_date", "episode", "Date of birth")
            birth.identifier = true
            episode.append(birth)
        }
        episode += [
            radio("sex", "episode", "Sex", PatientSex.allCases.map(\.rawValue)),
            radio("joint", "episode", "Joint treated", Joint.allCases.map(\.rawValue)),
            radio("side", "episode", "Side", Side.allCases.map(\.rawValue)),
            radio("diagnosis", "episode", "Diagnosis", Diagnosis.Kind.allCases.map(\.rawValue)),
            integer("kl_grade", "episode", "Kellgren–Lawrence grade (osteoarthritis)", max: "4"),
            radio("episode_status", "episode", "Episode status", EpisodeStatus.allCases.map(\.rawValue)),
        ]
        if !deidentified { episode.append(dated("first_procedure_date", "episode", "Date of the first IO procedure")) }
        episode += [
            radio("first_procedure_product", "episode", "Product of the first IO procedure", ["prp", "bmc"]),
            integer("io_procedures", "episode", "IO procedures recorded"),
            ResearchField(name: "joint_replacement", form: "episode", kind: .radio, label: "Joint replaced",
                          choices: [("1", "Yes"), ("0", "No")]),
            dated("joint_replacement_date", "episode", "Date of the joint replacement"),
            radio("joint_replacement_kind", "episode", "Kind of the joint replacement", ReplacementKind.allCases.map(\.rawValue)),
            dated("death_date", "episode", "Date of death"),
            dated("withdrawal_date", "episode", "Date of withdrawal from follow-up"),
            dated("lost_to_follow_up_date", "episode", "Date lost to follow-up"),
            integer("adverse_events", "episode", "Adverse events recorded"),
            dated("last_contact_date", "episode", "Date of the last contact"),
        ]
        let visit = [
            dated("visit_due_date", "visit", "Date the timepoint is due"),
            radio("visit_status", "visit", "Status of the timepoint", TimepointStatus.allCases.map(\.rawValue)),
        ]
        var forms = [ResearchForm(name: "episode", label: "Episode", fields: episode),
                     ResearchForm(name: "visit", label: "Visit", fields: visit)]
        for instrument in library.instruments {
            let form = Self.code(instrument.id)
            var fields = [dated("\(form)_date", form, "\(instrument.abbreviation): date completed")]
            for item in instrument.items where item.itemType == .choice {
                let options = instrument.options(for: item)
                var field = ResearchField(name: Self.itemVariable(form, item.code), form: form, kind: .radio,
                                          label: "\(instrument.abbreviation) \(item.code): \(item.text)",
                                          choices: options.map { (String($0.value), $0.label.replacingOccurrences(of: "|", with: "/")) })
                if let condition = item.enableWhen {
                    field.branching = "[\(form)_\(Self.code(condition.item))] = '\(condition.equals)'"
                }
                fields.append(field)
            }
            for score in instrument.scores {
                fields.append(ResearchField(
                    name: Self.scoreVariable(form, score.id), form: form, kind: .text, label: "\(instrument.abbreviation) \(score.label) (score)",
                    validation: "number", minimum: score.range.map { Self.number($0.min) }, maximum: score.range.map { Self.number($0.max) },
                    note: "Scored by Ossa (\(instrument.scoring.algorithm) \(instrument.scoring.version))"
                        + (score.loinc.map { "; LOINC \($0)" } ?? "")))
            }
            forms.append(ResearchForm(name: form, label: instrument.title, fields: fields, instrument: instrument))
        }
        self.forms = forms
    }

    /// An item's variable: `koos_p1`.
    static func itemVariable(_ form: String, _ item: String) -> String { "\(form)_\(code(item))" }

    /// A score's variable: `koos_pain_score`; an instrument's only score named `score` is `nrs_pain_score`.
    static func scoreVariable(_ form: String, _ score: String) -> String {
        code(score) == "score" ? "\(form)_score" : "\(form)_\(code(score))_score"
    }

    /// A REDCap-safe name: lower case, runs of anything but letters and digits as one underscore.
    static func code(_ text: String) -> String {
        var out = ""
        for c in text.lowercased().unicodeScalars {
            if ("a"..."z").contains(c) || ("0"..."9").contains(c) { out.unicodeScalars.append(c) }
            else if !out.hasSuffix("_") { out.append("_") }
        }
        while out.hasSuffix("_") { out.removeLast() }
        if let first = out.unicodeScalars.first, !("a"..."z").contains(first) { out = "v_" + out }
        return out
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// REDCap's data dictionary header (its "Download the current Data Dictionary" CSV).
    static let dictionaryHeader = [
        "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
        "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
        "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
        "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name", "Matrix Ranking?",
        "Field Annotation",
    ]

    var dictionaryRows: [[String]] {
        forms.flatMap { form in
            form.fields.map { field in
                [field.name, field.form, "", field.kind.rawValue, field.label,
                 field.choices.map { "\($0.code), \($0.label)" }.joined(separator: " | "), field.note ?? "", field.validation ?? "",
                 field.minimum ?? "", field.maximum ?? "", field.identifier ? "y" : "", field.branching ?? "", "", "", "", "", "", ""]
            }
        }
    }
}

/// The events of the wide file: one per timepoint of the follow-up protocol (a daily diary one per day), in the
/// protocol's order, then `unscheduled` for responses without a timepoint. A REDCap longitudinal project with one
/// arm; REDCap derives an event's unique name from its name, so the name is the timepoint code with spaces.
struct ResearchEvents: Sendable {
    struct Event: Sendable {
        var code: String
        var label: String
        var dayOffset: Int
        var instruments: [String]
        var uniqueName: String { ResearchForms.code(String(code.prefix(18))) + "_arm_1" }
        var name: String { code.replacingOccurrences(of: "-", with: " ") }
    }
    private(set) var events: [Event]
    static let unscheduled = "unscheduled"

    /// The protocol's own schedule (its timepoint codes, labels and daily repeats), from an index date: the day
    /// offsets are those of a procedure on 2000-01-01; the instruments are those of every joint.
    init(protocol followUp: FollowUpProtocol) {
        let origin = CalendarDate(dayNumber: 10_957) // 2000-01-01
        let schedules = Joint.allCases.map { followUp.schedule(indexDate: origin, joint: $0) }
        var events: [Event] = schedules[0].timepoints.map { timepoint in
            let instruments = Set(schedules.flatMap { $0[timepoint.id]?.instruments ?? [] }).sorted()
            return Event(code: timepoint.id, label: timepoint.label, dayOffset: origin.days(to: timepoint.targetDate), instruments: instruments)
        }
        events.append(Event(code: Self.unscheduled, label: "Unscheduled", dayOffset: 0, instruments: []))
        self.events = events
    }

    func event(_ code: String) -> Event? { events.first { $0.code == code } }

    /// A timepoint code the protocol does not have (an earlier protocol's): added after the protocol's events.
    mutating func note(_ code: String) -> Event {
        if let known = event(code) { return known }
        let event = Event(code: code, label: code, dayOffset: 0, instruments: [])
        events.insert(event, at: events.count - 1)
        return event
    }
}
