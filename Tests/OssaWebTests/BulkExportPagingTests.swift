import Foundation
import OssaCore
import OssaDemo
@testable import OssaStore
@testable import OssaWeb
import SQLKit
import Testing

// `$export` reads one site at a time in keyset pages (BulkExportWriter.pages, M0037's `(site_id, id)` indexes). These
// check, on a demo registry of several sites, that small pages crossing site boundaries write every record of the
// caller's sites exactly once, and nothing of the other sites.

@Suite("$export paging across sites")
struct BulkExportPagingTests {
    /// Every line of every file `types` wrote into `directory`, by type.
    static func lines(_ files: [BulkExportJobs.FileEntry], in directory: URL) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file.name), encoding: .utf8)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.count == file.count, "\(file.name): the manifest's count")
            out[file.type, default: []] += lines
        }
        return out
    }

    static func export(_ store: OssaStore, _ actor: ActingUser, pageSize: Int) async throws -> [String: [String]] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-paging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = BulkExportWriter(store: store, library: try InstrumentLibrary.builtIn(), actor: actor, directory: directory,
                                      fileBytes: 64 << 20, pageSize: pageSize, since: nil, patients: nil)
        return try lines(try await writer.run(types: BulkExportJobs.types) { _ in }, in: directory)
    }

    /// Rows of `table` at `sites`, counted in SQL.
    static func count(_ store: OssaStore, _ table: String, sites: [UUID]) async throws -> Int {
        let rows = try await store.database.sql().select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(table)
            .where(SQLColumn("site_id"), .in, SQLBind.group(sites)).all()
        return try rows.first?.decode(column: "n", as: Int.self) ?? 0
    }

    @Test("pages of three records, site after site, write every record of the caller's sites once and none of the others",
          arguments: Engine.available)
    func pagesCrossSites(engine: Engine) async throws {
        try await withStore(engine) { store in
            let registry = try DemoRegistry(seed: 5, startDate: try CalendarDate(iso: "2021-06-01"))
            let summary = try await store.demoLoader.load(registry, patients: 40)
            let clinician = try #require(summary.loadedUsers.first { $0.role == .clinician })
            let allSites = try await store.database.sql().select().column("id").from("sites").all().map { try $0.decode(column: "id", as: UUID.self) }
            try #require(allSites.count >= 3, "the demo registry has several sites")

            for granted in [allSites, Array(allSites.prefix(2))] {
                let actor = ActingUser(userID: clinician.id, role: .clinician, siteIDs: Set(granted))
                let small = try await Self.export(store, actor, pageSize: 3)
                let whole = try await Self.export(store, actor, pageSize: 100_000)
                for type in BulkExportJobs.types {
                    let lines = small[type] ?? []
                    #expect(lines.sorted() == (whole[type] ?? []).sorted(), "\(type): pages of 3 write what one page per site writes")
                    let ids = lines.compactMap { line in
                        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
                    }
                    #expect(Set(ids).count == lines.count, "\(type): each resource once")
                }
                for (type, table) in [("Patient", "patients"), ("Condition", "episodes"), ("Procedure", "procedures"),
                                      ("QuestionnaireResponse", "questionnaire_responses"), ("Consent", "consents")] {
                    let expected = try await Self.count(store, table, sites: granted)
                    #expect(small[type]?.count ?? 0 == expected, "\(type): every \(table) row of the \(granted.count) granted sites")
                }
                #expect((small["Patient"]?.count ?? 0) > 6, "more patients than two pages")
            }
        }
    }
}
