import ArgumentParser
import Foundation
import OssaCore
import OssaStore
import OssaWeb

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations that have not run yet, then list them all.")

    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        let logger = try makeLogger()
        let applied = try await withStore(databaseOptions, create: true, logger: logger) { store in
            try await store.database.appliedMigrations()
        }
        print("\(applied.count) migrations applied:")
        for name in applied { print("  \(name)") }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the tamper-evident audit log.",
        subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the audit log's hash chain; exits 1 and names the first broken entry if it is broken.",
            discussion: """
                Detects edited, deleted, inserted and reordered entries and entries removed from the end. With \
                --anchor FILE it also compares the chain with a head recorded earlier by --write-anchor FILE (kept \
                outside the database, so that rewinding the database's own anchor is caught too).
                """)

        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(help: "Anchor file written by an earlier --write-anchor.") var anchor: String?
        @Option(name: .customLong("write-anchor"), help: "After a successful check, record the chain's head in this file.")
        var writeAnchor: String?

        func run() async throws {
            let external: AuditAnchor? = try anchor.map { path in
                let data = try readInput(path, option: "--anchor")
                do { return try AuditAnchor(fileContents: String(decoding: data, as: UTF8.self)) } catch {
                    throw CommandLineError(message: "--anchor \(path): \(error)")
                }
            }
            let logger = try makeLogger()
            let result = try await withStore(databaseOptions, migrate: false, logger: logger) { store in
                try await AuditVerifier.verify(store.database, externalAnchor: external)
            }
            print(result.description)
            switch result {
            case .intact(let count, let lastHash):
                if let writeAnchor {
                    let anchor = AuditAnchor(sequence: Int64(count), hash: lastHash)
                    try anchor.write(to: writeAnchor)
                    print("anchor written to \(writeAnchor)")
                }
            case .broken:
                throw ExitCode(1)
            }
        }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a live SQLite database to FILE (consistent while the server runs).",
        discussion: "On PostgreSQL use pg_dump; this command says so and exits non-zero.")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "Where to write the copy (must not exist).") var file: String

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: file) else {
            throw CommandLineError(message: "\(file) exists already; choose a new file")
        }
        let info = try await withStore(databaseOptions, migrate: false, logger: try makeLogger()) { store in
            try await store.database.backup(to: file)
        }
        print("backup written to \(file): \(info.bytes) bytes, \(info.migrations.count) migrations, audit log \(info.auditIntact ? "intact" : "BROKEN") up to entry \(info.auditHead.sequence)")
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the SQLite database with a backup made by `ossa backup` (stop the server first).",
        discussion: "The backup is checked (integrity, Ossa schema) before anything is replaced.")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "A file written by `ossa backup`.") var file: String

    func run() async throws {
        _ = try readInput(file, option: "FILE")
        let location = try Settings(flags: ["ossa.database.url": databaseOptions.database]).databaseLocation()
        try await OssaDatabase.restore(from: file, to: location, logger: try makeLogger())
        print("restored \(location) from \(file)")
    }
}

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage user accounts.",
        subcommands: [Add.self, Passwd.self, Disable.self])

    /// The password from standard input (first line), or a new random one that is printed once.
    static func password(fromStandardInput: Bool) throws -> (password: String, generated: Bool) {
        if fromStandardInput {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CommandLineError(message: "--password-stdin: no password on standard input")
            }
            return (line, false)
        }
        return (WebEnvironment.randomToken(), true)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user. The first user of a new database must be an admin and needs no --as.")

        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(help: "E-mail address (the login).") var email: String
        @Option(help: "Name shown in the interface and the audit log.") var name: String
        @Option(help: "patient, coordinator, clinician, researcher or admin.") var role: String
        @Option(help: "Grant a site (id); repeat for several.") var site: [String] = []
        @Option(name: .customLong("patient"), help: "For the patient role: the patient record id.") var patientID: String?
        @Option(name: .customLong("as"), help: "E-mail of the admin creating the user (recorded in the audit log).")
        var admin: String?
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input instead of generating one.")
        var passwordFromStandardInput = false

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                throw CommandLineError(message: "--role \(role): expected one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let sites = try site.map { text in
                guard let id = UUID(uuidString: text) else { throw CommandLineError(message: "--site \(text): not a site id") }
                return id
            }
            let patient = try patientID.map { text in
                guard let id = UUID(uuidString: text) else { throw CommandLineError(message: "--patient \(text): not a patient id") }
                return id
            }
            let (password, generated) = try User.password(fromStandardInput: passwordFromStandardInput)
            let user = try await withStore(databaseOptions, logger: try makeLogger()) { store in
                if let admin {
                    let actor = try await administrator(store, email: admin)
                    return try await Accounts.addUser(store: store, actor: actor, email: email, displayName: name, role: role,
                                                      password: password, sites: sites, patientID: patient)
                }
                guard role == .admin, sites.isEmpty else {
                    throw CommandLineError(message: "--as ADMIN-EMAIL is required (only the first user, an admin, is created without it)")
                }
                return try await Accounts.addFirstAdmin(store: store, email: email, displayName: name, password: password)
            }
            print("created \(user.role.rawValue) \(user.email) (id \(user.id.lowercasedString))")
            if generated { print("password: \(password)") }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's password (their sessions end).")

        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The user's e-mail address.") var email: String
        @Option(name: .customLong("as"), help: "E-mail of the admin making the change.") var admin: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input instead of generating one.")
        var passwordFromStandardInput = false

        func run() async throws {
            let (password, generated) = try User.password(fromStandardInput: passwordFromStandardInput)
            try await withStore(databaseOptions, logger: try makeLogger()) { store in
                let actor = try await administrator(store, email: admin)
                guard let user = try await Accounts.findUser(store: store, actor: actor, email: email) else {
                    throw CommandLineError(message: "\(email): no such user")
                }
                try await Accounts.setPassword(store: store, actor: actor, userID: user.id, password: password)
            }
            print("password set for \(email)")
            if generated { print("password: \(password)") }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a user: sign-in is refused, sessions end and API tokens are revoked.")

        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "The user's e-mail address.") var email: String
        @Option(name: .customLong("as"), help: "E-mail of the admin making the change.") var admin: String

        func run() async throws {
            try await withStore(databaseOptions, logger: try makeLogger()) { store in
                let actor = try await administrator(store, email: admin)
                guard let user = try await Accounts.findUser(store: store, actor: actor, email: email) else {
                    throw CommandLineError(message: "\(email): no such user")
                }
                try await Accounts.disableUser(store: store, actor: actor, userID: user.id)
            }
            print("disabled \(email)")
        }
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API tokens for machine clients (sent as `Authorization: Bearer TOKEN`).",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API token for a user and print it (it is shown once; only its hash is stored).")

        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(help: "E-mail of the user the token acts as.") var user: String
        @Option(help: "A name to recognise the token by (e.g. the client's name).") var name: String
        @Option(help: "Days until the token expires (default: never).") var days: Int?
        @Option(name: .customLong("as"), help: "E-mail of the admin creating the token.") var admin: String

        func run() async throws {
            if let days, days <= 0 { throw CommandLineError(message: "--days \(days): must be at least 1") }
            let token = WebEnvironment.randomToken()
            try await withStore(databaseOptions, logger: try makeLogger()) { store in
                let actor = try await administrator(store, email: admin)
                guard let owner = try await Accounts.findUser(store: store, actor: actor, email: user) else {
                    throw CommandLineError(message: "--user \(user): no such user")
                }
                let now = Date()
                _ = try await store.apiTokens.create(actor, user: owner.id, name: name, token: token, now: now,
                                                     expiresAt: days.map { now.addingTimeInterval(Double($0) * 86_400) })
            }
            print(token)
        }
    }
}
