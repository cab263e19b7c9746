import FluentKit
import SQLKit

/// Indexes on `(site_id, id)` for the tables `$export` reads in keyset pages. The export reads one site at a time in
/// id order after the last id read; without these, a page of a site (`site_id IN …` with `ORDER BY id`) was read
/// through the site index and sorted, so every page cost as much as all the site's rows and an export of the
/// 20,000-patient demo registry took minutes (quadratic in the registry's size).
struct M0037_AddExportIndexes: NumberedMigration {
    static let tables = ["patients", "episodes", "procedures", "questionnaire_responses", "imaging_studies", "consents"]

    func prepare(on database: any Database) async throws {
        for table in Self.tables { try await database.createIndex("ix_\(table)_site_id", on: table, ["site_id", "id"]) }
    }

    func revert(on database: any Database) async throws {
        for table in Self.tables { try await database.sqlDatabase().drop(index: "ix_\(table)_site_id").run() }
    }
}
