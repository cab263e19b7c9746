import Foundation
import OssaCore
import OssaStore

/// GET /episodes/:episodeID/follow-up: the schedule with each timepoint's window and status and what to do about it
/// (enter a questionnaire taken by telephone, mark missed or not applicable), then a results table per instrument —
/// scores, change from baseline, responder flags (MCID, PASS) — and a trajectory plot (SVG).
/// Model: `FollowUpPage`; view: `follow-up.mustache`; read model: `ReadModels.episodePage`.
struct FollowUpPage: Page {
    static let template = "follow-up"
    struct Link: Sendable { var url: String; var label: String }
    /// "Send the link now" by one channel (a coordinator's reminder now; a new link with its own reminders).
    struct Invite: Sendable { var action: String; var channel: String; var label: String; var timepoint: String; var csrf: String }
    struct Flag: Sendable {
        var raised: String
        var severity: String
        var urgent: Bool
        var message: String
        var resolution: String?
        var resolveURL: String?
    }
    struct Timepoint: Sendable {
        var label: String
        var due: String
        var window: String
        var status: String
        var statusClass: String
        var reason: String?
        var entries: [Link]
        var markURL: String?
        /// Invited, opened, started (none of them is completion).
        var progress: String?
        var invites: [Invite]
    }
    struct Results: Sendable {
        var id: String
        var title: String
        var table: TableModel
        var plot: String
        var thresholds: [String]
    }

    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var caption: String
    var episodeURL: String
    var hasSchedule: Bool
    var scheduleForm: FormPage?
    var moveURL: String?
    var flags: [Flag]
    var hasFlags: Bool
    var timepoints: [Timepoint]
    var results: [Results]
    var hasResults: Bool

    init(_ view: ReadModels.EpisodePage, user: UserBar, role: Role, today: CalendarDate, library: InstrumentLibrary,
         followUp: FollowUpProtocol, thresholds: ResponderThresholdTable,
         scheduleValues: FormValues? = nil, scheduleErrors: FormErrors = FormErrors()) {
        let episode = view.episode
        let id = episode.id
        title = "Follow-up"
        self.user = user
        caption = "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(episode))"
        episodeURL = Paths.episode.url(id)
        hasSchedule = !view.timepoints.isEmpty
        let staff = role == .clinician || role == .coordinator
        moveURL = hasSchedule && staff ? Paths.scheduleMove.url(id) : nil
        flags = view.redFlags.map { flag in
            Flag(raised: Display.instant(flag.raisedAt), severity: flag.severity == "urgent" ? "Urgent" : "Review", urgent: flag.severity == "urgent",
                 message: flag.message, resolution: flag.resolvedAt.map { "Resolved \(Display.instant($0)): \(flag.resolution ?? "")" },
                 resolveURL: flag.resolvedAt == nil && staff ? Paths.redFlagResolve.url(id, flag.id) : nil)
        }
        hasFlags = !flags.isEmpty
        if !hasSchedule && staff {
            var values = scheduleValues ?? FormValues()
            if scheduleValues == nil {
                values.set("indexDate", (view.procedures.first { $0.kind == .io }?.record.date ?? today).iso)
            }
            scheduleForm = FormPage(title: "Set up the follow-up schedule", user: user, action: Paths.schedule.url(id), values: values,
                                    errors: scheduleErrors,
                                    sections: [FormSection("Schedule", id: "schedule", hint: "\(followUp.title), version \(followUp.version)", fields: [
                                        FormField.date("indexDate", "Index date", values, scheduleErrors,
                                                       hint: "The day of the index IO procedure: every timepoint is counted from it"),
                                    ])],
                                    buttons: [FormButton("Create the schedule")], cancelURL: nil)
        }
        let joint = episode.joint.rawValue
        timepoints = view.timepoints.map { t in
            // Diary days are one protocol timepoint repeated (`diary` → `diary-d1`, `diary-d2`, …).
            let definition = followUp.timepoints.first { $0.id == t.code || t.code.hasPrefix($0.id + "-d") }
            let instruments = definition.map { $0.instruments + ($0.instrumentsByJoint?[joint] ?? []) } ?? []
            // Answers are taken while the window is open; once it has closed the timepoint is marked missed instead (an
            // answer given months late would be analysed as the wrong timepoint).
            let open = t.status == .pending && t.windowStart <= today && today <= t.windowEnd && staff
            let entries = open ? instruments.compactMap { instrumentID -> Link? in
                guard let instrument = library.instrument(id: instrumentID), instrument.isScorable else { return nil }
                return Link(url: Paths.questionnaireEntry.url(id.lowercasedID, t.id.lowercasedID, instrumentID),
                            label: "Enter \(instrument.abbreviation) by telephone")
            } : []
            let state: (String, String) = switch t.status {
            case .completed: ("done", "Completed")
            case .missed: ("missed", "Missed")
            case .cancelled: ("cancelled", "Not applicable")
            case .pending where t.windowEnd < today: ("missed", "Window closed")
            case .pending where t.dueDate < today: ("due", "Overdue")
            case .pending where t.windowStart <= today: ("due", "Due")
            case .pending: ("waiting", "Not yet open")
            }
            let label = definition?.label ?? Display.timepoint(t.code)
            let progress = [t.invitedAt.map { "Invited \(Display.instant($0))" }, t.openedAt.map { "opened \(Display.instant($0))" },
                            t.startedAt.map { "started \(Display.instant($0))" }].compactMap { $0 }.joined(separator: ", ")
            let invites = open ? [("email", "Send the link now by e-mail"), ("sms", "Send the link now by SMS")].map {
                Invite(action: Paths.timepointInvite.url(id, t.id), channel: $0.0, label: $0.1, timepoint: label, csrf: user.csrfToken)
            } : []
            return Timepoint(label: label, due: t.dueDate.iso,
                             window: "\(t.windowStart.iso) to \(t.windowEnd.iso)", status: state.1, statusClass: state.0,
                             reason: t.statusReason, entries: entries,
                             markURL: staff && t.status == .pending ? Paths.timepointStatus.url(id, t.id) : nil,
                             progress: progress.isEmpty ? nil : progress, invites: invites)
        }
        // Results per instrument, in the order the protocol uses them.
        let codes = Dictionary(view.timepoints.map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
        let labels = Dictionary(followUp.timepoints.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
        let indexDate = view.timepoints.first { $0.code == "baseline" }?.dueDate ?? view.procedures.first?.record.date
        var results: [Results] = []
        for instrumentID in Self.order(view.responses.map(\.instrumentID)) {
            guard let instrument = library.instrument(id: instrumentID), instrument.isScorable else { continue }
            let responses = view.responses.filter { $0.instrumentID == instrumentID }
            let baseline = responses.first { $0.timepointID.flatMap { codes[$0] } == "baseline" } ?? responses.first
            let scores = instrument.scores
            var rows: [TableModel.Row] = []
            var flagsUsed: [String] = []
            for response in responses {
                let code = response.timepointID.flatMap { codes[$0] }
                var cells: [TableModel.Cell] = [.init(code.map { labels[$0] ?? Display.timepoint($0) } ?? "Unscheduled"),
                                                .init(String(response.completedAt.formatted(.iso8601).prefix(10))),
                                                .init(response.source == .staff ? "staff" : response.source == .patientLink ? "patient" : "import")]
                for score in scores {
                    let value = response.score(score.id)
                    let base = baseline?.score(score.id)
                    var text = Display.number(value)
                    if response.id != baseline?.id, let value, let base {
                        let change = value - base
                        text += " (\(change >= 0 ? "+" : "")\(Display.number(change)))"
                        var flags: [String] = []
                        if let mcid = thresholds.defaultThreshold(instrument: instrumentID, score: score.id, kind: .mcid)
                            ?? thresholds.defaultThreshold(instrument: instrumentID, score: score.id, kind: .mcii) {
                            if ResponderEvaluator.isResponder(mcid, baseline: base, followUp: value, direction: instrument.direction(ofScore: score.id)) == true {
                                flags.append(mcid.kind.rawValue.uppercased())
                                if !flagsUsed.contains(mcid.id) { flagsUsed.append(mcid.id) }
                            }
                        }
                        if let pass = thresholds.defaultThreshold(instrument: instrumentID, score: score.id, kind: .pass),
                           ResponderEvaluator.isResponder(pass, baseline: base, followUp: value, direction: instrument.direction(ofScore: score.id)) == true {
                            flags.append("PASS")
                            if !flagsUsed.contains(pass.id) { flagsUsed.append(pass.id) }
                        }
                        if !flags.isEmpty { text += " " + flags.joined(separator: ", ") }
                    }
                    cells.append(.init(text, class: "num"))
                }
                rows.append(TableModel.Row(cells: cells))
            }
            let table = TableModel(caption: "\(instrument.title): scores, change from baseline and responder flags",
                                   headers: ["Timepoint", "Completed", "By"] + scores.map(\.label), rows: rows)
            let series = scores.prefix(6).map { score in
                TrajectoryPlot.Series(label: score.label, points: responses.compactMap { r in
                    guard let value = r.score(score.id) else { return nil }
                    let day = CalendarDate(utc: r.completedAt)
                    let months = indexDate.map { Double(day.dayNumber - $0.dayNumber) / 30.4375 } ?? 0
                    return (x: max(0, months), y: value)
                })
            }
            let range = scores.compactMap(\.range).reduce(nil as ClosedRange<Double>?) { acc, r in
                acc.map { min($0.lowerBound, r.min)...max($0.upperBound, r.max) } ?? (r.min...r.max)
            } ?? 0...100
            let plot = TrajectoryPlot.svg(title: "\(instrument.abbreviation) over follow-up", id: "plot-\(instrumentID)",
                                          xLabel: "Months since the index procedure", yLabel: instrument.abbreviation,
                                          yRange: range, series: Array(series))
            results.append(Results(id: instrumentID, title: instrument.title, table: table, plot: plot,
                                   thresholds: flagsUsed.compactMap { thresholds.threshold(id: $0) }.map { "\($0.kind.rawValue.uppercased()) \($0.score): \(Display.number($0.value)) \($0.unit.rawValue) — \($0.source)" }))
        }
        self.results = results
        hasResults = !results.isEmpty
    }

    static func order(_ ids: [String]) -> [String] {
        var seen: [String] = []
        for id in ids where !seen.contains(id) { seen.append(id) }
        return seen
    }
}


/// Entering a questionnaire on the patient's behalf (telephone), rendered from the instrument's definition: each item
/// a radio group of its answer options, in the instrument's order.
enum QuestionnaireForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, timepoint: TimepointRecord, instrument: InstrumentDefinition,
                     values: FormValues, errors: FormErrors) -> FormPage {
        let items = instrument.items.filter { $0.itemType == .choice }
        let fields = items.map { item in
            FormField.choices("answers[\(item.code)]", "\(item.code). \(item.text)", values, errors,
                              options: instrument.options(for: item).map { (String($0.value), $0.label) })
        }
        return FormPage(title: "\(instrument.title) by telephone", user: user,
                        caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode)) · \(Display.timepoint(timepoint.code))",
                        intro: ["Read each question and its answers to the patient as written\(instrument.recallPeriod.map { "; the recall period is \($0)" } ?? ""). An unanswered item is left empty; the score says when too few were answered.",
                                "Wording: \(instrument.wordingSource ?? instrument.licence)"],
                        action: Paths.questionnaireEntry.url(view.episode.id.lowercasedID, timepoint.id.lowercasedID, instrument.id),
                        values: values, errors: errors,
                        sections: [FormSection(instrument.abbreviation, id: "items", fields: fields)],
                        buttons: [FormButton("Save answers")], cancelURL: Paths.followUp.url(view.episode.id))
    }

    static func read(_ reader: inout FormReader, instrument: InstrumentDefinition) -> [String: Int?] {
        var answers: [String: Int?] = [:]
        for item in instrument.items where item.itemType == .choice {
            let name = "answers[\(item.code)]"
            let text = reader.values[name]
            if text.isEmpty { answers[item.code] = .some(nil); continue }
            guard let value = Int(text), instrument.options(for: item).contains(where: { $0.value == value }) else {
                reader.errors.add(name, "Select one of the answers to \(item.code)")
                continue
            }
            answers[item.code] = value
        }
        if answers.values.allSatisfy({ $0 == nil }), let first = instrument.items.first(where: { $0.itemType == .choice }) {
            reader.errors.add("answers[\(first.code)]", "Answer at least one question")
        }
        return answers
    }
}

/// Marking a timepoint missed or not applicable, with a reason.
enum TimepointStatusForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, timepoint: TimepointRecord, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Mark \(Display.timepoint(timepoint.code))", user: user,
                 caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))",
                 intro: ["Due \(timepoint.dueDate.iso), window \(timepoint.windowStart.iso) to \(timepoint.windowEnd.iso)."],
                 action: Paths.timepointStatus.url(view.episode.id, timepoint.id), values: values, errors: errors,
                 sections: [FormSection("Status", id: "status", fields: [
                    FormField.choices("status", "New status", values, errors, options: [("missed", "Missed: the patient could not be reached"),
                                                                                        ("cancelled", "Not applicable")]),
                    FormField.textarea("reason", "Reason", values, errors, hint: "For example: three calls unanswered; had joint replacement"),
                 ])],
                 buttons: [FormButton("Save")], cancelURL: Paths.followUp.url(view.episode.id))
    }
}

/// Moving the schedule to another index date (the procedure was done on another day).
enum ScheduleMoveForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Move the follow-up schedule", user: user,
                 caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))",
                 intro: ["Every timepoint not yet answered, missed or cancelled gets its dates from the new index date. Links already sent for them stop working and their queued reminders are cancelled; new links go out when the new windows open."],
                 action: Paths.scheduleMove.url(view.episode.id), values: values, errors: errors,
                 sections: [FormSection("Schedule", id: "schedule", fields: [
                    FormField.date("indexDate", "New index date", values, errors, hint: "The day of the index IO procedure, for example 2026-03-27"),
                 ])],
                 buttons: [FormButton("Move the schedule")], cancelURL: Paths.followUp.url(view.episode.id))
    }
}

/// Resolving a red flag: what was done (called the patient, seen in clinic), required.
enum RedFlagResolveForm {
    static func page(user: UserBar, view: ReadModels.EpisodePage, flag: RedFlagRecord, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Resolve a red flag", user: user,
                 caption: "\(Display.name(view.patient)) · \(EpisodeView.jointLabel(view.episode))",
                 intro: ["\(flag.severity == "urgent" ? "Urgent" : "Review"), raised \(Display.instant(flag.raisedAt)): \(flag.message)"],
                 action: Paths.redFlagResolve.url(view.episode.id, flag.id), values: values, errors: errors,
                 sections: [FormSection("Resolution", id: "resolution", fields: [
                    FormField.textarea("resolution", "What was done", values, errors, hint: "For example: called the patient, no fever since; seen in clinic the same day"),
                 ])],
                 buttons: [FormButton("Resolve")], cancelURL: Paths.followUp.url(view.episode.id))
    }
}
