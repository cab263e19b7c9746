import Foundation
import Testing

/// `ossa report` and `ossa literature` as a clinic uses them: the built-in studies printed, edited into the clinic's
/// own copy, checked, and used by the report and the server through `OSSA_LITERATURE_FILE`; a broken copy stops
/// each of them with every problem named, and writes nothing.
@Suite("Report and literature commands", .serialized)
struct ReportCommandTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-report-cli-\(UUID().uuidString)")
    var database: String { directory.appendingPathComponent("ossa.sqlite").path }
    static let clinician = "demo.clinician1.lis@example.org"

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @Test("a clinic's edited literature file shows in the report; a broken one is refused by check, report and serve")
    func clinicLiterature() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let demo = try CLI.run(["demo", "--database", database, "--patients", "60"])
        try #require(demo.status == 0, "\(demo.stderr)")
        try Data(#"{"name": "Knee", "filter": {"joint": ["knee"]}, "group": "product"}"#.utf8).write(to: URL(fileURLWithPath: path("knee.json")))

        // The built-in studies, as the report shows them.
        let builtIn = try CLI.run(["report", "--database", database, "--cohort", path("knee.json"), "--output", path("builtin.html"), "--as", Self.clinician])
        #expect(builtIn.status == 0, "\(builtIn.stderr)")
        let builtInHTML = try String(contentsOfFile: path("builtin.html"), encoding: .utf8)
        #expect(builtInHTML.contains("Sánchez 2016 (knee pilot)"))

        // The clinic's copy: printed from the built-in file, one study relabelled and one removed.
        let printed = try CLI.run(["literature", "default"])
        #expect(printed.status == 0)
        var file = try #require(try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [String: Any])
        var studies = try #require(file["studies"] as? [[String: Any]])
        #expect(studies.count >= 3)
        studies[0]["label"] = "Sánchez 2016, as our clinic reads it"
        // A study the built-in report shows, other than the first.
        let shown = try #require(studies.indices.dropFirst().last { (studies[$0]["label"] as? String).map(builtInHTML.contains) == true })
        let removed = try #require(studies[shown]["label"] as? String)
        studies.remove(at: shown)
        file["studies"] = studies
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: path("clinic.json")))
        let check = try CLI.run(["literature", "check", path("clinic.json")])
        #expect(check.status == 0 && check.stdout.contains("valid — \(studies.count) studies"), "\(check.stdout)\(check.stderr)")

        let own = try CLI.run(["report", "--database", database, "--cohort", path("knee.json"), "--output", path("own.html"), "--as", Self.clinician],
                              environment: ["OSSA_LITERATURE_FILE": path("clinic.json")])
        #expect(own.status == 0, "\(own.stderr)")
        let ownHTML = try String(contentsOfFile: path("own.html"), encoding: .utf8)
        #expect(ownHTML.contains("Sánchez 2016, as our clinic reads it"))
        #expect(!ownHTML.contains("Sánchez 2016 (knee pilot)"))
        #expect(!ownHTML.contains(removed), "the removed study (\(removed)) is gone")

        // A broken copy: an outcome months before the procedure and a study of no patients. Every command refuses it.
        var broken = studies
        var outcomes = try #require(broken[0]["outcomes"] as? [[String: Any]])
        outcomes[0]["months"] = -6
        broken[0]["outcomes"] = outcomes
        broken[1]["n"] = 0
        file["studies"] = broken
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: path("broken.json")))
        let refused = try CLI.run(["literature", "check"], environment: ["OSSA_LITERATURE_FILE": path("broken.json")])
        #expect(refused.status != 0, "\(refused.stdout)")
        #expect(refused.stderr.contains("OSSA_LITERATURE_FILE \(path("broken.json"))"), "\(refused.stderr)")
        #expect(refused.stderr.contains("studies[0].outcomes[0].months"), "\(refused.stderr)")
        #expect(refused.stderr.contains("studies[1].n"), "the second study's problem is named too: \(refused.stderr)")

        let report = try CLI.run(["report", "--database", database, "--cohort", path("knee.json"), "--output", path("broken.html"), "--as", Self.clinician],
                                 environment: ["OSSA_LITERATURE_FILE": path("broken.json")])
        #expect(report.status != 0 && report.stderr.contains("OSSA_LITERATURE_FILE"), "\(report.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path("broken.html")), "nothing written")

        let serve = try CLI.run(["serve", "--database", database, "--port", "0"], environment: ["OSSA_LITERATURE_FILE": path("broken.json")])
        #expect(serve.status != 0 && serve.stderr.contains("OSSA_LITERATURE_FILE"), "the server does not start: \(serve.stderr)")
        let missing = try CLI.run(["serve", "--database", database, "--port", "0"], environment: ["OSSA_LITERATURE_FILE": path("nope.json")])
        #expect(missing.status != 0 && missing.stderr.contains("cannot read the file"), "\(missing.stderr)")
    }
}
