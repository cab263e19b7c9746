import ArgumentParser
import Foundation
import OssaCore

struct Screen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Screen a candidate: the decision, every rule that fired and why, next steps and targets.",
        discussion: """
            The input is a JSON screening record (see Examples/screening/). The decision is one of \
            recommended, consider, not-now or refer. Without --ruleset the bundled default ruleset is used; \
            a clinic's own ruleset file has the same schema.
            """
    )

    @Option(help: "JSON screening input.")
    var input: String

    @Option(help: "A clinic's ruleset file (JSON); the bundled default when omitted.")
    var ruleset: String?

    @Option(help: "Output format: json or text.")
    var format: OutputFormat = .json

    func run() throws {
        let inputData = try readInput(input, option: "--input")
        let rules: Ruleset
        if let ruleset {
            let data = try readInput(ruleset, option: "--ruleset")
            do { rules = try Ruleset.decode(from: data) } catch {
                throw CommandLineError(message: "\(ruleset): \(error)")
            }
        } else {
            rules = try Ruleset.bundledDefault()
        }
        let screening: ScreeningInput
        do { screening = try ScreeningInput.decode(from: inputData) } catch {
            throw CommandLineError(message: "\(input): \(error)")
        }
        let decision = try ScreeningEngine(ruleset: rules).evaluate(screening)
        emit(format == .json ? String(decoding: try decision.jsonData(), as: UTF8.self) : decision.renderText())
    }
}
