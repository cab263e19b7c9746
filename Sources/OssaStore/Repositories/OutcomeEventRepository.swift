import FluentKit
import Foundation
import OssaCore
import SQLKit


extension OutcomeEventRecord {
    init(_ model: OutcomeEventModel) throws {
        try self.init(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id, kind: model.kind,
                      eventDate: model.eventDate, replacementKind: model.replacementKind, severity: model.severity,
                      description: model.eventDescription, relatedness: model.relatedness, createdAt: model.createdAt)
    }

    /// A row of `OutcomeEventRecord.selectList` (SQLKit, without a Fluent model's reflection).
    init(row: any SQLRow) throws {
        try self.init(id: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID.self),
                      siteID: try row.decode(column: "site_id", as: UUID.self), kind: try row.decode(column: "kind", as: String.self),
                      eventDate: try row.decode(column: "event_date", as: String.self),
                      replacementKind: try row.decode(column: "replacement_kind", as: String?.self),
                      severity: try row.decode(column: "severity", as: String?.self), description: try row.decode(column: "description", as: String?.self),
                      relatedness: try row.decode(column: "relatedness", as: String?.self), createdAt: try row.decode(column: "created_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "episode_id", "site_id", "kind", "event_date", "replacement_kind", "severity", "description",
                                 "relatedness", "created_at"])
    }

    private init(id: UUID, episodeID: UUID, siteID: UUID, kind: String, eventDate: String, replacementKind: String?, severity: String?,
                 description: String?, relatedness: String?, createdAt: Date?) throws {
        let date = try parseStoredDate(eventDate, field: "date")
        let event: OutcomeEvent
        switch try storedValue(OutcomeKind.self, kind, field: "kind") {
        case .jointReplacement:
            guard let replacement = try storedValue(ReplacementKind.self, replacementKind, field: "replacementKind") else {
                throw StoreError.unreadable(field: "replacementKind", value: "NULL")
            }
            event = .jointReplacement(kind: replacement, date: date)
        case .otherSurgery: event = .otherSurgery(description: description ?? "", date: date)
        case .repeatIO: event = .repeatIO(date: date)
        case .adverseEvent:
            event = .adverseEvent(description: description ?? "", severity: try Self.severity(severity), date: date)
        case .death: event = .death(date: date)
        case .withdrawal: event = .withdrawal(date: date)
        case .lostToFollowUp: event = .lostToFollowUp(lastContact: date)
        }
        self.init(id: id, episodeID: episodeID, siteID: siteID, event: event,
                  relatedness: try storedValue(AdverseEventRelatedness.self, relatedness, field: "relatedness"), createdAt: createdAt)
    }

    /// An adverse event's severity is required: a missing or unknown one is an error, never read as "mild".
    static func severity(_ text: String?) throws -> AdverseEventSeverity {
        guard let severity = try storedValue(AdverseEventSeverity.self, text, field: "severity") else {
            throw StoreError.unreadable(field: "severity", value: "NULL")
        }
        return severity
    }
}

public struct OutcomeFilter: Sendable, Hashable {
    public var episodeID: UUID?
    public var patientID: UUID?
    public var kind: OutcomeKind?
    public var occurred: DateRange?

    public init(episodeID: UUID? = nil, patientID: UUID? = nil, kind: OutcomeKind? = nil, occurred: DateRange? = nil) {
        self.episodeID = episodeID
        self.patientID = patientID
        self.kind = kind
        self.occurred = occurred
    }
}

/// Outcome events after treatment: joint replacement, other surgery, repeat IO, adverse events,
/// death, withdrawal, loss to follow-up.
public struct OutcomeEventRepository: Sendable {
    let database: OssaDatabase

    /// Records an event. Refused when it is dated before the episode's first IO procedure, after a recorded death,
    /// or when a second death is recorded.
    /// `relatedness` is for adverse events only.
    public func create(_ actor: ActingUser, episodeID: UUID, _ event: OutcomeEvent,
                       relatedness: AdverseEventRelatedness? = nil) async throws -> OutcomeEventRecord {
        let scope = try await Access.require(actor, .create, .outcomeEvent, recordID: episodeID.lowerString, database: database)
        _ = try Self.checked(event, relatedness: relatedness)
        return try await database.transaction { db in
            try await Self.insert(actor, episodeID: episodeID, event, relatedness: relatedness, scope: scope, on: db)
        }
    }

    /// The checks that need no database; the stored replacement kind, severity and description.
    static func checked(_ event: OutcomeEvent, relatedness: AdverseEventRelatedness?) throws -> (replacement: String?, severity: String?, description: String?) {
        let replacement: String?, severity: String?, description: String?
        switch event {
        case .jointReplacement(let kind, _): (replacement, severity, description) = (kind.rawValue, nil, nil)
        case .otherSurgery(let text, _): (replacement, severity, description) = (nil, nil, try requiredText(text, field: "description", max: 2000))
        case .adverseEvent(let text, let level, _):
            (replacement, severity, description) = (nil, level.rawValue, try requiredText(text, field: "description", max: 2000))
        default: (replacement, severity, description) = (nil, nil, nil)
        }
        if relatedness != nil, case .adverseEvent = event {} else if relatedness != nil {
            throw StoreError.invalid(field: "relatedness", message: "is recorded for adverse events only")
        }
        return (replacement, severity, description)
    }

    /// One event inside `db`'s transaction (`create`, an import): the episode under the actor's scope, the checks
    /// against its procedures and a recorded death, the row, the cancelled reminders and the audit entry.
    static func insert(_ actor: ActingUser, episodeID: UUID, _ event: OutcomeEvent, relatedness: AdverseEventRelatedness?,
                       scope: AccessPolicy.Scope, audits: AuditBuffer? = nil, on db: any Database) async throws -> OutcomeEventRecord {
        let (replacement, severity, description) = try checked(event, relatedness: relatedness)
        let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
        if let first = try await ProcedureModel.query(on: db).filter(\.$episode.$id == episodeID)
            .filter(\.$kind == ProcedureKind.io.rawValue).sort(\.$procedureDate).first(),
           event.date.iso < first.procedureDate {
            throw StoreError.conflictingField(field: "date", message: "\(event.date) is before the first IO procedure on \(first.procedureDate)")
        }
        if let death = try await OutcomeEventModel.query(on: db).filter(\.$episode.$id == episodeID)
            .filter(\.$kind == OutcomeKind.death.rawValue).first() {
            if case .death = event { throw StoreError.conflict("a death is already recorded for episode \(episodeID.lowerString)") }
            if event.date.iso > death.eventDate {
                throw StoreError.conflictingField(field: "date", message: "\(event.date) is after death on \(death.eventDate)")
            }
        }
        let model = OutcomeEventModel()
        model.$episode.id = episodeID
        model.$site.id = episode.$site.id
        model.kind = OutcomeKind(event).rawValue
        model.eventDate = event.date.iso
        model.replacementKind = replacement
        model.severity = severity
        model.eventDescription = description
        model.relatedness = relatedness?.rawValue
        try await model.create(on: db)
        // No more questionnaires for the dead (any of their episodes) or for an episode withdrawn from follow-up:
        // every queued message is cancelled now, and the planner invites none of them again.
        if model.kind == OutcomeKind.death.rawValue || model.kind == OutcomeKind.withdrawal.rawValue {
            let sql = try db.sqlDatabase()
            let episodes = model.kind == OutcomeKind.death.rawValue
                ? try await EpisodeModel.query(on: db).filter(\.$patient.$id == episode.$patient.id).all().map { try $0.requireID() }
                : [episodeID]
            for row in try await sql.select().column("id").from("follow_up_timepoints").where("episode_id", .in, SQLBind.group(episodes)).all() {
                try await TimepointRepository.cancelReminders(timepoint: try row.decode(column: "id", as: UUID.self), on: sql)
            }
        }
        try await Access.audit(actor, .create, .outcomeEvent, model.id, on: db, into: audits)
        return try OutcomeEventRecord(model)
    }

    public func get(_ actor: ActingUser, _ id: UUID) async throws -> OutcomeEventRecord {
        let scope = try await Access.require(actor, .read, .outcomeEvent, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await ClinicalScope.apply(OutcomeEventModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "outcome event", id: id.lowerString)
            }
            try await Access.audit(actor, .read, .outcomeEvent, id, on: db)
            return try OutcomeEventRecord(model)
        }
    }

    /// Events the actor may see, in date order; audited as a list.
    public func list(_ actor: ActingUser, _ filter: OutcomeFilter = OutcomeFilter(),
                     _ page: PageRequest = PageRequest()) async throws -> Page<OutcomeEventRecord> {
        let scope = try await Access.require(actor, .list, .outcomeEvent, recordID: filter.episodeID?.lowerString, database: database)
        let page = try page.validated()
        let occurred = filter.occurred
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(OutcomeEventModel.query(on: db), actor, scope) else { return try await ClinicalScope.emptyPage(page, episode: filter.episodeID, actor, on: db) }
            if let episodeID = filter.episodeID { query = query.filter(\.$episode.$id == episodeID) }
            if let kind = filter.kind { query = query.filter(\.$kind == kind.rawValue) }
            query = query.filterPatient(filter.patientID).filterDates("event_date", occurred)
            let result = try await query.sort(\.$eventDate).sort(\.$id).page(page, map: OutcomeEventRecord.init)
            try await ClinicalScope.requireEpisode(filter.episodeID, ifEmpty: result.total == 0, actor, on: db)
            try await Access.audit(actor, .list, .outcomeEvent, filter.episodeID, on: db)
            return result
        }
    }
}
