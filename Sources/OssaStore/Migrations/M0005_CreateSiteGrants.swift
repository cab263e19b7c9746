import FluentKit

struct M0005_CreateSiteGrants: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("site_grants")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id", onDelete: .cascade))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("created_at", .datetime)
            .unique(on: "user_id", "site_id", name: "uq_site_grants_user_site")
            .create()
        try await database.createIndex("ix_site_grants_site", on: "site_grants", ["site_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("site_grants").delete()
    }
}
