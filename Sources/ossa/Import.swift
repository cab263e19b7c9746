import ArgumentParser
import Foundation
import OssaCore
import OssaFHIR
import OssaStore
import OssaWeb

/// `ossa import FILE... --as EMAIL [--check]` (issue #12): FHIR transaction Bundles, NDJSON files, or the folder
/// `ossa export fhir` (or a Bulk Data client) wrote, imported together all or nothing for the user given with `--as`
/// (their sites; every create audited); or Ossa's wide CSV (`WideCSVImport`).
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import FHIR transaction Bundles, NDJSON files, an export folder or Ossa's wide CSV, all or nothing.",
        discussion: """
            Each FILE is a FHIR R4 transaction Bundle (JSON; entries POST Patient, Condition, Procedure, \
            QuestionnaireResponse, imaging Observation or Consent, urn:uuid: references between them), an NDJSON file \
            (one resource per line), or a folder of NDJSON files such as `ossa export fhir` writes. All of them are one \
            transaction: a reference Patient/<id> or Condition/<id> names the resource of the input with that id, else \
            an existing one. Imaging Observations make imaging studies; score Observations are skipped (scores are \
            computed again from the responses) and so are the types Ossa does not import (the summary names them). Every problem is listed with its file, entry or \
            line and element, and then nothing is written; otherwise everything is. --check does all of it, the \
            writes included, and rolls them back.

            A FILE ending in .csv is Ossa's wide CSV (as `ossa export csv-wide` writes it, or a REDCap project             set up from its data dictionary exports it as raw data), imported on its own: patients (matched by             record number at their site), episodes, follow-up timepoints, completed questionnaires (scored again; a             score in the file must agree) and outcome events. Problems are listed by row and column.
            """)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: ArgumentHelp("Transaction Bundles (.json), NDJSON files (.ndjson), export folders, or one wide CSV (.csv).", valueName: "file"))
    var files: [String]
    @Option(name: .customLong("as"), help: ArgumentHelp("E-mail of the clinician or coordinator importing (their sites; audited).", valueName: "email"))
    var user: String
    @Flag(help: "List every problem, or what would be imported, and write nothing.") var check = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }

    /// NDJSON types that a folder may hold but an import does not take, and why.
    static let skippedTypes = [
        "Questionnaire": "Ossa's instruments are built in",
    ]

    func run() async throws {
        if let csv = files.first(where: { $0.lowercased().hasSuffix(".csv") }) {
            guard files.count == 1 else { throw CommandLineError(message: "\(csv): a wide CSV is imported on its own; give it as the only FILE") }
            return try await importWide(csv)
        }
        // The files are read and checked two at a time (each on its own core), then put together in their order.
        let named = files.count > 1
        var entries: [FHIRBundleInput.Entry] = []
        var skipped: [String] = []
        for result in await Self.concurrently(files, { try Self.read($0, named: named) }) {
            let (read, skips) = try result.get()
            entries += read
            skipped += skips
        }
        for n in entries.indices { entries[n].index = n }
        let bundle = FHIRBundleInput(kind: .transaction, entries: entries)
        entries = []
        for note in skipped { progress("skipped \(note)") }
        progress("read \(files.count > 3 ? "\(files.count) files" : files.joined(separator: ", ")): \(bundle.entries.count) resources")
        let email = user, dryRun = check, label = files.count == 1 ? files[0] : "the input"
        let done = try await withStore(databaseOptions, logger: try makeLogger(level: .warning)) { store -> FHIRImport.Done in
            guard let credentials = try await store.sessions.credentials(email: email) else {
                throw CommandLineError(message: "--as \(email): no such user")
            }
            let actor = try await store.users.actingUser(credentials.userID, from: "cli")
            progress(dryRun ? "checking (the writes are rolled back)" : "writing in one transaction")
            do {
                return try await FHIRImport(store: store).importing(bundle, actor: actor, dryRun: dryRun, skipDerived: true)
            } catch let failure as FHIRImportFailure {
                throw CommandLineError(message: "\(label): \(failure.problems.count) problem\(failure.problems.count == 1 ? "" : "s"), nothing written:\n"
                                       + failure.problems.map { "  \($0)" }.joined(separator: "\n"))
            }
        }
        var created: [String: Int] = [:], matched = 0
        var studies: Set<UUID> = []
        for (_, item, outcome, _) in done {
            switch outcome {
            case .matched: matched += 1
            case .created where item.resourceType == "Observation": studies.insert(outcome.id)
            case .created: created[item.resourceType, default: 0] += 1
            }
        }
        let derived = bundle.entries.filter { if case .success(.derivedObservation) = $0.item { true } else { false } }.count
        if derived > 0 { progress("skipped \(derived) score Observations (scores are computed again from the responses)") }
        var summary = "\(created["Patient"] ?? 0) patients and \(created["Condition"] ?? 0) episodes created, \(matched) patients matched"
        summary += ", \(created["Procedure"] ?? 0) procedures, \(created["QuestionnaireResponse"] ?? 0) questionnaire responses, \(studies.count) imaging studies and \(created["Consent"] ?? 0) consents"
        print(dryRun ? "Check passed, nothing written: \(summary) on import." : "Imported \(label): \(summary).")
    }

    /// `body` of each item, at most as many at once as there are cores, the results in the items' order.
    static func concurrently<T: Sendable>(_ items: [String], _ body: @escaping @Sendable (String) throws -> T) async -> [Result<T, any Error>] {
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        return await withTaskGroup(of: (Int, Result<T, any Error>).self) { group in
            var results = [Result<T, any Error>?](repeating: nil, count: items.count)
            for (n, item) in items.enumerated() {
                if n >= width, let (done, result) = await group.next() { results[done] = result }
                group.addTask { (n, Result { try body(item) }) }
            }
            for await (done, result) in group { results[done] = result }
            return results.map { $0! }
        }
    }

    /// One FILE: a transaction Bundle or NDJSON file, or a folder of NDJSON files (those of types an import does not
    /// take are named in the second list). `named`: each entry's location starts with its file.
    static func read(_ file: String, named: Bool) throws -> ([FHIRBundleInput.Entry], [String]) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder), isFolder.boolValue else {
            return (try readFile(file, named: named).entries, [])
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: file)) ?? []
        let ndjson = names.filter { $0.hasSuffix(".ndjson") }.sorted()
        if ndjson.isEmpty { throw CommandLineError(message: "\(file): the folder holds no .ndjson files") }
        var entries: [FHIRBundleInput.Entry] = [], skipped: [String] = []
        for name in ndjson {
            let type = String(name.dropLast(".ndjson".count).split(separator: "-").first ?? "")
            if let why = Self.skippedTypes[type] ?? (FHIRBundleInput.creatable.contains(type) ? nil : "Ossa does not import \(type)") {
                skipped.append("\(name) (\(why))")
                continue
            }
            let path = (file as NSString).appendingPathComponent(name)
            entries += FHIRBundleInput.ndjson(try readInput(path, option: "FILE"), source: path).entries
        }
        return (entries, skipped)
    }

    /// One file: a transaction Bundle (JSON) or NDJSON.
    private static func readFile(_ file: String, named: Bool) throws -> FHIRBundleInput {
        let data = try readInput(file, option: "FILE")
        let first = data.first { ![UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t")].contains($0) }
        // Read once: a Bundle is one JSON object; NDJSON (several lines) is not one JSON value.
        if let object = FHIRJSONParser.object(data), object["resourceType"] as? String == "Bundle" {
            let bundle: FHIRBundleInput
            do {
                bundle = try FHIRBundleInput.parse(object)
            } catch {
                throw CommandLineError(message: "\(file):\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
            }
            guard bundle.kind == .transaction else {
                throw CommandLineError(message: "\(file): a \(bundle.kind.rawValue) Bundle; ossa import takes a transaction Bundle (all or nothing)")
            }
            // Several files: each entry's location names its file.
            guard named else { return bundle }
            return FHIRBundleInput(kind: .transaction, entries: bundle.entries.map { entry in
                var entry = entry
                entry.path = "\(file) \(entry.path)"
                entry.resourcePath = "\(file) \(entry.resourcePath)"
                return entry
            })
        } else if first == UInt8(ascii: "{") {
            return FHIRBundleInput.ndjson(data, source: named ? file : nil)
        }
        throw CommandLineError(message: "\(file): not a FHIR transaction Bundle or NDJSON (a wide CSV's name ends in .csv)")
    }

    /// Ossa's wide CSV, all or nothing.
    private func importWide(_ file: String) async throws {
        let data = try readInput(file, option: "FILE")
        progress("read \(file): \(data.count) bytes")
        let email = user, dryRun = check
        let summary = try await withStore(databaseOptions, logger: try makeLogger(level: .warning)) { store -> WideCSVImport.Summary in
            guard let credentials = try await store.sessions.credentials(email: email) else {
                throw CommandLineError(message: "--as \(email): no such user")
            }
            let actor = try await store.users.actingUser(credentials.userID, from: "cli")
            progress(dryRun ? "checking (the writes are rolled back)" : "writing in one transaction")
            do {
                return try await WideCSVImport(store: store, library: try InstrumentLibrary.builtIn(), protocol: try FollowUpProtocol.bundledDefault())
                    .importing(data, actor: actor, dryRun: dryRun)
            } catch let failure as FHIRImportFailure {
                throw CommandLineError(message: "\(file): \(failure.problems.count) problem\(failure.problems.count == 1 ? "" : "s"), nothing written:\n"
                                       + failure.problems.map { "  \($0)" }.joined(separator: "\n"))
            }
        }
        if !summary.ignoredColumns.isEmpty { progress("not imported: \(summary.ignoredColumns.joined(separator: ", "))") }
        let text = "\(summary.rows) rows: \(summary.patientsCreated) patients created, \(summary.patientsMatched) matched, \(summary.episodes) episodes, "
            + "\(summary.timepoints) timepoints, \(summary.responses) questionnaire responses and \(summary.outcomes) outcome events"
        print(dryRun ? "Check passed, nothing written: \(text) on import." : "Imported \(file): \(text).")
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }
}
