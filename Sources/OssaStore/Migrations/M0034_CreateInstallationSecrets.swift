import FluentKit

/// Per-installation secrets (issue #12): the key of the de-identified exports' research ids, made on first use and
/// never shown, so that research ids are stable across exports and cannot be traced back without the database.
struct M0034_CreateInstallationSecrets: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("installation_secrets")
            .field("name", .string, .identifier(auto: false))
            .field("secret", .data, .required)
            .field("created_at", .datetime, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("installation_secrets").delete()
    }
}
