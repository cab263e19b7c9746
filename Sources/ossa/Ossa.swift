import ArgumentParser

@main
struct Ossa: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ossa",
        abstract: "Ossa: the clinical system for intraosseous regenerative therapy."
    )
}
