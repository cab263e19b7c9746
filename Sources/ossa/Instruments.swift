import ArgumentParser
import OssaCore

struct Instruments: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the questionnaires Ossa ships, with their items, scores and LOINC codes."
    )

    @Argument(help: "Show one instrument's items and scores in full.")
    var id: String?

    func run() throws {
        let library = try InstrumentLibrary.builtIn()
        guard let id else {
            for definition in library.instruments {
                let scores = definition.scores.map(\.id).joined(separator: ", ")
                emit("\(definition.id.padding(toLength: 9, withPad: " ", startingAt: 0))  \(definition.title)"
                    + " — \(definition.items.count) item\(definition.items.count == 1 ? "" : "s"); scores: \(scores.isEmpty ? "none (records events)" : scores)"
                    + "; scoring \(definition.scoring.algorithm) \(definition.scoring.version)")
            }
            return
        }
        let definition: InstrumentDefinition
        do { definition = try library.require(id: id) } catch { throw CommandLineError(message: "\(error)") }
        emit("\(definition.title) (\(definition.abbreviation)), scoring \(definition.scoring.algorithm) \(definition.scoring.version)")
        emit("direction: \(definition.direction.rawValue)" + (definition.loincPanel.map { "; LOINC panel \($0)" } ?? ""))
        emit("licence: \(definition.licence)")
        for score in definition.scores {
            emit("score \(score.id) (\(score.label)): items \(score.items.joined(separator: " ")); "
                + "needs \(score.minimumAnswered) answered" + (score.loinc.map { "; LOINC \($0)" } ?? ""))
        }
        for item in definition.items {
            emit("  \(item.code.padding(toLength: 5, withPad: " ", startingAt: 0)) \(item.text)")
        }
    }
}
