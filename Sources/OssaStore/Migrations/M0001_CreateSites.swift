import FluentKit

struct M0001_CreateSites: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("sites")
            .id()
            .field("code", .string, .required)
            .field("name", .string, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "code", name: "uq_sites_code")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("sites").delete()
    }
}
