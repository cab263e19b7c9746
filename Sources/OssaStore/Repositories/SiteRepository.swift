import FluentKit
import Foundation
import OssaCore
import SQLKit

extension SiteRecord {
    init(_ model: SiteModel) throws {
        self.init(id: try model.requireID(), code: model.code, name: model.name, createdAt: model.createdAt, updatedAt: model.updatedAt)
    }

    /// A row of `SiteRecord.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        self.init(id: try row.decode(column: "id", as: UUID.self), code: try row.decode(column: "code", as: String.self),
                  name: try row.decode(column: "name", as: String.self), createdAt: try row.decode(column: "created_at", as: Date?.self),
                  updatedAt: try row.decode(column: "updated_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "code", "name", "created_at", "updated_at"])
    }
}

/// Sites: admins create and rename them; staff see the sites they are granted.
public struct SiteRepository: Sendable {
    let database: OssaDatabase

    public func create(_ actor: ActingUser, code: String, name: String) async throws -> SiteRecord {
        _ = try await Access.require(actor, .create, .site, database: database)
        let code = try requiredText(code, field: "code", max: 32)
        let name = try requiredText(name, field: "name")
        return try await mapConstraint("a site with code \(code) already exists") {
            try await database.transaction { db in
                let model = SiteModel()
                model.code = code
                model.name = name
                try await model.create(on: db)
                try await Access.audit(actor, .create, .site, model.id, on: db)
                return try SiteRecord(model)
            }
        }
    }

    public func get(_ actor: ActingUser, _ id: UUID) async throws -> SiteRecord {
        let scope = try await Access.require(actor, .read, .site, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await Self.scoped(SiteModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "site", id: id.lowerString)
            }
            return try SiteRecord(model)
        }
    }

    public func list(_ actor: ActingUser, _ page: PageRequest = PageRequest()) async throws -> Page<SiteRecord> {
        let scope = try await Access.require(actor, .list, .site, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            guard let query = Self.scoped(SiteModel.query(on: db), actor, scope) else {
                return Page(items: [], total: 0, limit: page.limit, offset: page.offset)
            }
            return try await query.filterLowerLike(["code", "name"], page.likePattern)
                .sort(\.$code).sort(\.$id)
                .page(page, map: SiteRecord.init)
        }
    }

    public func update(_ actor: ActingUser, _ id: UUID, name: String) async throws -> SiteRecord {
        _ = try await Access.require(actor, .update, .site, recordID: id.lowerString, database: database)
        let name = try requiredText(name, field: "name")
        return try await database.transaction { db in
            guard let model = try await SiteModel.find(id, on: db) else {
                throw StoreError.notFound(recordType: "site", id: id.lowerString)
            }
            model.name = name
            try await model.update(on: db)
            try await Access.audit(actor, .update, .site, id, on: db)
            return try SiteRecord(model)
        }
    }

    static func scoped(_ query: QueryBuilder<SiteModel>, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> QueryBuilder<SiteModel>? {
        switch scope {
        case .all: query
        case .grantedSites: actor.siteIDs.isEmpty ? nil : query.filter(\.$id ~~ actor.siteIDList)
        case .ownRecord, .denied: nil
        }
    }

    /// `scoped`'s rule for one site.
    static func allows(_ actor: ActingUser, _ scope: AccessPolicy.Scope, site: UUID) -> Bool {
        switch scope {
        case .all: true
        case .grantedSites: actor.siteIDs.contains(site)
        case .ownRecord, .denied: false
        }
    }
}
