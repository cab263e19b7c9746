import FluentKit
import Foundation
import OssaCore
import SQLKit

/// The staff start page: what needs doing today at the viewer's sites, each list with its total and its first rows.
///
/// Statements (fixed, whatever the registry's size; `ReadModelTests` counts them): viewer; the six counts (one
/// statement); the six lists with each row's episode and patient (one statement: a union of six sorted, limited
/// subqueries); the open consult requests with their count (one statement); the red flags, failed deliveries and
/// patients to call (two: their counts, then a union of their first rows) — 6 in the read transaction, and the
/// audit append (3) in the writer's.
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
    /// Open consult requests from the public self-screen (the viewer's sites' and those with no preferred site).
    public var consultRequests = ConsultRequestList(total: 0, items: [])
    /// Red flags, failed deliveries and patients to call (the patient side; `worklistAttention`).
    public var attention = WorklistAttention.empty
    /// The store's write revision this was read at (`OssaDatabase.writeRevision`): the same revision, the same page.
    public var revision: Int64 = 0

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
    /// Consult requests shown on the start page (the newest; the list page has them all).
    public static let worklistConsultRequests = 5

    /// One list of the start page as SQL: its table, the condition on it, and the order and columns of its rows.
    private struct WorklistList {
        var name: String
        var table: String
        var scope: SQLQueryString
        var filter: SQLQueryString
        /// The sort columns of `table`.
        var order: [String]
        /// The day and the detail columns of a row.
        var day: String
        var detail: SQLQueryString
        /// On SQLite, the index the list is read from (`INDEXED BY`), where the planner would choose worse.
        var sqliteIndex: String? = nil
    }

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
        let day = today.iso
        // The pending filter is a literal, not a bound value: SQLite uses the partial indexes of pending timepoints
        // (M0026, M0027) only when the statement itself says `status = 'pending'`. An overdue timepoint's window has
        // started (it opens on or before the due day), which lets the window-start index serve every count.
        let pending: SQLQueryString = "t.\(ident: "status") = \(unsafeRaw: "'\(TimepointStatus.pending.rawValue)'")"
        func timepoints(_ name: String, _ window: SQLQueryString) -> WorklistList? {
            SQLScope.record("t", actor, timepointScope).map {
                WorklistList(name: name, table: FollowUpTimepointModel.schema, scope: $0, filter: pending + " AND " + window,
                             order: ["due_date", "code", "id"], day: "due_date", detail: "t.\(ident: "code")",
                             sqliteIndex: "ix_follow_up_timepoints_pending_worklist")
            }
        }
        let lists: [WorklistList] = [
            SQLScope.record("t", actor, planScope).map {
                WorklistList(name: "planned", table: ProcedurePlanModel.schema, scope: $0,
                             filter: "t.\(ident: "planned_date") >= \(bind: monday.iso) AND t.\(ident: "planned_date") <= \(bind: sunday.iso)",
                             order: ["planned_date", "id"], day: "planned_date", detail: "'planned'")
            },
            SQLScope.record("t", actor, decisionScope).map {
                WorklistList(name: "decisions", table: ScreeningDecisionModel.schema, scope: $0,
                             filter: "t.\(ident: "signed_by") IS NULL AND t.\(ident: "episode_id") IS NOT NULL",
                             order: ["evaluation_date", "created_at", "id"],
                             day: "evaluation_date", detail: "t.\(ident: "category")")
            },
            SQLScope.record("t", actor, procedureScope).map {
                WorklistList(name: "procedures", table: ProcedureModel.schema, scope: $0, filter: "t.\(ident: "signed_by") IS NULL",
                             order: ["procedure_date", "id"], day: "procedure_date", detail: "t.\(ident: "kind")")
            },
            timepoints("due", "t.\(ident: "window_start") <= \(bind: day) AND t.\(ident: "window_end") >= \(bind: day) AND t.\(ident: "due_date") >= \(bind: day)"),
            timepoints("overdue", "t.\(ident: "window_start") <= \(bind: day) AND t.\(ident: "due_date") < \(bind: day) AND t.\(ident: "window_end") >= \(bind: day)"),
            // A closed window has started too; saying only `window_end` lets SQLite read the list in due-day order from
            // M0038's index (which holds every column the lists read, so no table row is fetched) and stop after the
            // first rows, instead of sorting every closed timepoint of the site. The lists name that index: on the
            // 100,000-patient registry SQLite read the closed list through `(site_id, status, window_end)` and a
            // table row per closed timepoint instead (16.5 ms, 96 MB of the file touched; named: 4.1 ms, 1.9 MB).
            timepoints("closed", "t.\(ident: "window_end") < \(bind: day)"),
        ].compactMap { $0 }
        // A row's episode and patient are joined under their own access rules (an episode the viewer may not see
        // leaves the row without a name, as a separate scoped query would).
        let episodeJoin = SQLScope.episode("e", actor, episodeScope) ?? "1 = 0"
        let patientJoin = SQLScope.patient("p", actor, patientScope) ?? "1 = 0"
        let rows = Self.worklistRows
        let key = ReadModelKey(page: "worklist", actor: actor, parameters: [day])
        var (worklist, revision) = try await database.cachedAuditedRead(key, actor: actor) { db in
            let sql = try db.sqlDatabase()
            let viewer = try await Self.viewer(actor, on: sql)
            var totals: [String: Int] = [:]
            var found: [String: [Worklist.Item]] = [:]
            if !lists.isEmpty {
                // One statement for the six counts, one for the six lists (each its own sorted, limited subquery).
                // The counts read `site_id`, which every list's index holds, so that they never fetch the table's rows
                // (`COUNT(id)` would: the id is a UUID column, not SQLite's rowid).
                let counts = lists.map { list -> SQLQueryString in
                    "(SELECT COUNT(t.\(ident: "site_id")) FROM \(ident: list.table) t WHERE \(list.scope) AND \(list.filter)) AS \(ident: list.name)"
                }
                if let row = try await sql.raw("SELECT \(counts.joined(separator: ", "))").first() {
                    for list in lists { totals[list.name] = try row.decode(column: list.name, as: Int.self) }
                }
                // Each list is sorted and limited in its own subquery (so that its index gives the first rows and stops);
                // its rows' positions are numbered outside it, over those few rows only (a window function inside would
                // read every matching row before the limit).
                let sqlite = sql.dialect.name == "sqlite"
                let branches = lists.map { list -> SQLQueryString in
                    let keys = list.order.indices.map { SQLQueryString(stringLiteral: "k\($0)") }.joined(separator: ", ")
                    let sortColumns = list.order.enumerated().map { index, column -> SQLQueryString in
                        "t.\(ident: column) AS \(ident: "k\(index)")"
                    }.joined(separator: ", ")
                    let order = list.order.map { column -> SQLQueryString in "t.\(ident: column)" }.joined(separator: ", ")
                    let index: SQLQueryString = sqlite ? list.sqliteIndex.map { " INDEXED BY \(ident: $0)" } ?? "" : ""
                    // The episode and patient are joined to the few limited rows, not to every matching one.
                    return """
                    SELECT \(literal: list.name) AS list, ROW_NUMBER() OVER (ORDER BY \(keys)) AS position, x.id AS id,
                    x.episode_id AS episode_id, x.day AS day, x.detail AS detail,
                    e.\(ident: "patient_id") AS patient_id, e.\(ident: "site_id") AS episode_site_id,
                    e.\(ident: "joint") AS joint, e.\(ident: "side") AS side, e.\(ident: "diagnosis_json") AS diagnosis_json,
                    e.\(ident: "status") AS episode_status, e.\(ident: "last_contact_date") AS last_contact_date,
                    e.\(ident: "created_at") AS episode_created_at, e.\(ident: "updated_at") AS episode_updated_at,
                    p.\(ident: "family_name") AS family_name, p.\(ident: "given_name") AS given_name
                    FROM (SELECT \(sortColumns), t.\(ident: "id") AS id, t.\(ident: "episode_id") AS episode_id, t.\(ident: list.day) AS day,
                    \(list.detail) AS detail FROM \(ident: list.table) t\(index)
                    WHERE \(list.scope) AND \(list.filter) ORDER BY \(order) LIMIT \(literal: rows)) AS x
                    LEFT JOIN \(ident: EpisodeModel.schema) e ON e.\(ident: "id") = x.episode_id AND \(episodeJoin)
                    LEFT JOIN \(ident: PatientModel.schema) p ON p.\(ident: "id") = e.\(ident: "patient_id") AND \(patientJoin)
                    """
                }
                var ranked: [(list: String, position: Int, item: Worklist.Item)] = []
                for row in try await sql.raw(branches.joined(separator: " UNION ALL ")).all() {
                    let episodeID = try row.decode(column: "episode_id", as: UUID.self)
                    var episode: EpisodeRecord?
                    if let patientID = try row.decode(column: "patient_id", as: UUID?.self) {
                        episode = try EpisodeRecord(
                            id: episodeID, patientID: patientID, siteID: try row.decode(column: "episode_site_id", as: UUID.self),
                            joint: try row.decode(column: "joint", as: String.self), side: try row.decode(column: "side", as: String.self),
                            diagnosisJSON: try row.decode(column: "diagnosis_json", as: String.self),
                            status: try row.decode(column: "episode_status", as: String.self),
                            lastContactDate: try row.decode(column: "last_contact_date", as: String?.self),
                            createdAt: try row.decode(column: "episode_created_at", as: Date?.self),
                            updatedAt: try row.decode(column: "episode_updated_at", as: Date?.self))
                    }
                    let name = try row.decode(column: "family_name", as: String?.self).map { family in
                        "\(family), \(try row.decode(column: "given_name", as: String?.self) ?? "")"
                    }
                    let list = try row.decode(column: "list", as: String.self)
                    let item = Worklist.Item(recordID: try row.decode(column: "id", as: UUID.self), episodeID: episodeID,
                                             patientName: episode == nil ? "–" : name ?? "–", episode: episode,
                                             date: try parseStoredDate(try row.decode(column: "day", as: String.self), field: "\(list) date"),
                                             detail: try row.decode(column: "detail", as: String.self))
                    ranked.append((list, try row.decode(column: "position", as: Int.self), item))
                }
                for entry in ranked.sorted(by: { $0.position < $1.position }) { found[entry.list, default: []].append(entry.item) }
            }
            // The consult section: one statement (its count and newest rows), audited as a list of consult requests.
            let consults = try await ConsultRequestRepository.openList(actor, limit: Self.worklistConsultRequests, on: sql)
            // Staff of granted sites only (the lists name patients).
            let attention = actor.role == .coordinator || actor.role == .clinician
                ? try await Self.worklistAttention(sites: actor.siteIDList, today: today, on: sql) : .empty
            func section(_ name: String) -> Worklist.Section {
                Worklist.Section(total: totals[name] ?? 0, items: found[name] ?? [])
            }
            let audit: [AuditEvent] = [
                AuditEvent(actor: actor, action: .list, recordType: .screeningDecision, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .procedure, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .timepoint, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .procedurePlan, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .consultRequest, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .redFlag, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .outboxMessage, recordID: nil),
            ]
            var value = Worklist(viewer: viewer, today: today, proceduresPlannedThisWeek: section("planned"),
                                 decisionsAwaitingSignature: section("decisions"), proceduresAwaitingSignature: section("procedures"),
                                 questionnairesDue: section("due"), questionnairesOverdue: section("overdue"),
                                 questionnairesClosed: section("closed"))
            value.consultRequests = consults
            value.attention = attention
            return (value, audit)
        }
        worklist.revision = revision
        return worklist
    }
}
