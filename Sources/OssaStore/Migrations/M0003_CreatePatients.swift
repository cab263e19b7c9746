import FluentKit

struct M0003_CreatePatients: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("patients")
            .id()
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("mrn", .string)
            .field("family_name", .string, .required)
            .field("given_name", .string, .required)
            .field("name_search", .string, .required)
            .field("birth_date", .string, .required)
            .field("sex", .string)
            .field("email", .string)
            .field("phone", .string)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "site_id", "mrn", name: "uq_patients_site_mrn")
            .create()
        // Site-filtered, name-ordered listing and search.
        try await database.createIndex("ix_patients_site_name", on: "patients", ["site_id", "family_name", "given_name"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("patients").delete()
    }
}
