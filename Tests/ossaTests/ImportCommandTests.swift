import Foundation
import Logging
import OssaCore
import OssaStore
import Testing

/// `ossa import FILE --as EMAIL [--check]` (issue #12), run as a user would: a FHIR transaction Bundle and an NDJSON
/// file; every problem listed with its entry or line, and then nothing written; `--check` writes nothing either way.
@Suite("Import command", .serialized)
struct ImportCommandTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-import-\(UUID().uuidString)")
    var database: String { directory.appendingPathComponent("ossa.sqlite").path }
    static let clinician = "importer@example.org"

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A database with one site and a clinician granted it.
    func prepare() async throws {
        try await Self.prepare(at: database, site: "IMP")
    }

    /// An empty installation at `path`: migrated, an admin, one site `code` and `clinician` granted it.
    static func prepare(at path: String, site code: String) async throws {
        let migrate = try CLI.run(["migrate", "--database", path])
        try #require(migrate.status == 0, "\(migrate.stderr)")
        let add = try CLI.run(["user", "add", "--database", path, "--email", "admin@example.org", "--name", "Admin", "--role", "admin"])
        try #require(add.status == 0, "\(add.stderr)")
        try await withDatabase(at: path) { store in
            let adminID = try #require(try await store.sessions.credentials(email: "admin@example.org")).userID
            let admin = try await store.users.actingUser(adminID, from: "test")
            let site = try await store.sites.create(admin, code: code, name: "Import Clinic")
            let user = try await store.users.create(admin, NewUser(email: clinician, displayName: "Importer", role: .clinician))
            try await store.users.grantSite(admin, user: user.id, site: site.id)
        }
    }

    func withDatabase<T>(_ body: (OssaStore) async throws -> T) async throws -> T {
        try await Self.withDatabase(at: database, body)
    }

    static func withDatabase<T>(at path: String, _ body: (OssaStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let db = try await OssaDatabase.open(.sqlite(path: path), logger: logger)
        do {
            let result = try await body(OssaStore(database: db))
            await db.shutdown()
            return result
        } catch {
            await db.shutdown()
            throw error
        }
    }

    /// Patients and episodes the clinician sees (the only site's, so all of them).
    func counts() async throws -> [Int] {
        try await withDatabase { store in
            let actor = try await store.users.actingUser(try #require(try await store.sessions.credentials(email: Self.clinician)).userID, from: "test")
            return [try await store.patients.list(actor, PageRequest(limit: 1)).total, try await store.episodes.list(actor, PageRequest(limit: 1)).total]
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

    static let patient = #"{"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.40", "value": "OLD-7"}], "name": [{"family": "Import", "given": ["Ida"]}], "birthDate": "1952-08-19", "gender": "female"}"#
    static let condition = #"{"resourceType": "Condition", "subject": {"reference": "urn:uuid:0e7a0000-0000-4000-8000-000000000001"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M16.12"}]}, "stage": [{"summary": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/grade", "code": "tonnis:2"}]}}]}"#
    static let transaction = #"""
        {"resourceType": "Bundle", "type": "transaction", "entry": [
          {"fullUrl": "urn:uuid:0e7a0000-0000-4000-8000-000000000001", "resource": \#(patient),
           "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:oid:1.2.40|OLD-7"}},
          {"resource": \#(condition), "request": {"method": "POST", "url": "Condition"}}]}
        """#

    @Test("a transaction Bundle: --check writes nothing, the import writes it all, a repeat matches the patient")
    func transactionBundle() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await prepare()
        let bundle = try file("bundle.json", Self.transaction)
        let checked = try run([bundle, "--check"])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.contains("Check passed, nothing written: 1 patients and 1 episodes created, 0 patients matched"), "\(checked.stdout)")
        #expect(try await counts() == [0, 0])
        #expect(checked.stderr.contains("read \(bundle): 2 resources"), "progress on standard error")

        let imported = try run([bundle])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("1 patients and 1 episodes created"))
        #expect(try await counts() == [1, 1])
        let again = try run([bundle])
        #expect(again.stdout.contains("0 patients and 1 episodes created, 1 patients matched"), "\(again.stdout) \(again.stderr)")
        #expect(try await counts() == [1, 2])
        let episode = try await withDatabase { store in
            let actor = try await store.users.actingUser(try #require(try await store.sessions.credentials(email: Self.clinician)).userID, from: "test")
            return try await store.episodes.list(actor, PageRequest(limit: 1)).items.first
        }
        #expect(episode?.joint == .hip && episode?.side == .left)
        #expect(episode?.diagnosis == .osteoarthritis(OAGrading(tonnis: .grade2)), "ICD-10-CM M16.12 with Tönnis 2")
    }

    @Test("every problem with its entry or line, a non-zero exit, and nothing written")
    func refusals() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await prepare()
        let bad = try file("bad.json", #"""
            {"resourceType": "Bundle", "type": "transaction", "entry": [
              {"resource": {"resourceType": "Patient", "name": [{"family": "A", "given": ["B"]}], "birthDate": "1956-13-45"}, "request": {"method": "POST", "url": "Patient"}},
              {"resource": \#(Self.patient), "request": {"method": "POST", "url": "Patient"}},
              {"resource": {"resourceType": "Condition", "subject": {"reference": "urn:uuid:nowhere"}, "code": {"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/diagnosis", "code": "osteoarthritis"}]}, "bodySite": [{"coding": [{"system": "https://ossa-registry.org/fhir/CodeSystem/body-site", "code": "knee-left"}]}]}, "request": {"method": "POST", "url": "Condition"}}]}
            """#)
        for arguments in [[bad], [bad, "--check"]] {
            let refused = try run(arguments)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("Bundle.entry[0].resource.birthDate"), "\(refused.stderr)")
            #expect(refused.stdout.isEmpty)
        }
        // Planning problems (after every entry reads) are all listed too.
        let unresolved = try file("unresolved.json", #"{"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": \#(Self.condition), "request": {"method": "POST", "url": "Condition"}}]}"#)
        let plan = try run([unresolved])
        #expect(plan.status != 0 && plan.stderr.contains("Bundle.entry[0].resource.subject.reference"), "\(plan.stderr)")
        let collection = try run([try file("collection.json", #"{"resourceType": "Bundle", "type": "collection", "entry": []}"#)])
        #expect(collection.status != 0 && collection.stderr.contains("Bundle.type"), "\(collection.stderr)")
        let csv = try run([try file("wide.csv", "record_id,redcap_event_name\n1,baseline_arm_1\n")])
        #expect(csv.status != 0 && csv.stderr.contains("record 1 has no row with its episode's values"), "read as the wide CSV: \(csv.stderr)")
        let text = try run([try file("notes.txt", "record_id,redcap_event_name\n")])
        #expect(text.status != 0 && text.stderr.contains("not a FHIR transaction Bundle or NDJSON"), "\(text.stderr)")
        let nobody = try CLI.run(["import", bad, "--as", "nobody@example.org", "--database", database])
        #expect(nobody.status != 0 && nobody.stderr.contains("no such user"), "\(nobody.stderr)")
        #expect(try await counts() == [0, 0])
    }

    @Test("NDJSON: a Condition names its Patient by the Patient's id in the file; a bad line is named by its number")
    func ndjson() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await prepare()
        let patient = Self.patient.replacingOccurrences(of: #""resourceType": "Patient","#, with: #""resourceType": "Patient", "id": "old-42","#)
        let condition = Self.condition.replacingOccurrences(of: "urn:uuid:0e7a0000-0000-4000-8000-000000000001", with: "Patient/old-42")
        let broken = try file("broken.ndjson", [condition, "", patient, #"{"resourceType": "Encounter", "status": "finished"}"#, "not json"].joined(separator: "\n") + "\n")
        let refused = try run([broken])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("line 4: is a Encounter") && refused.stderr.contains("line 5: is not a JSON object"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("line 1") && !refused.stderr.contains("line 3"), "the good lines have no problem: \(refused.stderr)")
        #expect(try await counts() == [0, 0])
        let good = try file("good.ndjson", [condition, patient].joined(separator: "\n") + "\n")
        let imported = try run([good])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("1 patients and 1 episodes created"))
        #expect(try await counts() == [1, 1])
    }

    /// What a chart holds that a FHIR export carries, comparable across two installations (their ids differ).
    struct ChartFace: Hashable, CustomStringConvertible {
        var patient: String
        var episode: String
        var procedures: [String]
        var responses: [String]
        /// The patient's consent decisions, and the standing one of each kind.
        var consents: [String]
        /// The episode's imaging studies: timing, modality, day, the whole MRI reading or the x-ray's grades.
        var imaging: [String]
        var description: String { "\(patient) \(episode): \(procedures.count) procedures, \(responses.count) responses" }
    }

    static func faces(_ path: String, as email: String) async throws -> [String: ChartFace] {
        try await withDatabase(at: path) { store in
            let actor = try await store.users.actingUser(try #require(try await store.sessions.credentials(email: email)).userID, from: "test")
            let charts = try await store.export.charts(actor, after: nil, since: nil, limit: 100_000).charts
            var out: [String: ChartFace] = [:]
            for c in charts {
                let p = c.patient
                let patient = "\(p.mrn ?? "-") \(p.familyName), \(p.givenName) \(p.birthDate.iso) \(p.sex?.rawValue ?? "-") \(p.email ?? "-") \(p.phone ?? "-")"
                let episode = "\(c.episode.joint.rawValue) \(c.episode.side.rawValue) \(c.episode.diagnosis)"
                let procedures = c.procedures.map { x -> String in
                    var record = x.record
                    record.signature = nil
                    return "\(x.kind.rawValue) \(record)"
                }.sorted()
                let responses = c.responses.map { r -> String in
                    let answers = r.answers.compactMap { key, value in value.map { "\(key)=\($0)" } }.sorted().joined(separator: ",")
                    let scores = r.scores.map { "\($0.id)=\($0.value.map { String($0) } ?? "-")" }.joined(separator: ",")
                    let millis = Int((r.completedAt.timeIntervalSince1970 * 1000).rounded())
                    return "\(millis) \(r.instrumentID) \(r.instrumentVersion) \(r.source.rawValue) [\(answers)] [\(scores)]"
                }.sorted()
                let all = try await store.consents.list(actor, patientID: p.id)
                let standing = ConsentRecord.current(all)
                let consents = all.map { c in
                    "\(c.kind.rawValue) \(c.decision.rawValue) \(c.date.iso) \(c.formReference ?? "-")\(standing[c.kind]?.id == c.id ? " standing" : "")"
                }.sorted()
                let imaging = try await store.imaging.list(actor, ImagingFilter(episodeID: c.episode.id), PageRequest(limit: 500)).items.map { study in
                    "\(study.timing.rawValue) \(study.modality.rawValue) \(study.date.iso) \(study.mri.map { "\($0)" } ?? "-") \(study.xray.map { "\($0)" } ?? "-")"
                }.sorted()
                out["\(patient) | \(episode)"] = ChartFace(patient: patient, episode: episode, procedures: procedures, responses: responses, consents: consents,
                                                           imaging: imaging)
            }
            return out
        }
    }

    @Test("ossa export fhir of the demo registry imports into an empty Ossa and reproduces the same charts")
    func roundTrip() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source.sqlite").path
        let demo = try CLI.run(["demo", "--database", source, "--patients", "40"])
        try #require(demo.status == 0, "\(demo.stderr)")
        let lisClinician = "demo.clinician1.lis@example.org"
        // Consents (the demo records none): a history for two patients, the later decision of a kind standing.
        try await Self.withDatabase(at: source) { store in
            let actor = try await store.users.actingUser(try #require(try await store.sessions.credentials(email: lisClinician)).userID, from: "test")
            let patients = try await store.patients.list(actor, PageRequest(limit: 2)).items
            try #require(patients.count == 2)
            let day = try CalendarDate(iso: "2025-03-04")
            _ = try await store.consents.create(actor, patientID: patients[0].id, NewConsent(kind: .treatment, decision: .permit, date: day, formReference: "scan 17"))
            _ = try await store.consents.create(actor, patientID: patients[0].id, NewConsent(kind: .research, decision: .permit, date: day))
            _ = try await store.consents.create(actor, patientID: patients[0].id, NewConsent(kind: .research, decision: .deny, date: day))
            _ = try await store.consents.create(actor, patientID: patients[1].id, NewConsent(kind: .registry, decision: .deny, date: day.adding(days: 3)))
            // Imaging the demo does not have: an x-ray, and an MRI with every finding besides the BML grid.
            let episode = try #require(try await store.episodes.list(actor, patient: patients[0].id).items.first)
            let regions = BMLSubregion.subregions(of: episode.joint)
            let knee = episode.joint == .knee
            _ = try await store.imaging.create(actor, NewImagingStudy(episodeID: episode.id, timing: .followUp, xrayOn: day, grades: XRayGrades(
                kellgrenLawrence: .grade3, ahlback: knee ? .II : nil, tonnis: knee ? nil : .grade2)))
            _ = try await store.imaging.create(actor, NewImagingStudy(episodeID: episode.id, timing: .followUp, mri: MRIStudy(
                date: day.adding(days: 1), bml: [BMLFinding(subregion: regions[1], size: .medium, bmlPercent: .over66, count: 2), BMLFinding(subregion: regions[2], size: .none)],
                insufficiencyFracture: InsufficiencyFractureLine(subregion: regions[1], lengthMm: 7.25), avn: AVNLesion(subregion: regions[0], collapse: false, depressionMm: 0.5),
                focalCartilageLesions: [FocalCartilageLesion(subregion: regions[1], areaCm2: 1.3, depth: .fullThickness), FocalCartilageLesion(depth: .partialThickness)],
                suspectedTumourOrInfection: false)))
        }
        let exported = directory.appendingPathComponent("export").path
        let export = try CLI.run(["export", "fhir", "--database", source, "--output", exported, "--as", lisClinician])
        try #require(export.status == 0, "\(export.stderr)")

        // The empty installation: one site with the same code, and a clinician granted it.
        try await Self.prepare(at: database, site: "lis")

        let checked = try CLI.run(["import", exported, "--database", database, "--as", Self.clinician, "--check"])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(try await counts() == [0, 0], "--check writes nothing")
        let imported = try CLI.run(["import", exported, "--database", database, "--as", Self.clinician])
        try #require(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("score Observations (scores are computed again"), "derived scores are not imported: \(imported.stderr)")

        let before = try await Self.faces(source, as: lisClinician)
        let after = try await Self.faces(database, as: Self.clinician)
        #expect(before.count > 10, "the clinician's site has charts: \(before.count)")
        #expect(before.values.contains { !$0.procedures.isEmpty } && before.values.contains { !$0.responses.isEmpty })
        #expect(before.values.contains { $0.consents.contains("research-use deny 2025-03-04 - standing") }, "the later decision stands")
        #expect(before.values.contains { $0.imaging.contains { $0.hasPrefix("baseline mri") } } && before.values.contains { $0.imaging.contains { $0.contains(" xray ") } },
                "the demo has MRI and x-ray studies")
        #expect(Set(after.keys) == Set(before.keys), "the same patients and episodes")
        for (key, chart) in before {
            guard let copy = after[key] else { continue }
            #expect(copy.procedures == chart.procedures, "\(key): \(zip(copy.procedures, chart.procedures).first { $0 != $1 }.map { "\($0)\n≠ \($1)" } ?? "counts")")
            #expect(copy.responses == chart.responses, "\(key): \(zip(copy.responses, chart.responses).first { $0 != $1 }.map { "\($0)\n≠ \($1)" } ?? "counts")")
            #expect(copy.consents == chart.consents, "\(key)")
            #expect(copy.imaging == chart.imaging, "\(key): \(zip(copy.imaging, chart.imaging).first { $0 != $1 }.map { "\($0)\n≠ \($1)" } ?? "counts \(copy.imaging.count) ≠ \(chart.imaging.count)")")
        }
        #expect(imported.stdout.contains("\(Set(before.values.map(\.patient)).count) patients and \(before.count) episodes created"), "\(imported.stdout)")
    }
}
