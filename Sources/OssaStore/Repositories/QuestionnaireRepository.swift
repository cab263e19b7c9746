import FluentKit
import Foundation
import OssaCore
import SQLKit


extension QuestionnaireResponseRecord {
    init(_ model: QuestionnaireResponseModel) throws {
        self.init(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id, timepointID: model.$timepoint.id,
                  instrumentID: model.instrumentID, instrumentVersion: model.instrumentVersion,
                  answers: try StoredJSON.decodeAnswers(model.answersJSON),
                  scores: try QuestionnaireRepository.decodeScores(model.scoresJSON, instrument: model.instrumentID),
                  scoringVersion: model.scoringVersion, source: try storedValue(ResponseSource.self, model.source, field: "source"),
                  completedAt: model.completedAt, createdAt: model.createdAt)
    }

    /// A row of `QuestionnaireRepository.columns` (read through SQLKit: without a Fluent model's reflection, which
    /// was a quarter of a bulk export's time).
    init(row: any SQLRow) throws {
        let instrumentID = try row.decode(column: "instrument_id", as: String.self)
        self.init(id: try row.decode(column: "id", as: UUID.self), episodeID: try row.decode(column: "episode_id", as: UUID.self),
                  siteID: try row.decode(column: "site_id", as: UUID.self), timepointID: try row.decode(column: "timepoint_id", as: UUID?.self),
                  instrumentID: instrumentID, instrumentVersion: try row.decode(column: "instrument_version", as: String.self),
                  answers: try StoredJSON.decodeAnswers(try row.decode(column: "answers_json", as: String.self)),
                  scores: try QuestionnaireRepository.decodeScores(try row.decode(column: "scores_json", as: String.self), instrument: instrumentID),
                  scoringVersion: try row.decode(column: "scoring_version", as: String.self),
                  source: try storedValue(ResponseSource.self, try row.decode(column: "source", as: String.self), field: "source"),
                  completedAt: try row.decode(column: "completed_at", as: Date.self), createdAt: try row.decode(column: "created_at", as: Date?.self))
    }

    /// The columns `init(row:)` reads, of the table named `alias`.
    static func selectList(_ alias: String) -> SQLQueryString { qualifiedColumns(alias, QuestionnaireRepository.columns) }
}

/// One scored submission waiting for its group commit.
struct SubmissionRequest: Sendable {
    var actor: ActingUser
    var scope: AccessPolicy.Scope
    var episodeID: UUID
    var instrumentID: String
    var version: String
    var answers: [String: Int?]
    var answersJSON: String
    var scoresJSON: String
    var scores: [ResponseScore]
    var timepointID: UUID?
    var completedAt: Date
    var source: ResponseSource
}


public struct QuestionnaireFilter: Sendable, Hashable {
    public var episodeID: UUID?
    public var patientID: UUID?
    public var instrumentID: String?
    public var timepointID: UUID?
    /// On the completion instant's UTC day.
    public var completed: DateRange?
    /// When the response was stored (FHIR `_lastUpdated`).
    public var updated: InstantRange?

    public init(episodeID: UUID? = nil, patientID: UUID? = nil, instrumentID: String? = nil, timepointID: UUID? = nil,
                completed: DateRange? = nil, updated: InstantRange? = nil) {
        self.updated = updated
        self.episodeID = episodeID
        self.patientID = patientID
        self.instrumentID = instrumentID
        self.timepointID = timepointID
        self.completed = completed
    }
}

/// Questionnaire responses. `submit` is the hot path of the submission benchmark: scoring runs
/// before the transaction; concurrent submissions share one transaction (`GroupCommit`), which holds per request a
/// scoped episode lookup (and timepoint check), then one multi-row INSERT, the timepoints' completion and the
/// audit entries (one read of the chain head, one INSERT, one anchor update).
public struct QuestionnaireRepository: Sendable {
    let database: OssaDatabase

    /// Scores `answers` with the instrument's published rule and stores answers, scores and scoring version.
    /// A named timepoint must belong to the episode and not be cancelled; it becomes `completed` and its queued
    /// reminders are cancelled. Invalid answers are `StoreError.invalid` naming the item (`answers.P3`).
    public func submit(_ actor: ActingUser, episodeID: UUID, instrumentID: String, answers: [String: Int?],
                       timepointID: UUID? = nil, completedAt: Date = Date(),
                       library: InstrumentLibrary? = nil) async throws -> QuestionnaireResponseRecord {
        let scope = try await Access.require(actor, .create, .questionnaireResponse, recordID: episodeID.lowerString, database: database)
        let library = try library ?? InstrumentLibrary.builtIn()
        guard let instrument = library.instrument(id: instrumentID) else {
            throw StoreError.invalid(field: "instrumentID", message: "unknown instrument \"\(instrumentID)\" (available: \(library.ids.joined(separator: ", ")))")
        }
        let scores = try Self.score(instrument, answers)
        let request = SubmissionRequest(
            actor: actor, scope: scope, episodeID: episodeID, instrumentID: instrument.id, version: instrument.scoring.version,
            answers: answers, answersJSON: StoredJSON.answers(answers), scoresJSON: StoredJSON.scores(scores),
            scores: scores.scores.map { ResponseScore(id: $0.id, value: $0.value) }, timepointID: timepointID, completedAt: completedAt,
            source: actor.role == .patient ? .patientLink : .staff)
        let database = database
        return try await database.submissionCommits.submit(request) { batch in await Self.writeBatch(batch, on: database) }
    }

    /// Writes a batch of submissions in one transaction (group commit): each request's scoped episode lookup and
    /// timepoint check, then one multi-row INSERT of the accepted responses, their timepoints' completion and one
    /// audit entry per response. A request that fails its checks gets its error without affecting the others; if
    /// the transaction itself fails, each request is retried alone so that it gets its own outcome.
    static func writeBatch(_ requests: [SubmissionRequest], on database: OssaDatabase) async -> [Result<QuestionnaireResponseRecord, any Error>] {
        do {
            return try await database.sqlTransaction { session in
                let sql = session.sql
                var results: [Result<QuestionnaireResponseRecord, any Error>] = []
                var accepted: [QuestionnaireResponseRecord] = []
                var events: [AuditEvent] = []
                let now = Date()
                let sites = try await checkBatch(requests, on: sql)
                for (request, site) in zip(requests, sites) {
                    switch site {
                    case .success(let siteID):
                        let record = QuestionnaireResponseRecord(
                            id: UUID(), episodeID: request.episodeID, siteID: siteID, timepointID: request.timepointID,
                            instrumentID: request.instrumentID, instrumentVersion: request.version, answers: request.answers,
                            scores: request.scores, scoringVersion: request.version, source: request.source,
                            completedAt: request.completedAt, createdAt: now)
                        accepted.append(record)
                        events.append(AuditEvent(actor: request.actor, action: .create, recordType: .questionnaireResponse,
                                                 recordID: record.id.lowerString))
                        results.append(.success(record))
                    case .failure(let error):
                        results.append(.failure(error))
                    }
                }
                guard !accepted.isEmpty else { return results }
                var rows: [[any Encodable & Sendable]] = []
                for (request, result) in zip(requests, results) {
                    guard case .success(let record) = result else { continue }
                    rows.append([record.id, record.episodeID, record.siteID, record.timepointID, record.instrumentID, record.instrumentVersion,
                                 request.answersJSON, request.scoresJSON, record.scoringVersion, record.source.rawValue, record.completedAt, now])
                }
                try await BulkInsert.insertRows(into: "questionnaire_responses", columns: columns, rows: rows, on: sql,
                                                sqlite: session.sqlite)
                for record in accepted {
                    guard let timepointID = record.timepointID else { continue }
                    try await sql.update("follow_up_timepoints")
                        .set("status", to: SQLBind(TimepointStatus.completed.rawValue))
                        .set("completed_at", to: SQLBind(record.completedAt)).set("updated_at", to: SQLBind(now))
                        .where("id", .equal, SQLBind(timepointID))
                        .where("status", .in, SQLBind.group([TimepointStatus.pending.rawValue, TimepointStatus.missed.rawValue]))
                        .run()
                    try await TimepointRepository.cancelReminders(timepoint: timepointID, on: sql)
                }
                try await AuditLog.appendBatch(events, inTransactionOn: sql)
                return results
            }
        } catch {
            guard requests.count > 1 else { return [.failure(error)] }
            var results: [Result<QuestionnaireResponseRecord, any Error>] = []
            for request in requests { results += await writeBatch([request], on: database) }
            return results
        }
    }

    /// Each request's episode under its actor's scope and its timepoint, for a whole batch in two statements
    /// (one per table, whatever the batch size); returns each episode's site or the request's own error. The
    /// scope rule is the one the other repositories put in their WHERE clause — granted sites, or the patient's
    /// own episodes — applied here per request because one batch mixes actors. Plain SQLKit: Fluent's model
    /// decoding costs more than the rest of a submission.
    static func checkBatch(_ requests: [SubmissionRequest], on sql: any SQLDatabase) async throws -> [Result<UUID, any Error>] {
        struct Episode { var siteID: UUID; var patientID: UUID }
        var episodes: [UUID: Episode] = [:]
        for row in try await sql.select().column("id").column("site_id").column("patient_id").from("episodes")
            .where("id", .in, SQLBind.group(Array(Set(requests.map(\.episodeID))))).all() {
            episodes[try row.decode(column: "id", as: UUID.self)] = Episode(siteID: try row.decode(column: "site_id", as: UUID.self),
                                                                          patientID: try row.decode(column: "patient_id", as: UUID.self))
        }
        var timepoints: [UUID: (episodeID: UUID, status: String)] = [:]
        let timepointIDs = Array(Set(requests.compactMap(\.timepointID)))
        if !timepointIDs.isEmpty {
            for row in try await sql.select().column("id").column("episode_id").column("status").from("follow_up_timepoints")
                .where("id", .in, SQLBind.group(timepointIDs)).all() {
                timepoints[try row.decode(column: "id", as: UUID.self)] = (try row.decode(column: "episode_id", as: UUID.self),
                                                                          try row.decode(column: "status", as: String.self))
            }
        }
        return requests.map { request in
            Result {
                let episodeID = request.episodeID
                let notFound = StoreError.notFound(recordType: "episode", id: episodeID.lowerString)
                guard let episode = episodes[episodeID] else { throw notFound }
                switch request.scope {
                case .all: break
                case .grantedSites: guard request.actor.siteIDs.contains(episode.siteID) else { throw notFound }
                // A patient submits for their own episodes only.
                case .ownRecord: guard request.actor.patientID == episode.patientID else { throw notFound }
                case .denied: throw notFound
                }
                if let timepointID = request.timepointID {
                    guard let timepoint = timepoints[timepointID], timepoint.episodeID == episodeID else {
                        throw StoreError.notFound(recordType: "timepoint", id: timepointID.lowerString)
                    }
                    if timepoint.status == TimepointStatus.cancelled.rawValue {
                        throw StoreError.conflictingField(field: "timepointId", message: "the timepoint was cancelled")
                    }
                }
                return episode.siteID
            }
        }
    }

    /// One response inside `db`'s transaction (an import): the episode under the actor's scope, the row and its audit
    /// entry. `scores` were computed by the instrument's rule (`score`). `timepointID` (an import's timepoint of the
    /// episode) keeps its status; when that is `completed`, it takes `completedAt` as its completion.
    static func insert(_ actor: ActingUser, episodeID: UUID, instrument: InstrumentDefinition, answers: [String: Int?], scores: ScoreResult,
                       completedAt: Date, source: ResponseSource, timepointID: UUID? = nil, scope: AccessPolicy.Scope,
                       audits: AuditBuffer? = nil, on db: any Database) async throws -> UUID {
        let episode = try await ClinicalScope.episode(episodeID, actor, scope, on: db)
        let id = UUID()
        if let timepointID {
            let sql = try db.sqlDatabase()
            guard try await sql.select().column("id").from("follow_up_timepoints").where("id", .equal, SQLBind(timepointID))
                .where("episode_id", .equal, SQLBind(episodeID)).first() != nil else {
                throw StoreError.invalid(field: "timepointID", message: "\(timepointID.lowerString) is not a timepoint of episode \(episodeID.lowerString)")
            }
            try await sql.update("follow_up_timepoints").set("completed_at", to: SQLBind(completedAt))
                .where("id", .equal, SQLBind(timepointID)).where("status", .equal, SQLBind(TimepointStatus.completed.rawValue)).run()
        }
        let row: [any Encodable & Sendable] = [id, episodeID, episode.$site.id, timepointID, instrument.id, instrument.scoring.version,
                                               StoredJSON.answers(answers), StoredJSON.scores(scores), instrument.scoring.version,
                                               source.rawValue, completedAt, Date()]
        try await BulkInsert.insertRows(into: "questionnaire_responses", columns: columns, rows: [row], on: try db.sqlDatabase())
        try await Access.audit(actor, .create, .questionnaireResponse, id, on: db, into: audits)
        return id
    }

    static let columns = ["id", "episode_id", "site_id", "timepoint_id", "instrument_id", "instrument_version", "answers_json",
                          "scores_json", "scoring_version", "source", "completed_at", "created_at"]

    /// Scores with the instrument's rule; the events form (not scorable) is validated and stored without scores.
    static func score(_ instrument: InstrumentDefinition, _ answers: [String: Int?]) throws -> ScoreResult {
        do {
            if !instrument.isScorable {
                try instrument.validate(answers: answers)
                return ScoreResult(instrument: instrument.id, version: instrument.scoring.version, scores: [])
            }
            return try instrument.score(answers)
        } catch {
            switch error {
            case .unknownItem(_, let item): throw StoreError.invalid(field: "answers.\(item)", message: "is not an item of \(instrument.id)")
            case .valueOutOfRange, .notAChoiceItem:
                let item: String
                if case .valueOutOfRange(_, let i, _, _) = error { item = i } else if case .notAChoiceItem(_, let i) = error { item = i } else { item = "" }
                throw StoreError.invalid(field: "answers.\(item)", message: error.description)
            default: throw StoreError.invalid(field: "answers", message: error.description)
            }
        }
    }

    /// Reads the stored score JSON (`{"instrument": …, "version": …, "scores": {…}}`), in the instrument's order.
    static func decodeScores(_ text: String, instrument: String) throws -> [ResponseScore] {
        let scores = try StoredJSON.decodeScoreValues(text)
        let order = (try? InstrumentLibrary.builtIn().instrument(id: instrument)?.scores.map(\.id)) ?? nil
        let ids = order.map { ids in ids.filter { scores.keys.contains($0) } + scores.keys.filter { !ids.contains($0) }.sorted() }
            ?? scores.keys.sorted()
        return ids.map { ResponseScore(id: $0, value: scores[$0] ?? nil) }
    }

    /// One response; audited as a chart read.
    public func get(_ actor: ActingUser, _ id: UUID) async throws -> QuestionnaireResponseRecord {
        let scope = try await Access.require(actor, .read, .questionnaireResponse, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await ClinicalScope.apply(QuestionnaireResponseModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "questionnaire response", id: id.lowerString)
            }
            try await Access.audit(actor, .read, .questionnaireResponse, id, on: db)
            return try QuestionnaireResponseRecord(model)
        }
    }

    /// Responses the actor may see, in completion order; audited as a list.
    public func list(_ actor: ActingUser, _ filter: QuestionnaireFilter = QuestionnaireFilter(),
                     _ page: PageRequest = PageRequest()) async throws -> Page<QuestionnaireResponseRecord> {
        let scope = try await Access.require(actor, .list, .questionnaireResponse, recordID: filter.episodeID?.lowerString, database: database)
        let page = try page.validated()
        let completed = filter.completed
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(QuestionnaireResponseModel.query(on: db), actor, scope) else { return try await ClinicalScope.emptyPage(page, episode: filter.episodeID, actor, on: db) }
            if let episodeID = filter.episodeID { query = query.filter(\.$episode.$id == episodeID) }
            if let instrumentID = filter.instrumentID { query = query.filter(\.$instrumentID == instrumentID) }
            if let timepointID = filter.timepointID { query = query.filter(\.$timepoint.$id == timepointID) }
            query = query.filterPatient(filter.patientID).filterInstants("completed_at", completed).filterSpan("created_at", filter.updated)
            let result = try await query.sort(\.$completedAt).sort(\.$id).page(page, map: QuestionnaireResponseRecord.init)
            try await ClinicalScope.requireEpisode(filter.episodeID, ifEmpty: result.total == 0, actor, on: db)
            try await Access.audit(actor, .list, .questionnaireResponse, filter.episodeID, on: db)
            return result
        }
    }
}
