import FluentKit
import Foundation
import OssaCore

/// The staff start page: what needs doing today at the viewer's sites, each list with its total and its first rows.
///
/// Statements (fixed, whatever the registry's size; `ReadModelTests` counts them): viewer; for each of the six
/// lists a count and a page (12); the listed rows' episodes and their patients (one `IN` query each, 2); audit (3) — at most 19.
public struct Worklist: Sendable {
    /// One thing to do, named by its patient and episode.
    public struct Item: Sendable, Hashable {
        public var recordID: UUID
        public var episodeID: UUID
        public var patientName: String
        public var episode: EpisodeRecord?
        /// The day that matters for this list (evaluation, procedure, due date).
        public var date: CalendarDate
        /// What the row is (`month-3`, the screening category, the procedure kind).
        public var detail: String

        public init(recordID: UUID, episodeID: UUID, patientName: String, episode: EpisodeRecord?, date: CalendarDate, detail: String) {
            (self.recordID, self.episodeID, self.patientName, self.episode, self.date, self.detail) = (recordID, episodeID, patientName, episode, date, detail)
        }
    }

    public struct Section: Sendable, Hashable {
        public var total: Int
        public var items: [Item]

        public init(total: Int, items: [Item]) {
            self.total = total
            self.items = items
        }
    }

    public var viewer: ReadModels.Viewer
    public var today: CalendarDate
    /// Injection plans booked for this week (Monday to Sunday), whatever their procedure's state.
    public var proceduresPlannedThisWeek: Section
    /// Screening decisions not yet signed by a clinician.
    public var decisionsAwaitingSignature: Section
    /// Procedure records not yet signed (they lock on signing).
    public var proceduresAwaitingSignature: Section
    /// Questionnaires whose window is open and whose target day has not passed.
    public var questionnairesDue: Section
    /// Target day passed, window still open: chase by phone.
    public var questionnairesOverdue: Section
    /// Window closed without an answer and not yet marked missed or not applicable.
    public var questionnairesClosed: Section

    public init(viewer: ReadModels.Viewer, today: CalendarDate, proceduresPlannedThisWeek: Section = Section(total: 0, items: []),
                decisionsAwaitingSignature: Section, proceduresAwaitingSignature: Section,
                questionnairesDue: Section, questionnairesOverdue: Section, questionnairesClosed: Section) {
        self.proceduresPlannedThisWeek = proceduresPlannedThisWeek
        (self.viewer, self.today, self.decisionsAwaitingSignature, self.proceduresAwaitingSignature) = (viewer, today, decisionsAwaitingSignature, proceduresAwaitingSignature)
        (self.questionnairesDue, self.questionnairesOverdue, self.questionnairesClosed) = (questionnairesDue, questionnairesOverdue, questionnairesClosed)
    }
}

extension ReadModels {
    /// Rows shown per list on the start page (the totals count them all).
    public static let worklistRows = 10

    public func worklist(_ actor: ActingUser, today: CalendarDate) async throws -> Worklist {
        // Roles without the rules below have no worklist (patients, researchers and admins get other start pages).
        let decisionScope = try await Access.require(actor, .list, .screeningDecision, database: database)
        let procedureScope = try await Access.require(actor, .list, .procedure, database: database)
        let timepointScope = try await Access.require(actor, .list, .timepoint, database: database)
        let planScope = AccessPolicy.scope(actor.role, .list, .procedurePlan)
        // This week: Monday to Sunday around `today` (day 0 of the day numbers, 1970-01-01, was a Thursday).
        let monday = today.adding(days: -((today.dayNumber + 3) % 7))
        let sunday = monday.adding(days: 6)
        let episodeScope = AccessPolicy.scope(actor.role, .list, .episode)
        let patientScope = AccessPolicy.scope(actor.role, .list, .patient)
        let page = PageRequest(limit: Self.worklistRows, offset: 0)
        let day = today.iso
        return try await database.auditedRead { db in
            let viewer = try await Self.viewer(actor, on: db)
            struct Row { var id: UUID; var episode: UUID; var date: CalendarDate; var detail: String }
            /// The count reads `site_id`, which every list's index holds, so that it never fetches the table's rows
            /// (`COUNT(id)` would: the id is a UUID column, not SQLite's rowid).
            func section<M: Model>(_ query: QueryBuilder<M>?, site: KeyPath<M, FieldProperty<M, UUID>>,
                                   _ row: (M) throws -> Row) async throws -> (Int, [Row]) {
                guard let query else { return (0, []) }
                let total = try await query.copy().count(site)
                let models = try await query.range(0..<page.limit).all()
                return (total, try models.map(row))
            }
            let planned = try await section(
                ClinicalScope.apply(ProcedurePlanModel.query(on: db), actor, planScope)?
                    .filter(\.$plannedDate >= monday.iso).filter(\.$plannedDate <= sunday.iso).sort(\.$plannedDate).sort(\.$id),
                site: \.$site.$id
            ) { model in
                Row(id: try model.requireID(), episode: model.$episode.id,
                    date: try parseStoredDate(model.plannedDate ?? "", field: "planned_date"), detail: "planned")
            }
            let decisions = try await section(
                ClinicalScope.apply(ScreeningDecisionModel.query(on: db), actor, decisionScope)?
                    .filter(\.$signedBy.$id == nil).filter(\.$episode.$id != nil)
                    .sort(\.$evaluationDate).sort(\.$createdAt).sort(\.$id),
                site: \.$site.$id
            ) { model in
                Row(id: try model.requireID(), episode: model.$episode.id ?? UUID(),
                    date: try parseStoredDate(model.evaluationDate, field: "evaluation_date"), detail: model.category)
            }
            let procedures = try await section(
                ClinicalScope.apply(ProcedureModel.query(on: db), actor, procedureScope)?
                    .filter(\.$signedBy.$id == nil).sort(\.$procedureDate).sort(\.$id),
                site: \.$site.$id
            ) { model in
                Row(id: try model.requireID(), episode: model.$episode.id,
                    date: try parseStoredDate(model.procedureDate, field: "procedure_date"), detail: model.kind)
            }
            func timepoints(_ kind: TimepointWorklist) async throws -> (Int, [Row]) {
                guard var query = ClinicalScope.apply(FollowUpTimepointModel.query(on: db), actor, timepointScope) else { return (0, []) }
                // A literal, not a bound value: SQLite uses the partial index of pending timepoints (M0026) only when the
                // query itself says `status = 'pending'`.
                query = query.filter(.sql(embed: "\(ident: FollowUpTimepointModel.schema).\(ident: "status") = \(unsafeRaw: "'\(TimepointStatus.pending.rawValue)'")"))
                switch kind {
                case .due: query = query.filter(\.$windowStart <= day).filter(\.$windowEnd >= day).filter(\.$dueDate >= day)
                // The window opens on or before the due day, so an overdue one has started too (which lets the
                // pending-by-window-start index serve every list).
                case .overdue: query = query.filter(\.$windowStart <= day).filter(\.$dueDate < day).filter(\.$windowEnd >= day)
                case .closed: query = query.filter(\.$windowStart <= day).filter(\.$windowEnd < day)
                }
                return try await section(query.sort(\.$dueDate).sort(\.$code).sort(\.$id), site: \.$site.$id) { model in
                    Row(id: try model.requireID(), episode: model.$episode.id,
                        date: try parseStoredDate(model.dueDate, field: "due_date"), detail: model.code)
                }
            }
            let due = try await timepoints(.due)
            let overdue = try await timepoints(.overdue)
            let closed = try await timepoints(.closed)
            let episodeIDs = Array(Set((planned.1 + decisions.1 + procedures.1 + due.1 + overdue.1 + closed.1).map(\.episode)))
            var episodes: [UUID: EpisodeRecord] = [:]
            var patients: [UUID: String] = [:]
            if !episodeIDs.isEmpty, let query = EpisodeRepository.scoped(EpisodeModel.query(on: db), actor, episodeScope) {
                for model in try await query.filter(\.$id ~~ episodeIDs).all() {
                    episodes[try model.requireID()] = try EpisodeRecord(model)
                }
            }
            let patientIDs = Array(Set(episodes.values.map(\.patientID)))
            if !patientIDs.isEmpty, let query = PatientRepository.scoped(PatientModel.query(on: db), actor, patientScope) {
                for model in try await query.filter(\.$id ~~ patientIDs).all() {
                    patients[try model.requireID()] = "\(model.familyName), \(model.givenName)"
                }
            }
            func items(_ rows: (Int, [Row])) -> Worklist.Section {
                Worklist.Section(total: rows.0, items: rows.1.map { row in
                    let episode = episodes[row.episode]
                    return Worklist.Item(recordID: row.id, episodeID: row.episode,
                                         patientName: episode.flatMap { patients[$0.patientID] } ?? "–",
                                         episode: episode, date: row.date, detail: row.detail)
                })
            }
            let audit: [AuditEvent] = [
                AuditEvent(actor: actor, action: .list, recordType: .screeningDecision, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .procedure, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .timepoint, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .procedurePlan, recordID: nil),
            ]
            let value = Worklist(viewer: viewer, today: today, proceduresPlannedThisWeek: items(planned), decisionsAwaitingSignature: items(decisions),
                            proceduresAwaitingSignature: items(procedures), questionnairesDue: items(due),
                            questionnairesOverdue: items(overdue), questionnairesClosed: items(closed))
            return (value, audit)
        }
    }
}
