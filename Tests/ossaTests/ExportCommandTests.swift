import Foundation
import OssaWeb
import Testing

/// `ossa export fhir|csv-wide|csv-long|deidentified --output DIR [--site CODE] [--since DATE] --as EMAIL` (issue #12),
/// run as a user would on a small demo registry: the files, the progress on standard error, the summary, and a clear
/// message with a non-zero exit (and nothing written) for each bad argument.
@Suite("Export command", .serialized)
struct ExportCommandTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-export-cli-\(UUID().uuidString)")
    var database: String { directory.appendingPathComponent("ossa.sqlite").path }
    static let coordinator = "demo.coordinator.lis@example.org"
    static let researcher = "demo.researcher1@example.org"

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func output(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func lines(_ path: String) throws -> [[String]] {
        CSVReader.rows(try String(contentsOfFile: path, encoding: .utf8))
    }

    @Test("each kind writes its files for the user's sites; bad arguments are refused with a message and nothing written")
    func export() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let demo = try CLI.run(["demo", "--database", database, "--patients", "60"])
        try #require(demo.status == 0, "\(demo.stderr)")

        // csv-wide for one coordinator: only their site (lis), a progress line, the files listed.
        let wide = try CLI.run(["export", "csv-wide", "--database", database, "--output", output("wide"), "--as", Self.coordinator])
        #expect(wide.status == 0, "\(wide.stderr)")
        #expect(wide.stderr.contains("episodes") && wide.stderr.contains("100%"), "progress: \(wide.stderr)")
        for name in ResearchExport.wideFiles { #expect(wide.stdout.contains(name), "\(name) listed: \(wide.stdout)") }
        let rows = try lines(output("wide/wide.csv"))
        let site = try #require(rows.first?.firstIndex(of: "site"))
        let sites = Set(rows.dropFirst().map { $0[site] }.filter { !$0.isEmpty })
        #expect(sites == ["lis"], "\(sites)")
        #expect(rows.count > 1)

        // The same again: refused, the earlier files untouched.
        let before = try Data(contentsOf: URL(fileURLWithPath: output("wide/wide.csv")))
        let again = try CLI.run(["export", "csv-wide", "--database", database, "--output", output("wide"), "--as", Self.coordinator])
        #expect(again.status != 0 && again.stderr.contains("already exists"), "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output("wide/wide.csv"))) == before)

        // Bad arguments: each named, nothing written.
        let refusals: [([String], String)] = [
            (["export", "csv-long", "--output", output("bad1"), "--as", Self.coordinator, "--since", "last week"], "--since last week"),
            (["export", "fhir", "--output", output("bad2"), "--as", Self.coordinator, "--site", "bos"], "--site bos: not a site of"),
            (["export", "csv-wide", "--output", output("bad3"), "--as", "nobody@example.org"], "--as nobody@example.org: no such user"),
            (["export", "csv-wide", "--output", output("bad4"), "--as", Self.researcher], "--as \(Self.researcher)"),
            (["export", "spreadsheet", "--output", output("bad5"), "--as", Self.coordinator], "spreadsheet"),
        ]
        for (arguments, message) in refusals {
            let refused = try CLI.run(arguments + ["--database", database])
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
            let written = (try? FileManager.default.contentsOfDirectory(atPath: arguments[3])) ?? []
            #expect(written.isEmpty, "\(arguments) wrote \(written)")
        }

        // csv-long, and --since in the future: the header and no rows.
        let long = try CLI.run(["export", "csv-long", "--database", database, "--output", output("long"), "--as", Self.coordinator])
        #expect(long.status == 0, "\(long.stderr)")
        #expect(try lines(output("long/long.csv")).count > 1)
        let none = try CLI.run(["export", "csv-long", "--database", database, "--output", output("none"), "--as", Self.coordinator, "--since", "2090-01-01"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(try lines(output("none/episodes.csv")).count == 1, "only the header")

        // fhir: the manifest's counts are the files' lines.
        let fhir = try CLI.run(["export", "fhir", "--database", database, "--output", output("fhir"), "--as", Self.coordinator, "--site", "lis"])
        #expect(fhir.status == 0, "\(fhir.stderr)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output("fhir/manifest.json")))) as? [String: Any])
        let files = manifest["output"] as? [[String: Any]] ?? []
        #expect(Set(files.compactMap { $0["type"] as? String }) == ["Patient", "Condition", "Procedure", "QuestionnaireResponse", "Observation"])
        for file in files {
            let text = try String(contentsOfFile: output("fhir/\(file["url"] as? String ?? "")"), encoding: .utf8)
            #expect(text.split(separator: "\n").count == file["count"] as? Int, "\(file)")
        }

        // deidentified, by a researcher: the report and both file sets, no record number in them.
        let research = try CLI.run(["export", "deidentified", "--database", database, "--output", output("research"), "--as", Self.researcher])
        #expect(research.status == 0, "\(research.stderr)")
        #expect(research.stdout.contains("deidentification-report.json"))
        let text = try String(contentsOfFile: output("research/wide/wide.csv"), encoding: .utf8)
            + String(contentsOfFile: output("research/long/long.csv"), encoding: .utf8)
        #expect(!text.contains("DEMO-"), "a demo record number in the de-identified files")
    }
}
