import FluentKit

struct M0004_CreateUsers: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("users")
            .id()
            .field("email", .string, .required)
            .field("display_name", .string, .required)
            .field("role", .string, .required, .references("roles", "name", onDelete: .restrict))
            .field("password_hash", .string)
            .field("patient_id", .uuid, .references("patients", "id", onDelete: .restrict))
            .field("disabled", .bool, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "email", name: "uq_users_email")
            .create()
        try await database.createIndex("ix_users_patient", on: "users", ["patient_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("users").delete()
    }
}
