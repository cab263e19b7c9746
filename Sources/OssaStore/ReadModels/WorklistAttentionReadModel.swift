import FluentKit
import Foundation
import OssaCore
import SQLKit

/// The worklist's lists of what the patient side raised (issue #10): open red flags (recovery-diary answers, locked
/// links), messages whose delivery failed, and patients to call — a questionnaire window open for a day or more with
/// no link sent, because the patient has no e-mail address or phone number they have not opted out of.
public struct WorklistAttention: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public var recordID: UUID
        public var episodeID: UUID
        public var patientName: String
        public var when: Date?
        public var day: CalendarDate?
        /// The flag's message and severity, the message's channel and error, the timepoint's code.
        public var detail: String
        public var severity: String?
    }

    public struct List: Sendable, Hashable {
        public var total: Int
        public var items: [Item]
    }

    public var redFlags: List
    public var failedDeliveries: List
    public var toCall: List

    public static let empty = WorklistAttention(redFlags: List(total: 0, items: []), failedDeliveries: List(total: 0, items: []),
                                                toCall: List(total: 0, items: []))
}

extension ReadModels {
    /// Rows shown per attention list.
    public static let worklistAttentionRows = 5

    /// The three lists for the viewer's sites in two statements (the counts; the rows, a union of three sorted,
    /// limited subqueries with each row's patient joined after the limit).
    static func worklistAttention(sites: [UUID], today: CalendarDate, on sql: any SQLDatabase) async throws -> WorklistAttention {
        guard !sites.isEmpty else { return .empty }
        let group = SQLBind.group(sites)
        let day = today.iso
        let counts = try await sql.raw("""
            SELECT \
            (SELECT COUNT(*) FROM red_flags WHERE site_id IN \(group) AND resolved_at IS NULL) AS flags, \
            (SELECT COUNT(*) FROM outbox_messages WHERE site_id IN \(group) AND status = 'failed') AS failed, \
            (SELECT COUNT(*) FROM follow_up_timepoints WHERE site_id IN \(group) AND status = 'pending' AND invited_at IS NULL \
             AND window_start < \(bind: day) AND window_end >= \(bind: day) \
             AND EXISTS (SELECT 1 FROM episodes ee WHERE ee.id = follow_up_timepoints.episode_id AND ee.status = 'open')) AS tocall
            """).first()
        // Typed NULLs: PostgreSQL resolves a bare NULL in a derived table as text, which a union cannot match with a time.
        let noTime = SQLQueryString(sql.dialect.name == "postgresql" ? "CAST(NULL AS TIMESTAMPTZ)" : "NULL")
        let rows = try await sql.raw("""
            SELECT x.list, x.id, x.episode_id, x.at, x.day, x.detail, x.severity, p.family_name, p.given_name FROM ( \
            SELECT * FROM (SELECT 'flags' AS list, id, episode_id, raised_at AS at, CAST(NULL AS TEXT) AS day, message AS detail, severity FROM red_flags \
              WHERE site_id IN \(group) AND resolved_at IS NULL ORDER BY raised_at DESC, id LIMIT \(literal: Self.worklistAttentionRows)) f \
            UNION ALL SELECT * FROM (SELECT 'failed' AS list, m.id, t.episode_id, m.created_at AS at, CAST(NULL AS TEXT) AS day, \
              m.channel || ': ' || COALESCE(m.last_error, 'failed') AS detail, CAST(NULL AS TEXT) AS severity \
              FROM outbox_messages m JOIN follow_up_timepoints t ON t.id = m.timepoint_id \
              WHERE m.site_id IN \(group) AND m.status = 'failed' ORDER BY m.created_at DESC, m.id LIMIT \(literal: Self.worklistAttentionRows)) d \
            UNION ALL SELECT * FROM (SELECT 'tocall' AS list, id, episode_id, \(noTime) AS at, due_date AS day, code AS detail, CAST(NULL AS TEXT) AS severity \
              FROM follow_up_timepoints WHERE site_id IN \(group) AND status = 'pending' AND invited_at IS NULL \
              AND window_start < \(bind: day) AND window_end >= \(bind: day) \
              AND EXISTS (SELECT 1 FROM episodes ee WHERE ee.id = follow_up_timepoints.episode_id AND ee.status = 'open') ORDER BY due_date, id LIMIT \(literal: Self.worklistAttentionRows)) c \
            ) x JOIN episodes e ON e.id = x.episode_id JOIN patients p ON p.id = e.patient_id
            """).all()
        var lists: [String: [WorklistAttention.Item]] = [:]
        for row in rows {
            let name = "\(try row.decode(column: "family_name", as: String.self)), \(try row.decode(column: "given_name", as: String.self))"
            let dayText = try row.decode(column: "day", as: String?.self)
            lists[try row.decode(column: "list", as: String.self), default: []].append(WorklistAttention.Item(
                recordID: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID.self),
                patientName: name, when: try row.decode(column: "at", as: Date?.self),
                day: try dayText.map { try parseStoredDate($0, field: "dueDate") },
                detail: try row.decode(column: "detail", as: String.self), severity: try row.decode(column: "severity", as: String?.self)))
        }
        func total(_ column: String) throws -> Int { try counts?.decode(column: column, as: Int.self) ?? 0 }
        // The union does not keep each list's order: sort again as each subquery did.
        let flags = (lists["flags"] ?? []).sorted { ($0.when ?? .distantPast, $1.recordID.uuidString) > ($1.when ?? .distantPast, $0.recordID.uuidString) }
        let failed = (lists["failed"] ?? []).sorted { ($0.when ?? .distantPast) > ($1.when ?? .distantPast) }
        let call = (lists["tocall"] ?? []).sorted { ($0.day?.dayNumber ?? 0) < ($1.day?.dayNumber ?? 0) }
        return WorklistAttention(redFlags: .init(total: try total("flags"), items: flags), failedDeliveries: .init(total: try total("failed"), items: failed),
                                 toCall: .init(total: try total("tocall"), items: call))
    }
}

/// Questionnaire completion per site and timepoint: of the timepoints whose window has closed (or that were answered
/// early), how many were completed. Missed and window-closed-unanswered count as not completed; not applicable
/// (cancelled) is left out.
public struct CompletionRates: Sendable {
    public struct Row: Sendable, Hashable {
        public var siteID: UUID
        public var siteName: String
        public var code: String
        public var completed: Int
        public var due: Int

        public init(siteID: UUID, siteName: String, code: String, completed: Int, due: Int) {
            (self.siteID, self.siteName, self.code, self.completed, self.due) = (siteID, siteName, code, completed, due)
        }
    }

    public var viewer: ReadModels.Viewer
    public var today: CalendarDate
    public var rows: [Row]

    public init(viewer: ReadModels.Viewer, today: CalendarDate, rows: [Row]) {
        (self.viewer, self.today, self.rows) = (viewer, today, rows)
    }
}

extension ReadModels {
    /// The completion rates of the viewer's sites (staff): one grouped statement. Audited as a list of timepoints.
    public func completionRates(_ actor: ActingUser, today: CalendarDate) async throws -> CompletionRates {
        let scope = try await Access.require(actor, .list, .timepoint, database: database)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            guard scope == .grantedSites, !actor.siteIDs.isEmpty else { return CompletionRates(viewer: viewer, today: today, rows: []) }
            let sql = try db.sqlDatabase()
            let rows = try await sql.raw("""
                SELECT t.site_id, s.name, t.code, COUNT(*) AS due, SUM(CASE WHEN t.status = 'completed' THEN 1 ELSE 0 END) AS completed \
                FROM follow_up_timepoints t JOIN sites s ON s.id = t.site_id \
                WHERE t.site_id IN \(SQLBind.group(actor.siteIDList)) AND t.status <> 'cancelled' \
                AND (t.status IN ('completed', 'missed') OR t.window_end < \(bind: today.iso)) \
                GROUP BY t.site_id, s.name, t.code ORDER BY s.name, t.code
                """).all()
            let result = try rows.map { row in
                CompletionRates.Row(siteID: try row.decode(column: "site_id", as: UUID.self), siteName: try row.decode(column: "name", as: String.self),
                                    code: try row.decode(column: "code", as: String.self), completed: try row.decode(column: "completed", as: Int.self),
                                    due: try row.decode(column: "due", as: Int.self))
            }
            try await Access.audit(actor, .list, .timepoint, nil, on: db)
            return CompletionRates(viewer: viewer, today: today, rows: result)
        }
    }
}
