import FluentKit
import Foundation
import OssaCore

/// Several creates in one transaction, all written or none: a FHIR transaction Bundle, an import. Each operation
/// has the checks and the audit entry of its repository's `create`; an operation may name a patient created by an
/// earlier one.
public struct RecordBatchRepository: Sendable {
    let database: OssaDatabase

    /// A patient: one that exists, or the one an earlier operation of the batch creates (or matches).
    public enum PatientReference: Sendable, Hashable {
        case existing(UUID)
        case operation(Int)
    }

    /// Conditional create: a patient with this MRN (at `site`, when given) is matched instead of created.
    public struct MRNCondition: Sendable, Hashable {
        public var mrn: String
        public var site: UUID?

        public init(mrn: String, site: UUID?) {
            self.mrn = mrn
            self.site = site
        }
    }

    /// An episode: one that exists, or the one an earlier operation of the batch creates.
    public enum EpisodeReference: Sendable, Hashable {
        case existing(UUID)
        case operation(Int)
    }

    public enum Operation: Sendable, Hashable {
        case createPatient(NewPatient, ifNoneExist: MRNCondition?)
        /// An episode of the patient; an import may give its status and last contact (a new one is open, without).
        case createEpisode(patient: PatientReference, joint: Joint, side: Side, diagnosis: Diagnosis, status: EpisodeStatus = .open,
                           lastContact: CalendarDate? = nil)
        /// A follow-up timepoint of the episode as another system kept it (an import): its code, due day, window and
        /// status. A response of the batch may name it (`createResponse`'s `timepoint`).
        case createTimepoint(episode: EpisodeReference, NewTimepoint)
        /// A procedure of the episode (unsigned; the importing user is its recorder, the operator's name as given).
        case createProcedure(episode: EpisodeReference, kind: ProcedureKind, record: ProcedureRecord)
        /// A completed questionnaire response of the episode, scored again by the instrument's rule.
        /// `timepoint`: the operation that creates its timepoint; a completed timepoint takes the response's time as
        /// its completion.
        case createResponse(episode: EpisodeReference, instrumentID: String, answers: [String: Int?], completedAt: Date, source: ResponseSource,
                            timepoint: Int? = nil)
        /// An outcome event of the episode (joint replacement, death, withdrawal, lost to follow-up…), with the
        /// checks of `OutcomeEventRepository.create`.
        case createOutcome(episode: EpisodeReference, OutcomeEvent)
        /// An imaging study of the episode (its `episodeID` is replaced by the episode's), with the checks of
        /// `ImagingRepository.create`.
        case createImaging(episode: EpisodeReference, NewImagingStudy)
        /// A consent decision of the patient, recorded by the importing user; consents of one batch are recorded a
        /// millisecond apart in the batch's order, so a later one of the same kind and day stands.
        case createConsent(patient: PatientReference, NewConsent)
    }

    public enum Outcome: Sendable, Hashable {
        case created(UUID)
        /// A conditional create found this record; nothing was written for the operation.
        case matched(UUID)

        public var id: UUID {
            switch self {
            case .created(let id), .matched(let id): id
            }
        }
    }

    /// Operation `index` failed; nothing of the batch was written. `error` is the repository's own (`StoreError`,
    /// `AccessDenied`).
    public struct Failure: Error, Sendable {
        public var index: Int
        public var error: any Error
    }

    private func episodeID(_ reference: EpisodeReference, _ outcomes: [Outcome]) -> UUID {
        switch reference {
        case .existing(let id): id
        case .operation(let earlier): outcomes[earlier].id
        }
    }

    /// Thrown inside the transaction to roll a dry run back, carrying what it would have done.
    private struct DryRun: Error {
        var outcomes: [Outcome]
    }

    /// Runs `operations` in order in one transaction; the outcomes are in the same order. A `dryRun` does everything,
    /// checks and audit entries included, then rolls back: nothing is written, and a failure is found as it would be.
    public func apply(_ actor: ActingUser, _ operations: [Operation], dryRun: Bool = false,
                      library: InstrumentLibrary? = nil) async throws -> [Outcome] {
        // Role and site checks and the checks that need no database, before the transaction opens.
        var patientScope: AccessPolicy.Scope?, listScope: AccessPolicy.Scope?, episodeScope: AccessPolicy.Scope?
        var procedureScope: AccessPolicy.Scope?, responseScope: AccessPolicy.Scope?, consentScope: AccessPolicy.Scope?
        var timepointScope: AccessPolicy.Scope?, outcomeScope: AccessPolicy.Scope?, imagingScope: AccessPolicy.Scope?
        let start = Date()
        var scored: [Int: (InstrumentDefinition, ScoreResult)] = [:]
        var checked = operations
        func requirePatient(_ patient: PatientReference, _ index: Int) throws {
            if case .operation(let earlier) = patient {
                guard earlier < index, case .createPatient = operations[earlier] else {
                    throw StoreError.invalid(field: "patient", message: "names operation \(earlier + 1), which does not create a patient before this one")
                }
            }
        }
        func requireEpisode(_ episode: EpisodeReference, _ index: Int) throws {
            if case .operation(let earlier) = episode {
                guard earlier < index, case .createEpisode = operations[earlier] else {
                    throw StoreError.invalid(field: "episode", message: "names operation \(earlier + 1), which does not create an episode before this one")
                }
            }
        }
        for (index, operation) in operations.enumerated() {
            do {
                switch operation {
                case .createPatient(let new, let condition):
                    let scope: AccessPolicy.Scope
                    if let known = patientScope { scope = known } else {
                        scope = try await Access.require(actor, .create, .patient, database: database)
                        patientScope = scope
                    }
                    try await Access.requireSite(actor, new.siteID, scope: scope, .create, .patient, database: database)
                    if condition != nil, listScope == nil { listScope = try await Access.require(actor, .list, .patient, database: database) }
                    checked[index] = .createPatient(try PatientRepository.checked(new), ifNoneExist: condition)
                case .createEpisode(let patient, let joint, _, let diagnosis, _, _):
                    if episodeScope == nil { episodeScope = try await Access.require(actor, .create, .episode, database: database) }
                    try EpisodeRepository.validate(diagnosis, joint: joint)
                    try requirePatient(patient, index)
                case .createTimepoint(let episode, let new):
                    if timepointScope == nil { timepointScope = try await Access.require(actor, .create, .timepoint, database: database) }
                    try requireEpisode(episode, index)
                    try TimepointRepository.check(new)
                case .createOutcome(let episode, let event):
                    if outcomeScope == nil { outcomeScope = try await Access.require(actor, .create, .outcomeEvent, database: database) }
                    try requireEpisode(episode, index)
                    _ = try OutcomeEventRepository.checked(event, relatedness: nil)
                case .createImaging(let episode, let new):
                    if imagingScope == nil { imagingScope = try await Access.require(actor, .create, .imagingStudy, database: database) }
                    try requireEpisode(episode, index)
                    try ImagingRepository.check(new)
                case .createProcedure(let episode, let kind, let record):
                    if procedureScope == nil { procedureScope = try await Access.require(actor, .create, .procedure, database: database) }
                    try requireEpisode(episode, index)
                    try ProcedureRepository.check(NewProcedure(episodeID: UUID(), kind: kind, record: record))
                case .createResponse(let episode, let instrumentID, let answers, _, _, let timepoint):
                    if responseScope == nil { responseScope = try await Access.require(actor, .create, .questionnaireResponse, database: database) }
                    try requireEpisode(episode, index)
                    if let timepoint {
                        guard timepoint < index, case .createTimepoint(let owner, _) = operations[timepoint], owner == episode else {
                            throw StoreError.invalid(field: "timepoint", message: "names operation \(timepoint + 1), which does not create a timepoint of this episode before this one")
                        }
                    }
                    let instruments = try library ?? InstrumentLibrary.builtIn()
                    guard let instrument = instruments.instrument(id: instrumentID) else {
                        throw StoreError.invalid(field: "instrumentID", message: "unknown instrument \"\(instrumentID)\" (available: \(instruments.ids.joined(separator: ", ")))")
                    }
                    scored[index] = (instrument, try QuestionnaireRepository.score(instrument, answers))
                case .createConsent(let patient, let new):
                    if consentScope == nil { consentScope = try await Access.require(actor, .create, .consent, database: database) }
                    try requirePatient(patient, index)
                    try ConsentRepository.check(new, now: start)
                }
            } catch {
                throw Failure(index: index, error: error)
            }
        }
        let scopes = Scopes(read: listScope, episode: episodeScope, procedure: procedureScope, response: responseScope, consent: consentScope,
                            timepoint: timepointScope, outcome: outcomeScope, imaging: imagingScope, start: start)
        let (ready, scores) = (checked, scored)
        do {
            return try await write(actor, ready, scopes: scopes, scores: scores, dryRun: dryRun)
        } catch let rolledBack as DryRun {
            return rolledBack.outcomes
        }
    }

    /// The actor's scopes for the batch's kinds of write, found before the transaction.
    private struct Scopes: Sendable {
        var read, episode, procedure, response, consent, timepoint, outcome, imaging: AccessPolicy.Scope?
        var start: Date
    }

    /// `write` found a constraint failure in a multi-row insert, which does not say which operation broke it: the
    /// batch is written again one row at a time, to name it.
    private struct BulkRowFailed: Error {}

    private func write(_ actor: ActingUser, _ ready: [Operation], scopes: Scopes, scores: [Int: (InstrumentDefinition, ScoreResult)],
                       dryRun: Bool) async throws -> [Outcome] {
        do {
            return try await write(actor, ready, scopes: scopes, scores: scores, dryRun: dryRun, bulk: true)
        } catch is BulkRowFailed {
            return try await write(actor, ready, scopes: scopes, scores: scores, dryRun: dryRun, bulk: false)
        }
    }

    /// `bulk`: runs of patient and episode creates that need no read go in multi-row inserts (an import of thousands
    /// of records spends most of its time on statements otherwise).
    private func write(_ actor: ActingUser, _ ready: [Operation], scopes: Scopes, scores: [Int: (InstrumentDefinition, ScoreResult)],
                       dryRun: Bool, bulk: Bool) async throws -> [Outcome] {
        let readScope = scopes.read, createEpisode = scopes.episode
        return try await database.transaction { db in
            var outcomes: [Outcome] = []
            // One audit append for the whole batch; the sites seen to exist; the site of each patient written or
            // matched here (its episodes and consents need no read of it).
            let audits = AuditBuffer()
            var sitesSeen: Set<UUID> = []
            var patientSites: [Int: UUID] = [:]
            // Rows waiting for their multi-row inserts, written before any operation that reads or writes otherwise.
            var patientRows: [[BulkValue]] = [], episodeRows: [[BulkValue]] = []
            // The stored form of each diagnosis met (an import's episodes share a few).
            var diagnosisJSON: [Diagnosis: String] = [:]
            func flush() async throws {
                guard !patientRows.isEmpty || !episodeRows.isEmpty else { return }
                let sql = try db.sqlDatabase()
                do {
                    try await BulkInsert.insertRows(into: PatientModel.schema, columns: PatientRepository.columns, values: patientRows, on: sql)
                    try await BulkInsert.insertRows(into: EpisodeModel.schema, columns: EpisodeRepository.columns, values: episodeRows, on: sql)
                } catch {
                    throw BulkRowFailed()
                }
                (patientRows, episodeRows) = ([], [])
            }
            for (index, operation) in ready.enumerated() {
                do {
                    switch operation {
                    case .createPatient(let new, nil) where bulk && sitesSeen.contains(new.siteID):
                        let (id, _, row) = PatientRepository.row(new)
                        patientRows.append(row)
                        try await Access.audit(actor, .create, .patient, id, on: db, into: audits)
                        patientSites[index] = new.siteID
                        outcomes.append(.created(id))
                        continue
                    case .createEpisode(.operation(let earlier), let joint, let side, let diagnosis, let status, let lastContact)
                        where bulk && patientSites[earlier].map({ PatientRepository.visible(patient: outcomes[earlier].id, site: $0, actor, createEpisode ?? .denied) }) == true:
                        // The diagnosis was validated against the joint with the other checks, before the transaction.
                        let new = NewEpisode(patientID: outcomes[earlier].id, joint: joint, side: side, diagnosis: diagnosis)
                        let json = try diagnosisJSON[diagnosis] ?? EpisodeRepository.json(diagnosis)
                        diagnosisJSON[diagnosis] = json
                        let (id, _, row) = EpisodeRepository.row(new, siteID: patientSites[earlier]!, status: status, lastContact: lastContact,
                                                                 diagnosisJSON: json)
                        episodeRows.append(row)
                        try await Access.audit(actor, .create, .episode, id, on: db, into: audits)
                        outcomes.append(.created(id))
                        continue
                    default:
                        try await flush()
                    }
                    switch operation {
                    case .createPatient(let new, let condition):
                        if let condition, let readScope {
                            var query = PatientRepository.scoped(PatientModel.query(on: db), actor, readScope)?.filter(\.$mrn == condition.mrn)
                            if let site = condition.site { query = query?.filter(\.$site.$id == site) }
                            let matches = try await query?.limit(2).all() ?? []
                            if matches.count > 1 {
                                throw StoreError.conflict("the condition matches more than one patient")
                            }
                            if let match = matches.first {
                                outcomes.append(.matched(try match.requireID()))
                                patientSites[index] = match.$site.id
                                continue
                            }
                        }
                        let record = try await mapConstraint(PatientRepository.duplicateMRN(new)) {
                            try await PatientRepository.insert(actor, new, siteChecked: sitesSeen.contains(new.siteID), audits: audits, on: db)
                        }
                        sitesSeen.insert(new.siteID)
                        patientSites[index] = new.siteID
                        outcomes.append(.created(record.id))
                    case .createEpisode(let patient, let joint, let side, let diagnosis, let status, let lastContact):
                        let patientID: UUID, patientSite: UUID?
                        switch patient {
                        case .existing(let id): (patientID, patientSite) = (id, nil)
                        case .operation(let earlier): (patientID, patientSite) = (outcomes[earlier].id, patientSites[earlier])
                        }
                        let record = try await EpisodeRepository.insert(actor, NewEpisode(patientID: patientID, joint: joint, side: side, diagnosis: diagnosis),
                                                                        status: status, lastContact: lastContact, scope: createEpisode ?? .denied,
                                                                        patientSite: patientSite, audits: audits, on: db)
                        outcomes.append(.created(record.id))
                    case .createTimepoint(let episode, let new):
                        let id = try await TimepointRepository.insert(actor, episodeID: episodeID(episode, outcomes), new,
                                                                      scope: scopes.timepoint ?? .denied, audits: audits, on: db)
                        outcomes.append(.created(id))
                    case .createOutcome(let episode, let event):
                        let record = try await OutcomeEventRepository.insert(actor, episodeID: episodeID(episode, outcomes), event, relatedness: nil,
                                                                             scope: scopes.outcome ?? .denied, audits: audits, on: db)
                        outcomes.append(.created(record.id))
                    case .createImaging(let episode, var new):
                        new.episodeID = episodeID(episode, outcomes)
                        let record = try await ImagingRepository.insert(actor, new, scope: scopes.imaging ?? .denied, audits: audits, on: db)
                        outcomes.append(.created(record.id))
                    case .createProcedure(let episode, let kind, let record):
                        let stored = try await ProcedureRepository.insert(actor, NewProcedure(episodeID: episodeID(episode, outcomes), kind: kind, record: record),
                                                                          scope: scopes.procedure ?? .denied, audits: audits, on: db)
                        outcomes.append(.created(stored.id))
                    case .createResponse(let episode, _, let answers, let completedAt, let source, let timepoint):
                        guard let (instrument, result) = scores[index] else { throw StoreError.invalid(field: "instrumentID", message: "not scored") }
                        let id = try await QuestionnaireRepository.insert(actor, episodeID: episodeID(episode, outcomes), instrument: instrument,
                                                                          answers: answers, scores: result, completedAt: completedAt, source: source,
                                                                          timepointID: timepoint.map { outcomes[$0].id },
                                                                          scope: scopes.response ?? .denied, audits: audits, on: db)
                        outcomes.append(.created(id))
                    case .createConsent(let patient, let new):
                        let patientID: UUID
                        switch patient {
                        case .existing(let id): patientID = id
                        case .operation(let earlier): patientID = outcomes[earlier].id
                        }
                        let record = try await ConsentRepository.insert(actor, patientID: patientID, new, now: scopes.start.addingTimeInterval(Double(index) / 1000),
                                                                        scope: scopes.consent ?? .denied, audits: audits, on: db)
                        outcomes.append(.created(record.id))
                    }
                } catch let failed as BulkRowFailed {
                    throw failed
                } catch {
                    throw Failure(index: index, error: error)
                }
            }
            try await flush()
            try await audits.flush(on: db)
            if dryRun { throw DryRun(outcomes: outcomes) }
            return outcomes
        }
    }
}
