import FluentKit
import Foundation
import OssaCore
import SQLKit


extension TimepointRecord {
    init(_ model: FollowUpTimepointModel) throws {
        self.init(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id, code: model.code,
                  protocolID: model.protocolID, dueDate: try parseStoredDate(model.dueDate, field: "dueDate"),
                  windowStart: try parseStoredDate(model.windowStart, field: "windowStart"),
                  windowEnd: try parseStoredDate(model.windowEnd, field: "windowEnd"),
                  status: try storedValue(TimepointStatus.self, model.status, field: "status"), completedAt: model.completedAt,
                  statusReason: model.statusReason, invitedAt: model.invitedAt, openedAt: model.openedAt, startedAt: model.startedAt)
    }

    /// A row of `TimepointRecord.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        self.init(id: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID.self),
                  siteID: try row.decode(column: "site_id", as: UUID.self), code: try row.decode(column: "code", as: String.self),
                  protocolID: try row.decode(column: "protocol_id", as: String.self),
                  dueDate: try parseStoredDate(try row.decode(column: "due_date", as: String.self), field: "dueDate"),
                  windowStart: try parseStoredDate(try row.decode(column: "window_start", as: String.self), field: "windowStart"),
                  windowEnd: try parseStoredDate(try row.decode(column: "window_end", as: String.self), field: "windowEnd"),
                  status: try storedValue(TimepointStatus.self, try row.decode(column: "status", as: String.self), field: "status"),
                  completedAt: try row.decode(column: "completed_at", as: Date?.self),
                  statusReason: try row.decode(column: "status_reason", as: String?.self),
                  invitedAt: try row.decode(column: "invited_at", as: Date?.self), openedAt: try row.decode(column: "opened_at", as: Date?.self),
                  startedAt: try row.decode(column: "started_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "episode_id", "site_id", "code", "protocol_id", "due_date", "window_start", "window_end", "status",
                                 "completed_at", "status_reason", "invited_at", "opened_at", "started_at"])
    }
}


public struct TimepointFilter: Sendable, Hashable {
    public var episodeID: UUID?
    public var patientID: UUID?
    public var status: TimepointStatus?
    /// On the due (target) date.
    public var due: DateRange?
    /// A worklist (only pending timepoints) on `worklistDay`; combines with the other filters.
    public var worklistKind: TimepointWorklist?
    public var worklistDay: CalendarDate?

    public init(episodeID: UUID? = nil, patientID: UUID? = nil, status: TimepointStatus? = nil, due: DateRange? = nil,
                worklist: TimepointWorklist? = nil, on day: CalendarDate? = nil) {
        self.episodeID = episodeID
        self.patientID = patientID
        self.status = status
        self.due = due
        worklistKind = worklist
        worklistDay = day
    }
}

/// A timepoint as another system kept it (an import): code, protocol, due day, window and status.
public struct NewTimepoint: Sendable, Hashable {
    public var code: String
    public var protocolID: String
    public var dueDate: CalendarDate
    public var windowStart: CalendarDate
    public var windowEnd: CalendarDate
    public var status: TimepointStatus

    public init(code: String, protocolID: String, dueDate: CalendarDate, windowStart: CalendarDate, windowEnd: CalendarDate,
                status: TimepointStatus) {
        (self.code, self.protocolID, self.dueDate, self.windowStart, self.windowEnd, self.status) = (code, protocolID, dueDate, windowStart, windowEnd, status)
    }
}

/// Follow-up timepoints: generated from a protocol on the index procedure date, worked through worklists,
/// completed by questionnaire submissions or marked missed.
public struct TimepointRepository: Sendable {
    let database: OssaDatabase

    /// Creates the episode's schedule from `followUp` (the bundled default protocol when nil) with `indexDate` as
    /// day 0. Refused when the episode already has timepoints.
    public func generate(_ actor: ActingUser, episodeID: UUID, indexDate: CalendarDate,
                         protocol followUp: FollowUpProtocol? = nil) async throws -> [TimepointRecord] {
        let scope = try await Access.require(actor, .create, .timepoint, recordID: episodeID.lowerString, database: database)
        let followUp = try followUp ?? FollowUpProtocol.bundledDefault()
        return try await database.transaction { db in
            let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
            guard let joint = Joint(rawValue: episode.joint) else {
                throw StoreError.unreadable(field: "joint", value: episode.joint)
            }
            guard try await FollowUpTimepointModel.query(on: db).filter(\.$episode.$id == episodeID).count() == 0 else {
                throw StoreError.conflict("episode \(episodeID.lowerString) already has a follow-up schedule")
            }
            let schedule = followUp.schedule(indexDate: indexDate, joint: joint)
            // Every stored day must be a day the domain accepts (years 1900–2200): an index date so early or late that
            // a window would open before 1900 or close after 2200 is refused here, not stored and then found unreadable.
            let years = CalendarDate.plausibleYears
            let days = schedule.timepoints.flatMap { [$0.windowOpen, $0.windowClose] }
            if let first = days.min(), let last = days.max(), !years.contains(first.year) || !years.contains(last.year) {
                throw StoreError.invalid(field: "indexDate",
                                         message: "the follow-up schedule from \(indexDate) would run from \(first.iso) to \(last.iso), outside \(years.lowerBound)–\(years.upperBound)")
            }
            let now = Date()
            var models: [FollowUpTimepointModel] = []
            for timepoint in schedule.timepoints {
                let model = FollowUpTimepointModel()
                model.id = UUID()
                model.$episode.id = episodeID
                model.$site.id = episode.$site.id
                model.code = timepoint.id
                model.protocolID = followUp.id
                model.dueDate = timepoint.targetDate.iso
                model.windowStart = timepoint.windowOpen.iso
                model.windowEnd = timepoint.windowClose.iso
                model.status = TimepointStatus.pending.rawValue
                model.createdAt = now
                model.updatedAt = now
                models.append(model)
            }
            try await BulkInsert.insertRows(into: "follow_up_timepoints", columns: Self.columns, rows: models.map(Self.row), on: db.sqlDatabase())
            try await Access.audit(actor, .create, .timepoint, episodeID, on: db)
            return try models.map(TimepointRecord.init)
        }
    }

    /// The checks of an imported timepoint that need no database.
    static func check(_ new: NewTimepoint) throws {
        if new.code.isEmpty || new.code.count > 64 { throw StoreError.invalid(field: "code", message: "must be 1–64 characters") }
        guard new.windowStart <= new.dueDate, new.dueDate <= new.windowEnd else {
            throw StoreError.invalid(field: "dueDate", message: "\(new.dueDate) is outside its window \(new.windowStart)–\(new.windowEnd)")
        }
        let years = CalendarDate.plausibleYears
        guard years.contains(new.windowStart.year), years.contains(new.windowEnd.year) else {
            throw StoreError.invalid(field: "dueDate", message: "the window \(new.windowStart.iso)–\(new.windowEnd.iso) is outside \(years.lowerBound)–\(years.upperBound)")
        }
    }

    /// One imported timepoint inside `db`'s transaction: the episode under the actor's scope, the row (a second one
    /// of the same code for the episode is a conflict) and its audit entry.
    static func insert(_ actor: ActingUser, episodeID: UUID, _ new: NewTimepoint, scope: AccessPolicy.Scope, audits: AuditBuffer? = nil,
                       on db: any Database) async throws -> UUID {
        try check(new)
        let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
        guard try await FollowUpTimepointModel.query(on: db).filter(\.$episode.$id == episodeID).filter(\.$code == new.code).count() == 0 else {
            throw StoreError.conflict("episode \(episodeID.lowerString) already has the timepoint \(new.code)")
        }
        let id = UUID(), now = Date()
        let row: [any Encodable & Sendable] = [id, episodeID, episode.$site.id, new.code, new.protocolID, new.dueDate.iso, new.windowStart.iso,
                                               new.windowEnd.iso, new.status.rawValue, Date?.none, now, now]
        try await BulkInsert.insertRows(into: "follow_up_timepoints", columns: columns, rows: [row], on: db.sqlDatabase())
        try await Access.audit(actor, .create, .timepoint, id, on: db, into: audits)
        return id
    }

    static let columns = ["id", "episode_id", "site_id", "code", "protocol_id", "due_date", "window_start", "window_end", "status",
                          "completed_at", "created_at", "updated_at"]

    static func row(_ m: FollowUpTimepointModel) -> [any Encodable & Sendable] {
        [m.id, m.$episode.id, m.$site.id, m.code, m.protocolID, m.dueDate, m.windowStart, m.windowEnd, m.status, m.completedAt,
         m.createdAt, m.updatedAt]
    }

    public func get(_ actor: ActingUser, _ id: UUID) async throws -> TimepointRecord {
        let scope = try await Access.require(actor, .read, .timepoint, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            let model = try await Self.load(id, actor, scope, on: db)
            try await Access.audit(actor, .read, .timepoint, id, on: db)
            return try TimepointRecord(model)
        }
    }

    /// Timepoints the actor may see, by due date; audited as a list.
    public func list(_ actor: ActingUser, _ filter: TimepointFilter = TimepointFilter(),
                     _ page: PageRequest = PageRequest()) async throws -> Page<TimepointRecord> {
        let scope = try await Access.require(actor, .list, .timepoint, recordID: filter.episodeID?.lowerString, database: database)
        let page = try page.validated()
        let due = filter.due
        if (filter.worklistKind == nil) != (filter.worklistDay == nil) {
            throw StoreError.invalid(field: "worklist", message: "a worklist needs both its kind and its day")
        }
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(FollowUpTimepointModel.query(on: db), actor, scope) else { return try await ClinicalScope.emptyPage(page, episode: filter.episodeID, actor, on: db) }
            if let episodeID = filter.episodeID { query = query.filter(\.$episode.$id == episodeID) }
            if let status = filter.status { query = query.filter(\.$status == status.rawValue) }
            query = query.filterPatient(filter.patientID).filterDates("due_date", due)
            if let kind = filter.worklistKind, let day = filter.worklistDay?.iso {
                query = query.filter(\.$status == TimepointStatus.pending.rawValue)
                switch kind {
                case .due: query = query.filter(\.$windowStart <= day).filter(\.$windowEnd >= day).filter(\.$dueDate >= day)
                case .overdue: query = query.filter(\.$dueDate < day).filter(\.$windowEnd >= day)
                case .closed: query = query.filter(\.$windowEnd < day)
                }
            }
            let result = try await query.sort(\.$dueDate).sort(\.$code).sort(\.$id).page(page, map: TimepointRecord.init)
            try await ClinicalScope.requireEpisode(filter.episodeID, ifEmpty: result.total == 0, actor, on: db)
            try await Access.audit(actor, .list, .timepoint, filter.episodeID, on: db)
            return result
        }
    }

    /// Marks a timepoint completed or missed (or cancelled, or back to pending). Completing it, or marking it
    /// missed or cancelled, cancels its queued reminders at once. `reason` says why it was missed or not applicable
    /// (kept with the timepoint; cleared when it goes back to pending or is completed).
    public func mark(_ actor: ActingUser, _ id: UUID, _ status: TimepointStatus, at date: Date = Date(),
                     reason: String? = nil) async throws -> TimepointRecord {
        let scope = try await Access.require(actor, .update, .timepoint, recordID: id.lowerString, database: database)
        let reason = try reason.map { try requiredText($0, field: "reason", max: 2000) }
        return try await database.transaction { db in
            let model = try await Self.load(id, actor, scope, on: db)
            model.statusReason = status == .missed || status == .cancelled ? reason : nil
            model.status = status.rawValue
            model.completedAt = status == .completed ? date : nil
            try await model.update(on: db)
            if status != .pending { try await Self.cancelReminders(timepoint: id, on: db.sqlDatabase()) }
            try await Access.audit(actor, .update, .timepoint, id, on: db)
            return try TimepointRecord(model)
        }
    }

    /// Moves the episode's schedule to a new index date (the procedure was done on another day, or postponed): every
    /// timepoint still pending gets the protocol's dates from `indexDate`, and for each one that moved, its unused links
    /// are withdrawn and every queued message cancelled in the same transaction, so that nothing is sent on the old
    /// dates; the invitation planner invites it again when its new window opens. Completed, missed and cancelled
    /// timepoints keep their dates (their answers belong to the day they were given). Returns the moved timepoints.
    public func reschedule(_ actor: ActingUser, episodeID: UUID, indexDate: CalendarDate, now: Date = Date(),
                           protocol followUp: FollowUpProtocol? = nil) async throws -> [TimepointRecord] {
        let scope = try await Access.require(actor, .update, .timepoint, recordID: episodeID.lowerString, database: database)
        let followUp = try followUp ?? FollowUpProtocol.bundledDefault()
        return try await database.transaction { db in
            let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
            guard let joint = Joint(rawValue: episode.joint) else { throw StoreError.unreadable(field: "joint", value: episode.joint) }
            let models = try await FollowUpTimepointModel.query(on: db).filter(\.$episode.$id == episodeID).all()
            guard !models.isEmpty else { throw StoreError.conflict("episode \(episodeID.lowerString) has no follow-up schedule to move") }
            let planned = Dictionary(followUp.schedule(indexDate: indexDate, joint: joint).timepoints.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let years = CalendarDate.plausibleYears
            let sql = try db.sqlDatabase()
            var moved: [FollowUpTimepointModel] = []
            for model in models where model.status == TimepointStatus.pending.rawValue {
                guard let target = planned[model.code] else { continue }
                guard years.contains(target.windowOpen.year), years.contains(target.windowClose.year) else {
                    throw StoreError.invalid(field: "indexDate", message: "the follow-up schedule from \(indexDate) would fall outside \(years.lowerBound)–\(years.upperBound)")
                }
                guard model.dueDate != target.targetDate.iso || model.windowStart != target.windowOpen.iso || model.windowEnd != target.windowClose.iso else { continue }
                model.dueDate = target.targetDate.iso
                model.windowStart = target.windowOpen.iso
                model.windowEnd = target.windowClose.iso
                model.invitedAt = nil
                try await model.update(on: db)
                let id = try model.requireID()
                try await Self.cancelReminders(timepoint: id, on: sql)
                try await sql.update("invitations").set("revoked_at", to: SQLBind(now)).where("timepoint_id", .equal, SQLBind(id))
                    .where("used_at", .is, SQLLiteral.null).where("revoked_at", .is, SQLLiteral.null).run()
                moved.append(model)
            }
            try await AuditLog.append(AuditEvent(actor: actor, action: .update, recordType: .timepoint,
                                                 recordID: "reschedule:\(episodeID.lowerString):\(indexDate.iso)"), on: db)
            return try moved.map(TimepointRecord.init)
        }
    }

    /// Marks every pending timepoint of the actor's sites whose window closed before `day` as missed; returns how many.
    public func markClosedAsMissed(_ actor: ActingUser, before day: CalendarDate) async throws -> Int {
        let scope = try await Access.require(actor, .update, .timepoint, database: database)
        return try await database.transaction { db in
            guard let query = ClinicalScope.apply(FollowUpTimepointModel.query(on: db), actor, scope) else { return 0 }
            let models = try await query.filter(\.$status == TimepointStatus.pending.rawValue).filter(\.$windowEnd < day.iso).all()
            guard !models.isEmpty else { return 0 }
            let ids = try models.map { try $0.requireID() }
            try await FollowUpTimepointModel.query(on: db).filter(\.$id ~~ ids).set(\.$status, to: TimepointStatus.missed.rawValue)
                .set(\.$updatedAt, to: Date()).update()
            let sql = try db.sqlDatabase()
            for id in ids { try await Self.cancelReminders(timepoint: id, on: sql) }
            try await AuditLog.append(AuditEvent(actor: actor, action: .update, recordType: .timepoint, recordID: "missed:\(ids.count)"), on: db)
            return ids.count
        }
    }

    static func load(_ id: UUID, _ actor: ActingUser, _ scope: AccessPolicy.Scope, on db: any Database) async throws -> FollowUpTimepointModel {
        guard let model = try await ClinicalScope.apply(FollowUpTimepointModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
            throw StoreError.notFound(recordType: "timepoint", id: id.lowerString)
        }
        return model
    }

    /// Queued messages of the timepoint's invitations become `cancelled` (completion cancels reminders at once); their
    /// text, which held the link, is removed as a sent message's is.
    static func cancelReminders(timepoint: UUID, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            UPDATE \(ident: "outbox_messages") SET \(ident: "status") = \(bind: OutboxStatus.cancelled.rawValue), \
            \(ident: "body") = \(bind: OutboxRepository.removedBody), \(ident: "html_body") = NULL \
            WHERE \(ident: "status") = \(bind: OutboxStatus.queued.rawValue) AND \(ident: "invitation_id") IN \
            (SELECT \(ident: "id") FROM \(ident: "invitations") WHERE \(ident: "timepoint_id") = \(bind: timepoint))
            """).run()
    }
}
