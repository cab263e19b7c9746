import ArgumentParser
import Foundation
import OssaAnalytics
import OssaStore
import OssaWeb

/// `ossa report --cohort FILE.json --output report.html`: registry analytics of a cohort as one self-contained
/// HTML file (issue #11), for the user given with `--as` (their sites; a researcher's report is de-identified with
/// small cells suppressed). Audited as an export.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the registry analytics of a cohort as one self-contained HTML file.",
        discussion: """
            The cohort file is the JSON the API's POST /api/v1/cohorts takes, e.g.
              {"name": "Knee OA KL 3-4", "filter": {"joint": ["knee"], "diagnosis": ["osteoarthritis"],
               "kellgrenLawrence": {"min": 3, "max": 4}}, "group": "product", "covariates": ["age", "bmi"]}
            Every key may be left out ({} is the whole registry). The report covers the sites of the user given
            with --as; a researcher's is de-identified, with counts below OSSA_ANALYTICS_MIN_CELL (5) suppressed.
            The published studies come from OSSA_LITERATURE_FILE when it is set (see `ossa literature`).
            """)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Option(help: ArgumentHelp("Cohort definition (JSON).", valueName: "file.json")) var cohort: String
    @Option(help: ArgumentHelp("Where to write the HTML report.", valueName: "report.html")) var output: String
    @Option(name: .customLong("as"), help: ArgumentHelp("E-mail of the clinician, coordinator or researcher the report is for (their sites; audited).",
                                                         valueName: "email"))
    var user: String

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: cohort) else {
            throw CommandLineError(message: "--cohort \(cohort): cannot read the file")
        }
        let definition: CohortDefinition
        do {
            definition = try CohortDefinition.decode(from: data)
        } catch {
            throw CommandLineError(message: "--cohort \(cohort): \(error)")
        }
        let outputURL = URL(fileURLWithPath: output)
        guard FileManager.default.fileExists(atPath: outputURL.deletingLastPathComponent().path) else {
            throw CommandLineError(message: "--output \(output): the folder does not exist")
        }
        let settings = Settings(flags: [:])
        let minimum = try settings.int("ossa.analytics.min.cell", default: AnalyticsRepository.defaultMinimumCellCount, in: 1...1000)
        let literature = try settings.literatureFile()
        let email = user
        let started = Date()
        let result = try await withStore(databaseOptions, logger: try makeLogger(level: .warning)) { store in
            guard let credentials = try await store.sessions.credentials(email: email) else {
                throw CommandLineError(message: "--as \(email): no such user")
            }
            let actor = try await store.users.actingUser(credentials.userID, from: "cli")
            do {
                return try await AnalyticsReportFile.render(store: store, actor: actor, definition: definition, minimumCellCount: minimum,
                                                        literature: literature) { stage in
                    FileHandle.standardError.write(Data("\(String(format: "%5.1f", Date().timeIntervalSince(started))) s  \(stage)\n".utf8))
                }
            } catch let denied as AccessDenied {
                throw CommandLineError(message: "--as \(email): \(denied)")
            }
        }
        // Written next to the target and moved into place, so a half-written report never replaces a good one.
        let temporary = outputURL.deletingLastPathComponent().appendingPathComponent(".\(outputURL.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(result.html.utf8).write(to: temporary)
            _ = try? FileManager.default.removeItem(at: outputURL)
            try FileManager.default.moveItem(at: temporary, to: outputURL)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw CommandLineError(message: "--output \(output): \(error.localizedDescription)")
        }
        print("Wrote \(output): \(result.subjects) treated episodes (\(result.matching) matching the cohort's filters).")
    }
}
