import Foundation
import OssaCore
import OssaStore

/// GET / for clinicians and coordinators: what needs doing at their sites, each list with its count and links.
/// Model: `WorklistPage`; view: `worklist.mustache`; read model: `ReadModels.worklist`.
struct WorklistPage: Page {
    static let template = "worklist"
    struct Section: Sendable {
        var id: String
        var title: String
        var count: Int
        var countLabel: String
        var hint: String
        var table: TableModel
        var more: String?
        /// A link under the list (the consult requests' own page).
        var link: TableModel.Link? = nil
    }

    var title = "Worklist"
    var user: UserBar?
    var chrome = Chrome()
    var today: String
    var sections: [Section]
    var upcoming: [Section]
    var newPatientURL: String
    var completionURL: String
    /// "Delivery is not configured": the outbox holds the messages until OSSA_SMTP_URL or OSSA_SMS_WEBHOOK_URL is set.
    var deliveryWarning: String?

    init(_ worklist: Worklist, user: UserBar, deliveryConfigured: Bool = true) {
        self.user = user
        today = worklist.today.iso
        func section(_ id: String, _ title: String, _ hint: String, _ s: Worklist.Section, dateHeader: String, detail: String,
                     link: (Worklist.Item) -> String, detailText: (Worklist.Item) -> String) -> Section {
            Section(id: id, title: title, count: s.total, countLabel: s.total == 1 ? "1 item" : "\(s.total) items", hint: hint,
                    table: TableModel(caption: title, headers: ["Patient", "Episode", dateHeader, detail], rows: s.items.map { item in
                        TableModel.Row(.link(item.patientName, link(item)),
                                       .init(item.episode.map(EpisodeView.jointLabel) ?? "–"), .init(item.date.iso), .init(detailText(item)))
                    }, emptyText: "Nothing to do."),
                    more: s.total > s.items.count ? "Showing the first \(s.items.count) of \(s.total)." : nil)
        }
        sections = [
            section("planned", "Procedures planned this week", "Injection plans booked from Monday to Sunday; open the plan to print it.",
                    worklist.proceduresPlannedThisWeek, dateHeader: "Planned for", detail: "Plan",
                    link: { Paths.plan.url($0.episodeID) }, detailText: { _ in "Injection plan" }),
            section("signatures", "Screening decisions awaiting signature", "A clinician reviews and signs, or overrides with a reason.",
                    worklist.decisionsAwaitingSignature, dateHeader: "Evaluated", detail: "Category",
                    link: { Paths.screeningDecision.url($0.episodeID, $0.recordID) },
                    detailText: { ScreeningCategory(rawValue: $0.detail).map(Display.category) ?? $0.detail }),
            section("procedures", "Procedure records awaiting signature", "Signing locks the record.",
                    worklist.proceduresAwaitingSignature, dateHeader: "Performed", detail: "Kind",
                    link: { Paths.procedure.url($0.episodeID, $0.recordID) },
                    detailText: { ProcedureKind(rawValue: $0.detail).map(Display.procedureKind) ?? $0.detail }),
            section("due", "Questionnaires due", "Window open; the patient has their link. Enter answers taken by telephone.",
                    worklist.questionnairesDue, dateHeader: "Due", detail: "Timepoint",
                    link: { Paths.followUp.url($0.episodeID) }, detailText: { Display.timepoint($0.detail) }),
            section("overdue", "Questionnaires overdue", "The target day has passed and the window is still open: call the patient.",
                    worklist.questionnairesOverdue, dateHeader: "Due", detail: "Timepoint",
                    link: { Paths.followUp.url($0.episodeID) }, detailText: { Display.timepoint($0.detail) }),
            section("missed", "Windows closed without answers", "Mark each missed (with the reason) or not applicable.",
                    worklist.questionnairesClosed, dateHeader: "Was due", detail: "Timepoint",
                    link: { Paths.followUp.url($0.episodeID) }, detailText: { Display.timepoint($0.detail) }),
            Self.redFlags(worklist.attention.redFlags),
            Self.consults(worklist.consultRequests),
            Self.attention("to-call", "Patients to call", "A questionnaire window has been open for a day or more and no link could be sent: no e-mail address or phone number the patient has not opted out of. Call, or add an address and send the link from the follow-up page.",
                           worklist.attention.toCall, headers: ["Patient", "Due", "Timepoint"]) { item in
                [.link(item.patientName, Paths.followUp.url(item.episodeID)), .init(item.day?.iso ?? "–"), .init(Display.timepoint(item.detail))]
            },
            Self.attention("failed", "Failed deliveries", "Messages the mail server or SMS gateway refused, or that failed after every retry. Check the address, then send the link again from the follow-up page.",
                           worklist.attention.failedDeliveries, headers: ["Patient", "Queued", "Channel and error"]) { item in
                [.link(item.patientName, Paths.followUp.url(item.episodeID)), .init(item.when.map(Display.instant) ?? "–"), .init(item.detail)]
            },
        ]
        upcoming = []
        newPatientURL = Paths.patientNew.template
        completionURL = Paths.completion.template
        deliveryWarning = deliveryConfigured ? nil
            : "Delivery is not configured: invitations and reminders wait in the outbox until OSSA_SMTP_URL (e-mail) or OSSA_SMS_WEBHOOK_URL (SMS) is set."
    }

    /// Open red flags, newest first: urgent ones say so; each opens the episode's follow-up.
    static func redFlags(_ list: WorklistAttention.List) -> Section {
        attention("red-flags", "Red flags", "Answers that need a clinician now — fever, spreading redness, pain rising after the procedure (recovery diary) — and questionnaire links locked after wrong dates of birth. Deal with each, then resolve it on the follow-up page.",
                  list, headers: ["Patient", "Raised", "Severity", "What"]) { item in
            [.link(item.patientName, Paths.followUp.url(item.episodeID) + "#red-flags"), .init(item.when.map(Display.instant) ?? "–"),
             .init(item.severity == "urgent" ? "Urgent" : "Review", class: item.severity == "urgent" ? "status-urgent" : nil), .init(item.detail)]
        }
    }

    static func attention(_ id: String, _ title: String, _ hint: String, _ list: WorklistAttention.List, headers: [String],
                          cells: (WorklistAttention.Item) -> [TableModel.Cell]) -> Section {
        Section(id: id, title: title, count: list.total, countLabel: list.total == 1 ? "1 item" : "\(list.total) items", hint: hint,
                table: TableModel(caption: title, headers: headers, rows: list.items.map { TableModel.Row(cells: cells($0)) }, emptyText: "Nothing to do."),
                more: list.total > list.items.count ? "Showing the first \(list.items.count) of \(list.total)." : nil)
    }

    /// New consult requests from the public self-screen, newest first, each opening its request page.
    static func consults(_ list: ConsultRequestList) -> Section {
        Section(id: "consults", title: "Consult requests", count: list.total, countLabel: list.total == 1 ? "1 item" : "\(list.total) items",
                hint: "People who ran the public self-screen and asked to be contacted: call them back, then turn the request into a patient or close it.",
                table: TableModel(caption: "Consult requests", headers: ["Name", "Joint", "Received", "Self-screen result"], rows: list.items.map { r in
                    TableModel.Row(.link(r.name, Paths.consultRequest.url(r.id)), .init(ConsultDisplay.joint(r.answers)),
                                   .init(Display.instant(r.createdAt)), .init(ConsultDisplay.outcome(r.outcome)))
                }, emptyText: "No new requests."),
                more: list.total > list.items.count ? "Showing the newest \(list.items.count) of \(list.total)." : nil,
                link: TableModel.Link(url: Paths.consultRequests.template, text: "All consult requests"))
    }
}
