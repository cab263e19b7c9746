import FluentKit
import SQLKit

/// Every schema migration, in the order it runs.
///
/// **A shipped migration is never edited; add a new one.** Append-only: a migration that has shipped is never
/// edited, renamed, reordered or removed; a change to the schema is a new migration with the next number
/// (`M0023_…`). Each migration's `name` is its number and title, which is what is recorded in `_fluent_migrations`.
/// Each runs in its own transaction with its log row (`OssaDatabase.migrate`), so one that fails leaves no trace.
/// Closed sets stored as text get a constraint in a migration too (see `M0022_CheckClosedSets`).
public enum OssaMigrations {
    public static let all: [any Migration] = [
        M0001_CreateSites(),
        M0002_CreateRoles(),
        M0003_CreatePatients(),
        M0004_CreateUsers(),
        M0005_CreateSiteGrants(),
        M0006_CreateEpisodes(),
        M0007_CreateScreeningDecisions(),
        M0008_CreateImaging(),
        M0009_CreateProcedures(),
        M0010_CreateFollowUp(),
        M0011_CreateInvitationsAndOutbox(),
        M0012_CreateOutcomeEvents(),
        M0013_CreateSessions(),
        M0014_CreateAuditLog(),
        M0015_AddClinicalRecordColumns(),
        M0016_CreateAuditAnchor(),
        M0020_CreateAPITokens(),
        M0021_CreateLoginFailures(),
        M0022_CheckClosedSets(),
        M0023_CreateFormSubmissions(),
        M0024_CreateRulesetsAndWordings(),
        M0025_CreatePlansAdjunctsAndAddenda(),
        M0026_AddWorklistIndexes(),
        M0027_AddWorklistOrderAndMRNSearch(),
        M0028_AddOutboxLeases(),
        M0029_AddPatientPortal(),
        M0030_CreateConsultRequests(),
        M0031_CreateDiaryAndRedFlags(),
        M0032_CreateMessageTemplates(),
        M0033_AddAnalytics(),
        M0034_CreateInstallationSecrets(),
        M0035_CreateConsents(),
        M0036_AddWriteRevisionIndex(),
        M0037_AddExportIndexes(),
        M0038_CoverWorklistTimepoints(),
        M0039_CheaperClosedSetTriggers(),
    ]
}

/// A numbered migration: its Fluent name is its type name (`M0001_CreateSites`).
protocol NumberedMigration: AsyncMigration {}

extension NumberedMigration {
    var name: String { String(describing: Self.self) }
}

extension Database {
    /// The SQLKit view of a Fluent database (both drivers are SQL drivers).
    func sqlDatabase() throws -> any SQLDatabase {
        try OssaDatabase.sql(self)
    }

    /// Creates a (unique) index; Fluent's schema builder has no indexes, SQLKit does.
    func createIndex(_ name: String, on table: String, _ columns: [String], unique: Bool = false) async throws {
        var builder = try sqlDatabase().create(index: name).on(table)
        if unique { builder = builder.unique() }
        for column in columns { builder = builder.column(column) }
        try await builder.run()
    }
}
