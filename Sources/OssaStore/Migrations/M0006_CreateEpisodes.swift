import FluentKit

struct M0006_CreateEpisodes: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("episodes")
            .id()
            .field("patient_id", .uuid, .required, .references("patients", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("joint", .string, .required)
            .field("side", .string, .required)
            .field("diagnosis_type", .string, .required)
            .field("diagnosis_json", .string, .required)
            .field("status", .string, .required)
            .field("last_contact_date", .string)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        try await database.createIndex("ix_episodes_site_patient", on: "episodes", ["site_id", "patient_id"])
        try await database.createIndex("ix_episodes_patient", on: "episodes", ["patient_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("episodes").delete()
    }
}
