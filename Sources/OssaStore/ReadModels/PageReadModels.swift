import FluentKit
import Foundation
import OssaCore
import SQLKit

/// Read models: what one page or list shows, loaded in one transaction with a fixed number of statements (never one
/// per row) and audited with one batched append. Access rules are the repositories' own (`AccessPolicy` and the
/// same scoped queries), applied in the WHERE clause of every statement.
///
/// Statement counts (`ReadModelTests` counts them; on SQLite the reads are one transaction on a read-only
/// connection and the audit append — last entry, insert, anchor — another on the writer, each with BEGIN and COMMIT):
/// - `patientList`: viewer, sites, patient count, patient page, their episodes (one `IN` query), audit (3) — 8.
/// - `episodePage`: viewer, episode, patient, site, the patient's episodes, screening decisions, imaging studies and
///   their findings, procedures and their injections, timepoints, questionnaire responses, outcome events,
///   the plan, adjunct sessions, addenda of the procedures, the names of the users who signed, audit (3) — at most 20
///   (findings, injections, addenda and names are not queried when there is nothing to look up), whatever the number
///   of records.
public struct ReadModels: Sendable {
    let database: OssaDatabase

    /// The signed-in user as the layout shows them.
    public struct Viewer: Sendable, Hashable {
        public var displayName: String
        public var role: Role

        public init(displayName: String, role: Role) {
            self.displayName = displayName
            self.role = role
        }
    }

    /// GET /patients.
    public struct PatientList: Sendable {
        public var viewer: Viewer
        /// The sites the viewer may filter by (none for a patient login).
        public var sites: [SiteRecord]
        public var patients: Page<PatientRecord>
        /// Each listed patient's episodes, newest first.
        public var episodes: [UUID: [EpisodeRecord]]
        /// The store's write revision this was read at (`OssaDatabase.writeRevision`).
        public var revision: Int64 = 0
    }

    /// The patient list's filters beyond the search: patients with at least one episode matching all that are given.
    public struct PatientFilter: Sendable, Hashable {
        public var joint: Joint?
        public var diagnosis: Diagnosis.Kind?
        public var status: EpisodeStatus?

        public init(joint: Joint? = nil, diagnosis: Diagnosis.Kind? = nil, status: EpisodeStatus? = nil) {
            (self.joint, self.diagnosis, self.status) = (joint, diagnosis, status)
        }

        var isEmpty: Bool { joint == nil && diagnosis == nil && status == nil }
    }

    /// The search matches the name (accent- and case-insensitive), the record number, or — written `YYYY-MM-DD` —
    /// the birth date.
    public func patientList(_ actor: ActingUser, _ page: PageRequest, site: UUID?,
                            filter: PatientFilter = PatientFilter()) async throws -> PatientList {
        let patientScope = try await Access.require(actor, .list, .patient, database: database)
        let episodeScope = try await Access.require(actor, .list, .episode, database: database)
        let siteScope = AccessPolicy.scope(actor.role, .list, .site)
        let page = try page.validated()
        let key = ReadModelKey(page: "patients", actor: actor, parameters: [
            String(page.limit), String(page.offset), page.search.map { "q=" + $0 } ?? "no search", site?.lowerString ?? "",
            filter.joint?.rawValue ?? "", filter.diagnosis?.rawValue ?? "", filter.status?.rawValue ?? "",
        ])
        var (list, revision) = try await database.cachedAuditedRead(key, actor: actor) { db in
            let viewer = try await Self.viewer(actor, on: db)
            var sites: [SiteRecord] = []
            if siteScope != .denied, let query = SiteRepository.scoped(SiteModel.query(on: db), actor, siteScope) {
                sites = try await query.sort(\.$code).limit(PageRequest.maximumLimit).all().map(SiteRecord.init)
            }
            // Patients and their episodes through SQLKit rows (a Fluent model's reflection was most of this page's
            // time), under the same rules as `PatientRepository.scoped` and `EpisodeRepository.scoped`.
            let sql = try db.sqlDatabase()
            var patients = Page<PatientRecord>(items: [], total: 0, limit: page.limit, offset: page.offset)
            if let scope = SQLScope.patient("p", actor, patientScope) {
                var conditions: [SQLQueryString] = [scope]
                if let site { conditions.append("p.site_id = \(bind: site)") }
                if let term = page.search?.trimmingCharacters(in: .whitespaces), !term.isEmpty {
                    if let day = try? CalendarDate(iso: term) {
                        conditions.append("p.birth_date = \(bind: day.iso)")
                    } else {
                        // Folded as `mrn_search` is written (`foldMRN`).
                        let mrn = "%" + (foldMRN(term) ?? "").replacingOccurrences(of: "\\", with: "\\\\")
                            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
                        let byMRN: SQLQueryString = "p.mrn_search LIKE \(bind: mrn) ESCAPE '\\'"
                        conditions.append(page.likePattern.map { "(p.name_search LIKE \(bind: $0) ESCAPE '\\' OR \(byMRN))" } ?? byMRN)
                    }
                }
                if !filter.isEmpty {
                    var episodeConditions: [SQLQueryString] = []
                    if let joint = filter.joint { episodeConditions.append("\(ident: "joint") = \(bind: joint.rawValue)") }
                    if let kind = filter.diagnosis { episodeConditions.append("\(ident: "diagnosis_type") = \(bind: kind.rawValue)") }
                    if let status = filter.status { episodeConditions.append("\(ident: "status") = \(bind: status.rawValue)") }
                    conditions.append("p.id IN (SELECT \(ident: "patient_id") FROM \(ident: "episodes") WHERE \(episodeConditions.joined(separator: " AND ")))")
                }
                let condition = conditions.joined(separator: " AND ")
                // Counted on `site_id` (in the search index) rather than the UUID id, so the count reads the index only.
                let total = try await sql.raw("SELECT COUNT(p.site_id) AS total FROM patients p WHERE \(condition)").first()?
                    .decode(column: "total", as: Int.self) ?? 0
                let items = try await sql.raw("""
                    SELECT \(PatientRecord.selectList("p")) FROM patients p WHERE \(condition)
                    ORDER BY p.family_name, p.given_name, p.id LIMIT \(literal: page.limit) OFFSET \(literal: page.offset)
                    """).all().map(PatientRecord.init(row:))
                patients = Page(items: items, total: total, limit: page.limit, offset: page.offset)
            }
            var episodes: [UUID: [EpisodeRecord]] = [:]
            let ids = patients.items.map(\.id)
            if !ids.isEmpty, let scope = SQLScope.episode("e", actor, episodeScope) {
                for row in try await sql.raw("""
                    SELECT \(EpisodeRecord.selectList("e")) FROM episodes e WHERE e.patient_id IN (\(binds: ids)) AND \(scope)
                    ORDER BY e.created_at DESC, e.id
                    """).all() {
                    let episode = try EpisodeRecord(row: row)
                    episodes[episode.patientID, default: []].append(episode)
                }
            }
            let audit: [AuditEvent] = [
                AuditEvent(actor: actor, action: .list, recordType: .patient, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .episode, recordID: nil),
            ]
            let value = PatientList(viewer: viewer, sites: sites, patients: patients, episodes: episodes)
            return (value, audit)
        }
        list.revision = revision
        return list
    }

    /// GET /episodes/:episodeID.
    public struct EpisodePage: Sendable {
        public var viewer: Viewer
        public var episode: EpisodeRecord
        public var patient: PatientRecord
        public var site: SiteRecord?
        /// The patient's other episodes, newest first.
        public var otherEpisodes: [EpisodeRecord]
        /// The episode's records, each oldest first (decisions newest first).
        public var screeningDecisions: [ScreeningDecisionRecord]
        public var imagingStudies: [ImagingStudyRecord]
        public var procedures: [StoredProcedure]
        public var timepoints: [TimepointRecord]
        public var responses: [QuestionnaireResponseRecord]
        public var outcomeEvents: [OutcomeEventRecord]
        /// Display names of the users who decided, signed or overrode a record shown here (as the record shows them).
        public var userNames: [UUID: String]
        /// The episode's injection plan, its adjunct sessions (oldest first) and each procedure's addenda (in order).
        public var plan: StoredPlan?
        public var adjuncts: [StoredAdjunct]
        public var addenda: [UUID: [ProcedureAddendum]]
        /// The episode's red flags (recovery diary, locked links), open ones first, newest first; staff only.
        public var redFlags: [RedFlagRecord] = []
        /// The store's write revision this was read at (`OssaDatabase.writeRevision`).
        public var revision: Int64 = 0

        public init(viewer: Viewer, episode: EpisodeRecord, patient: PatientRecord, site: SiteRecord?, otherEpisodes: [EpisodeRecord],
                    screeningDecisions: [ScreeningDecisionRecord], imagingStudies: [ImagingStudyRecord], procedures: [StoredProcedure],
                    timepoints: [TimepointRecord], responses: [QuestionnaireResponseRecord], outcomeEvents: [OutcomeEventRecord],
                    userNames: [UUID: String], plan: StoredPlan? = nil, adjuncts: [StoredAdjunct] = [], addenda: [UUID: [ProcedureAddendum]] = [:]) {
            (self.viewer, self.episode, self.patient, self.site, self.otherEpisodes) = (viewer, episode, patient, site, otherEpisodes)
            (self.screeningDecisions, self.imagingStudies, self.procedures) = (screeningDecisions, imagingStudies, procedures)
            (self.timepoints, self.responses, self.outcomeEvents, self.userNames) = (timepoints, responses, outcomeEvents, userNames)
            (self.plan, self.adjuncts, self.addenda) = (plan, adjuncts, addenda)
        }
    }

    /// One episode with its patient and records; a record the actor may not see is `StoreError.notFound`. `focus`
    /// names a record of the episode the page shows in full (a decision, a study, a procedure), audited as its read.
    public func episodePage(_ actor: ActingUser, episodeID: UUID, focus: (RecordType, UUID)? = nil) async throws -> EpisodePage {
        let episodeScope = try await Access.require(actor, .read, .episode, recordID: episodeID.lowerString, database: database)
        let patientScope = try await Access.require(actor, .read, .patient, database: database)
        let siteScope = AccessPolicy.scope(actor.role, .read, .site)
        let key = ReadModelKey(page: "episode", actor: actor, parameters: [
            episodeID.lowerString, focus.map { "\($0.0.rawValue) \($0.1.lowerString)" } ?? "",
        ])
        var (page, revision) = try await database.cachedAuditedRead(key, actor: actor) { db in
            let viewer = try await Self.viewer(actor, on: db)
            let sql = try db.sqlDatabase()
            // The episode, its patient and the patient's other episodes through SQLKit rows, under the same rules as
            // `EpisodeRepository.scoped` and `PatientRepository.scoped`.
            let notFound = StoreError.notFound(recordType: "episode", id: episodeID.lowerString)
            guard let episodeCondition = SQLScope.episode("e", actor, episodeScope),
                  let episodeRow = try await sql.raw("""
                      SELECT \(EpisodeRecord.selectList("e")) FROM episodes e WHERE e.id = \(bind: episodeID) AND \(episodeCondition)
                      """).first() else { throw notFound }
            let episode = try EpisodeRecord(row: episodeRow)
            let patientID = episode.patientID
            guard let patientCondition = SQLScope.patient("p", actor, patientScope),
                  let patientRow = try await sql.raw("""
                      SELECT \(PatientRecord.selectList("p")) FROM patients p WHERE p.id = \(bind: patientID) AND \(patientCondition)
                      """).first() else { throw notFound }
            let patient = try PatientRecord(row: patientRow)
            var site: SiteRecord?
            if SiteRepository.allows(actor, siteScope, site: patient.siteID) {
                site = try await sql.raw("SELECT \(SiteRecord.selectList("s")) FROM sites s WHERE s.id = \(bind: patient.siteID)").first()
                    .map(SiteRecord.init(row:))
            }
            let others = try await sql.raw("""
                SELECT \(EpisodeRecord.selectList("e")) FROM episodes e
                WHERE e.patient_id = \(bind: patientID) AND e.id <> \(bind: episodeID) AND \(episodeCondition)
                ORDER BY e.created_at DESC, e.id LIMIT 50
                """).all().map(EpisodeRecord.init(row:))
            // The episode's records, each list under its own rule (a coordinator reads procedures but cannot sign them;
            // a role without a rule for a type sees an empty list, never another site's rows).
            // As SQLKit rows: `SQLScope.record` is `ClinicalScope.apply`'s rule (a Fluent model's reflection and
            // generated column lists were a quarter of a fresh episode page).
            func rows(_ table: String, _ recordType: RecordType, _ columns: SQLQueryString, order: SQLQueryString,
                      limit: Int) async throws -> [any SQLRow] {
                guard let condition = SQLScope.record("x", actor, AccessPolicy.scope(actor.role, .list, recordType)) else { return [] }
                return try await sql.raw("""
                    SELECT \(columns) FROM \(ident: table) x WHERE x.episode_id = \(bind: episodeID) AND \(condition)
                    ORDER BY \(order) LIMIT \(literal: limit)
                    """).all()
            }
            let decisions = try await rows(ScreeningDecisionModel.schema, .screeningDecision, ScreeningDecisionRecord.selectList("x"),
                                           order: "x.evaluation_date DESC, x.created_at DESC, x.id", limit: 200)
                .map(ScreeningDecisionRecord.init(row:))
            let studyRows = try await rows(ImagingStudyModel.schema, .imagingStudy, ImagingRepository.studySelectList("x"),
                                           order: "x.study_date, x.id", limit: 200)
            let findings = try await ImagingRepository.findings(of: try studyRows.map { try $0.decode(column: "id", as: UUID.self) }, on: sql)
            let studies = try studyRows.map { try ImagingRepository.record(row: $0, findings: findings) }
            let procedureRows = try await rows(ProcedureModel.schema, .procedure, ProcedureRepository.selectList("x"),
                                               order: "x.procedure_date, x.id", limit: 200)
            let injections = try await ProcedureRepository.injections(of: try procedureRows.map { try $0.decode(column: "id", as: UUID.self) },
                                                                      on: sql)
            let procedures = try procedureRows.map { try ProcedureRepository.stored(row: $0, injections: injections) }
            let timepoints = try await rows(FollowUpTimepointModel.schema, .timepoint, TimepointRecord.selectList("x"),
                                            order: "x.due_date, x.code", limit: 500).map(TimepointRecord.init(row:))
            let responses = try await rows(QuestionnaireResponseModel.schema, .questionnaireResponse,
                                           QuestionnaireResponseRecord.selectList("x"), order: "x.completed_at, x.id", limit: 2000)
                .map(QuestionnaireResponseRecord.init(row:))
            let events = try await rows(OutcomeEventModel.schema, .outcomeEvent, OutcomeEventRecord.selectList("x"),
                                        order: "x.event_date, x.id", limit: 200).map(OutcomeEventRecord.init(row:))
            let plan = try await rows(ProcedurePlanModel.schema, .procedurePlan, StoredPlan.selectList("x"), order: "x.id", limit: 1)
                .first.map(StoredPlan.init(row:))
            let adjuncts = try await rows(AdjunctSessionModel.schema, .adjunctSession, StoredAdjunct.selectList("x"),
                                          order: "x.session_date, x.id", limit: 200).map(StoredAdjunct.init(row:))
            var addenda: [UUID: [ProcedureAddendum]] = [:]
            if !procedures.isEmpty, AccessPolicy.scope(actor.role, .list, .procedureAddendum) != .denied {
                for row in try await sql.raw("""
                    SELECT \(ProcedureAddendum.selectList("a")) FROM procedure_addenda a WHERE a.procedure_id IN (\(binds: procedures.map(\.id)))
                    ORDER BY a.created_at, a.id
                    """).all() {
                    let addendum = try ProcedureAddendum(row: row)
                    addenda[addendum.procedureID, default: []].append(addendum)
                }
            }
            var signerIDs = Set<UUID>()
            for d in decisions { signerIDs.formUnion([d.decidedBy, d.signedBy, d.overriddenBy].compactMap { $0 }) }
            for p in procedures { signerIDs.formUnion([p.signedBy, p.operatorID].compactMap { $0 }) }
            if let by = plan?.updatedBy { signerIDs.insert(by) }
            signerIDs.formUnion(adjuncts.compactMap(\.createdBy))
            for list in addenda.values { signerIDs.formUnion(list.map(\.authorID)) }
            var names: [UUID: String] = [:]
            if !signerIDs.isEmpty {
                for row in try await sql.raw("SELECT id, display_name FROM users WHERE id IN (\(binds: Array(signerIDs)))").all() {
                    names[try row.decode(column: "id", as: UUID.self)] = try row.decode(column: "display_name", as: String.self)
                }
            }
            // One batch: the chart read, and each list of the episode's records that was shown.
            let listed: [RecordType] = [.screeningDecision, .imagingStudy, .procedure, .timepoint, .questionnaireResponse, .outcomeEvent,
                                        .procedurePlan, .adjunctSession, .redFlag]
                .filter { AccessPolicy.scope(actor.role, .list, $0) != .denied }
            let audit: [AuditEvent] = [
                AuditEvent(actor: actor, action: .read, recordType: .episode, recordID: episodeID.lowerString),
                AuditEvent(actor: actor, action: .read, recordType: .patient, recordID: patientID.lowerString),
            ] + listed.map { AuditEvent(actor: actor, action: .list, recordType: $0, recordID: episodeID.lowerString) }
              + (focus.map { [AuditEvent(actor: actor, action: .read, recordType: $0.0, recordID: $0.1.lowerString)] } ?? [])
            var flags: [RedFlagRecord] = []
            if AccessPolicy.scope(actor.role, .list, .redFlag) == .grantedSites, actor.siteIDs.contains(episode.siteID) {
                flags = try await db.sqlDatabase().select()
                    .columns("id", "episode_id", "site_id", "timepoint_id", "source", "rule_id", "severity", "message", "raised_at", "resolved_at", "resolution")
                    .from("red_flags").where("episode_id", .equal, SQLBind(episodeID))
                    .orderBy(SQLQueryString("CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END")).orderBy("raised_at", .descending).limit(100).all()
                    .map(RedFlagRepository.record)
            }
            var value = EpisodePage(viewer: viewer, episode: episode, patient: patient, site: site,
                               otherEpisodes: others, screeningDecisions: decisions, imagingStudies: studies, procedures: procedures,
                               timepoints: timepoints, responses: responses, outcomeEvents: events, userNames: names,
                               plan: plan, adjuncts: adjuncts, addenda: addenda)
            value.redFlags = flags
            return (value, audit)
        }
        page.revision = revision
        return page
    }

    /// The signed-in user's name and role for the layout (any role may read its own account).
    public func viewer(_ actor: ActingUser) async throws -> Viewer {
        try await database.transaction { db in try await Self.viewer(actor, on: db) }
    }

    static func viewer(_ actor: ActingUser, on db: any Database) async throws -> Viewer {
        try await viewer(actor, on: db.sqlDatabase())
    }

    static func viewer(_ actor: ActingUser, on sql: any SQLDatabase) async throws -> Viewer {
        guard let row = try await sql.raw("""
            SELECT \(ident: "display_name"), \(ident: "role") FROM \(ident: UserModel.schema) WHERE \(ident: "id") = \(bind: actor.userID)
            """).first() else {
            throw StoreError.notFound(recordType: "user", id: actor.userID.lowerString)
        }
        return Viewer(displayName: try row.decode(column: "display_name", as: String.self),
                      role: try storedValue(Role.self, try row.decode(column: "role", as: String.self), field: "role"))
    }
}

extension OssaStore {
    public var readModels: ReadModels { ReadModels(database: database) }
}

extension ReadModels {
    /// GET /patients/:patientID (and its edit and new-episode forms): the patient, their site and episodes.
    public struct PatientPage: Sendable {
        public var viewer: Viewer
        public var patient: PatientRecord
        public var site: SiteRecord?
        /// The sites the viewer may file the patient under (for the edit form).
        public var sites: [SiteRecord]
        public var episodes: [EpisodeRecord]
        /// The patient's consent decisions, oldest first (empty for a role that may not read them).
        public var consents: [ConsentRecord]

        public init(viewer: Viewer, patient: PatientRecord, site: SiteRecord?, sites: [SiteRecord], episodes: [EpisodeRecord],
                    consents: [ConsentRecord] = []) {
            (self.viewer, self.patient, self.site, self.sites, self.episodes) = (viewer, patient, site, sites, episodes)
            self.consents = consents
        }
    }

    /// Statements: viewer, patient, sites, episodes, consents, audit (3) — 8.
    public func patientPage(_ actor: ActingUser, patientID: UUID) async throws -> PatientPage {
        let patientScope = try await Access.require(actor, .read, .patient, recordID: patientID.lowerString, database: database)
        let episodeScope = AccessPolicy.scope(actor.role, .list, .episode)
        let siteScope = AccessPolicy.scope(actor.role, .list, .site)
        return try await database.auditedRead { db in
            let viewer = try await Self.viewer(actor, on: db)
            guard let model = try await PatientRepository.scoped(PatientModel.query(on: db), actor, patientScope)?
                .filter(\.$id == patientID).first() else {
                throw StoreError.notFound(recordType: "patient", id: patientID.lowerString)
            }
            let patient = try PatientRecord(model)
            var sites: [SiteRecord] = []
            if siteScope != .denied, let query = SiteRepository.scoped(SiteModel.query(on: db), actor, siteScope) {
                sites = try await query.sort(\.$code).limit(PageRequest.maximumLimit).all().map(SiteRecord.init)
            }
            let episodes = try await EpisodeRepository.scoped(EpisodeModel.query(on: db), actor, episodeScope)?
                .filter(\.$patient.$id == patientID).sort(\.$createdAt, .descending).sort(\.$id).limit(200).all()
                .map(EpisodeRecord.init) ?? []
            var audit: [AuditEvent] = [
                AuditEvent(actor: actor, action: .read, recordType: .patient, recordID: patientID.lowerString),
                AuditEvent(actor: actor, action: .list, recordType: .episode, recordID: patientID.lowerString),
            ]
            var consents: [ConsentRecord] = []
            if AccessPolicy.scope(actor.role, .list, .consent) != .denied {
                consents = try await ConsentRepository.records(patients: [patientID], on: try db.sqlDatabase())
                audit.append(AuditEvent(actor: actor, action: .list, recordType: .consent, recordID: patientID.lowerString))
            }
            let value = PatientPage(viewer: viewer, patient: patient, site: sites.first { $0.id == patient.siteID }, sites: sites,
                               episodes: episodes, consents: consents)
            return (value, audit)
        }
    }

    /// The new-patient form: the viewer and the sites they may file a patient under. Statements: viewer, sites — 2.
    public struct SiteChoice: Sendable {
        public var viewer: Viewer
        public var sites: [SiteRecord]

        public init(viewer: Viewer, sites: [SiteRecord]) {
            self.viewer = viewer
            self.sites = sites
        }
    }

    public func siteChoice(_ actor: ActingUser) async throws -> SiteChoice {
        let siteScope = AccessPolicy.scope(actor.role, .list, .site)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            var sites: [SiteRecord] = []
            if siteScope != .denied, let query = SiteRepository.scoped(SiteModel.query(on: db), actor, siteScope) {
                sites = try await query.sort(\.$code).limit(PageRequest.maximumLimit).all().map(SiteRecord.init)
            }
            return SiteChoice(viewer: viewer, sites: sites)
        }
    }
}

extension ReadModels {
    /// The exports page: who is asking and the sites an export of theirs may hold (their granted sites), in one
    /// transaction.
    public struct ExportsPage: Sendable {
        public var viewer: Viewer
        public var sites: [SiteRecord]

        public init(viewer: Viewer, sites: [SiteRecord]) {
            (self.viewer, self.sites) = (viewer, sites)
        }
    }

    public func exportsPage(_ actor: ActingUser) async throws -> ExportsPage {
        try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            let sites = actor.siteIDs.isEmpty ? [] : try await SiteModel.query(on: db).filter(\.$id ~~ actor.siteIDList).sort(\.$code).all().map(SiteRecord.init)
            return ExportsPage(viewer: viewer, sites: sites)
        }
    }
}
