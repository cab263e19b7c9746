import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import OssaCore
import OssaDemo
import OssaStore
import OssaWeb

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill an empty database with a synthetic demo registry (never real patients).",
        discussion: """
            Sites, clinicians, coordinators, researchers and an admin; patients with knee and hip episodes, \
            screening decisions, MRI findings, PRP/BMC procedures, questionnaire trajectories calibrated to the \
            published effect sizes, joint replacements, adverse events and deaths over up to 5 years. The same \
            --seed gives the same registry. Every demo account gets the password printed at the end.
            """)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Option(help: "Number of patients.") var patients: Int
    @Option(help: "Random seed.") var seed: UInt64 = 2026
    @Option(name: .customLong("start-date"), help: "First day of the registry (YYYY-MM-DD).")
    var startDate = DemoSetup.defaultStartDate
    @Option(name: .customLong("summary-json"), help: "Also write the counts and timing as JSON to this file.")
    var summaryJSON: String?

    func validate() throws {
        guard (1...5_000_000).contains(patients) else {
            throw ValidationError("--patients \(patients): must be between 1 and 5,000,000")
        }
    }

    func run() async throws {
        let start: CalendarDate
        do { start = try CalendarDate(iso: startDate) } catch {
            throw CommandLineError(message: "--start-date \(startDate): not a date (YYYY-MM-DD)")
        }
        let bar = ProgressBar(label: "patients", total: patients)
        let began = Date()
        let result = try await withStore(databaseOptions, create: true, logger: try makeLogger(level: .warning)) { store in
            try await DemoSetup.load(store: store, patients: patients, seed: seed, startDate: start,
                                     progress: { done, total in bar.update(done) })
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(began)
        guard let summary = result.summary else { return }
        print("""
            demo registry (seed \(seed)): \(summary.sites) sites, \(result.logins.count) accounts, \(summary.patients) patients, \
            \(summary.episodes) episodes, \(summary.procedures) procedures, \(summary.questionnaireResponses) questionnaire \
            responses, \(summary.outcomeEvents) outcome events; \(summary.rows) rows in \(String(format: "%.1f", seconds)) s
            """)
        printDemoLogins(result.logins)
        if let summaryJSON {
            let object: [String: Any] = [
                "patients": summary.patients, "rows": summary.rows, "seconds": summary.seconds, "wall_seconds": seconds,
                "tables": ["sites", "users", "site_grants", "patients", "episodes", "screening_decisions", "imaging_studies",
                           "subregion_findings", "procedures", "injections", "follow_up_timepoints",
                           "questionnaire_responses", "outcome_events"],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            try data.write(to: URL(fileURLWithPath: summaryJSON))
        }
    }
}

/// The block both `ossa demo` and `ossa serve --demo` print (scripts and tests read `role email` lines from it).
func printDemoLogins(_ logins: [DemoSetup.Login]) {
    print("Demo logins (password \(DemoSetup.password) for every account):")
    for login in logins {
        print("  \(login.role.padding(toLength: 12, withPad: " ", startingAt: 0)) \(login.email)")
    }
}

/// A one-line progress bar on standard error, redrawn at most a few times a second; silent when standard error is
/// not a terminal except for a final line.
final class ProgressBar: Sendable {
    private let label: String
    private let total: Int
    private let interactive = isatty(STDERR_FILENO) == 1
    private let state = NIOLockedValueBox((done: 0, lastDraw: 0.0, started: Date()))

    init(label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    func update(_ done: Int) {
        let now = Date().timeIntervalSinceReferenceDate
        let draw = state.withLockedValue { s -> (Int, Date)? in
            s.done = done
            guard now - s.lastDraw >= 0.2 || done >= total else { return nil }
            s.lastDraw = now
            return (done, s.started)
        }
        guard interactive, let (value, started) = draw else { return }
        FileHandle.standardError.write(Data(("\r" + line(value, started: started)).utf8))
    }

    func finish() {
        let (done, started) = state.withLockedValue { ($0.done, $0.started) }
        FileHandle.standardError.write(Data(((interactive ? "\r" : "") + line(done, started: started) + "\n").utf8))
    }

    private func line(_ done: Int, started: Date) -> String {
        let fraction = Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + "\(done)/\(total) \(label) \(String(format: "%3.0f%%", fraction * 100)) "
            + String(format: "%.0f/s, %.0f s left ", rate, eta)
    }
}
