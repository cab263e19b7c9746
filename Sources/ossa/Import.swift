import ArgumentParser
import Foundation
import OssaFHIR
import OssaStore
import OssaWeb

/// `ossa import FILE --as EMAIL [--check]` (issue #12): a FHIR transaction Bundle or an NDJSON file of Patients and
/// Conditions, imported all or nothing for the user given with `--as` (their sites; every create audited).
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a FHIR transaction Bundle or NDJSON file, all or nothing.",
        discussion: """
            FILE is a FHIR R4 transaction Bundle (JSON: entries POST Patient or Condition, urn:uuid: references \
            between them) or NDJSON (one Patient or Condition per line; a Condition's subject Patient/<id> names \
            the Patient of the file with that id, else an existing one). Every problem is listed with its entry or \
            line and element, and then nothing is written; otherwise everything is. --check does all of it, the \
            writes included, and rolls them back: it lists the problems, or what would be created, and writes \
            nothing. Ossa's wide CSV is not imported yet.
            """)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: ArgumentHelp("The FHIR transaction Bundle (.json) or NDJSON (.ndjson) file.", valueName: "file")) var file: String
    @Option(name: .customLong("as"), help: ArgumentHelp("E-mail of the clinician or coordinator importing (their sites; audited).", valueName: "email"))
    var user: String
    @Flag(help: "List every problem, or what would be imported, and write nothing.") var check = false

    func run() async throws {
        let data = try readInput(file, option: "FILE")
        let first = data.first { ![UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t")].contains($0) }
        let bundle: FHIRBundleInput
        if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], object["resourceType"] as? String == "Bundle" {
            do {
                bundle = try FHIRBundleInput.decode(data)
            } catch {
                throw CommandLineError(message: "\(file):\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
            }
            guard bundle.kind == .transaction else {
                throw CommandLineError(message: "\(file): a \(bundle.kind.rawValue) Bundle; ossa import takes a transaction Bundle (all or nothing)")
            }
        } else if first == UInt8(ascii: "{") {
            bundle = FHIRBundleInput.ndjson(data)
        } else {
            throw CommandLineError(message: "\(file): not a FHIR transaction Bundle or NDJSON (Ossa's wide CSV is not imported yet)")
        }
        progress("read \(file): \(bundle.entries.count) resources")
        let email = user, dryRun = check
        let done = try await withStore(databaseOptions, logger: try makeLogger(level: .warning)) { store -> FHIRImport.Done in
            guard let credentials = try await store.sessions.credentials(email: email) else {
                throw CommandLineError(message: "--as \(email): no such user")
            }
            let actor = try await store.users.actingUser(credentials.userID, from: "cli")
            progress(dryRun ? "checking (the writes are rolled back)" : "writing in one transaction")
            do {
                return try await FHIRImport(store: store).importing(bundle, actor: actor, dryRun: dryRun)
            } catch let failure as FHIRImportFailure {
                throw CommandLineError(message: "\(file): \(failure.problems.count) problem\(failure.problems.count == 1 ? "" : "s"), nothing written:\n"
                                       + failure.problems.map { "  \($0)" }.joined(separator: "\n"))
            }
        }
        var created: [String: Int] = [:], matched = 0
        for (_, item, outcome) in done {
            switch outcome {
            case .matched: matched += 1
            case .created:
                switch item {
                case .patient: created["patients", default: 0] += 1
                case .condition: created["episodes", default: 0] += 1
                }
            }
        }
        let summary = "\(created["patients"] ?? 0) patients and \(created["episodes"] ?? 0) episodes created, \(matched) patients matched"
        print(dryRun ? "Check passed, nothing written: \(summary) on import." : "Imported \(file): \(summary).")
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }
}
