import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OssaAnalytics
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import Testing

// Registry analytics on the API (issue #11): the survival answer for a cohort equals R's on the same extract, and
// the endpoints' roles, sites, small-cell rule, parameters, saved cohorts, audit and cache.
//
// The R comparison. The demo registry (OssaDemo: seed 2026, 400 patients, start 2021-06-01 — a function of those
// alone, whatever today's date) is loaded and `GET /api/v1/analytics/survival?joint=knee&group=product&covariate=age
// &covariate=bmi` is asked by a clinician granted every demo site. The rows that answer analyses (one per treated
// knee episode: days, event, status 0/1/2, product group, age, BMI) are read from the store's extract
// (`SurvivalSection.rows`) and must equal Vectors/analytics/knee_by_product.csv row for row (in a canonical order);
// knee_by_product.R reads that CSV and wrote knee_by_product_r.json (R 4.2.2, survival 3.5.3; its header says which
// R call gives each number). Every number of the API's answer — each curve's steps (time, atRisk, events, survival,
// stdErr, lower, upper) and median, the log-rank test, the Cox terms and log-likelihood, the cumulative incidence of
// replacement and death with their standard errors — is compared with R's to 1e-9, counts exactly. Nothing here
// compares Ossa with its own output.
//
// Regenerating the vectors (only when the demo generator, the censoring rule or the query changes on purpose):
//   1. swift build --build-tests
//      OSSA_WRITE_ANALYTICS_VECTORS=1 swift test --skip-build --filter "AnalyticsAPITests/survivalMatchesR"
//      (writes Vectors/analytics/knee_by_product.csv from the store's extract, SQLite engine; the comparison with the
//      old R output may then fail until step 2)
//   2. Rscript Tests/OssaWebTests/Vectors/analytics/knee_by_product.R
//      (reads the CSV, writes Vectors/analytics/knee_by_product_r.json beside it)
//   3. swift test --skip-build --filter AnalyticsAPITests
// Review the diff of both files: the CSV changes only when the registry's analysed rows change.

/// The demo registry the vectors were made from, and the query they answer.
enum AnalyticsVectors {
    static let seed: UInt64 = 2026
    static let patients = 400
    /// Written out (not `DemoSetup.defaultStartDate`) so that a change there cannot silently move the vectors.
    static let startDate = "2021-06-01"
    static let survivalQuery = "joint=knee&group=product&covariate=age&covariate=bmi"
    static let rowsFile = "knee_by_product.csv"
    static let expectedFile = "knee_by_product_r.json"
    static let rowsHeader = "time,event,status,group,age,bmi"

    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/analytics")
    }

    static var writing: Bool { ProcessInfo.processInfo.environment["OSSA_WRITE_ANALYTICS_VECTORS"] == "1" }

    /// `a=1&b=2` as (name, value) items, as `CohortQuery.parse` takes them.
    static func items(_ query: String) -> [(name: String, value: String)] {
        query.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }
}

/// One analysed row as the CSV holds it (whole days; age in whole years).
struct AnalysedRow: Hashable, Comparable, CustomStringConvertible {
    var time: Int
    var event: Int
    var status: Int
    var group: String
    var age: Int?
    var bmi: Double?

    init(time: Int, event: Int, status: Int, group: String, age: Int?, bmi: Double?) {
        (self.time, self.event, self.status, self.group, self.age, self.bmi) = (time, event, status, group, age, bmi)
    }

    /// From the analysis' own input (covariates in the order age, bmi).
    init(_ row: SurvivalSection.Row) {
        self.init(time: Int(row.time), event: row.event ? 1 : 0, status: row.status, group: row.group,
                  age: row.covariates[0].map { Int($0) }, bmi: row.covariates[1])
    }

    /// A CSV line; nil when it is not one.
    init?(csv line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 6, let time = Int(f[0]), let event = Int(f[1]), let status = Int(f[2]) else { return nil }
        let age = f[4] == "NA" ? nil : Int(f[4]), bmi = f[5] == "NA" ? nil : Double(f[5])
        if (f[4] != "NA" && age == nil) || (f[5] != "NA" && bmi == nil) { return nil }
        self.init(time: time, event: event, status: status, group: f[3], age: age, bmi: bmi)
    }

    /// Swift's shortest round-trip text for the BMI, so that the CSV holds exactly the double analysed.
    var csv: String { "\(time),\(event),\(status),\(group),\(age.map(String.init) ?? "NA"),\(bmi.map { "\($0)" } ?? "NA")" }
    var description: String { csv }

    /// A canonical order (the extract's own order follows the database's row order, which differs by engine).
    static func < (a: AnalysedRow, b: AnalysedRow) -> Bool {
        (a.group, a.time, a.event, a.status, a.age ?? -1, a.bmi ?? -1) < (b.group, b.time, b.event, b.status, b.age ?? -1, b.bmi ?? -1)
    }
}

/// A demo registry in a fresh database with the application over it.
struct AnalyticsDemo: Sendable {
    let store: OssaStore
    let admin: ActingUser
    /// The demo sites, by code.
    let sites: [SiteRecord]
    let client: any TestClientProtocol

    /// A new account of `role` granted `sites`, signed in, with an API token.
    func staff(_ role: Role, _ name: String, sites: [SiteRecord]) async throws -> (caller: APICaller, actor: ActingUser) {
        let email = "\(name)@example.org"
        let user = try await Accounts.addUser(store: store, actor: admin, email: email, displayName: name.capitalized, role: role,
                                              password: testPassword, sites: sites.map(\.id), cost: 4)
        let token = try await apiToken(client, try await signIn(client, email), name: name)
        return (APICaller(client: client, token: token), try await store.users.actingUser(user.id, from: "cli"))
    }

    /// A demo login (the demo password), with an API token.
    func demoLogin(_ email: String) async throws -> APICaller {
        let token = try await apiToken(client, try await signIn(client, email, password: DemoSetup.password), name: "analytics")
        return APICaller(client: client, token: token)
    }

    /// The rows the survival analysis of `query` reads, from the store's extract for `actor`, in canonical order.
    func analysedRows(_ actor: ActingUser, query: String) async throws -> (rows: [AnalysedRow], episodes: [(row: SurvivalSection.Row, episode: ExtractEpisode)]) {
        let definition = try CohortQuery.parse(AnalyticsVectors.items(query))
        let scoped = try await store.analytics().extract(actor, audit: "test:rows?\(query)")
        let rows = SurvivalSection.rows(scoped.extract, Cohort(scoped.extract, definition), covariates: [.age, .bmi])
        return (rows.map(AnalysedRow.init).sorted(), rows.map { ($0, scoped.extract.episodes[Int($0.episode)]) })
    }
}

func withAnalyticsDemo<T: Sendable>(_ engine: Engine, _ body: @Sendable @escaping (AnalyticsDemo) async throws -> T) async throws -> T {
    try await withStore(engine) { store in
        let loaded = try await DemoSetup.load(store: store, patients: AnalyticsVectors.patients, seed: AnalyticsVectors.seed,
                                              startDate: try CalendarDate(iso: AnalyticsVectors.startDate), bcryptCost: 4)
        let admin = try await store.users.actingUser(try #require(loaded.summary).adminUserID, from: "cli")
        let sites = try await store.sites.list(admin, PageRequest(limit: PageRequest.maximumLimit)).items.sorted { $0.code < $1.code }
        var logger = Logger(label: "ossa.web.test")
        logger.logLevel = .warning
        let app = try await buildApplication(configuration: testConfiguration(), store: store, logger: logger)
        return try await app.test(.router) { client in
            try await body(AnalyticsDemo(store: store, admin: admin, sites: sites, client: client))
        }
    }
}

// MARK: - Comparing JSON trees

/// Walks `expected` (R) and `actual` (the API) together: same keys, same array lengths, same strings and nulls,
/// counts exactly, every other number within `tolerance`. Differences are collected as "path: …" lines.
struct JSONComparison {
    static let countKeys: Set<String> = ["atRisk", "events", "replacements", "deaths", "degreesOfFreedom", "code"]
    let tolerance: Double
    var differences: [String] = []
    var numbersCompared = 0
    /// The largest difference seen between two compared non-count numbers.
    var largestDifference = 0.0

    init(tolerance: Double) { self.tolerance = tolerance }

    mutating func compare(_ actual: Any?, _ expected: Any?, _ path: String, key: String = "") {
        switch (actual, expected) {
        case (let a as [String: Any], let e as [String: Any]):
            if Set(a.keys) != Set(e.keys) {
                differences.append("\(path): keys \(a.keys.sorted()) ≠ R's \(e.keys.sorted())")
            }
            for (k, ev) in e.sorted(by: { $0.key < $1.key }) { compare(a[k], ev, path + "." + k, key: k) }
        case (let a as [Any], let e as [Any]):
            if a.count != e.count { differences.append("\(path): \(a.count) items ≠ R's \(e.count)") }
            for (i, (av, ev)) in zip(a, e).enumerated() { compare(av, ev, "\(path)[\(i)]", key: key) }
        case (let a as String, let e as String):
            if a != e { differences.append("\(path): \"\(a)\" ≠ R's \"\(e)\"") }
        case (is NSNull, is NSNull):
            break
        case (let a as NSNumber, let e as NSNumber):
            numbersCompared += 1
            let x = a.doubleValue, y = e.doubleValue
            if Self.countKeys.contains(key) {
                if x != y { differences.append("\(path): \(x) ≠ R's \(y)") }
            } else if abs(x - y) <= tolerance {
                largestDifference = max(largestDifference, abs(x - y))
            } else {
                differences.append("\(path): \(x) ≠ R's \(y) (difference \(abs(x - y)))")
            }
        default:
            differences.append("\(path): \(actual.map { "\($0)" } ?? "missing") ≠ R's \(expected.map { "\($0)" } ?? "missing")")
        }
    }
}

/// Reading the survival answer's JSON.
enum SurvivalJSON {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text.prefix(200))")
    }

    /// The Kaplan–Meier curves, overall first.
    static func curves(_ answer: [String: Any]) -> [[String: Any]] { answer["kaplanMeier"] as? [[String: Any]] ?? [] }
    static func steps(_ curve: [String: Any]) -> [[String: Any]] { curve["steps"] as? [[String: Any]] ?? [] }
    static func incidenceSteps(_ answer: [String: Any]) -> [[String: Any]] {
        (answer["cumulativeIncidence"] as? [String: Any])?["steps"] as? [[String: Any]] ?? []
    }
    static func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
    static func atRisk(_ step: [String: Any]) -> Int { int(step["atRisk"]) ?? -1 }
    static func totalEvents(_ curve: [String: Any]) -> Int { steps(curve).reduce(0) { $0 + (int($1["events"]) ?? 0) } }
    static func curve(_ answer: [String: Any], group: String) -> [String: Any]? { curves(answer).first { $0["group"] as? String == group } }

    /// Whether two JSON values are the same tree, numbers exactly.
    static func same(_ a: Any, _ b: Any) -> Bool {
        var comparison = JSONComparison(tolerance: 0)
        comparison.compare(a, b, "")
        return comparison.differences.isEmpty
    }
}

// MARK: - Tests

@Suite("Analytics API: survival equals R; roles, sites, small cells, parameters, cohorts, audit, cache")
struct AnalyticsAPITests {
    typealias J = SurvivalJSON

    @Test("the survival answer for knee by product with age and BMI equals R's on the same extract, to 1e-9",
          arguments: Engine.available)
    func survivalMatchesR(engine: Engine) async throws {
        try await withAnalyticsDemo(engine) { demo in
            let (clinician, actor) = try await demo.staff(.clinician, "all-sites", sites: demo.sites)
            #expect(demo.sites.count == 4)

            // (a) The analysed rows today are the committed ones.
            let rows = try await demo.analysedRows(actor, query: AnalyticsVectors.survivalQuery).rows
            let csvURL = AnalyticsVectors.directory.appendingPathComponent(AnalyticsVectors.rowsFile)
            if AnalyticsVectors.writing, engine == .sqlite {
                try FileManager.default.createDirectory(at: AnalyticsVectors.directory, withIntermediateDirectories: true)
                try ([AnalyticsVectors.rowsHeader] + rows.map(\.csv)).joined(separator: "\n").appending("\n")
                    .write(to: csvURL, atomically: true, encoding: .utf8)
            }
            let lines = try String(contentsOf: csvURL, encoding: .utf8).split(whereSeparator: \.isNewline)
            #expect(lines.first == Substring(AnalyticsVectors.rowsHeader))
            let committed = lines.dropFirst().map { AnalysedRow(csv: $0) }
            #expect(!committed.contains(nil), "every CSV line is a row")
            let expectedRows = committed.compactMap { $0 }
            #expect(rows.count == expectedRows.count, "analysed rows: \(rows.count), committed: \(expectedRows.count)")
            let mismatches = zip(rows, expectedRows).enumerated().filter { $0.element.0 != $0.element.1 }
            #expect(mismatches.isEmpty, "rows differ from the CSV, first: \(mismatches.prefix(3).map { "line \($0.offset + 2): \($0.element.0) vs \($0.element.1)" })")
            #expect(rows.count == 284 && rows.filter { $0.event == 1 }.count == 39 && rows.filter { $0.status == 2 }.count == 11)

            // (b) The API's answer equals R's.
            let response = try await clinician.get("/api/v1/analytics/survival?" + AnalyticsVectors.survivalQuery)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.headers[.contentType] == "application/json")
            let answer = try J.object(response.text)
            let r = try J.object(try String(contentsOf: AnalyticsVectors.directory.appendingPathComponent(AnalyticsVectors.expectedFile),
                                              encoding: .utf8))
            #expect(J.int(r["rows"]) == rows.count, "the R output was made from these rows (rerun the R script)")
            let expected = try #require(r["survival"] as? [String: Any])
            var comparison = JSONComparison(tolerance: 1e-9)
            comparison.compare(answer, expected, "survival")
            #expect(comparison.differences.isEmpty,
                    "\(comparison.differences.count) differences from R, first: \(comparison.differences.prefix(12).joined(separator: "; "))")
            // The comparison covered every curve, step and table.
            #expect(J.curves(answer).map { $0["group"] as? String } == [nil, "BMC", "PRP", "PRP and BMC"])
            #expect(comparison.numbersCompared > 3000,
                    "\(comparison.numbersCompared) numbers compared, largest difference \(comparison.largestDifference)")
            let terms = (answer["cox"] as? [String: Any])?["terms"] as? [[String: Any]] ?? []
            #expect(terms.compactMap { $0["name"] as? String } == ["age", "bmi"])
            #expect(J.incidenceSteps(answer).count > 100)
        }
    }

    @Test("a researcher's survival answer: curves end where fewer than 5 remain at risk, small groups are left out",
          arguments: Engine.available)
    func researcherSmallCells(engine: Engine) async throws {
        try await withAnalyticsDemo(engine) { demo in
            let (researcher, _) = try await demo.staff(.researcher, "researcher-all", sites: demo.sites)
            let (clinician, actor) = try await demo.staff(.clinician, "clinician-all", sites: demo.sites)
            // Knee by treatment year: 2025 has 2 treated knees (fewer than 5), the other years many.
            let query = "joint=knee&group=year"
            let rows = try await demo.analysedRows(actor, query: query).rows
            let sizes = Dictionary(grouping: rows, by: \.group).mapValues(\.count)
            let small = Set(sizes.filter { $0.value < 5 }.keys)
            #expect(small == ["2025"], "\(sizes)")

            let staffAnswer = try J.object(try await clinician.get("/api/v1/analytics/survival?" + query).text)
            let response = try await researcher.get("/api/v1/analytics/survival?" + query)
            #expect(response.status == .ok, "\(response.text)")
            let answer = try J.object(response.text)
            #expect(J.curves(staffAnswer).compactMap { $0["group"] as? String } == ["2021", "2022", "2023", "2024", "2025"])
            #expect(J.curves(answer).compactMap { $0["group"] as? String } == ["2021", "2022", "2023", "2024"], "the small group is left out")
            #expect(J.curves(answer).first.map { $0["group"] is NSNull } == true, "the overall curve comes first")
            for curve in J.curves(answer) {
                #expect(!J.steps(curve).isEmpty)
                #expect(J.steps(curve).allSatisfy { (J.int($0["atRisk"]) ?? 0) >= 5 }, "a step with fewer than 5 at risk: \(curve["group"] ?? "")")
            }
            let ciSteps = J.incidenceSteps(answer)
            #expect(!ciSteps.isEmpty && ciSteps.allSatisfy { (J.int($0["atRisk"]) ?? 0) >= 5 })
            // The overall curve is on the groups kept only.
            #expect(J.int(J.curves(answer).first.flatMap { J.steps($0).first?["atRisk"] }) == rows.count - sizes.filter { small.contains($0.key) }.values.reduce(0, +))
            #expect(J.int(J.curves(staffAnswer).first.flatMap { J.steps($0).first?["atRisk"] }) == rows.count)
            // A kept group's curve is the staff curve cut where fewer than 5 remain (identical steps up to there).
            for curve in J.curves(answer).dropFirst() {
                let label = try #require(curve["group"] as? String)
                let full = try #require(J.curves(staffAnswer).first { $0["group"] as? String == label })
                let cut = J.steps(full).filter { (J.int($0["atRisk"]) ?? 0) >= 5 }
                #expect(J.same(J.steps(curve), cut), "\(label)")
                #expect(J.steps(full).contains { (J.int($0["atRisk"]) ?? 0) < 5 }, "\(label): the staff curve runs below 5 at risk")
            }
            // Staff see everything.
            #expect(J.curves(staffAnswer).contains { J.steps($0).contains { (J.int($0["atRisk"]) ?? 0) < 5 } })
        }
    }

    @Test("analytics are limited to the caller's granted sites: a researcher sees what a clinician of the same sites sees",
          arguments: Engine.available)
    func grantedSitesOnly(engine: Engine) async throws {
        try await withAnalyticsDemo(engine) { demo in
            let two = Array(demo.sites.prefix(2)), other = [demo.sites[2]]
            let (researcher, _) = try await demo.staff(.researcher, "researcher-two", sites: two)
            let (clinician, _) = try await demo.staff(.clinician, "clinician-two", sites: two)
            let (otherClinician, _) = try await demo.staff(.clinician, "clinician-other", sites: other)
            let (_, everyone) = try await demo.staff(.clinician, "clinician-every", sites: demo.sites)
            // The expected counts, from the whole registry's extract by site.
            let all = try await demo.analysedRows(everyone, query: "joint=knee").episodes
            func treatedKnees(_ sites: [SiteRecord]) -> Int { all.filter { e in sites.contains { $0.id == e.episode.siteID } }.count }
            let expectedTwo = treatedKnees(two), expectedOther = treatedKnees(other)
            #expect(expectedTwo > 0 && expectedOther > 0 && expectedTwo != expectedOther)

            func subjects(_ caller: APICaller, _ query: String = "joint=knee") async throws -> (survival: Int?, flow: Int?) {
                let survival = try await caller.get("/api/v1/analytics/survival?" + query)
                #expect(survival.status == .ok, "\(survival.text)")
                let flow = try await caller.get("/api/v1/analytics/flow?" + query)
                #expect(flow.status == .ok, "\(flow.text)")
                let treated = (flow.json["steps"] as? [[String: Any]])?.first { $0["id"] as? String == "treated" }
                let count = (treated?["count"] as? [String: Any])?["value"]
                return (J.curves(survival.json).first.flatMap { J.int(J.steps($0).first?["atRisk"]) }, J.int(count))
            }
            let r = try await subjects(researcher), c = try await subjects(clinician), o = try await subjects(otherClinician)
            #expect(r.survival == expectedTwo && r.flow == expectedTwo, "researcher: \(r)")
            #expect(c.survival == expectedTwo && c.flow == expectedTwo, "clinician of the same sites: \(c)")
            #expect(o.survival == expectedOther && o.flow == expectedOther, "clinician of another site: \(o)")
            // Asking for a site not granted widens nothing: no subjects.
            let elsewhere = try await researcher.get("/api/v1/analytics/survival?joint=knee&site=\(other[0].id.lowercasedID)")
            #expect(elsewhere.status == .ok)
            #expect(J.curves(elsewhere.json).isEmpty, "\(elsewhere.text.prefix(200))")
            let flowElsewhere = try await researcher.get("/api/v1/analytics/flow?site=\(other[0].id.lowercasedID)")
            let matching = (flowElsewhere.json["steps"] as? [[String: Any]])?.first { $0["id"] as? String == "matching" }
            #expect(J.int((matching?["count"] as? [String: Any])?["value"]) == 0)
        }
    }

    @Test("bad parameters are a 400 naming the parameter; patients and admins 403, no credentials 401; every call is audited",
          arguments: Engine.available)
    func parametersRolesAudit(engine: Engine) async throws {
        try await withAnalyticsDemo(engine) { demo in
            let (clinician, actor) = try await demo.staff(.clinician, "clinician-audit", sites: demo.sites)
            let survival = "/api/v1/analytics/survival"
            let before = try await AuditLog.readEntries(on: demo.store.database.sql(), after: 0, limit: 1_000_000).last?.sequence ?? 0

            for (query, field) in [("joint=elbow", "joint"), ("covariate=height", "covariate"),
                                   ("site=", "site"), ("foo=1", "foo"), ("joint=knee&foo=1", "foo"), ("group=colour", "group"),
                                   ("ageMin=old", "ageMin"), ("intraArticular=maybe", "intraArticular"), ("cohort=nope", "cohort"),
                                   ("klMin=7", "klMin"), ("joint=knee&joint=", "joint")] {
                let response = try await clinician.get(survival + "?" + query)
                expectProblem(response, .badRequest, field: field)
            }
            // The other sections read the same parameters.
            expectProblem(try await clinician.get("/api/v1/analytics/baseline?joint=elbow"), .badRequest, field: "joint")
            expectProblem(try await clinician.get("/api/v1/analytics/flow?foo=1"), .badRequest, field: "foo")

            // Roles: patients and admins have no analytics; no credentials is a 401.
            let patient = try await demo.demoLogin(DemoSetup.patientEmail)
            let admin = try await demo.demoLogin(DemoSetup.adminEmail)
            expectProblem(try await patient.get(survival + "?joint=knee"), .forbidden)
            expectProblem(try await admin.get(survival + "?joint=knee"), .forbidden)
            expectProblem(try await patient.get("/api/v1/analytics/flow"), .forbidden)
            let anonymous = try await demo.client.execute(uri: survival + "?joint=knee", method: .get)
            expectProblem(anonymous, .unauthorized)

            // A range that ends before it starts is no 400 on the API: it matches nothing (the OpenAPI document says
            // so, as OpenAPI cannot state a rule between two parameters; the page's form refuses it).
            let backwards = try await clinician.get(survival + "?klMin=3&klMax=2")
            #expect(backwards.status == .ok, "\(backwards.text)")
            #expect(J.curves(backwards.json).isEmpty && backwards.json["logRank"] is NSNull, "\(backwards.text.prefix(200))")

            // Allowed calls: each one audited as an export of analytics naming what was viewed.
            let calls = [survival + "?" + AnalyticsVectors.survivalQuery, survival + "?joint=knee", "/api/v1/analytics/flow",
                         "/api/v1/analytics/baseline?joint=hip&group=sex", survival + "?" + AnalyticsVectors.survivalQuery]
            for uri in calls { #expect(try await clinician.get(uri).status == .ok, "\(uri)") }
            let entries = try await AuditLog.readEntries(on: demo.store.database.sql(), after: before, limit: 1_000_000)
            let exports = entries.filter { $0.recordType == "analytics" && $0.actorUserID == actor.userID.lowercasedID }
            #expect(exports.allSatisfy { $0.action == "export" && $0.outcome == "ok" })
            #expect(exports.map(\.recordID) == ["api:survival?klMin=3&klMax=2", "api:survival?" + AnalyticsVectors.survivalQuery, "api:survival?joint=knee", "api:flow?",
                                                "api:baseline?joint=hip&group=sex", "api:survival?" + AnalyticsVectors.survivalQuery],
                    "\(exports.map(\.recordID))")
            // Refused calls are audited as refused exports.
            let refused = entries.filter { $0.recordType == "analytics" && $0.outcome == "denied" }
            #expect(refused.count == 3 && refused.allSatisfy { $0.action == "export" }, "\(refused.map { ($0.actorRole, $0.recordID) })")
            #expect(Set(refused.map(\.actorRole)) == ["patient", "admin"])
        }
    }

    @Test("POST /cohorts saves a cohort (201, Location); its survival answer equals the same filters as parameters; duplicates and bad bodies refused",
          arguments: Engine.available)
    func savedCohorts(engine: Engine) async throws {
        try await withAnalyticsDemo(engine) { demo in
            let (coordinator, _) = try await demo.staff(.coordinator, "coordinator-cohorts", sites: demo.sites)
            let (researcher, _) = try await demo.staff(.researcher, "researcher-cohorts", sites: demo.sites)
            let body = #"{"name": "Knee OA KL 3–4", "filter": {"joint": ["knee"], "diagnosis": ["osteoarthritis"], "kellgrenLawrence": {"min": 3, "max": 4}}, "group": "product"}"#
            let created = try await coordinator.post("/api/v1/cohorts", body)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location] == "/api/v1/cohorts/\(id)")
            #expect(created.json["name"] as? String == "Knee OA KL 3–4")
            #expect(created.json["query"] as? String == "joint=knee&diagnosis=osteoarthritis&klMin=3&klMax=4&group=product")
            let read = try await researcher.get("/api/v1/cohorts/\(id)")
            #expect(read.status == .ok && read.json["id"] as? String == id, "saved cohorts are shared: \(read.text)")
            let list = try await researcher.get("/api/v1/cohorts")
            #expect(list.status == .ok)
            #expect(((try? JSONSerialization.jsonObject(with: Data(list.text.utf8))) as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])

            // The saved cohort answers exactly as its filters given as parameters.
            let saved = try await coordinator.get("/api/v1/analytics/survival?cohort=\(id)")
            let direct = try await coordinator.get("/api/v1/analytics/survival?joint=knee&diagnosis=osteoarthritis&klMin=3&klMax=4&group=product")
            #expect(saved.status == .ok && direct.status == .ok, "\(saved.text.prefix(300))")
            #expect(saved.text == direct.text)
            #expect(J.curves(saved.json).count == 4, "overall and three products")
            // Parameters given beside a saved cohort replace the saved ones of the same name.
            let withCox = try await coordinator.get("/api/v1/analytics/survival?cohort=\(id)&covariate=age")
            #expect(withCox.text == (try await coordinator.get("/api/v1/analytics/survival?joint=knee&diagnosis=osteoarthritis&klMin=3&klMax=4&group=product&covariate=age")).text)
            #expect(try J.object(withCox.text)["cox"] is [String: Any])
            let hips = try await coordinator.get("/api/v1/analytics/survival?cohort=\(id)&joint=hip")
            #expect(hips.status == .ok)
            #expect(hips.text == (try await coordinator.get("/api/v1/analytics/survival?joint=hip&diagnosis=osteoarthritis&klMin=3&klMax=4&group=product")).text)
            #expect(hips.text != saved.text)
            expectProblem(try await coordinator.get("/api/v1/analytics/survival?cohort=\(id)&foo=1"), .badRequest, field: "foo")
            expectProblem(try await coordinator.get("/api/v1/analytics/survival?cohort=\(UUID().uuidString.lowercased())"), .notFound)

            // A duplicate name: a 4xx problem naming `name`.
            let duplicate = try await researcher.post("/api/v1/cohorts", body)
            #expect((400..<500).contains(Int(duplicate.status.code)), "\(duplicate.status)")
            expectProblem(duplicate, duplicate.status, field: "name")
            // Invalid bodies: 422 naming the field; nothing saved.
            expectProblem(try await coordinator.post("/api/v1/cohorts", #"{"name": "Knee", "filter": {"joint": ["knee"]}, "colour": "red"}"#),
                          .unprocessableContent, field: "colour")
            expectProblem(try await coordinator.post("/api/v1/cohorts", #"{"name": "Knee", "filter": {"joint": ["knee"], "colour": "red"}}"#),
                          .unprocessableContent, field: "filter.colour")
            // A value outside its scale: the problem must name the body's field. (Finding: the API names the query
            // parameter `klMin`, which is not in the body; every other body error here names a JSON path.)
            expectProblem(try await coordinator.post("/api/v1/cohorts", #"{"name": "KL 7", "filter": {"kellgrenLawrence": {"min": 7}}}"#),
                          .unprocessableContent, field: "filter.kellgrenLawrence.min")
            expectProblem(try await coordinator.post("/api/v1/cohorts", #"{"name": "Old", "filter": {"age": {"min": 20, "max": 140}}}"#),
                          .unprocessableContent, field: "filter.age.max")
            expectProblem(try await coordinator.post("/api/v1/cohorts", #"{"name": "Elbows", "filter": {"joint": ["elbow"]}}"#),
                          .unprocessableContent, field: "filter.joint[0]")
            expectProblem(try await coordinator.post("/api/v1/cohorts", #"{"name": "   ", "filter": {}}"#), .unprocessableContent, field: "name")
            expectProblem(try await coordinator.post("/api/v1/cohorts", #"{"filter": {}}"#), .unprocessableContent, field: "name")
            #expect(try await rowCount(demo.store, "saved_cohorts") == 1)
        }
    }

    @Test("every analytics section answers 200 JSON for a clinician", arguments: Engine.available)
    func everySection(engine: Engine) async throws {
        try await withAnalyticsDemo(engine) { demo in
            let (clinician, _) = try await demo.staff(.clinician, "clinician-sections", sites: demo.sites)
            for section in ["survival", "baseline", "proms", "responders", "bml", "safety", "literature", "flow"] {
                for query in ["", "?joint=knee&group=product", "?joint=hip&diagnosis=osteoarthritis&covariate=age"] {
                    let response = try await clinician.get("/api/v1/analytics/\(section)\(query)")
                    #expect(response.status == .ok, "\(section)\(query): \(response.status) \(response.text.prefix(300))")
                    #expect(response.headers[.contentType] == "application/json", "\(section)")
                    let parsed = try? JSONSerialization.jsonObject(with: Data(response.text.utf8), options: [.fragmentsAllowed])
                    #expect(parsed is [String: Any], "\(section)\(query): \(response.text.prefix(200))")
                }
            }
        }
    }

    @Test("the analytics page: the same cohort again is the same page (its results drawn once), its links carry its query, and a registry write is in the next page")
    func pageFollowsTheReport() async throws {
        try await withAnalyticsDemo(.sqlite) { demo in
            let (clinician, actor) = try await demo.staff(.clinician, "clinician-page", sites: demo.sites)
            let session = try await signIn(demo.client, "clinician-page@example.org")
            func replacements(_ html: String) throws -> Int {
                let match = try #require(html.firstMatch(of: /<p>(\d+) treated episodes; (\d+) joint replacements;/))
                return try #require(Int(match.2))
            }
            let uri = "/analytics?joint=knee&group=product"
            let first = try await getPage(demo.client, session, uri)
            #expect(first.status == .ok)
            for id in ["flow", "baseline", "outcomes", "responders", "survival", "bml", "safety", "literature"] {
                #expect(first.text.contains("<section id=\"\(id)\""), "section \(id)")
            }
            #expect(first.text.contains("href=\"/analytics/data/survival.csv?joint=knee&amp;group=product\""))
            #expect(first.text.contains("<svg"))
            #expect(try await getPage(demo.client, session, uri).text == first.text, "unchanged registry, same page")
            // The same cohort with its parameters in another order and empty fields (as the form sends them): the same page.
            #expect(try await getPage(demo.client, session, "/analytics?group=product&sex=&joint=knee").text == first.text)
            // Another cohort is drawn for itself: its own figures and links.
            let hips = try await getPage(demo.client, session, "/analytics?joint=hip")
            #expect(hips.text.contains("href=\"/analytics/data/survival.csv?joint=hip\""))
            #expect(!hips.text.contains("survival.csv?joint=knee"))

            let before = try replacements(first.text)
            let chosen = try #require(try await demo.analysedRows(actor, query: "joint=knee&group=product").episodes
                .filter { !$0.row.event && $0.row.status == 0 && ($0.episode.followUpDays ?? 0) > 200 }
                .sorted { $0.episode.key.uuidString < $1.episode.key.uuidString }.first)
            let start = try #require(chosen.episode.firstProcedure)
            let recorded = try await clinician.post("/api/v1/episodes/\(chosen.episode.key.lowercasedID)/outcome-events",
                                                    #"{"kind": "joint-replacement", "date": "\#(start.adding(days: 120).iso)", "replacementKind": "TKA"}"#)
            #expect(recorded.status == .created, "\(recorded.text)")
            let after = try await getPage(demo.client, session, uri)
            #expect(try replacements(after.text) == before + 1)
        }
    }

    @Test("a new outcome event is in the next survival answer (the cached extract is read again after a registry write)",
          arguments: Engine.available)
    func cacheFollowsWrites(engine: Engine) async throws {
        try await withAnalyticsDemo(engine) { demo in
            let (clinician, actor) = try await demo.staff(.clinician, "clinician-cache", sites: demo.sites)
            let uri = "/api/v1/analytics/survival?" + AnalyticsVectors.survivalQuery
            let first = try await clinician.get(uri)
            #expect(first.status == .ok)
            #expect(try await clinician.get(uri).text == first.text, "unchanged registry, same answer")
            let before = try J.object(first.text)

            // A treated knee, censored at its last record (no death, withdrawal or loss), followed long enough.
            let episodes = try await demo.analysedRows(actor, query: AnalyticsVectors.survivalQuery).episodes
                .filter { !$0.row.event && $0.row.status == 0 && $0.episode.followUpEnd == .lastRecord && ($0.episode.followUpDays ?? 0) > 200 }
                .sorted { $0.episode.key.uuidString < $1.episode.key.uuidString }
            let chosen = try #require(episodes.first)
            let start = try #require(chosen.episode.firstProcedure)
            let day = 120
            let recorded = try await clinician.post("/api/v1/episodes/\(chosen.episode.key.lowercasedID)/outcome-events",
                                                    #"{"kind": "joint-replacement", "date": "\#(start.adding(days: day).iso)", "replacementKind": "TKA"}"#)
            #expect(recorded.status == .created, "\(recorded.text)")

            let after = try J.object(try await clinician.get(uri).text)
            let overallBefore = try #require(J.curves(before).first), overallAfter = try #require(J.curves(after).first)
            #expect(J.totalEvents(overallAfter) == J.totalEvents(overallBefore) + 1)
            func events(at t: Int, _ curve: [String: Any]) -> Int {
                J.steps(curve).first { J.int($0["time"]) == t }.flatMap { J.int($0["events"]) } ?? 0
            }
            #expect(events(at: day, overallAfter) == events(at: day, overallBefore) + 1)
            let group = chosen.row.group
            let groupBefore = try #require(J.curves(before).first { $0["group"] as? String == group })
            let groupAfter = try #require(J.curves(after).first { $0["group"] as? String == group })
            #expect(J.totalEvents(groupAfter) == J.totalEvents(groupBefore) + 1, "\(group)")
            for (b, a) in zip(J.curves(before), J.curves(after)) where a["group"] as? String != group && !(a["group"] is NSNull) {
                #expect(J.totalEvents(a) == J.totalEvents(b), "other groups unchanged")
            }
            func replacements(_ answer: [String: Any]) -> Int {
                J.incidenceSteps(answer).reduce(0) { $0 + (J.int($1["replacements"]) ?? 0) }
            }
            #expect(replacements(after) == replacements(before) + 1)
            // The extract's own row agrees.
            let row = try await demo.analysedRows(actor, query: AnalyticsVectors.survivalQuery).episodes.first { $0.episode.key == chosen.episode.key }
            #expect(row?.row.event == true && row?.row.time == Double(day))
        }
    }
}
