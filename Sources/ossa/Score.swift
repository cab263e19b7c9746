import ArgumentParser
import Foundation
import OssaCore

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a questionnaire from a file of answers.",
        discussion: """
            The answers file is a JSON object from item code to ordinal value, e.g. {"P1": 2, "P2": null}; \
            an unanswered item is absent or null. KOOS and HOOS follow the half-of-items rule \
            (KOOS 2012, HOOS 2013); KOOS JR and HOOS JR need every item and use the HSS tables. \
            A score that cannot be computed is null. `ossa instruments` lists the instruments.
            """
    )

    @Option(help: "Instrument id: koos, hoos, koos-jr, hoos-jr, nrs-pain, pga, tegner, ucla.")
    var instrument: String

    @Option(help: "JSON file of answers (item code → ordinal value or null).")
    var answers: String

    @Option(help: "Output format: json or text.")
    var format: OutputFormat = .json

    func run() throws {
        let library = try InstrumentLibrary.builtIn()
        let definition: InstrumentDefinition
        do { definition = try library.require(id: instrument) } catch {
            throw CommandLineError(message: "--instrument: \(error)")
        }
        let data = try readInput(answers, option: "--answers")
        try inFile(answers) {
            let result = try definition.score(try AnswerFile.parse(data))
            emit(format == .json ? result.jsonString() : result.renderText())
        }
    }
}
