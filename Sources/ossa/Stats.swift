import ArgumentParser
import Foundation
import OssaStats

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Registry statistics.",
        subcommands: [Survival.self]
    )
}

extension ConfidenceIntervalType: ExpressibleByArgument {}

struct Survival: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Survival free of an event (e.g. joint replacement): Kaplan–Meier, log-rank, Cox.",
        discussion: """
            Reads a CSV file with a header row. Kaplan–Meier (Greenwood standard errors) for the whole \
            cohort and, with --group, for each group with a k-group log-rank test; Cox proportional \
            hazards (Efron ties) on the --covariate columns. Results equal R's survival package.
            """
    )

    @Option(help: "CSV file with a header row.")
    var input: String

    @Option(help: "Column with the time to event or censoring (days, ≥ 0).")
    var time: String

    @Option(help: "Column with the event indicator: 1 = event, 0 = censored.")
    var event: String

    @Option(help: "Column with the group to compare (log-rank).")
    var group: String?

    @Option(name: .customLong("covariate"), help: "Numeric column for the Cox model; repeat for several.")
    var covariates: [String] = []

    @Option(name: .customLong("conf-type"), help: "Confidence interval transform: log-log, log or plain.")
    var confType: ConfidenceIntervalType = .logLog

    @Option(help: "Output format: json or text.")
    var format: OutputFormat = .json

    @Flag(name: .customLong("all-times"), help: "Text output: list every distinct time, not only event times.")
    var allTimes = false

    func run() throws {
        // The file is mapped rather than copied (a million-row cohort is 23 MB: copying it costs as
        // much as parsing it); anything that cannot be mapped — or a file that is missing or a
        // directory, with readInput's messages — is read as before.
        let mapped = try? Data(contentsOf: URL(fileURLWithPath: input), options: .alwaysMapped)
        let data = try mapped ?? readInput(input, option: "--input")
        let columns = SurvivalColumns(time: time, event: event, group: group, covariates: covariates)
        try inFile(input) {
            // The file's bytes go to the parser as read (no String of the whole file).
            let dataset = try SurvivalCSV.parse(data: data, columns: columns)
            let analysis = try SurvivalAnalysis(dataset: dataset, confidenceType: confType)
            switch format {
            case .json: emit(try analysis.report.jsonString())
            case .text: emit(analysis.renderText(eventTimesOnly: !allTimes))
            }
        }
    }
}
