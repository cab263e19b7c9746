import Foundation
import OssaCore
import OssaStore

/// GET /follow-up/completion: questionnaire completion per site and timepoint (the registry lives or dies by it),
/// the recovery-diary days together. Model: `CompletionPage`; view: `completion.mustache`; read model:
/// `ReadModels.completionRates`.
struct CompletionPage: Page {
    static let template = "completion"
    struct Site: Sendable { var name: String; var table: TableModel }
    var title = "Questionnaire completion"
    var user: UserBar?
    var chrome = Chrome()
    var sites: [Site]
    var hasSites: Bool

    init(_ rates: CompletionRates, user: UserBar, followUp: FollowUpProtocol) {
        self.user = user
        let labels = Dictionary(followUp.timepoints.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
        let order = followUp.timepoints.map(\.id)
        var sites: [Site] = []
        for (siteID, rows) in Dictionary(grouping: rates.rows, by: \.siteID).sorted(by: { ($0.value.first?.siteName ?? "") < ($1.value.first?.siteName ?? "") }) {
            _ = siteID
            // Diary days are one protocol timepoint repeated: one row for the seven days.
            var merged: [String: (completed: Int, due: Int)] = [:]
            for row in rows {
                let base = order.first { row.code == $0 || row.code.hasPrefix($0 + "-d") } ?? row.code
                merged[base, default: (0, 0)].completed += row.completed
                merged[base, default: (0, 0)].due += row.due
            }
            let codes = merged.keys.sorted { (order.firstIndex(of: $0) ?? .max, $0) < (order.firstIndex(of: $1) ?? .max, $1) }
            let tableRows = codes.map { code -> TableModel.Row in
                let value = merged[code]!
                let rate = value.due == 0 ? "–" : "\(Int((Double(value.completed) / Double(value.due) * 100).rounded())) %"
                return TableModel.Row(cells: [.init(labels[code] ?? Display.timepoint(code)), .init(String(value.due), class: "num"),
                                              .init(String(value.completed), class: "num"), .init(rate, class: "num")])
            }
            sites.append(Site(name: rows.first?.siteName ?? "", table: TableModel(caption: "Completion at \(rows.first?.siteName ?? "")",
                                                                                   headers: ["Timepoint", "Due (window closed or answered)", "Completed", "Rate"],
                                                                                   rows: tableRows)))
        }
        self.sites = sites
        hasSites = !sites.isEmpty
    }
}
