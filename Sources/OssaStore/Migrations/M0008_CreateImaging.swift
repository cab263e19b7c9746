import FluentKit

struct M0008_CreateImaging: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("imaging_studies")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("modality", .string, .required)
            .field("study_date", .string, .required)
            .field("kellgren_lawrence", .int)
            .field("ahlback", .string)
            .field("tonnis", .int)
            .field("other_findings_json", .string)
            .field("created_at", .datetime)
            .create()
        try await database.createIndex("ix_imaging_studies_episode_date", on: "imaging_studies", ["episode_id", "study_date"])
        try await database.createIndex("ix_imaging_studies_site", on: "imaging_studies", ["site_id"])

        try await database.schema("subregion_findings")
            .id()
            .field("study_id", .uuid, .required, .references("imaging_studies", "id", onDelete: .cascade))
            .field("subregion", .string, .required)
            .field("bml_size_grade", .int, .required)
            .field("bml_percent_grade", .int)
            .field("lesion_count", .int)
            .unique(on: "study_id", "subregion", name: "uq_subregion_findings_study_subregion")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("subregion_findings").delete()
        try await database.schema("imaging_studies").delete()
    }
}
