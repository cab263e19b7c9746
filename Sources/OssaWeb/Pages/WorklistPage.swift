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
    }

    var title = "Worklist"
    var user: UserBar?
    var chrome = Chrome()
    var today: String
    var sections: [Section]
    var upcoming: [Section]
    var newPatientURL: String

    init(_ worklist: Worklist, user: UserBar) {
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
        ]
        // The patient portal brings these lists; their place on the worklist is kept so the page does not move.
        upcoming = [
            Section(id: "red-flags", title: "Red flags from recovery diaries", count: 0, countLabel: "0 items",
                    hint: "Arrives with the patient portal: fever, redness, pain rising after day 3.",
                    table: TableModel(caption: "Red flags", headers: [], rows: [], emptyText: "None."), more: nil),
            Section(id: "consults", title: "Consult requests", count: 0, countLabel: "0 items",
                    hint: "Arrives with the patient portal: self-screening patients asking for a consultation.",
                    table: TableModel(caption: "Consult requests", headers: [], rows: [], emptyText: "None."), more: nil),
        ]
        newPatientURL = Paths.patientNew.template
    }
}
