import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// A follow-up timepoint of the episode's protocol on the wire: due (target) day and the window in which answers count.
struct TimepointDTO: Codable, Sendable {
    var id: String
    var episodeId: String
    var siteId: String
    var code: String
    var protocolId: String
    var dueDate: CalendarDate
    var windowStart: CalendarDate
    var windowEnd: CalendarDate
    var status: TimepointStatus
    var completedAt: String?

    init(_ record: TimepointRecord) {
        id = record.id.lowercasedID
        episodeId = record.episodeID.lowercasedID
        siteId = record.siteID.lowercasedID
        code = record.code
        protocolId = record.protocolID
        dueDate = record.dueDate
        windowStart = record.windowStart
        windowEnd = record.windowEnd
        status = record.status
        completedAt = WireDate.string(record.completedAt)
    }
}

/// Generating a schedule: day 0 is the index IO procedure's date (`procedureId`) or a date given directly
/// (`indexDate`); exactly one of the two.
struct NewTimepointScheduleDTO: Codable, Sendable {
    var procedureId: UUID?
    var indexDate: CalendarDate?
}

/// The generated schedule.
struct TimepointScheduleDTO: Codable, Sendable {
    var episodeId: String
    var indexDate: CalendarDate
    var items: [TimepointDTO]
}

/// Marking a timepoint: `completed` (at `completedAt`, default now), `missed`, `cancelled` or back to `pending`.
struct TimepointPatchDTO: Codable, Sendable {
    var status: TimepointStatus
    var completedAt: String?
}

/// Follow-up timepoints: generated per episode from the default protocol, listed per episode or as worklists,
/// marked completed or missed. Coordinators and clinicians of the site; patients read their own.
struct TimepointsAPI: APIRouteGroup {
    let store: OssaStore
    let environment: WebEnvironment

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.timepoints, use: list)
        api.on(.get, Paths.API.timepoint, use: get)
        api.on(.patch, Paths.API.timepoint, use: mark)
        api.on(.get, Paths.API.episodeTimepoints, use: listForEpisode)
        api.on(.post, Paths.API.episodeTimepoints, use: generate)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: nil)
    }

    @Sendable func listForEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: try context.uuidParameter("episodeID"))
    }

    /// By due date. Filters: `episode`, `patient`, `status`, `from`/`to` (due date), `worklist` (`due`, `overdue`,
    /// `closed`: pending timepoints on the day `on`, today (UTC) when left out; `on` alone is the `due` worklist).
    func listing(_ request: Request, context: OssaRequestContext, episodeID pathEpisode: UUID?) async throws -> Response {
        let actor = try context.requireUser()
        let query = ClinicalQuery(request)
        let day = try query.date("on")
        // `on` alone means the due worklist of that day (the two are independent parameters in the contract).
        let worklist = try query.value("worklist", as: TimepointWorklist.self) ?? (day == nil ? nil : .due)
        let today = CalendarDate(dayNumber: Int((environment.now().timeIntervalSince1970 / 86_400).rounded(.down)))
        let filter = TimepointFilter(episodeID: try pathEpisode ?? query.uuid("episode"), patientID: try query.uuid("patient"),
                                     status: try query.value("status", as: TimepointStatus.self), due: try query.dateRange(),
                                     worklist: worklist, on: worklist == nil ? nil : day ?? today)
        let result = try await store.timepoints.list(actor, filter, try query.page())
        return try JSONIO.response(PageDTO(result, TimepointDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.timepoints.get(try context.requireUser(), try context.uuidParameter("timepointID"))
        return try JSONIO.response(TimepointDTO(record))
    }

    /// Creates the episode's schedule (the bundled default protocol). A second schedule is a 409.
    @Sendable func generate(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let episodeID = try context.uuidParameter("episodeID")
        let body = try await JSONIO.decode(NewTimepointScheduleDTO.self, from: request, context: context)
        let indexDate: CalendarDate
        switch (body.procedureId, body.indexDate) {
        case (nil, nil):
            throw Problem.validation([FieldProblem(field: "procedureId", message: "is required: the index IO procedure (or give indexDate)")])
        case (.some, .some):
            throw Problem.validation([FieldProblem(field: "indexDate", message: "give procedureId or indexDate, not both")])
        case (nil, .some(let date)):
            indexDate = date
        case (.some(let procedureID), nil):
            // An id in the body that names no procedure of this episode is a 404, like an unknown path id.
            let procedure = try await store.procedures.get(actor, procedureID)
            guard procedure.episodeID == episodeID else {
                throw Problem(.notFound, detail: "no procedure \(procedureID.lowercasedID) in episode \(episodeID.lowercasedID)",
                              errors: [FieldProblem(field: "procedureId", message: "is not a procedure of this episode")])
            }
            guard procedure.kind == .io else {
                throw Problem(.conflict, type: "/problems/conflict", title: "Conflict",
                              detail: "procedureId: is an intra-articular session, not an IO procedure",
                              errors: [FieldProblem(field: "procedureId", message: "is an intra-articular session, not an IO procedure")])
            }
            indexDate = procedure.record.date
        }
        let records = try await store.timepoints.generate(actor, episodeID: episodeID, indexDate: indexDate)
        return try JSONIO.response(TimepointScheduleDTO(episodeId: episodeID.lowercasedID, indexDate: indexDate,
                                                        items: records.map(TimepointDTO.init)),
                                   status: .created, headers: [.location: Paths.API.episodeTimepoints.url(episodeID)])
    }

    /// Marks a timepoint; anything but `pending` cancels its queued reminders.
    @Sendable func mark(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try context.uuidParameter("timepointID")
        let body = try await JSONIO.decode(TimepointPatchDTO.self, from: request, context: context)
        var at = environment.now()
        if let text = body.completedAt {
            guard body.status == .completed else {
                throw Problem.validation([FieldProblem(field: "completedAt", message: "is only for status \"completed\"")])
            }
            at = try WireDate.parse(text, field: "completedAt")
            if at > environment.now() {
                throw Problem.validation([FieldProblem(field: "completedAt", message: "\(text) is in the future")])
            }
        }
        let record = try await store.timepoints.mark(actor, id, body.status, at: at)
        return try JSONIO.response(TimepointDTO(record))
    }
}
