import ArgumentParser
import Foundation
import OssaAnalytics

/// `ossa literature`: the published studies the analytics compare the clinic with. A clinic edits its own copy
/// (start from `ossa literature default`), checks it with `ossa literature check`, and points
/// `OSSA_LITERATURE_FILE` at it for `ossa serve` and `ossa report`.
struct Literature: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print, check or list the published studies the analytics set the clinic's figures beside.",
        subcommands: [Default.self, Check.self])

    struct Default: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the built-in literature file (JSON), to start a clinic's own copy from.")

        func run() throws {
            FileHandle.standardOutput.write(try LiteratureFile.builtInData())
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a literature file: every problem is named with its study and outcome; exit 1 if any.",
            discussion: "Without a file, checks the one OSSA_LITERATURE_FILE names.")

        @Argument(help: ArgumentHelp("The file to check (default: $OSSA_LITERATURE_FILE).", valueName: "file.json"))
        var file: String?

        func run() throws {
            let path: String
            if let file {
                path = file
            } else if let set = Settings(flags: [:]).string("ossa.literature.file") {
                path = set
            } else {
                throw CommandLineError(message: "no file given and OSSA_LITERATURE_FILE is not set")
            }
            let literature = try Settings.literatureFile(at: path, source: file == nil ? "OSSA_LITERATURE_FILE" : "literature file")
            let outcomes = literature.studies.reduce(0) { $0 + $1.outcomes.count }
            emit("\(path): valid — \(literature.studies.count) studies, \(outcomes) outcomes")
            for study in literature.studies {
                emit("  \(study.id)  \(study.label) (\(study.outcomes.count) outcome\(study.outcomes.count == 1 ? "" : "s"))")
            }
        }
    }
}
