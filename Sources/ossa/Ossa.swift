import ArgumentParser

@main
struct Ossa: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ossa",
        abstract: "Ossa: the clinical system for intraosseous regenerative therapy.",
        discussion: """
            Scores questionnaires, screens candidates against a versioned ruleset and analyses \
            survival free of joint replacement. Every command takes --help.
            """,
        subcommands: [Score.self, Screen.self, Stats.self, Instruments.self, Schedule.self,
                      Serve.self, Demo.self, Migrate.self, User.self, Audit.self, Backup.self, Restore.self, Token.self,
                      Outbox.self, Report.self, Literature.self, Import.self, Export.self, BenchMessaging.self]
    )
}
