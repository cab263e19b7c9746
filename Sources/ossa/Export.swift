import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import OssaCore
import OssaStore
import OssaWeb

/// `ossa export fhir|csv-wide|csv-long|deidentified --output DIR [--site CODE] [--since DATE] --as EMAIL` (issue #12).
struct Export: AsyncParsableCommand {
    enum Kind: String, ExpressibleByArgument, CaseIterable, Sendable {
        case fhir, csvWide = "csv-wide", csvLong = "csv-long", deidentified
    }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the registry: FHIR NDJSON, REDCap wide CSV, long CSV, or de-identified research files.",
        discussion: """
            fhir: one NDJSON file per resource type (Patient, Condition, Procedure, QuestionnaireResponse, \
            Observation), with the Bulk Data manifest.json. csv-wide: wide.csv (one row per episode × timepoint, \
            REDCap's import format), data-dictionary.csv, events.csv, instrument-designation.csv, \
            repeating-instruments.csv and codebook.csv. csv-long: long.csv (one row per answer and per score), \
            episodes.csv and codebook.csv. deidentified: the wide and long files by HIPAA Safe Harbor in wide/ and \
            long/, with deidentification-report.json. Every file is written beside DIR first and moved in when all \
            are complete: a failed export leaves nothing. The export is audited under the --as user, whose sites \
            (or the --site ones among them) it holds.
            """)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: ArgumentHelp("What to export: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind")) var kind: Kind
    @Option(help: ArgumentHelp("The directory to write into (made if missing; files of an earlier export are not overwritten).", valueName: "dir"))
    var output: String
    @Option(help: ArgumentHelp("Only this site (its code); repeat for several. Default: every site of the --as user.", valueName: "code"))
    var site: [String] = []
    @Option(help: ArgumentHelp("Only what was created or changed on or after this day (YYYY-MM-DD, UTC) or instant (ISO 8601).", valueName: "date"))
    var since: String?
    @Option(name: .customLong("as"), help: ArgumentHelp("E-mail of the user exporting (clinician or coordinator; a researcher for deidentified).", valueName: "email"))
    var user: String

    func validate() throws {
        if let since, Self.instant(since) == nil {
            throw ValidationError("--since \(since): not a date (YYYY-MM-DD) or an ISO 8601 instant")
        }
        if output.isEmpty { throw ValidationError("--output: give a directory") }
    }

    static func instant(_ text: String) -> Date? {
        if let day = try? CalendarDate(iso: text) { return day.startOfDayUTC }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    func run() async throws {
        let since = self.since.flatMap(Self.instant)
        let directory = URL(fileURLWithPath: output)
        let (email, codes, kind) = (user, site, self.kind)
        let what = "\(kind.rawValue)" + (codes.isEmpty ? "" : " site=\(codes.joined(separator: ","))") + (self.since.map { " since=\($0)" } ?? "")
        try await withStore(databaseOptions, logger: try makeLogger(level: .warning)) { store in
            guard let credentials = try await store.sessions.credentials(email: email) else {
                throw CommandLineError(message: "--as \(email): no such user")
            }
            let actor = try await store.users.actingUser(credentials.userID, from: "cli")
            var sites: Set<UUID>?
            if !codes.isEmpty {
                let mine = try await store.sites.list(actor, PageRequest(limit: PageRequest.maximumLimit)).items
                    .filter { actor.siteIDs.contains($0.id) }
                sites = []
                for code in codes {
                    guard let match = mine.first(where: { $0.code.lowercased() == code.lowercased() }) else {
                        throw CommandLineError(message: "--site \(code): not a site of \(email) (theirs: \(mine.map(\.code).sorted().joined(separator: ", ")))")
                    }
                    sites?.insert(match.id)
                }
            }
            let library = try InstrumentLibrary.builtIn()
            do {
                switch kind {
                case .fhir:
                    let status = StatusLine()
                    let files = try await FHIRFileExport(store: store, library: library)
                        .run(actor, into: directory, sites: sites, since: since, what: what) { status.show($0) }
                    status.finish()
                    for file in files { print("\(file.name)\t\(file.count) \(file.type)") }
                    print("Exported \(files.reduce(0) { $0 + $1.count }) resources in \(files.count) files to \(directory.path) (manifest.json).")
                case .csvWide, .csvLong, .deidentified:
                    let export = ResearchExport(store: store, library: library, protocol: try FollowUpProtocol.bundledDefault())
                    let total = try await export.count(actor, sites: sites, deidentified: kind == .deidentified)
                    let bar = ProgressBar(label: "episodes", total: kind == .deidentified ? 2 * total : total)
                    let summary: ResearchExport.Summary
                    switch kind {
                    case .csvWide: summary = try await export.wide(actor, into: directory, sites: sites, since: since, what: what) { bar.update($0) }
                    case .csvLong: summary = try await export.long(actor, into: directory, sites: sites, since: since, what: what) { bar.update($0) }
                    default:
                        let key = try await store.secrets.secret(InstallationSecrets.researchIDKey)
                        summary = try await export.deidentified(actor, into: directory, key: key, sites: sites, since: since, what: what) { bar.update($0) }
                    }
                    bar.finish()
                    for file in summary.files { print("\(file.name)\t\(file.rows) rows") }
                    var line = "Exported \(summary.episodes) episodes to \(directory.path)."
                    if kind == .deidentified {
                        line += " \(summary.patients) patients; \(summary.leftOutForConsent) left out (research use denied); \(summary.topCoded) ages written 90+; \(summary.unanchored) episodes without an IO procedure (dates left empty). See deidentification-report.json."
                    }
                    print(line)
                }
            } catch let error as ResearchExportError {
                throw CommandLineError(message: error.description)
            } catch let error as AccessDenied {
                throw CommandLineError(message: "--as \(email): \(error)")
            }
        }
    }
}

/// One status line on standard error, redrawn in place on a terminal (a few times a second), else printed when it
/// changes type.
final class StatusLine: Sendable {
    private let interactive = isatty(STDERR_FILENO) == 1
    private let state = NIOLockedValueBox((last: 0.0, kind: "", text: ""))

    func show(_ text: String) {
        let now = Date().timeIntervalSinceReferenceDate
        let kind = String(text.prefix { $0 != ":" })
        let draw = state.withLockedValue { s -> String? in
            defer { s.text = text }
            if interactive {
                guard now - s.last >= 0.2 else { return nil }
                s.last = now
                return "\r\(text)   "
            }
            guard kind != s.kind else { return nil }
            let previous = s.text
            s.kind = kind
            return previous.isEmpty ? nil : previous + "\n"
        }
        if let draw { FileHandle.standardError.write(Data(draw.utf8)) }
    }

    func finish() {
        let text = state.withLockedValue { $0.text }
        guard !text.isEmpty else { return }
        FileHandle.standardError.write(Data(((interactive ? "\r" : "") + text + "   \n").utf8))
    }
}
