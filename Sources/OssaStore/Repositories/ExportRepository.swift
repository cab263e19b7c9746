import FluentKit
import Foundation
import OssaCore

/// The identified records of the caller's sites in pages, for FHIR Bulk Data `$export`: each read is one page in id
/// order after the last id read (keyset paging, so a page costs the same at the end of the registry as at its
/// start), optionally only records created or changed since an instant. Clinicians and coordinators export their
/// sites' records; the export is audited when it starts (`start`) and each page is read in its own short
/// transaction, so an export never holds the database for long.
public struct ExportRepository: Sendable {
    let database: OssaDatabase

    /// The actor may export; audits the export (`what` names the job and its types). Throws `AccessDenied` otherwise.
    public func start(_ actor: ActingUser, what: String) async throws {
        _ = try await Access.require(actor, .export, .export, recordID: what, database: database)
        _ = try await database.transaction { db in
            try await AuditLog.append(AuditEvent(actor: actor, action: .export, recordType: .export, recordID: what), on: db)
        }
    }

    private func scope(_ actor: ActingUser) async throws -> AccessPolicy.Scope {
        try await Access.require(actor, .export, .export, database: database)
    }

    /// Records changed since `since`: created or updated at or after it.
    private static func changed<M: Model>(_ query: QueryBuilder<M>, since: Date?, updated: Bool) -> QueryBuilder<M> {
        guard let since else { return query }
        guard updated else { return query.filter(.path([.string("created_at")], schema: M.schemaOrAlias), .greaterThanOrEqual, .bind(since)) }
        return query.group(.or) { group in
            group.filter(.path([.string("created_at")], schema: M.schemaOrAlias), .greaterThanOrEqual, .bind(since))
                .filter(.path([.string("updated_at")], schema: M.schemaOrAlias), .greaterThanOrEqual, .bind(since))
        }
    }

    public func patients(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil) async throws -> [PatientRecord] {
        let scope = try await scope(actor)
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(PatientModel.query(on: db), actor, scope) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(\.$id ~~ Array(only)) }
            return try await Self.changed(query, since: since, updated: true).sort(\.$id).limit(limit).all().map(PatientRecord.init)
        }
    }

    public func episodes(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil) async throws -> [EpisodeRecord] {
        let scope = try await scope(actor)
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(EpisodeModel.query(on: db), actor, scope) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(\.$patient.$id ~~ Array(only)) }
            return try await Self.changed(query, since: since, updated: true).sort(\.$id).limit(limit).all().map(EpisodeRecord.init)
        }
    }

    /// Procedures with their episode's patient.
    public func procedures(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil) async throws -> [(StoredProcedure, patientID: UUID)] {
        let scope = try await scope(actor)
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(ProcedureModel.query(on: db), actor, scope)?
                .join(EpisodeModel.self, on: \ProcedureModel.$episode.$id == \EpisodeModel.$id) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(EpisodeModel.self, \.$patient.$id ~~ Array(only)) }
            let models = try await Self.changed(query, since: since, updated: true).sort(\.$id).limit(limit).all()
            let injections = try await ProcedureRepository.injections(of: try models.map { try $0.requireID() }, on: db)
            return try models.map { model in
                (try ProcedureRepository.stored(model, injections: injections[try model.requireID()] ?? []), try model.joined(EpisodeModel.self).$patient.id)
            }
        }
    }

    /// Questionnaire responses with their episode's patient.
    public func responses(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil) async throws -> [(QuestionnaireResponseRecord, patientID: UUID)] {
        let scope = try await scope(actor)
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(QuestionnaireResponseModel.query(on: db), actor, scope)?
                .join(EpisodeModel.self, on: \QuestionnaireResponseModel.$episode.$id == \EpisodeModel.$id) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(EpisodeModel.self, \.$patient.$id ~~ Array(only)) }
            return try await Self.changed(query, since: since, updated: false).sort(\.$id).limit(limit).all().map { model in
                (try QuestionnaireResponseRecord(model), try model.joined(EpisodeModel.self).$patient.id)
            }
        }
    }

    /// Imaging studies with their episode's patient and side.
    public func imaging(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil) async throws -> [(ImagingStudyRecord, patientID: UUID, side: Side)] {
        let scope = try await scope(actor)
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(ImagingStudyModel.query(on: db), actor, scope)?
                .join(EpisodeModel.self, on: \ImagingStudyModel.$episode.$id == \EpisodeModel.$id) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(EpisodeModel.self, \.$patient.$id ~~ Array(only)) }
            let models = try await Self.changed(query, since: since, updated: false).sort(\.$id).limit(limit).all()
            let findings = try await ImagingRepository.findings(of: try models.map { try $0.requireID() }, on: db)
            return try models.map { model in
                let episode = try model.joined(EpisodeModel.self)
                return (try ImagingRepository.record(model, findings: findings[try model.requireID()] ?? []), episode.$patient.id,
                        try storedValue(Side.self, episode.side, field: "side"))
            }
        }
    }
}
