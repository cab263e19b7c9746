import Foundation
import OssaCore
import OssaStore

/// The patient's own page: per treated joint, the questionnaires to come and the results so far in plain words, with
/// a simple trajectory plot (SVG drawn on the server) per questionnaire. Reached signed in (`/my`) or from a
/// questionnaire link whose date of birth was confirmed (`/q/{token}/progress`).
/// Model: `ProgressPage`; view: `my-progress.mustache`; read model: `ReadModels.patientProgress` / `LinkRepository.progress`.
struct ProgressPage: Page {
    static let template = "my-progress"
    struct Upcoming: Sendable { var label: String; var when: String }
    struct Result: Sendable {
        var id: String
        var title: String
        var lines: [String]
        var plot: String
    }
    struct Joint: Sendable {
        var heading: String
        var upcoming: [Upcoming]
        var hasUpcoming: Bool
        var results: [Result]
        var hasResults: Bool
    }

    var title = "Your progress"
    var user: UserBar?
    var chrome: Chrome
    var joints: [Joint]
    var hasJoints: Bool
    var contact: [String]
    var backURL: String?

    init(_ progress: PatientProgress, user: UserBar?, today: CalendarDate, library: InstrumentLibrary, followUp: FollowUpProtocol,
         backURL: String? = nil) {
        self.user = user
        chrome = user == nil ? .publicPage(progress.clinic.name) : Chrome()
        contact = PortalMessagePage.contact(progress.clinic)
        self.backURL = backURL
        let labels = Dictionary(followUp.timepoints.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
        func label(_ code: String) -> String {
            if let label = labels[code] { return label }
            if code.hasPrefix("diary-d"), let day = Int(code.dropFirst(7)) { return "Recovery diary, day \(day)" }
            return Display.timepoint(code)
        }
        joints = progress.episodes.map { item in
            let episode = item.episode
            let side = episode.side.rawValue
            let heading = "Your \(side) \(episode.joint.rawValue)"
            // The next few questionnaires not yet answered whose window has not closed.
            let upcoming = item.timepoints.filter { $0.status == .pending && $0.windowEnd >= today && !$0.code.hasPrefix("diary-d") }
                .prefix(4).map { t -> Upcoming in
                    let when = t.windowStart <= today ? "Open now, until \(t.windowEnd.iso)" : "Opens on \(t.windowStart.iso), until \(t.windowEnd.iso)"
                    return Upcoming(label: "\(label(t.code)) questionnaire", when: when)
                }
            let codes = Dictionary(item.timepoints.map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
            let index = item.timepoints.first { $0.code == "baseline" }?.dueDate
            var results: [Result] = []
            var seen: [String] = []
            for response in item.responses where !seen.contains(response.instrumentID) { seen.append(response.instrumentID) }
            for instrumentID in seen {
                // One line per questionnaire: its pain score where it has one (what patients ask about), else its first.
                guard let instrument = library.instrument(id: instrumentID), instrument.isScorable,
                      let score = (instrument.scores.filter { $0.id == "pain" } + instrument.scores).first(where: { score in
                    item.responses.contains { $0.instrumentID == instrumentID && $0.score(score.id) != nil }
                }) else { continue }
                let answered = item.responses.filter { $0.instrumentID == instrumentID && $0.score(score.id) != nil }
                let direction = instrument.direction(ofScore: score.id)
                let better = direction == .higherIsBetter ? "higher is better" : "lower is better"
                let range = score.range.map { " (\(Display.number($0.min))–\(Display.number($0.max)), \(better))" } ?? " (\(better))"
                var lines = answered.map { r -> String in
                    let when = r.timepointID.flatMap { codes[$0] }.map(label) ?? "Answered \(String(r.completedAt.formatted(.iso8601).prefix(10)))"
                    return "\(when): \(Display.number(r.score(score.id)))"
                }
                if let first = answered.first?.score(score.id), let last = answered.last?.score(score.id), answered.count > 1 {
                    let change = last - first
                    let improved = direction == .higherIsBetter ? change > 0 : change < 0
                    lines.append(change == 0 ? "The same as your first answer." :
                                    "\(Display.number(abs(change))) points \(improved ? "better" : "worse") than your first answer.")
                }
                let points = answered.compactMap { r -> (x: Double, y: Double)? in
                    guard let value = r.score(score.id) else { return nil }
                    let day = CalendarDate(utc: r.completedAt)
                    return (x: max(0, index.map { Double(day.dayNumber - $0.dayNumber) / 30.4375 } ?? 0), y: value)
                }
                let plot = TrajectoryPlot.svg(title: "\(instrument.abbreviation) \(score.label) over time", id: "my-\(episode.id.lowercasedID.prefix(8))-\(instrumentID)",
                                              xLabel: "Months since the treatment", yLabel: score.label,
                                              yRange: score.range.map { $0.min...$0.max } ?? 0...100,
                                              series: [TrajectoryPlot.Series(label: score.label, points: points)])
                results.append(Result(id: instrumentID, title: "\(instrument.title): \(score.label)\(range)", lines: lines, plot: plot))
            }
            return Joint(heading: heading, upcoming: Array(upcoming), hasUpcoming: !upcoming.isEmpty, results: results, hasResults: !results.isEmpty)
        }
        hasJoints = !joints.isEmpty
    }
}
