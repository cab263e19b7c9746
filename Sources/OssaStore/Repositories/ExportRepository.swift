import FluentKit
import SQLKit
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
    public func start(_ actor: ActingUser, what: String, deidentified: Bool = false) async throws {
        let type: RecordType = deidentified ? .deidentified : .export
        _ = try await Access.require(actor, .export, type, recordID: what, database: database)
        _ = try await database.transaction { db in
            try await AuditLog.append(AuditEvent(actor: actor, action: .export, recordType: type, recordID: what), on: db)
        }
    }

    /// Identified exports are the staff's; a de-identified one (`charts(deidentified: true)`) is also the researchers'.
    private func scope(_ actor: ActingUser, deidentified: Bool = false) async throws -> AccessPolicy.Scope {
        try await Access.require(actor, .export, deidentified ? .deidentified : .export, database: database)
    }

    /// Records of `sites` only, when given (the caller's scope still applies).
    private static func sited<M: Model>(_ query: QueryBuilder<M>, _ sites: Set<UUID>?) -> QueryBuilder<M> {
        guard let sites else { return query }
        return query.filter(.path([.string("site_id")], schema: M.schemaOrAlias), .subset(inverse: false), .array(sites.map { .bind($0) }))
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

    /// The ids of the sites an export by `actor` reads, in id order: every site under an administrator's scope, else
    /// the actor's granted sites; only the `sites` ones among them when given. An export reads one site at a time.
    public func siteIDs(_ actor: ActingUser, sites: Set<UUID>? = nil, deidentified: Bool = false) async throws -> [UUID] {
        let scope = try await scope(actor, deidentified: deidentified)
        let ids: [UUID]
        switch scope {
        case .all:
            ids = try await database.bulkReadTransaction { db in
                try await db.sqlDatabase().select().column("id").from("sites").all().map { try $0.decode(column: "id", as: UUID.self) }
            }
        case .grantedSites: ids = Array(actor.siteIDs)
        case .ownRecord, .denied: ids = []
        }
        return ids.filter { sites?.contains($0) ?? true }.sorted { $0.uuidString < $1.uuidString }
    }

    public func patients(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil, sites: Set<UUID>? = nil) async throws -> [PatientRecord] {
        let scope = try await scope(actor)
        return try await database.bulkReadTransaction { db in
            guard var query = ClinicalScope.apply(PatientModel.query(on: db), actor, scope) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(\.$id ~~ Array(only)) }
            return try await Self.changed(Self.sited(query, sites), since: since, updated: true).sort(\.$id).limit(limit).all().map(PatientRecord.init)
        }
    }

    public func episodes(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil, sites: Set<UUID>? = nil) async throws -> [EpisodeRecord] {
        let scope = try await scope(actor)
        return try await database.bulkReadTransaction { db in
            guard var query = ClinicalScope.apply(EpisodeModel.query(on: db), actor, scope) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(\.$patient.$id ~~ Array(only)) }
            return try await Self.changed(Self.sited(query, sites), since: since, updated: true).sort(\.$id).limit(limit).all().map(EpisodeRecord.init)
        }
    }

    /// Procedures with their episode's patient.
    public func procedures(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil, sites: Set<UUID>? = nil) async throws -> [(StoredProcedure, patientID: UUID)] {
        let scope = try await scope(actor)
        return try await database.bulkReadTransaction { db in
            guard var query = ClinicalScope.apply(ProcedureModel.query(on: db), actor, scope)?
                .join(EpisodeModel.self, on: \ProcedureModel.$episode.$id == \EpisodeModel.$id) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(EpisodeModel.self, \.$patient.$id ~~ Array(only)) }
            let models = try await Self.changed(Self.sited(query, sites), since: since, updated: true).sort(\.$id).limit(limit).all()
            let injections = try await ProcedureRepository.injections(of: try models.map { try $0.requireID() }, on: db)
            return try models.map { model in
                (try ProcedureRepository.stored(model, injections: injections[try model.requireID()] ?? []), try model.joined(EpisodeModel.self).$patient.id)
            }
        }
    }

    /// Questionnaire responses with their episode's patient: one SQLKit statement a page (the largest type of an
    /// export, so read without Fluent models).
    public func responses(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil, sites: Set<UUID>? = nil) async throws -> [(QuestionnaireResponseRecord, patientID: UUID)] {
        let scope = try await scope(actor)
        let granted: [UUID]?
        switch scope {
        case .all: granted = nil
        case .grantedSites:
            guard !actor.siteIDs.isEmpty else { return [] }
            granted = actor.siteIDList
        case .ownRecord, .denied: return []
        }
        return try await database.bulkReadTransaction { db in
            var query = try db.sqlDatabase().select()
                .columns(QuestionnaireRepository.columns.map { SQLColumn($0, table: "r") })
                .column(SQLColumn("patient_id", table: "e"))
                .from(SQLAlias(SQLIdentifier("questionnaire_responses"), as: SQLIdentifier("r")))
                .join(SQLAlias(SQLIdentifier("episodes"), as: SQLIdentifier("e")), on: SQLColumn("id", table: "e"), .equal, SQLColumn("episode_id", table: "r"))
            if let granted { query = query.where(SQLColumn("site_id", table: "r"), .in, SQLBind.group(granted)) }
            if let sites { query = query.where(SQLColumn("site_id", table: "r"), .in, SQLBind.group(Array(sites))) }
            if let only { query = query.where(SQLColumn("patient_id", table: "e"), .in, SQLBind.group(Array(only))) }
            if let after { query = query.where(SQLColumn("id", table: "r"), .greaterThan, SQLBind(after)) }
            if let since { query = query.where(SQLColumn("created_at", table: "r"), .greaterThanOrEqual, SQLBind(since)) }
            return try await query.orderBy(SQLColumn("id", table: "r")).limit(limit).all().map { row in
                (try QuestionnaireResponseRecord(row: row), try row.decode(column: "patient_id", as: UUID.self))
            }
        }
    }

    /// Imaging studies with their episode's patient and side.
    public func imaging(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil, sites: Set<UUID>? = nil) async throws -> [(ImagingStudyRecord, patientID: UUID, side: Side)] {
        let scope = try await scope(actor)
        return try await database.bulkReadTransaction { db in
            guard var query = ClinicalScope.apply(ImagingStudyModel.query(on: db), actor, scope)?
                .join(EpisodeModel.self, on: \ImagingStudyModel.$episode.$id == \EpisodeModel.$id) else { return [] }
            if let after { query = query.filter(\.$id > after) }
            if let only { query = query.filter(EpisodeModel.self, \.$patient.$id ~~ Array(only)) }
            let models = try await Self.changed(Self.sited(query, sites), since: since, updated: false).sort(\.$id).limit(limit).all()
            let findings = try await ImagingRepository.findings(of: try models.map { try $0.requireID() }, on: db)
            return try models.map { model in
                let episode = try model.joined(EpisodeModel.self)
                return (try ImagingRepository.record(model, findings: findings[try model.requireID()] ?? []), episode.$patient.id,
                        try storedValue(Side.self, episode.side, field: "side"))
            }
        }
    }

    /// Consent decisions in id order, each with whether it is the patient's standing one of its kind (computed from
    /// all of the page's patients' decisions). Two statements a page.
    public func consents(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, patients only: Set<UUID>? = nil,
                         sites: Set<UUID>? = nil) async throws -> [(ConsentRecord, active: Bool)] {
        let scope = try await scope(actor)
        guard scope != .denied, scope == .all || !actor.siteIDs.isEmpty else { return [] }
        return try await database.bulkReadTransaction { db in
            let sql = try db.sqlDatabase()
            var query = ConsentRepository.select(sql)
            if scope == .grantedSites { query = query.where(SQLColumn("site_id", table: "c"), .in, SQLBind.group(actor.siteIDList)) }
            if let sites { query = query.where(SQLColumn("site_id", table: "c"), .in, SQLBind.group(Array(sites))) }
            if let only { query = query.where(SQLColumn("patient_id", table: "c"), .in, SQLBind.group(Array(only))) }
            if let after { query = query.where(SQLColumn("id", table: "c"), .greaterThan, SQLBind(after)) }
            if let since { query = query.where(SQLColumn("recorded_at", table: "c"), .greaterThanOrEqual, SQLBind(since)) }
            let page = try await query.orderBy(SQLColumn("id", table: "c")).limit(limit).all().map(ConsentRepository.record)
            let standing = Dictionary(grouping: try await ConsentRepository.records(patients: Array(Set(page.map(\.patientID))), on: sql),
                                      by: \.patientID).mapValues(ConsentRecord.current)
            return page.map { ($0, standing[$0.patientID]?[$0.kind]?.id == $0.id) }
        }
    }

    /// The episodes `charts` would read without `since`.
    public func chartCount(_ actor: ActingUser, sites: Set<UUID>? = nil, deidentified: Bool = false) async throws -> Int {
        let scope = try await scope(actor, deidentified: deidentified)
        return try await database.bulkReadTransaction { db in
            guard var query = ClinicalScope.apply(EpisodeModel.query(on: db), actor, scope) else { return 0 }
            if let sites { query = query.filter(\.$site.$id ~~ Array(sites)) }
            return try await query.count()
        }
    }

    /// Whole charts for the research files (CSV wide and long, de-identified): a page of episodes in id order after
    /// `after`, each with its patient, site code, timepoints, questionnaire responses, procedures and outcome events —
    /// six statements a page whatever its size. `sites` keeps only those sites (within the caller's); `since` keeps
    /// the episodes of which anything was created or changed at or after it. A page may come back shorter than
    /// `limit` when `since` drops episodes; `next` is the id to continue after (nil at the end). `deidentified`: read
    /// under the de-identified export's rule (researchers too); the caller must de-identify what it writes.
    public func charts(_ actor: ActingUser, after: UUID?, since: Date?, limit: Int, sites: Set<UUID>? = nil,
                       deidentified: Bool = false) async throws -> ExportChartPage {
        let scope = try await scope(actor, deidentified: deidentified)
        return try await database.bulkReadTransaction { db in
            guard var query = ClinicalScope.apply(EpisodeModel.query(on: db), actor, scope) else { return ExportChartPage(charts: [], next: nil) }
            if let after { query = query.filter(\.$id > after) }
            if let sites { query = query.filter(\.$site.$id ~~ Array(sites)) }
            let read = try await query.sort(\.$id).limit(limit).all()
            guard !read.isEmpty else { return ExportChartPage(charts: [], next: nil) }
            let next = read.count == limit ? try read.last?.requireID() : nil
            // De-identified: patients who denied research use of their data are left out (and counted).
            let denied = deidentified ? try await ConsentRepository.researchDenied(among: Array(Set(read.map(\.$patient.id))), on: try db.sqlDatabase()) : []
            let episodes = read.filter { !denied.contains($0.$patient.id) }
            guard !episodes.isEmpty else { return ExportChartPage(charts: [], next: next, leftOut: denied) }
            let ids = try episodes.map { try $0.requireID() }
            let patients = Dictionary(try await PatientModel.query(on: db).filter(\.$id ~~ Array(Set(episodes.map(\.$patient.id)))).all()
                .map { (try $0.requireID(), try PatientRecord($0)) }, uniquingKeysWith: { a, _ in a })
            let siteCodes = Dictionary(try await SiteModel.query(on: db).filter(\.$id ~~ Array(Set(episodes.map(\.$site.id)))).all()
                .map { (try $0.requireID(), $0.code) }, uniquingKeysWith: { a, _ in a })
            let timepoints = Dictionary(grouping: try await FollowUpTimepointModel.query(on: db).filter(\.$episode.$id ~~ ids).all()
                .map(TimepointRecord.init), by: \.episodeID)
            let responses = Dictionary(grouping: try await QuestionnaireResponseModel.query(on: db).filter(\.$episode.$id ~~ ids).all()
                .map(QuestionnaireResponseRecord.init), by: \.episodeID)
            let procedureModels = try await ProcedureModel.query(on: db).filter(\.$episode.$id ~~ ids).all()
            let injections = try await ProcedureRepository.injections(of: try procedureModels.map { try $0.requireID() }, on: db)
            let procedures = Dictionary(grouping: try procedureModels.map { try ProcedureRepository.stored($0, injections: injections[try $0.requireID()] ?? []) },
                                        by: \.episodeID)
            let outcomes = Dictionary(grouping: try await OutcomeEventModel.query(on: db).filter(\.$episode.$id ~~ ids).all()
                .map(OutcomeEventRecord.init), by: \.episodeID)
            var charts: [ExportChart] = []
            for model in episodes {
                let episode = try EpisodeRecord(model)
                guard let patient = patients[episode.patientID] else { continue }
                let chart = ExportChart(
                    episode: episode, patient: patient, siteCode: siteCodes[episode.siteID] ?? "",
                    timepoints: (timepoints[episode.id] ?? []).sorted { ($0.dueDate, $0.code) < ($1.dueDate, $1.code) },
                    responses: (responses[episode.id] ?? []).sorted { ($0.completedAt, $0.id.uuidString) < ($1.completedAt, $1.id.uuidString) },
                    procedures: (procedures[episode.id] ?? []).sorted { ($0.record.date, $0.id.uuidString) < ($1.record.date, $1.id.uuidString) },
                    outcomes: (outcomes[episode.id] ?? []).sorted { ($0.date, $0.id.uuidString) < ($1.date, $1.id.uuidString) })
                if let since, !chart.changed(since: since) { continue }
                charts.append(chart)
            }
            return ExportChartPage(charts: charts, next: next, leftOut: denied)
        }
    }
}

/// One page of `ExportRepository.charts`.
public struct ExportChartPage: Sendable {
    public var charts: [ExportChart]
    /// The episode id to read after for the next page; nil when this was the last.
    public var next: UUID?
    /// De-identified: the patients of the page left out because they denied research use.
    public var leftOut: Set<UUID> = []
}

/// An episode's whole chart, as the research exports write it.
public struct ExportChart: Sendable {
    public var episode: EpisodeRecord
    public var patient: PatientRecord
    public var siteCode: String
    /// By due date.
    public var timepoints: [TimepointRecord]
    /// By completion.
    public var responses: [QuestionnaireResponseRecord]
    /// By date.
    public var procedures: [StoredProcedure]
    /// By date.
    public var outcomes: [OutcomeEventRecord]

    public init(episode: EpisodeRecord, patient: PatientRecord, siteCode: String, timepoints: [TimepointRecord],
                responses: [QuestionnaireResponseRecord], procedures: [StoredProcedure], outcomes: [OutcomeEventRecord]) {
        (self.episode, self.patient, self.siteCode, self.timepoints) = (episode, patient, siteCode, timepoints)
        (self.responses, self.procedures, self.outcomes) = (responses, procedures, outcomes)
    }

    /// Anything of the chart created or changed at or after `since`.
    func changed(since: Date) -> Bool {
        let stamps: [Date?] = [episode.createdAt, episode.updatedAt, patient.updatedAt]
            + responses.map(\.createdAt) + procedures.map(\.createdAt) + outcomes.map(\.createdAt)
        return stamps.contains { ($0 ?? .distantPast) >= since }
    }
}
