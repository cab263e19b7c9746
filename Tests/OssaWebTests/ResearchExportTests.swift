import Foundation
import HummingbirdTesting
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import Testing

// The research files (issue #12): the wide CSV in REDCap's import format with its data dictionary and project
// set-up files, the long CSV with its codebook, and the de-identified export by HIPAA Safe Harbor.
//
// REDCap's rules checked here are REDCap's own (its data import tool and data dictionary upload): variable and form
// names of lower-case letters, digits and underscores starting with a letter; the dictionary's 18 columns in order;
// `record_id` first; each row's `redcap_event_name` an event of the project; a form's fields filled only on events
// the form is designated to; a radio's value one of its coded choices; `date_ymd` as YYYY-MM-DD.

/// The data dictionary header REDCap downloads and accepts (Project Setup → Data Dictionary).
private let redcapDictionaryHeader = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label", "Choices, Calculations, OR Slider Labels",
    "Field Note", "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max", "Identifier?",
    "Branching Logic (Show field only if...)", "Required Field?", "Custom Alignment", "Question Number (surveys only)",
    "Matrix Group Name", "Matrix Ranking?", "Field Annotation",
]

/// A CSV file as header and rows of named values.
private struct Table {
    let header: [String]
    let rows: [[String: String]]

    init(_ url: URL) throws {
        let lines = CSVReader.rows(try String(contentsOf: url, encoding: .utf8))
        header = lines.first ?? []
        rows = lines.dropFirst().map { Dictionary(zip(lines[0], $0).map { ($0, $1) }, uniquingKeysWith: { a, _ in a }) }
        for (i, line) in lines.enumerated() where line.count != header.count {
            Issue.record("\(url.lastPathComponent) line \(i + 1): \(line.count) fields, the header has \(header.count)")
        }
    }
}

/// REDCap's rule for variable and form names.
private func isREDCapName(_ name: String) -> Bool { name.wholeMatch(of: /[a-z][a-z0-9_]*/) != nil }

/// A registry at site A (the staff's) with what the files carry, and an episode at site B that must not appear.
private struct Seeded {
    let episodeA: UUID
    let oldEpisode: UUID
    let baselineID: UUID
    let timepointCount: Int
}

private func seed(_ server: TestServer, _ client: any TestClientProtocol) async throws -> Seeded {
    let f = server.fixture
    let clinician = try await caller(client, f, .clinician)
    let coordinator = try await caller(client, f, .coordinator)
    let store = f.store
    let coordinatorUser = try await store.users.actingUser(try #require(f.userIDs[.coordinator]), from: "test")
    // Episode A: an IO procedure on 2026-11-02, the schedule from it, KOOS (every pain item "moderate" = 2) before it
    // at baseline, an NRS pain outside any timepoint, a knee replacement on 2026-11-21.
    #expect(try await clinician.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/procedures", ioProcedureBody).status == .created)
    let schedule = try await store.timepoints.generate(coordinatorUser, episodeID: f.episodeA.id, indexDate: try CalendarDate(iso: "2026-11-02"))
    let baseline = try #require(schedule.first { $0.code == "baseline" })
    let pain = (1...9).map { "\"P\($0)\": 2" }.joined(separator: ", ")
    let responses = "/api/v1/episodes/\(f.episodeA.id.lowercasedID)/questionnaire-responses"
    let koos = try await coordinator.post(responses, #"{"instrument": "koos", "answers": {\#(pain)}, "timepointId": "\#(baseline.id.lowercasedID)", "completedAt": "2026-10-30T09:30:00Z"}"#)
    #expect(koos.status == .created, "\(koos.text)")
    #expect(try await coordinator.post(responses, #"{"instrument": "nrs-pain", "answers": {"pain": 4}, "completedAt": "2026-11-20T10:00:00Z"}"#).status == .created)
    let replaced = try await clinician.post("/api/v1/episodes/\(f.episodeA.id.lowercasedID)/outcome-events",
                                            #"{"kind": "joint-replacement", "date": "2026-11-21", "replacementKind": "TKA"}"#)
    #expect(replaced.status == .created, "\(replaced.text)")
    // A patient of 96 at the procedure: written 90+ when de-identified.
    let old = try await store.patients.create(coordinatorUser, NewPatient(siteID: f.siteA.id, mrn: "A-OLD-7", familyName: "Oldenburg",
                                                                          givenName: "Wilhelmina", birthDate: try CalendarDate(iso: "1930-05-05"), sex: .female))
    let oldEpisode = try await store.episodes.create(coordinatorUser, NewEpisode(patientID: old.id, joint: .knee, side: .right, diagnosis: .boneMarrowLesion))
    #expect(try await clinician.post("/api/v1/episodes/\(oldEpisode.id.lowercasedID)/procedures", ioProcedureBody).status == .created)
    // Patient A2: an episode never treated (no day 0 when de-identified).
    _ = try await store.episodes.create(coordinatorUser, NewEpisode(patientID: f.patientA2.id, joint: .hip, side: .left, diagnosis: .boneMarrowEdemaSyndrome))
    return Seeded(episodeA: f.episodeA.id, oldEpisode: oldEpisode.id, baselineID: baseline.id, timepointCount: schedule.count)
}

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-research-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func export(_ store: OssaStore) throws -> ResearchExport {
    ResearchExport(store: store, library: try InstrumentLibrary.builtIn(), protocol: try FollowUpProtocol.bundledDefault(), pageSize: 2)
}

@Suite("Research exports: REDCap wide CSV, long CSV, de-identified")
struct ResearchExportTests {
    @Test("the wide CSV follows REDCap's import format: dictionary, events, designations, one row per episode × timepoint",
          arguments: Engine.available)
    func wide(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let seeded = try await seed(server, client)
            let store = server.fixture.store
            let coordinator = try await store.users.actingUser(try #require(server.fixture.userIDs[.coordinator]), from: "test")
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let summary = try await export(store).wide(coordinator, into: directory)
            #expect(summary.episodes == 3, "site A's three episodes (A's, A2's, the old patient's): \(summary.episodes)")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)) == Set(ResearchExport.wideFiles),
                    "the files and nothing else (no staging directory left)")

            let dictionary = try Table(directory.appendingPathComponent("data-dictionary.csv"))
            #expect(dictionary.header == redcapDictionaryHeader)
            let variables = dictionary.rows.map { $0["Variable / Field Name"]! }
            #expect(variables.first == "record_id", "REDCap's record id is the first variable")
            #expect(Set(variables).count == variables.count, "variable names are unique")
            for row in dictionary.rows {
                let name = row["Variable / Field Name"]!, form = row["Form Name"]!
                #expect(isREDCapName(name) && name.count <= 100, "variable \(name)")
                #expect(isREDCapName(form), "form \(form)")
                #expect(["text", "radio"].contains(row["Field Type"]!), "\(name): \(row["Field Type"]!)")
                if row["Field Type"] == "radio" { #expect(!row["Choices, Calculations, OR Slider Labels"]!.isEmpty, "\(name) has choices") }
            }
            let identifiers = Set(dictionary.rows.filter { $0["Identifier?"] == "y" }.map { $0["Variable / Field Name"]! })
            #expect(identifiers.isSuperset(of: ["mrn", "family_name", "given_name", "birth_date"]), "\(identifiers)")
            let forms = Set(dictionary.rows.map { $0["Form Name"]! })
            let fieldForm = Dictionary(dictionary.rows.map { ($0["Variable / Field Name"]!, $0["Form Name"]!) }, uniquingKeysWith: { a, _ in a })
            let choices = Dictionary(dictionary.rows.filter { $0["Field Type"] == "radio" }.map { row in
                (row["Variable / Field Name"]!, Set(row["Choices, Calculations, OR Slider Labels"]!.components(separatedBy: " | ")
                    .map { String($0.prefix { $0 != "," }) }))
            }, uniquingKeysWith: { a, _ in a })
            let validation = Dictionary(dictionary.rows.map { ($0["Variable / Field Name"]!, $0["Text Validation Type OR Show Slider Number"]!) },
                                        uniquingKeysWith: { a, _ in a })

            let events = try Table(directory.appendingPathComponent("events.csv"))
            #expect(events.header == ["event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name", "custom_event_label"])
            let eventNames = Set(events.rows.map { $0["unique_event_name"]! })
            for event in events.rows {
                // REDCap makes the unique name from the event name: lower case, spaces as underscores, the arm's suffix.
                #expect(event["unique_event_name"] == event["event_name"]!.lowercased().replacingOccurrences(of: " ", with: "_") + "_arm_1")
            }
            let designation = try Table(directory.appendingPathComponent("instrument-designation.csv"))
            #expect(designation.header == ["arm_num", "unique_event_name", "form"])
            let designated = Set(designation.rows.map { "\($0["form"]!)@\($0["unique_event_name"]!)" })
            #expect(designation.rows.allSatisfy { eventNames.contains($0["unique_event_name"]!) && forms.contains($0["form"]!) })

            let wide = try Table(directory.appendingPathComponent("wide.csv"))
            #expect(Array(wide.header.prefix(4)) == ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"])
            for column in wide.header.dropFirst(4) {
                let known = fieldForm[column] != nil || (column.hasSuffix("_complete") && forms.contains(String(column.dropLast("_complete".count))))
                #expect(known, "wide.csv column \(column) is neither a dictionary variable nor a form's _complete")
            }
            #expect(Set(variables).isSubset(of: Set(wide.header)), "every dictionary variable is a column")
            for (i, row) in wide.rows.enumerated() {
                let event = row["redcap_event_name"]!
                #expect(eventNames.contains(event), "row \(i + 2): event \(event)")
                for (column, value) in row where !value.isEmpty && column != "record_id" && !column.hasPrefix("redcap_") {
                    let form = fieldForm[column] ?? String(column.dropLast("_complete".count))
                    #expect(designated.contains("\(form)@\(event)"), "row \(i + 2): \(column) filled on \(event), where \(form) is not designated")
                    if let allowed = choices[column] { #expect(allowed.contains(value), "row \(i + 2): \(column) = \(value) is not one of \(allowed)") }
                    switch validation[column] {
                    case "date_ymd": #expect((try? CalendarDate(iso: value)) != nil, "row \(i + 2): \(column) = \(value)")
                    case "integer": #expect(Int(value) != nil, "row \(i + 2): \(column) = \(value)")
                    case "number": #expect(Double(value) != nil, "row \(i + 2): \(column) = \(value)")
                    default: break
                    }
                }
            }

            // Episode A: a row per timepoint (baseline first, with the episode's fields) and the unscheduled response
            // as a repeating instrument.
            let mine = wide.rows.filter { $0["record_id"] == seeded.episodeA.lowercasedID }
            let scheduled = mine.filter { $0["redcap_repeat_instrument"]!.isEmpty }
            #expect(scheduled.count == seeded.timepointCount, "one row per timepoint: \(scheduled.count) of \(seeded.timepointCount)")
            let baseline = try #require(scheduled.first)
            #expect(baseline["redcap_event_name"] == "baseline_arm_1")
            #expect(baseline["mrn"] == "A-1" && baseline["family_name"] == "Müller" && baseline["birth_date"] == "1961-04-03")
            #expect(baseline["joint"] == "knee" && baseline["side"] == "left" && baseline["diagnosis"] == "osteoarthritis" && baseline["kl_grade"] == "3")
            #expect(baseline["first_procedure_date"] == "2026-11-02" && baseline["first_procedure_product"] == "prp" && baseline["io_procedures"] == "1")
            #expect(baseline["joint_replacement"] == "1" && baseline["joint_replacement_date"] == "2026-11-21")
            // KOOS User's Guide: pain = 100 − 25 × mean(P1…P9); every item 2 gives 50. Symptoms unanswered: no score.
            #expect(baseline["koos_date"] == "2026-10-30" && baseline["koos_p1"] == "2" && baseline["koos_pain_score"] == "50")
            #expect(baseline["koos_symptoms_score"] == "" && baseline["koos_complete"] == "2")
            #expect(scheduled.dropFirst().allSatisfy { $0["mrn"]!.isEmpty && $0["episode_complete"]!.isEmpty }, "the episode's fields on baseline only")
            let unscheduled = try #require(mine.first { !$0["redcap_repeat_instrument"]!.isEmpty })
            #expect(unscheduled["redcap_event_name"] == "unscheduled_arm_1" && unscheduled["redcap_repeat_instrument"] == "nrs_pain")
            #expect(unscheduled["redcap_repeat_instance"] == "1" && unscheduled["nrs_pain_pain"] == "4" && unscheduled["nrs_pain_score"] == "4")
            let repeating = try Table(directory.appendingPathComponent("repeating-instruments.csv"))
            #expect(repeating.rows.map { [$0["event_name"]!, $0["form_name"]!] } == [["unscheduled_arm_1", "nrs_pain"]])
            // An episode without a schedule still has its baseline row.
            #expect(wide.rows.filter { $0["record_id"] == seeded.oldEpisode.lowercasedID }.map { $0["redcap_event_name"]! } == ["baseline_arm_1"])
            // Site B's episode is not the coordinator's.
            #expect(!wide.rows.contains { $0["record_id"] == server.fixture.episodeB.id.lowercasedID })

            // The codebook names every variable of the data.
            let codebook = try Table(directory.appendingPathComponent("codebook.csv"))
            #expect(Set(codebook.rows.map { $0["variable"]! }).isSuperset(of: Set(wide.header)))

            // The export is audited; a second one into the same directory is refused and changes nothing.
            let audited = try await store.database.sql().raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'export' AND record_type = 'export' AND record_id = 'csv-wide'").first()
            #expect(try audited?.decode(column: "n", as: Int.self) == 1)
            let before = try Data(contentsOf: directory.appendingPathComponent("wide.csv"))
            await #expect(throws: ResearchExportError.self) { try await export(store).wide(coordinator, into: directory) }
            #expect(try Data(contentsOf: directory.appendingPathComponent("wide.csv")) == before)
            // Researchers have the de-identified export only.
            let researcher = try await store.users.actingUser(try #require(server.fixture.userIDs[.researcher]), from: "test")
            let elsewhere = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: elsewhere) }
            await #expect(throws: AccessDenied.self) { try await export(store).wide(researcher, into: elsewhere) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty, "nothing written when refused")
        }
    }

    @Test("the long CSV: one row per answer and per score, the episodes beside it, a codebook", arguments: Engine.available)
    func long(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let seeded = try await seed(server, client)
            let store = server.fixture.store
            let clinician = try await store.users.actingUser(try #require(server.fixture.userIDs[.clinician]), from: "test")
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            _ = try await export(store).long(clinician, into: directory)
            let long = try Table(directory.appendingPathComponent("long.csv"))
            let koos = long.rows.filter { $0["record_id"] == seeded.episodeA.lowercasedID && $0["instrument"] == "koos" }
            let definition = try #require(try InstrumentLibrary.builtIn().instrument(id: "koos"))
            #expect(koos.filter { $0["kind"] == "item" }.count == definition.items.count, "a row per item, answered or not")
            #expect(koos.filter { $0["kind"] == "score" }.count == definition.scores.count, "a row per score")
            let p1 = try #require(koos.first { $0["code"] == "P1" })
            #expect(p1["value"] == "2" && p1["variable"] == "koos_p1" && p1["timepoint"] == "baseline" && p1["completed_date"] == "2026-10-30")
            #expect(!(p1["label"] ?? "").isEmpty, "the answer's wording")
            #expect(koos.first { $0["code"] == "pain" }?["value"] == "50")
            #expect(koos.first { $0["code"] == "S1" }?["value"] == "", "unanswered: empty")
            #expect(long.rows.contains { $0["instrument"] == "nrs-pain" && $0["timepoint"] == "unscheduled" && $0["value"] == "4" })
            let episodes = try Table(directory.appendingPathComponent("episodes.csv"))
            #expect(episodes.rows.count == 3)
            #expect(episodes.rows.first { $0["record_id"] == seeded.episodeA.lowercasedID }?["mrn"] == "A-1")
            let codebook = try Table(directory.appendingPathComponent("codebook.csv"))
            let described = Set(codebook.rows.map { $0["variable"]! })
            #expect(described.isSuperset(of: Set(long.header)) && described.isSuperset(of: Set(episodes.header)))
            #expect(described.isSuperset(of: Set(long.rows.map { $0["variable"]! })), "every variable the long rows name")
        }
    }

    @Test("de-identified: no Safe Harbor identifier in any file, ages over 89 as 90+, days from the first IO procedure, keyed research ids",
          arguments: Engine.available)
    func deidentified(engine: Engine) async throws {
        try await withServer(engine) { server, client in
            let seeded = try await seed(server, client)
            let f = server.fixture
            let store = f.store
            let researcher = try await store.users.actingUser(try #require(f.userIDs[.researcher]), from: "test")
            let key = try await store.secrets.secret(InstallationSecrets.researchIDKey)
            #expect(key.count == 32)
            #expect(try await store.secrets.secret(InstallationSecrets.researchIDKey) == key, "one key per installation")
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let summary = try await export(store).deidentified(researcher, into: directory, key: key)
            #expect(summary.episodes == 3 && summary.patients == 3 && summary.topCoded == 1 && summary.unanchored == 1, "\(summary)")

            // Nothing identifying anywhere: names, record numbers, birth dates, any calendar date, Ossa's ids.
            var text = ""
            for path in ["wide/wide.csv", "wide/data-dictionary.csv", "long/long.csv", "long/episodes.csv", "long/codebook.csv", "deidentification-report.json"] {
                text += try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
            }
            let patients = [f.patientA, f.patientA2]
            for patient in patients {
                for value in [patient.familyName, patient.givenName, patient.mrn ?? "-", patient.birthDate.iso, patient.id.lowercasedID] {
                    #expect(!text.contains(value), "\(value) is in the de-identified files")
                }
            }
            for value in ["Oldenburg", "Wilhelmina", "A-OLD-7", "1930-05-05", seeded.episodeA.lowercasedID, f.siteA.code, "anna@example.org"] {
                #expect(!text.contains(value), "\(value) is in the de-identified files")
            }
            let calendarDate = text.firstMatch(of: /\b(19|20)\d\d-\d\d-\d\d\b/).map { String($0.output.0) }
            #expect(calendarDate == nil, "a calendar date in the de-identified files: \(calendarDate ?? "")")

            let wide = try Table(directory.appendingPathComponent("wide/wide.csv"))
            #expect(!wide.header.contains { ["mrn", "family_name", "given_name", "birth_date", "patient_id"].contains($0) || $0.hasSuffix("_date") })
            #expect(wide.rows.allSatisfy { $0["record_id"]!.wholeMatch(of: /E[0-9a-f]{16}/) != nil })
            let baseline = try #require(wide.rows.first { $0["redcap_event_name"] == "baseline_arm_1" && $0["koos_pain_score"] == "50" })
            // Day 0 is the procedure (2026-11-02): KOOS on 2026-10-30 is day −3, the replacement on 2026-11-21 day 19.
            #expect(baseline["koos_day"] == "-3" && baseline["joint_replacement_day"] == "19" && baseline["visit_due_day"] == "0")
            #expect(baseline["age_at_first_procedure"] == "65", "born 1961-04-03, treated 2026-11-02")
            #expect(wide.rows.contains { $0["age_at_first_procedure"] == "90+" }, "96 at the procedure")
            let record = baseline["record_id"]!
            #expect(baseline["patient_research_id"]!.wholeMatch(of: /P[0-9a-f]{16}/) != nil && baseline["site"]!.hasPrefix("S"))

            // Stable across exports with the installation's key; another key gives other ids.
            let again = try temporaryDirectory(), other = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: again); try? FileManager.default.removeItem(at: other) }
            _ = try await export(store).deidentified(researcher, into: again, key: key)
            _ = try await export(store).deidentified(researcher, into: other, key: Data(repeating: 7, count: 32))
            #expect(try Table(again.appendingPathComponent("wide/wide.csv")).rows.contains { $0["record_id"] == record })
            #expect(try !Table(other.appendingPathComponent("wide/wide.csv")).rows.contains { $0["record_id"] == record })

            let long = try Table(directory.appendingPathComponent("long/long.csv"))
            #expect(long.header.contains("completed_day") && !long.header.contains("completed_date"))
            #expect(long.rows.contains { $0["record_id"] == record && $0["code"] == "pain" && $0["completed_day"] == "-3" && $0["value"] == "50" })

            let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("deidentification-report.json"))) as? [String: Any])
            #expect(report["ages_written_90_plus"] as? Int == 1 && report["episodes"] as? Int == 3)
            let removed = (report["removed"] as? [[String: Any]] ?? []).flatMap { $0["fields"] as? [String] ?? [] }
            #expect(Set(removed).isSuperset(of: ["family_name", "given_name", "mrn", "birth_date", "phone", "email"]))
            let audited = try await store.database.sql().raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'export' AND record_type = 'deidentified'").first()
            #expect(try audited?.decode(column: "n", as: Int.self) == 6, "two files sets per export, three exports")
        }
    }

    @Test("CRC-32 of ZIP: the check value of ISO 3309 (\"123456789\" → CBF43926)")
    func crc() {
        var crc = CRC32()
        crc.update(Data("123456789".utf8))
        #expect(crc.value == 0xCBF4_3926)
    }

    @Test("the API and the exports page answer with a ZIP of the same files; bad parameters are named; roles as the policy says")
    func downloads() async throws {
        try await withServer { server, client in
            let seeded = try await seed(server, client)
            let f = server.fixture
            let coordinator = try await caller(client, f, .coordinator)
            let response = try await coordinator.get("/api/v1/exports/csv-wide")
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.headers[.contentType] == "application/zip")
            #expect(response.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"ossa-csv-wide-") == true)
            let entries = try ZipEntries(Data(buffer: response.body))
            #expect(entries.names == ResearchExport.wideFiles.sorted())
            let wide = try #require(entries.data["wide.csv"])
            #expect(String(decoding: wide, as: UTF8.self).contains(seeded.episodeA.lowercasedID))
            try checkWithPython(Data(buffer: response.body))

            // Only some sites, and since a day.
            let only = try await coordinator.get("/api/v1/exports/csv-long?site=\(f.siteA.code.lowercased())&since=2026-01-01")
            #expect(only.status == .ok, "\(only.text)")
            #expect(try ZipEntries(Data(buffer: only.body)).names == ResearchExport.longFiles.sorted())
            // Bad parameters: 400 naming each; an unknown kind is 404.
            for (query, field) in [("since=yesterday", "since"), ("since=2026-02-30", "since"), ("site=", "site")] {
                let refused = try await coordinator.get("/api/v1/exports/csv-wide?\(query)")
                expectProblem(refused, .badRequest, field: field)
            }
            expectProblem(try await coordinator.get("/api/v1/exports/csv-wide?site=\(f.siteB.code)"), .notFound, field: "site")
            let later = try await coordinator.get("/api/v1/exports/csv-long?since=2099-01-01")
            #expect(later.status == .ok, "a day to come: nothing changed since, an empty export")
            expectProblem(try await coordinator.get("/api/v1/exports/spreadsheet"), .notFound)
            // A researcher has the de-identified export only; an administrator none.
            let researcher = try await caller(client, f, .researcher)
            expectProblem(try await researcher.get("/api/v1/exports/csv-wide"), .forbidden)
            let research = try await researcher.get("/api/v1/exports/deidentified")
            #expect(research.status == .ok, "\(research.text)")
            let names = try ZipEntries(Data(buffer: research.body)).names
            #expect(names.contains("deidentification-report.json") && names.contains("wide/wide.csv") && names.contains("long/long.csv"), "\(names)")
            expectProblem(try await caller(client, f, .admin).get("/api/v1/exports/csv-long"), .forbidden)

            // The page: the form, a refusal with the values and errors, then the archive.
            let session = try await signIn(client, try #require(f.emails[.coordinator]))
            let page = try await getPage(client, session, "/exports")
            #expect(page.status == .ok && page.text.contains("Export research files") && page.text.contains("value=\"deidentified\""))
            let refused = try await postForm(client, session, "/exports", [("since", "2026-13-01")])
            #expect(refused.status == .unprocessableContent)
            #expect(errorSummary(refused.text) == ["Choose what to export", "Enter changed since as year-month-day, for example 2026-01-31"])
            #expect(refused.text.contains("value=\"2026-13-01\""), "the user's value kept")
            let download = try await postForm(client, session, "/exports", [("kind", "csv-long"), ("site", f.siteA.code)])
            #expect(download.status == .ok && download.headers[.contentType] == "application/zip", "\(download.text.prefix(500))")
            #expect(try ZipEntries(Data(buffer: download.body)).names == ResearchExport.longFiles.sorted())
            let researcherSession = try await signIn(client, try #require(f.emails[.researcher]))
            let theirs = try await getPage(client, researcherSession, "/exports")
            #expect(theirs.text.contains("value=\"deidentified\"") && !theirs.text.contains("value=\"csv-wide\""), "a researcher is offered the de-identified export only")
            let notTheirs = try await postForm(client, researcherSession, "/exports", [("kind", "csv-wide")])
            #expect(notTheirs.status == .unprocessableContent && errorSummary(notTheirs.text) == ["Choose one of the exports listed"])
        }
    }
}

/// The entries of a ZIP archive of stored files, read by the APPNOTE layout (central directory, then each local
/// header), every entry's CRC-32 checked.
private struct ZipEntries {
    var names: [String] = []
    var data: [String: Data] = [:]

    init(_ zip: Data) throws {
        let bytes = [UInt8](zip)
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        let end = try #require((0...(bytes.count - 22)).reversed().first { u32($0) == 0x0605_4b50 }, "no end of central directory")
        let count = u16(end + 10)
        var at = u32(end + 16)
        for _ in 0..<count {
            try #require(u32(at) == 0x0201_4b50, "a central directory entry")
            let (crc, size, nameLength, extra, comment, offset) = (u32(at + 16), u32(at + 24), u16(at + 28), u16(at + 30), u16(at + 32), u32(at + 42))
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            try #require(u32(offset) == 0x0403_4b50, "\(name): a local header")
            let start = offset + 30 + u16(offset + 26) + u16(offset + 28)
            let content = Data(bytes[start..<(start + size)])
            var check = CRC32()
            check.update(content)
            #expect(Int(check.value) == crc, "\(name): CRC-32")
            names.append(name)
            data[name] = content
            at += 46 + nameLength + extra + comment
        }
    }
}

/// Python's `zipfile` tests the archive, when a python3 is at hand (the FHIR validators' or one on PATH; CI has both).
private func checkWithPython(_ zip: Data) throws {
    let environment = ProcessInfo.processInfo.environment
    let path = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
    let candidates = [environment["OSSA_TEST_FHIRKIT"]].compactMap { $0 } + path
    guard let python = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        print("ZIP not checked with Python's zipfile: no python3 (set OSSA_TEST_FHIRKIT to one)")
        return
    }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-zip-\(UUID().uuidString).zip")
    try zip.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); bad = z.testzip(); print(bad or 'ok'); sys.exit(1 if bad else 0)", file.path]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    process.waitUntilExit()
    let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(process.terminationStatus == 0, "Python's zipfile: \(said)")
}
