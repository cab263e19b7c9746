import FluentKit
import Foundation
import OssaCore

/// Read models: what one page or list shows, loaded in one transaction with a fixed number of statements (never one
/// per row) and audited with one batched append. Access rules are the repositories' own (`AccessPolicy` and the
/// same scoped queries), applied in the WHERE clause of every statement.
///
/// Statement counts (SQLite and PostgreSQL alike; `ReadModelTests` counts them):
/// - `patientList`: viewer, sites, patient count, patient page, their episodes (one `IN` query), audit (3) — 8.
/// - `episodePage`: viewer, episode, patient, site, the patient's episodes, audit (3) — 8.
public struct ReadModels: Sendable {
    let database: OssaDatabase

    /// The signed-in user as the layout shows them.
    public struct Viewer: Sendable, Hashable {
        public var displayName: String
        public var role: Role
    }

    /// GET /patients.
    public struct PatientList: Sendable {
        public var viewer: Viewer
        /// The sites the viewer may filter by (none for a patient login).
        public var sites: [SiteRecord]
        public var patients: Page<PatientRecord>
        /// Each listed patient's episodes, newest first.
        public var episodes: [UUID: [EpisodeRecord]]
    }

    public func patientList(_ actor: ActingUser, _ page: PageRequest, site: UUID?) async throws -> PatientList {
        let patientScope = try await Access.require(actor, .list, .patient, database: database)
        let episodeScope = try await Access.require(actor, .list, .episode, database: database)
        let siteScope = AccessPolicy.scope(actor.role, .list, .site)
        let page = try page.validated()
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            var sites: [SiteRecord] = []
            if siteScope != .denied, let query = SiteRepository.scoped(SiteModel.query(on: db), actor, siteScope) {
                sites = try await query.sort(\.$code).limit(PageRequest.maximumLimit).all().map(SiteRecord.init)
            }
            var patients = Page<PatientRecord>(items: [], total: 0, limit: page.limit, offset: page.offset)
            if var query = PatientRepository.scoped(PatientModel.query(on: db), actor, patientScope) {
                if let site { query = query.filter(\.$site.$id == site) }
                patients = try await query.filterLike("name_search", page.likePattern)
                    .sort(\.$familyName).sort(\.$givenName).sort(\.$id)
                    .page(page, map: PatientRecord.init)
            }
            var episodes: [UUID: [EpisodeRecord]] = [:]
            let ids = patients.items.map(\.id)
            if !ids.isEmpty, let query = EpisodeRepository.scoped(EpisodeModel.query(on: db), actor, episodeScope) {
                for model in try await query.filter(\.$patient.$id ~~ ids).sort(\.$createdAt, .descending).sort(\.$id).all() {
                    episodes[model.$patient.id, default: []].append(try EpisodeRecord(model))
                }
            }
            try await AuditLog.appendBatch([
                AuditEvent(actor: actor, action: .list, recordType: .patient, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .episode, recordID: nil),
            ], on: db)
            return PatientList(viewer: viewer, sites: sites, patients: patients, episodes: episodes)
        }
    }

    /// GET /episodes/:episodeID.
    public struct EpisodePage: Sendable {
        public var viewer: Viewer
        public var episode: EpisodeRecord
        public var patient: PatientRecord
        public var site: SiteRecord?
        /// The patient's other episodes, newest first.
        public var otherEpisodes: [EpisodeRecord]
    }

    /// One episode with its patient; a record the actor may not see is `StoreError.notFound`.
    public func episodePage(_ actor: ActingUser, episodeID: UUID) async throws -> EpisodePage {
        let episodeScope = try await Access.require(actor, .read, .episode, recordID: episodeID.lowerString, database: database)
        let patientScope = try await Access.require(actor, .read, .patient, database: database)
        let siteScope = AccessPolicy.scope(actor.role, .read, .site)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            guard let episodeModel = try await EpisodeRepository.scoped(EpisodeModel.query(on: db), actor, episodeScope)?
                .filter(\.$id == episodeID).first() else {
                throw StoreError.notFound(recordType: "episode", id: episodeID.lowerString)
            }
            let patientID = episodeModel.$patient.id
            guard let patientModel = try await PatientRepository.scoped(PatientModel.query(on: db), actor, patientScope)?
                .filter(\.$id == patientID).first() else {
                throw StoreError.notFound(recordType: "episode", id: episodeID.lowerString)
            }
            let patient = try PatientRecord(patientModel)
            var site: SiteRecord?
            if siteScope != .denied, let query = SiteRepository.scoped(SiteModel.query(on: db), actor, siteScope) {
                site = try await query.filter(\.$id == patient.siteID).first().map(SiteRecord.init)
            }
            let others = try await EpisodeRepository.scoped(EpisodeModel.query(on: db), actor, episodeScope)?
                .filter(\.$patient.$id == patientID).filter(\.$id != episodeID)
                .sort(\.$createdAt, .descending).sort(\.$id).limit(50).all().map(EpisodeRecord.init) ?? []
            try await AuditLog.appendBatch([
                AuditEvent(actor: actor, action: .read, recordType: .episode, recordID: episodeID.lowerString),
                AuditEvent(actor: actor, action: .read, recordType: .patient, recordID: patientID.lowerString),
            ], on: db)
            return EpisodePage(viewer: viewer, episode: try EpisodeRecord(episodeModel), patient: patient, site: site,
                               otherEpisodes: others)
        }
    }

    /// The signed-in user's name and role for the layout (any role may read its own account).
    public func viewer(_ actor: ActingUser) async throws -> Viewer {
        try await database.transaction { db in try await Self.viewer(actor, on: db) }
    }

    static func viewer(_ actor: ActingUser, on db: any Database) async throws -> Viewer {
        guard let model = try await UserModel.find(actor.userID, on: db) else {
            throw StoreError.notFound(recordType: "user", id: actor.userID.lowerString)
        }
        return Viewer(displayName: model.displayName, role: try storedValue(Role.self, model.role, field: "role"))
    }
}

extension OssaStore {
    public var readModels: ReadModels { ReadModels(database: database) }
}
