import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// GET /episodes/:episodeID: the pathway as one timeline (screening → imaging → plan → procedures → follow-up →
/// outcomes), each step with its status, its latest record and its next action, then the episode's records.
/// Model: `EpisodePage`; view: `episode.mustache`; read model: `ReadModels.episodePage`.
struct EpisodePage: Page {
    static let template = "episode"
    struct PatientHeader: Sendable { var name: String; var url: String }
    struct EpisodeLink: Sendable { var url: String; var label: String }
    struct Action: Sendable { var url: String; var label: String }
    /// One step of the pathway.
    struct Step: Sendable {
        var id: String
        var title: String
        /// `done`, `due`, `waiting`, `not-started`: the class and the words say the same.
        var state: String
        var stateLabel: String
        var summary: String
        var latest: Action?
        var actions: [Action]
    }

    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var patient: PatientHeader
    var episode: EpisodeView
    var patientFacts: SummaryList
    var episodeFacts: SummaryList
    var steps: [Step]
    var screeningTable: TableModel
    var imagingTable: TableModel
    var procedureTable: TableModel
    var adjunctTable: TableModel
    var outcomeTable: TableModel
    var followUpURL: String
    var otherEpisodes: [EpisodeLink]
    /// Stored, not computed: Mustache reads stored properties only.
    var hasOtherEpisodes: Bool

    /// One read model: the user bar, the episode, its patient and site, the patient's other episodes and all the
    /// episode's records.
    init(_ view: ReadModels.EpisodePage, user: UserBar, role: Role, today: CalendarDate) {
        let (patient, site) = (view.patient, view.site)
        let episode = EpisodeView(view.episode)
        let id = view.episode.id
        let name = Display.name(patient)
        title = "\(name) · \(episode.jointLabel)"
        self.user = user
        self.patient = PatientHeader(name: name, url: Paths.patient.url(patient.id))
        self.episode = episode
        patientFacts = SummaryList([("Born", patient.birthDate.iso), ("Sex", patient.sex?.rawValue ?? "not recorded"),
                                    ("MRN", patient.mrn ?? "–"), ("Site", site.map { "\($0.code) · \($0.name)" } ?? "–")])
        episodeFacts = SummaryList([("Joint", "\(episode.side) \(episode.joint)"), ("Diagnosis", episode.diagnosis),
                                    ("Status", episode.status), ("Last contact", episode.lastContact), ("Opened", episode.opened)])
        let clinician = role == .clinician
        let names = view.userNames

        // Screening
        let decisions = view.screeningDecisions
        let latestDecision = decisions.first
        var screening = Step(id: "screening", title: "Screening", state: "not-started", stateLabel: "Not started",
                             summary: "No screening recorded.", latest: nil,
                             actions: [Action(url: Paths.screeningNew.url(id), label: decisions.isEmpty ? "Screen this episode" : "Screen again")])
        if let d = latestDecision {
            screening.latest = Action(url: Paths.screeningDecision.url(id, d.id), label: "Decision of \(d.evaluationDate.iso)")
            screening.summary = "\(Display.category(d.effectiveCategory))\(d.overrideCategory != nil ? " (overridden)" : "") · ruleset \(d.rulesetVersion)"
            if d.isSigned {
                (screening.state, screening.stateLabel) = ("done", "Signed by \(d.signedBy.flatMap { names[$0] } ?? "a clinician")")
            } else {
                (screening.state, screening.stateLabel) = ("due", "Awaiting signature")
                if clinician { screening.actions.insert(Action(url: Paths.screeningDecision.url(id, d.id), label: "Review and sign"), at: 0) }
            }
        }

        // Imaging
        let studies = view.imagingStudies
        let mris = studies.filter { $0.modality == .mri }
        var imaging = Step(id: "imaging", title: "Imaging", state: "not-started", stateLabel: "No imaging",
                           summary: "No MRI or x-ray recorded.", latest: nil,
                           actions: [Action(url: Paths.imagingNew.url(id) + "?modality=mri", label: "Record an MRI"),
                                     Action(url: Paths.imagingNew.url(id) + "?modality=xray", label: "Record x-ray grades")])
        if let last = studies.last {
            imaging.latest = Action(url: Paths.imagingStudy.url(id, last.id), label: "\(Display.modality(last.modality)) of \(last.date.iso)")
            let summary = mris.last.map { "BML burden \($0.bmlSummary.burden), maximal grade \($0.bmlSummary.maxGrade)" } ?? "X-ray only"
            imaging.summary = "\(mris.count) MRI, \(studies.count - mris.count) x-ray · \(summary)"
            (imaging.state, imaging.stateLabel) = mris.isEmpty ? ("due", "MRI needed") : ("done", studies.count == 1 ? "1 study" : "\(studies.count) studies")
        }

        // Plan: drafted from the signed decision's suggested targets and the latest MRI, edited, printed.
        let signed = decisions.first { $0.isSigned }
        var plan = Step(id: "plan", title: "Plan", state: "not-started", stateLabel: "Waiting for a signed decision",
                        summary: "The plan starts from a signed screening decision's suggested targets.", latest: nil, actions: [])
        if let stored = view.plan {
            let p = stored.plan
            plan.summary = p.injections.map { "\($0.target.label) \(Display.number($0.minVolumeMl))–\(Display.number($0.maxVolumeMl)) ml \($0.product.rawValue.uppercased())" }
                .joined(separator: "; ") + " · \(p.setting.rawValue.replacingOccurrences(of: "-", with: " ")), \(p.anaesthesia.rawValue.replacingOccurrences(of: "-", with: " "))"
            (plan.state, plan.stateLabel) = ("done", p.plannedDate.map { "Planned for \($0.iso)" } ?? "Planned, not booked")
            plan.latest = Action(url: Paths.plan.url(id), label: "Injection plan")
            if clinician { plan.actions = [Action(url: Paths.planEdit.url(id), label: "Edit the plan")] }
        } else if let signed, view.procedures.isEmpty {
            let targets = signed.decision.targets.map(\.label)
            plan.summary = targets.isEmpty ? "No injection targets were suggested." : "Suggested targets: " + targets.joined(separator: "; ")
            (plan.state, plan.stateLabel) = signed.effectiveCategory == .recommended || signed.effectiveCategory == .consider
                ? ("due", "To plan: \(Display.category(signed.effectiveCategory))") : ("waiting", Display.category(signed.effectiveCategory))
            plan.latest = Action(url: Paths.screeningDecision.url(id, signed.id), label: "Decision of \(signed.evaluationDate.iso)")
            if clinician { plan.actions = [Action(url: Paths.planEdit.url(id), label: "Draft the plan")] }
        } else if !view.procedures.isEmpty {
            // Procedures recorded without a stored plan (imported, or recorded before plans were kept).
            (plan.state, plan.stateLabel) = ("done", "No stored plan")
            plan.summary = "The procedure was recorded without a stored plan."
            if clinician { plan.actions = [Action(url: Paths.planEdit.url(id), label: "Draft a plan for the next procedure")] }
        }

        // Procedures
        let procedures = view.procedures
        var procedure = Step(id: "procedures", title: "Procedures", state: "not-started", stateLabel: "None yet",
                             summary: "No procedure recorded.", latest: nil,
                             actions: clinician ? [Action(url: Paths.procedureNew.url(id), label: "Record a procedure"),
                                                   Action(url: Paths.adjunctNew.url(id), label: "Record an adjunct session")] : [])
        if let last = procedures.last {
            procedure.latest = Action(url: Paths.procedure.url(id, last.id), label: "\(Display.procedureKind(last.kind)) of \(last.record.date.iso)")
            let injected = last.record.injections.map { "\($0.target.label) \(Display.number($0.volumeMl)) ml" }.joined(separator: ", ")
            procedure.summary = "\(procedures.count) recorded\(injected.isEmpty ? "" : " · last: \(injected)")"
            let unsigned = procedures.filter { $0.signedBy == nil }.count
            (procedure.state, procedure.stateLabel) = unsigned > 0 ? ("due", "\(unsigned) awaiting signature") : ("done", "Signed")
        }
        if !view.adjuncts.isEmpty {
            procedure.summary += " · \(view.adjuncts.count) adjunct session\(view.adjuncts.count == 1 ? "" : "s")"
        }

        // Follow-up
        let timepoints = view.timepoints
        var followUp = Step(id: "follow-up", title: "Follow-up", state: "not-started", stateLabel: "No schedule",
                            summary: "The schedule starts from the index procedure's date.", latest: nil,
                            actions: [Action(url: Paths.followUp.url(id), label: timepoints.isEmpty ? "Set up the schedule" : "Open follow-up")])
        if !timepoints.isEmpty {
            let completed = timepoints.filter { $0.status == .completed }.count
            let missed = timepoints.filter { $0.status == .missed }.count
            let open = timepoints.filter { $0.status == .pending && $0.windowStart <= today && $0.windowEnd >= today }
            followUp.summary = "\(completed) of \(timepoints.count) timepoints completed, \(missed) missed · \(view.responses.count) questionnaires"
            if let next = open.first {
                (followUp.state, followUp.stateLabel) = ("due", "\(Display.timepoint(next.code)) open until \(next.windowEnd.iso)")
            } else if let next = timepoints.first(where: { $0.status == .pending && $0.windowStart > today }) {
                (followUp.state, followUp.stateLabel) = ("waiting", "Next: \(Display.timepoint(next.code)) from \(next.windowStart.iso)")
            } else {
                (followUp.state, followUp.stateLabel) = ("done", "Schedule finished")
            }
        }

        // Outcomes
        let events = view.outcomeEvents
        var outcomes = Step(id: "outcomes", title: "Outcomes", state: "waiting", stateLabel: "No events",
                            summary: "Joint replacement, other surgery, repeat IO, adverse events, death, withdrawal, loss to follow-up.",
                            latest: nil, actions: [Action(url: Paths.outcomeNew.url(id), label: "Record an outcome event")]
                                + (clinician ? [Action(url: Paths.episodeEdit.url(id), label: "Update last contact and status")] : []))
        if let last = events.last {
            outcomes.summary = events.map { "\(Display.outcome($0.event)) (\($0.date.iso))" }.joined(separator: "; ")
            (outcomes.state, outcomes.stateLabel) = ("done", "\(events.count) recorded, last \(last.date.iso)")
        }
        steps = [screening, imaging, plan, procedure, followUp, outcomes]

        screeningTable = TableModel(
            caption: "Screening decisions", headers: ["Evaluated", "Category", "Ruleset", "Signed by", ""],
            rows: decisions.map { d in
                TableModel.Row(.init(d.evaluationDate.iso),
                               .init(Display.category(d.effectiveCategory) + (d.overrideCategory != nil ? " (overridden from \(Display.category(d.category)))" : "")),
                               .init("\(d.rulesetID) \(d.rulesetVersion)"),
                               .init(d.signedBy.map { names[$0] ?? "a clinician" } ?? "not signed"),
                               .link("Open", Paths.screeningDecision.url(id, d.id)))
            }, captionHidden: false, emptyText: "No screening decisions yet.")
        imagingTable = TableModel(
            caption: "Imaging studies", headers: ["Date", "Study", "Timing", "BML burden", "Maximal grade", ""],
            rows: studies.map { s in
                TableModel.Row(.init(s.date.iso), .init(Display.modality(s.modality)), .init(s.timing.rawValue),
                               .init(s.modality == .mri ? String(s.bmlSummary.burden) : "–", class: "num"),
                               .init(s.modality == .mri ? String(s.bmlSummary.maxGrade) : "–", class: "num"),
                               .link("Open", Paths.imagingStudy.url(id, s.id)))
            }, captionHidden: false, emptyText: "No imaging studies yet.")
        procedureTable = TableModel(
            caption: "Procedures", headers: ["Date", "Kind", "Injections", "Operator", "Signed", ""],
            rows: procedures.map { p in
                TableModel.Row(.init(p.record.date.iso), .init(Display.procedureKind(p.kind)),
                               .init(String(p.record.injections.count), class: "num"), .init(p.record.operator_),
                               .init(p.signedBy.map { names[$0] ?? "yes" } ?? "not signed"),
                               .link("Open", Paths.procedure.url(id, p.id)))
            }, captionHidden: false, emptyText: "No procedures yet.")
        adjunctTable = TableModel(
            caption: "Adjunct sessions", headers: ["Date", "Session"],
            rows: view.adjuncts.map { TableModel.Row(.init($0.date?.iso ?? "–"), .init(AdjunctForm.describe($0.session))) },
            captionHidden: false, emptyText: "No adjunct sessions.")
        outcomeTable = TableModel(
            caption: "Outcome events", headers: ["Date", "Event"],
            rows: events.map { TableModel.Row(.init($0.date.iso), .init(Display.outcome($0.event) + ($0.relatedness.map { " · " + Display.relatedness($0) } ?? ""))) },
            captionHidden: false, emptyText: "No outcome events recorded.")
        followUpURL = Paths.followUp.url(id)
        otherEpisodes = view.otherEpisodes.map { EpisodeLink(url: Paths.episode.url($0.id), label: EpisodeView.jointLabel($0)) }
        hasOtherEpisodes = !otherEpisodes.isEmpty
    }
}

/// An episode as the pages show it.
struct EpisodeView: Sendable {
    var joint: String
    var side: String
    var jointLabel: String
    var diagnosis: String
    var status: String
    var lastContact: String
    var opened: String

    init(joint: String, side: String, jointLabel: String, diagnosis: String, status: String, lastContact: String, opened: String) {
        (self.joint, self.side, self.jointLabel, self.diagnosis) = (joint, side, jointLabel, diagnosis)
        (self.status, self.lastContact, self.opened) = (status, lastContact, opened)
    }

    init(_ episode: EpisodeRecord) {
        joint = episode.joint.rawValue
        side = episode.side.rawValue
        jointLabel = Self.jointLabel(episode)
        diagnosis = episode.diagnosis.summary
        status = episode.status.rawValue
        lastContact = episode.lastContactDate?.iso ?? "–"
        opened = episode.createdAt.map { String($0.formatted(.iso8601).prefix(10)) } ?? "–"
    }

    static func jointLabel(_ episode: EpisodeRecord) -> String {
        "\(episode.side.rawValue) \(episode.joint.rawValue), \(episode.diagnosis.kind.rawValue.replacingOccurrences(of: "-", with: " "))"
    }
}

/// Words the pages use for stored values.
enum Display {
    static func name(_ patient: PatientRecord) -> String { "\(patient.familyName), \(patient.givenName)" }

    static func category(_ category: ScreeningCategory) -> String {
        switch category {
        case .recommended: "Recommended"
        case .consider: "Consider"
        case .notNow: "Not now"
        case .refer: "Refer"
        }
    }

    static func modality(_ modality: ImagingModality) -> String { modality == .mri ? "MRI" : "X-ray" }

    static func procedureKind(_ kind: ProcedureKind) -> String {
        switch kind.rawValue {
        case "io": "IO injection"
        default: kind.rawValue.replacingOccurrences(of: "-", with: " ").capitalizedFirst
        }
    }

    /// `month-3` → `Month 3`, `diary-d1` → `Diary day 1`.
    static func timepoint(_ code: String) -> String {
        if code.hasPrefix("diary-d") { return "Diary day \(code.dropFirst(7))" }
        return code.replacingOccurrences(of: "-", with: " ").capitalizedFirst
    }

    static func outcome(_ event: OutcomeEvent) -> String {
        switch event {
        case .jointReplacement(let kind, _): "Joint replacement (\(kind.rawValue.uppercased()))"
        case .otherSurgery(let description, _): "Other surgery: \(description)"
        case .repeatIO: "Repeat IO injection"
        case .adverseEvent(let description, let severity, _): "Adverse event (\(severity.rawValue)): \(description)"
        case .death: "Death"
        case .withdrawal: "Withdrawal"
        case .lostToFollowUp: "Lost to follow-up"
        }
    }

    static func relatedness(_ value: AdverseEventRelatedness) -> String {
        switch value {
        case .unrelated: "not related to the procedure"
        case .unlikely: "unlikely related to the procedure"
        case .possible: "possibly related to the procedure"
        case .probable: "probably related to the procedure"
        case .definite: "related to the procedure"
        }
    }

    static func number(_ value: Double?) -> String {
        guard let value else { return "–" }
        return FormReader.format((value * 100).rounded() / 100)
    }
}

extension String {
    var capitalizedFirst: String { first.map { $0.uppercased() + dropFirst() } ?? self }
}

extension InjectionTarget {
    var label: String {
        switch self {
        case .bone(let bone, _): bone.displayName
        case .intraArticular: "intra-articular"
        }
    }
}
