import FluentKit
import Foundation
import SQLKit

/// The installation's secrets, each made once (32 random bytes) the first time it is asked for. Several servers on
/// one PostgreSQL database agree on it: the insert skips a row another server made first, and all read the row.
public struct InstallationSecrets: Sendable {
    let database: OssaDatabase

    /// The key of research ids (`ResearchIdentity.deidentified`).
    public static let researchIDKey = "research-id-key"

    public func secret(_ name: String) async throws -> Data {
        try await database.transaction { db in
            let sql = try db.sqlDatabase()
            if let existing = try await Self.read(name, on: sql) { return existing }
            var generator = SystemRandomNumberGenerator()
            let bytes = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            try await sql.insert(into: "installation_secrets").columns("name", "secret", "created_at")
                .values(SQLBind(name), SQLBind(bytes), SQLBind(Date()))
                .ignoringConflicts(with: "name")
                .run()
            guard let made = try await Self.read(name, on: sql) else { throw StoreError.notFound(recordType: "installation secret", id: name) }
            return made
        }
    }

    private static func read(_ name: String, on sql: any SQLDatabase) async throws -> Data? {
        try await sql.select().column("secret").from("installation_secrets").where("name", .equal, SQLBind(name)).first()?
            .decode(column: "secret", as: Data.self)
    }
}
