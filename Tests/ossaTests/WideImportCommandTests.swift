import Foundation
import OssaCore
import OssaStore
import Testing

/// `ossa import FILE.csv --as EMAIL [--check]` (issue #12): Ossa's wide CSV, as `ossa export csv-wide` writes it and a
/// REDCap project built from its data dictionary exports it, read back all or nothing.
@Suite("Import command: the wide CSV", .serialized)
struct WideImportCommandTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-wide-import-\(UUID().uuidString)")
    var database: String { directory.appendingPathComponent("ossa.sqlite").path }
    static let clinician = ImportCommandTests.clinician

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// An empty installation with one site `code` and a clinician granted it.
    func prepare(site code: String) async throws {
        try await ImportCommandTests.prepare(at: database, site: code)
    }

    /// Patients, episodes, timepoints and responses in the database (all of them).
    func counts() async throws -> [Int] {
        try await ImportCommandTests.withDatabase(at: database) { store in
            let actor = try await store.users.actingUser(try #require(try await store.sessions.credentials(email: Self.clinician)).userID, from: "test")
            return [try await store.patients.list(actor, PageRequest(limit: 1)).total, try await store.episodes.list(actor, PageRequest(limit: 1)).total,
                    try await store.timepoints.list(actor, TimepointFilter(), PageRequest(limit: 1)).total,
                    try await store.questionnaires.list(actor, QuestionnaireFilter(), PageRequest(limit: 1)).total]
        }
    }

    func file(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func run(_ arguments: [String]) throws -> CLIResult {
        try CLI.run(["import"] + arguments + ["--as", Self.clinician, "--database", database])
    }

    /// wide.csv as rows keyed by column, with what differs by installation (Ossa's ids) or is not in the file
    /// (what only summarises procedures and adverse events) blanked, sorted. (The demo has no responses outside a
    /// timepoint; `redcapRecords` imports one.)
    static func rows(_ path: String) throws -> [String] {
        let table = try readCSV(path)
        let header = table[0]
        let blank: Set<String> = ["record_id", "patient_id", "first_procedure_date", "first_procedure_product", "io_procedures", "adverse_events"]
        return table.dropFirst().map { row in
            zip(header, row).map { blank.contains($0) ? "\($0)=" : "\($0)=\($1)" }.joined(separator: "|")
        }.sorted()
    }

    static func readCSV(_ path: String) throws -> [[String]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var characters = Array(text.unicodeScalars)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" { if characters.first == "\"" { characters.removeFirst(); field.unicodeScalars.append("\"") } else { quoted = false } }
                else { field.unicodeScalars.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else if c != "\r" { field.unicodeScalars.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    @Test("ossa export csv-wide of the demo registry imports into an empty Ossa, and its export is the same file")
    func roundTrip() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source.sqlite").path
        let demo = try CLI.run(["demo", "--database", source, "--patients", "40"])
        try #require(demo.status == 0, "\(demo.stderr)")
        let lisClinician = "demo.clinician1.lis@example.org"
        let first = directory.appendingPathComponent("first").path
        let export = try CLI.run(["export", "csv-wide", "--database", source, "--output", first, "--as", lisClinician])
        try #require(export.status == 0, "\(export.stderr)")
        let wide = (first as NSString).appendingPathComponent("wide.csv")

        try await prepare(site: "lis")
        let checked = try run([wide, "--check"])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.hasPrefix("Check passed, nothing written"), "\(checked.stdout)")
        #expect(try await counts() == [0, 0, 0, 0], "--check writes nothing")
        let imported = try run([wide])
        try #require(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("not imported: first_procedure_date, first_procedure_product, io_procedures, adverse_events"), "\(imported.stderr)")

        let second = directory.appendingPathComponent("second").path
        let again = try CLI.run(["export", "csv-wide", "--database", database, "--output", second, "--as", Self.clinician])
        try #require(again.status == 0, "\(again.stderr)")
        let before = try Self.rows(wide), after = try Self.rows((second as NSString).appendingPathComponent("wide.csv"))
        #expect(before.count > 100, "the demo's site has rows: \(before.count)")
        #expect(before.contains { $0.contains("|joint_replacement=1|") } && before.contains { $0.contains("|episode_status=closed|") })
        #expect(before.contains { $0.contains("|visit_status=missed|") }, "timepoints of every status")
        #expect(after.count == before.count)
        let missing = Set(before).subtracting(after), extra = Set(after).subtracting(before)
        #expect(missing.isEmpty && extra.isEmpty, "first difference:\n\(missing.sorted().first ?? "-")\n≠ \(extra.sorted().first ?? "-")")
        let counts = try await counts()
        #expect(imported.stdout.contains("\(counts[0]) patients created, 0 matched, \(counts[1]) episodes, \(counts[2]) timepoints, \(counts[3]) questionnaire responses"),
                "\(imported.stdout) \(counts)")

        // Once more: the patients are matched by their record number at the site, not made twice.
        let repeated = try run([wide])
        #expect(repeated.status == 0, "\(repeated.stderr)")
        #expect(repeated.stdout.contains("0 patients created, \(counts[0]) matched"), "\(repeated.stdout)")
    }

    static let columns = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "site", "mrn", "family_name",
                          "given_name", "birth_date", "sex", "joint", "side", "diagnosis", "kl_grade", "episode_status", "first_procedure_date",
                          "joint_replacement", "joint_replacement_date", "joint_replacement_kind", "visit_due_date", "visit_status",
                          "nrs_pain_date", "nrs_pain_pain", "nrs_pain_score", "nrs_pain_complete"]

    /// A CSV of `columns`, each row given by the values it has.
    static func csv(_ rows: [[String: String]], columns: [String] = columns) -> String {
        ([columns.joined(separator: ",")] + rows.map { row in columns.map { row[$0] ?? "" }.joined(separator: ",") }).joined(separator: "\r\n") + "\r\n"
    }

    static let ada = ["site": "IMP", "mrn": "R-1", "family_name": "Rowe", "given_name": "Ada", "birth_date": "1950-02-03", "sex": "female"]

    static func merged(_ parts: [String: String]...) -> [String: String] {
        parts.reduce(into: [:]) { $0.merge($1) { _, b in b } }
    }

    @Test("a REDCap export: the timepoint's date from the first procedure, scores computed, the outcome recorded")
    func redcapRecords() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await prepare(site: "IMP")
        let csv = try file("redcap.csv", Self.csv([
            Self.merged(Self.ada, ["record_id": "1", "redcap_event_name": "baseline_arm_1", "joint": "knee", "side": "left", "diagnosis": "osteoarthritis",
                                   "kl_grade": "3", "episode_status": "open", "first_procedure_date": "2025-01-10", "joint_replacement": "1",
                                   "joint_replacement_date": "2026-02-01", "joint_replacement_kind": "tka",
                                   "nrs_pain_date": "2025-01-10", "nrs_pain_pain": "7", "nrs_pain_score": "7", "nrs_pain_complete": "2"]),
            ["record_id": "1", "redcap_event_name": "week_6_arm_1", "nrs_pain_date": "2025-02-22", "nrs_pain_pain": "4", "nrs_pain_complete": "2"],
            ["record_id": "1", "redcap_event_name": "unscheduled_arm_1", "redcap_repeat_instrument": "nrs_pain", "redcap_repeat_instance": "1",
             "nrs_pain_date": "2025-05-05", "nrs_pain_pain": "2", "nrs_pain_score": "2", "nrs_pain_complete": "2"],
            Self.merged(Self.ada, ["record_id": "2", "redcap_event_name": "baseline_arm_1", "joint": "hip", "side": "right",
                                   "diagnosis": "avascular-necrosis", "episode_status": "closed"]),
        ], columns: Self.columns + ["redcap_survey_identifier"]))
        let result = try run([csv])
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("4 rows: 1 patients created, 0 matched, 2 episodes, 2 timepoints, 3 questionnaire responses and 1 outcome events"), "\(result.stdout)")
        #expect(result.stderr.contains("not imported: redcap_survey_identifier"), "\(result.stderr)")
        try await ImportCommandTests.withDatabase(at: database) { store in
            let actor = try await store.users.actingUser(try #require(try await store.sessions.credentials(email: Self.clinician)).userID, from: "test")
            let episodes = try await store.episodes.list(actor, PageRequest(limit: 10)).items
            let knee = try #require(episodes.first { $0.joint == .knee })
            #expect(knee.diagnosis == .osteoarthritis(OAGrading(kellgrenLawrence: .grade3)))
            #expect(episodes.first { $0.joint == .hip }?.status == .closed)
            let timepoints = try await store.timepoints.list(actor, TimepointFilter(episodeID: knee.id), PageRequest(limit: 10)).items
            #expect(timepoints.map(\.code).sorted() == ["baseline", "week-6"])
            // Six weeks after the first procedure on 2025-01-10, with the protocol's window around it.
            let week6 = try #require(timepoints.first { $0.code == "week-6" })
            #expect(week6.dueDate.iso == "2025-02-21" && week6.status == .completed && week6.windowStart < week6.dueDate && week6.dueDate < week6.windowEnd)
            #expect(week6.completedAt != nil)
            let responses = try await store.questionnaires.list(actor, QuestionnaireFilter(episodeID: knee.id), PageRequest(limit: 10)).items
            #expect(responses.count == 3)
            #expect(responses.first { $0.timepointID == week6.id }?.scores.first?.value == 4, "scored again though the file left it empty")
            #expect(responses.filter { $0.timepointID == nil }.count == 1, "the unscheduled response")
            #expect(responses.allSatisfy { $0.source == .import })
            let outcomes = try await store.outcomes.list(actor, OutcomeFilter(episodeID: knee.id), PageRequest(limit: 10)).items
            #expect(outcomes.map(\.event) == [.jointReplacement(kind: .tka, date: try CalendarDate(iso: "2026-02-01"))])
        }
    }

    @Test("every problem with its row and column, a non-zero exit, and nothing written")
    func refusals() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await prepare(site: "IMP")
        let bad = try file("bad.csv", Self.csv([
            Self.merged(Self.ada, ["record_id": "1", "redcap_event_name": "baseline_arm_1", "birth_date": "1950-02-30", "joint": "knee", "side": "left",
                                   "diagnosis": "osteoarthritis", "kl_grade": "3", "first_procedure_date": "2025-01-10",
                                   "nrs_pain_date": "2025-01-10", "nrs_pain_pain": "7", "nrs_pain_score": "9", "nrs_pain_complete": "2"]),
            ["record_id": "1", "redcap_event_name": "week_7_arm_1", "nrs_pain_date": "2025-02-22", "nrs_pain_pain": "4", "nrs_pain_complete": "2"],
            ["record_id": "2", "redcap_event_name": "baseline_arm_1", "site": "XYZ", "mrn": "R-2", "family_name": "Lee", "given_name": "Bo",
             "birth_date": "1960-01-01", "joint": "elbow", "side": "left", "diagnosis": "osteoarthritis", "visit_due_date": "2025-01-10",
             "nrs_pain_date": "2025-01-10", "nrs_pain_pain": "3", "nrs_pain_complete": "1"],
            ["record_id": "3", "redcap_event_name": "baseline_arm_1", "site": "IMP", "mrn": "R-3", "family_name": "Kay", "given_name": "Cy",
             "birth_date": "1960-01-01", "joint": "hip", "side": "left", "diagnosis": "bone-bruise", "kl_grade": "2", "visit_due_date": "2025-01-10",
             "nrs_pain_date": "2025-01-10", "nrs_pain_pain": "11", "nrs_pain_complete": "2"],
        ]))
        let result = try run([bad])
        #expect(result.status != 0)
        let expected = [
            "8 problems, nothing written",
            "row 2, birth_date: \"1950-02-30\" is not a real date",
            "row 2, nrs_pain_score: is 9, but the answers score 7",
            "row 3, redcap_event_name: \"week_7_arm_1\" is not an event of the follow-up protocol",
            "row 4, site: \"XYZ\" is not one of your sites (IMP)",
            "row 4, joint: \"elbow\" is not one of knee, hip",
            "row 4, nrs_pain_complete: is 1, not 2 (complete)",
            "row 5, kl_grade: is given for osteoarthritis only",
            "row 5, nrs_pain: ",
        ]
        for line in expected { #expect(result.stderr.contains(line), "\(line)\n\(result.stderr)") }
        #expect(try await counts() == [0, 0, 0, 0])

        let columns = try file("columns.csv", "record_id,redcap_event_name,nrs_pain_foo,patient_research_id\n1,baseline_arm_1,,\n")
        let refused = try run([columns])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("row 1, nrs_pain_foo: is not a variable of Ossa's data dictionary"), "\(refused.stderr)")
        #expect(refused.stderr.contains("row 1, patient_research_id: is a column of a de-identified export"), "\(refused.stderr)")
        #expect(try await counts() == [0, 0, 0, 0])
        let mixed = try run([columns, bad])
        #expect(mixed.status != 0 && mixed.stderr.contains("a wide CSV is imported on its own"), "\(mixed.stderr)")
    }
}
