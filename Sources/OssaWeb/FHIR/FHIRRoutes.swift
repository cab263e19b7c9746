import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import OssaCore
import OssaFHIR
import OssaStore

/// FHIR R4 under `/fhir` (`application/fhir+json`): the CapabilityStatement, and read and search of Patient,
/// Condition, Procedure, Observation (scores), Questionnaire and QuestionnaireResponse. Every call goes through the store with the caller as acting user, so a search returns only the caller's
/// sites' records whatever its parameters, and every read and search is audited there. Errors are OperationOutcome
/// (`ProblemMiddleware`, `FHIRIO.operationOutcome`).
struct FHIRRoutes: Sendable {
    let store: OssaStore
    let baseURL: String
    let version: String
    let library: InstrumentLibrary
    /// `$export` jobs (nil: not served).
    var exports: BulkExportJobs? = nil
    /// For `Group/{id}/$export`: a saved cohort's patients.
    var analytics: AnalyticsSetup? = nil

    static let contentType = "application/fhir+json; charset=utf-8"

    /// The metadata is public (clients read it before they authenticate); the rest takes an API token or a session.
    func registerPublic(on router: Router<OssaRequestContext>) {
        router.on(.get, Paths.FHIR.metadata, use: metadata)
    }

    typealias Handler = @Sendable (Request, OssaRequestContext) async throws -> Response

    /// A read that answers `If-None-Match` with its current version's ETag by 304 Not Modified, without a body.
    static func conditionalRead(_ read: @escaping Handler) -> Handler {
        { request, context in
            let response = try await read(request, context)
            guard let wanted = request.headers[.ifNoneMatch], let tag = response.headers[.eTag] else { return response }
            let current = FHIRIO.version(ofETag: tag)
            let matches = wanted.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "*" || FHIRIO.version(ofETag: String($0)) == current }
            guard matches else { return response }
            return Response(status: .notModified, headers: [.eTag: tag, .cacheControl: "no-store"])
        }
    }

    /// vread (`GET [type]/[id]/_history/[vid]`): Ossa keeps the current version of a record only, so the current
    /// version is answered as a read, and any other is 404 naming the current one.
    static func versionRead(_ read: @escaping Handler, type: String) -> Handler {
        { request, context in
            let response = try await read(request, context)
            let wanted = context.parameters.get("versionID") ?? ""
            guard let tag = response.headers[.eTag], FHIRIO.version(ofETag: tag) == wanted else {
                let current = response.headers[.eTag].map { " (the current one is \(FHIRIO.version(ofETag: $0)))" } ?? ""
                throw Problem(.notFound, detail: "no version \(wanted) of this \(type): Ossa keeps only the current version of a record\(current)")
            }
            return response
        }
    }

    func register(on group: RouterGroup<OssaRequestContext>) {
        let versioned: [(RoutePath, RoutePath, Handler, String)] = [
            (Paths.FHIR.patient, Paths.FHIR.patientVersion, readPatient, "Patient"),
            (Paths.FHIR.condition, Paths.FHIR.conditionVersion, readCondition, "Condition"),
            (Paths.FHIR.procedure, Paths.FHIR.procedureVersion, readProcedure, "Procedure"),
            (Paths.FHIR.observation, Paths.FHIR.observationVersion, readObservation, "Observation"),
            (Paths.FHIR.questionnaireResponse, Paths.FHIR.questionnaireResponseVersion, readQuestionnaireResponse, "QuestionnaireResponse"),
            (Paths.FHIR.consent, Paths.FHIR.consentVersion, readConsent, "Consent"),
        ]
        for (path, versionPath, read, type) in versioned {
            group.on(.get, path, use: Self.conditionalRead(read))
            group.on(.get, versionPath, use: Self.conditionalRead(Self.versionRead(read, type: type)))
        }
        group.on(.get, Paths.FHIR.patients, use: searchPatients)
        group.on(.post, Paths.FHIR.patients, use: createPatient)
        group.on(.post, Paths.FHIR.conditions, use: createCondition)
        group.on(.post, Paths.FHIR.procedures, use: createProcedure)
        group.on(.post, Paths.FHIR.questionnaireResponses, use: createQuestionnaireResponse)
        group.on(.post, Paths.FHIR.system, use: bundle)
        group.on(.get, Paths.FHIR.conditions, use: searchConditions)
        group.on(.get, Paths.FHIR.procedures, use: searchProcedures)
        group.on(.get, Paths.FHIR.consents, use: searchConsents)
        group.on(.get, Paths.FHIR.observations, use: searchObservations)
        group.on(.get, Paths.FHIR.questionnaires, use: searchQuestionnaires)
        group.on(.get, Paths.FHIR.questionnaire, use: readQuestionnaire)
        group.on(.get, Paths.FHIR.questionnaireResponses, use: searchQuestionnaireResponses)
        group.on(.get, Paths.FHIR.exportSystem, use: exportSystem)
        group.on(.get, Paths.FHIR.exportPatients, use: exportSystem)
        group.on(.get, Paths.FHIR.exportGroup, use: exportGroup)
        group.on(.get, Paths.FHIR.exportStatus, use: exportStatus)
        group.on(.delete, Paths.FHIR.exportStatus, use: exportCancel)
        group.on(.get, Paths.FHIR.exportFile, use: exportFile)
        group.on(.get, Paths.FHIR.auditEvents, use: searchAuditEvents)
        group.on(.get, Paths.FHIR.auditEvent, use: readAuditEvent)
        // The audit log is append-only and written by Ossa alone: every write to it is refused.
        for method in [HTTPRequest.Method.post, .put, .patch, .delete] {
            group.on(method, Paths.FHIR.auditEvents, use: refuseAuditWrite)
            group.on(method, Paths.FHIR.auditEvent, use: refuseAuditWrite)
        }
    }

    @Sendable func metadata(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let date = FHIRMapping.instant(Date()) ?? ""
        let statement = FHIRCapabilities.statement(version: version, baseURL: baseURL + "/fhir", date: date)
        let data = try JSONSerialization.data(withJSONObject: statement, options: [.sortedKeys, .withoutEscapingSlashes])
        return FHIRIO.response(data)
    }

    @Sendable func readPatient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try FHIRIO.id(context, "patientID", type: "Patient")
        let record = try await store.patients.get(actor, id)
        return try FHIRIO.response(FHIRMapping.patient(record, site: try await sites(actor)[record.siteID]))
    }

    @Sendable func readCondition(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let id = try FHIRIO.id(context, "conditionID", type: "Condition")
        return try FHIRIO.response(FHIRMapping.condition(try await store.episodes.get(actor, id)))
    }

    @Sendable func readProcedure(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let procedure = try await store.procedures.get(actor, try FHIRIO.id(context, "procedureID", type: "Procedure"))
        // The subject: the episode's patient (the procedure record names its episode).
        let episode = try await store.episodes.get(actor, procedure.episodeID)
        return try FHIRIO.response(FHIRMapping.procedure(procedure, patientID: episode.patientID))
    }

    @Sendable func readConsent(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let consent = try await store.consents.get(actor, id: try FHIRIO.id(context, "consentID", type: "Consent"))
        let standing = ConsentRecord.current(try await store.consents.list(actor, patientID: consent.patientID))
        return try FHIRIO.response(FHIRMapping.consent(consent, active: standing[consent.kind]?.id == consent.id))
    }

    /// GET /fhir/Consent?patient=(required)&_count=&_offset=: the patient's decisions, newest first.
    @Sendable func searchConsents(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Consent")
        let patientID = try query.requiredPatient()
        var all: [ConsentRecord] = []
        do {
            all = try await store.consents.list(actor, patientID: patientID)
        } catch StoreError.notFound(_, _) {
            all = []
        }
        // A consent is never changed: it was last updated when it was recorded.
        let standing = ConsentRecord.current(all)
        let updated = try query.lastUpdated()
        let matching = all.filter { c in updated.map { ($0.from.map { c.recordedAt >= $0 } ?? true) && ($0.before.map { c.recordedAt < $0 } ?? true) } ?? true }
        let page = matching.reversed().dropFirst(query.offset).prefix(query.count)
        return try FHIRIO.response(query.bundle(total: matching.count, offset: query.offset, count: query.count, base: baseURL,
                                                entries: page.map { .consent(FHIRMapping.consent($0, active: standing[$0.kind]?.id == $0.id)) }))
    }

    /// GET /fhir/Procedure?patient=(required)&date=&_count=&_offset=
    @Sendable func searchProcedures(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Procedure")
        let patientID = try query.requiredPatient()
        let performed = try query.string("date").map { try FHIRSearch.dayRange($0, parameter: "date") }
        let found: (total: Int, items: [StoredProcedure])
        do {
            let page = try await store.procedures.list(actor, ProcedureFilter(patientID: patientID, performed: performed, updated: try query.lastUpdated()),
                                                       PageRequest(limit: query.count, offset: query.offset))
            found = (page.total, page.items)
        } catch StoreError.notFound(_, _) {
            found = (0, [])
        }
        return try FHIRIO.response(query.bundle(total: found.total, offset: query.offset, count: query.count, base: baseURL,
                                                entries: found.items.map { .procedure(FHIRMapping.procedure($0, patientID: patientID)) }))
    }

    /// GET /fhir/Patient?name=&identifier=&_count=&_offset=
    @Sendable func searchPatients(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Patient")
        let name = try query.string("name")
        let names = try await sites(actor)
        if let identifier = try query.string("identifier") {
            // A token: `value` or `system|value`, matched exactly (MRNs are unique per site: the matches are few, one page).
            let parts = identifier.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let system = parts.count == 2 ? parts[0] : nil
            let value = parts.count == 2 ? parts[1] : parts[0]
            guard !value.isEmpty else { throw Problem.badParameter("identifier", "give a value, or system|value") }
            let candidates = try await store.patients.find(actor, mrn: value)
            let matches = candidates.filter { p in
                p.mrn == value && (system == nil || system == FHIRSystems.mrn(site: p.siteID))
                    && (name.map { n in "\(p.familyName) \(p.givenName)".localizedCaseInsensitiveContains(n) } ?? true)
            }
            return try FHIRIO.response(query.bundle(total: matches.count, offset: 0, count: matches.count, base: baseURL,
                                                    entries: matches.map { .patient(FHIRMapping.patient($0, site: names[$0.siteID])) }))
        }
        let page = try await store.patients.list(actor, PageRequest(limit: query.count, offset: query.offset, search: name), updated: try query.lastUpdated())
        return try FHIRIO.response(query.bundle(total: page.total, offset: page.offset, count: query.count, base: baseURL,
                                                entries: page.items.map { .patient(FHIRMapping.patient($0, site: names[$0.siteID])) }))
    }

    /// GET /fhir/Condition?patient=&_count=&_offset=
    @Sendable func searchConditions(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Condition")
        let patientID = try query.string("patient").map(FHIRSearch.patient)
        // `code`: any coding of the Condition (Ossa's diagnosis code, ICD-10-CM, SNOMED CT), `code` or `system|code`;
        // matched on a patient's Conditions (a handful), so it needs `patient`.
        var wanted: (system: String?, code: String)?
        if let code = try query.string("code") {
            let token = FHIRSearch.token(code)
            guard !token.code.isEmpty else { throw Problem.badParameter("code", "give a code, or system|code") }
            guard patientID != nil else { throw Problem.badParameter("code", "is searched within one patient's Conditions: give patient too") }
            wanted = token
        }
        let updated = try query.lastUpdated()
        var found: (total: Int, items: [FHIRCondition])
        do {
            if let wanted {
                let all = try await store.episodes.list(actor, patient: patientID, PageRequest(limit: PageRequest.maximumLimit), updated: updated).items
                    .map(FHIRMapping.condition)
                    .filter { $0.code.coding?.contains { $0.code == wanted.code && (wanted.system == nil || $0.system == wanted.system) } ?? false }
                found = (all.count, Array(all.dropFirst(query.offset).prefix(query.count)))
            } else {
                let page = try await store.episodes.list(actor, patient: patientID, PageRequest(limit: query.count, offset: query.offset), updated: updated)
                found = (page.total, page.items.map(FHIRMapping.condition))
            }
        } catch StoreError.notFound(_, _) {
            // A patient the caller cannot see (or none): no matches, the same answer either way.
            found = (0, [])
        }
        return try FHIRIO.response(query.bundle(total: found.total, offset: query.offset, count: query.count, base: baseURL,
                                                entries: found.items.map { .condition($0) }))
    }

    /// An instrument's Questionnaire. Not patient data: any signed-in caller may read it, unaudited.
    @Sendable func readQuestionnaire(_ request: Request, context: OssaRequestContext) async throws -> Response {
        _ = try context.requireUser()
        let id = context.parameters.get("questionnaireID") ?? ""
        guard let definition = library.instrument(id: id) else { throw Problem(.notFound, detail: "no Questionnaire with id \(id)") }
        return try FHIRIO.response(FHIRMapping.questionnaire(definition))
    }

    /// GET /fhir/Questionnaire?url=&_count=&_offset=
    @Sendable func searchQuestionnaires(_ request: Request, context: OssaRequestContext) async throws -> Response {
        _ = try context.requireUser()
        let query = try FHIRSearch(request, type: "Questionnaire")
        var all = library.instruments.map(FHIRMapping.questionnaire)
        if let url = try query.string("url") {
            let parts = url.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            all = all.filter { $0.url == parts[0] && (parts.count == 1 || $0.version == parts[1]) }
        }
        let page = Array(all.dropFirst(query.offset).prefix(query.count))
        return try FHIRIO.response(query.bundle(total: all.count, offset: query.offset, count: query.count, base: baseURL,
                                                entries: page.map { .questionnaire($0) }))
    }

    @Sendable func readQuestionnaireResponse(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let response = try await store.questionnaires.get(actor, try FHIRIO.id(context, "questionnaireResponseID", type: "QuestionnaireResponse"))
        let episode = try await store.episodes.get(actor, response.episodeID)
        return try FHIRIO.response(FHIRMapping.questionnaireResponse(response, patientID: episode.patientID,
                                                                     definition: library.instrument(id: response.instrumentID)))
    }

    /// GET /fhir/QuestionnaireResponse?patient=(required)&questionnaire=&authored=&_count=&_offset=
    @Sendable func searchQuestionnaireResponses(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "QuestionnaireResponse")
        let patientID = try query.requiredPatient()
        var filter = QuestionnaireFilter(patientID: patientID, completed: try query.string("authored").map { try FHIRSearch.dayRange($0, parameter: "authored") },
                                         updated: try query.lastUpdated())
        var version: String?
        if let questionnaire = try query.string("questionnaire") {
            let parts = questionnaire.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let prefix = FHIRSystems.questionnaire("")
            let id = parts[0].hasPrefix(prefix) ? String(parts[0].dropFirst(prefix.count))
                : parts[0].hasPrefix("Questionnaire/") ? String(parts[0].dropFirst("Questionnaire/".count)) : parts[0]
            guard !id.isEmpty, !id.contains("/") else {
                throw Problem.badParameter("questionnaire", "\"\(questionnaire)\" is not an Ossa Questionnaire (its canonical URL, Questionnaire/<id> or <id>)")
            }
            filter.instrumentID = id
            version = parts.count == 2 ? parts[1] : nil
        }
        let found: (total: Int, items: [QuestionnaireResponseRecord])
        if let version {
            // Versions are few and rarely change: filter the patient's responses to the instrument, then page.
            let all = try await allResponses(actor, filter).filter { $0.instrumentVersion == version }
            found = (all.count, Array(all.dropFirst(query.offset).prefix(query.count)))
        } else {
            found = try await responsePage(actor, filter, PageRequest(limit: query.count, offset: query.offset))
        }
        return try FHIRIO.response(query.bundle(total: found.total, offset: query.offset, count: query.count, base: baseURL, entries: found.items.map {
            .questionnaireResponse(FHIRMapping.questionnaireResponse($0, patientID: patientID, definition: library.instrument(id: $0.instrumentID)))
        }))
    }

    /// A score's Observation (`<response id>-<score>`; a score not computed has none), or an imaging finding's
    /// (`<study id>-bml.<subregion>`, `<study id>-xray`).
    @Sendable func readObservation(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let raw = context.parameters.get("observationID") ?? ""
        if let imaging = FHIRMapping.ImagingObservation(id: raw) {
            let study = try await store.imaging.get(actor, imaging.study)
            let episode = try await store.episodes.get(actor, study.episodeID)
            guard let observation = FHIRMapping.imagingObservations(study, patientID: episode.patientID, side: episode.side).first(where: { $0.id == raw }) else {
                throw Problem(.notFound, detail: "no Observation with id \(raw)")
            }
            return try FHIRIO.response(observation)
        }
        guard let responseID = FHIRMapping.scoreObservation(id: raw)?.response else { throw Problem(.notFound, detail: "no Observation with id \(raw)") }
        let response = try await store.questionnaires.get(actor, responseID)
        let episode = try await store.episodes.get(actor, response.episodeID)
        let observations = FHIRMapping.scoreObservations(response, patientID: episode.patientID, definition: library.instrument(id: response.instrumentID))
        guard let observation = observations.first(where: { $0.id == raw }) else { throw Problem(.notFound, detail: "no Observation with id \(raw)") }
        return try FHIRIO.response(observation)
    }

    /// GET /fhir/Observation?patient=(required)&code=&category=&date=&_count=&_offset=
    ///
    /// The scores of the patient's responses, in completion order and each response's score order.
    @Sendable func searchObservations(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "Observation")
        let patientID = try query.requiredPatient()
        var filter = QuestionnaireFilter(patientID: patientID, completed: try query.string("date").map { try FHIRSearch.dayRange($0, parameter: "date") },
                                         updated: try query.lastUpdated())
        var surveys = true, imaging = true
        if let category = try query.string("category") {
            let (system, code) = FHIRSearch.token(category)
            let known = system == nil || system == FHIRSystems.observationCategory
            surveys = known && code == "survey"
            imaging = known && code == "imaging"
        }
        var wanted: (system: String?, code: String)?
        if let code = try query.string("code") {
            let token = FHIRSearch.token(code)
            guard !token.code.isEmpty else { throw Problem.badParameter("code", "give a code, or system|code") }
            wanted = token
            // Ossa's own code (`<instrument>:<score>`; LOINC codes have no colon) names its instrument: read only
            // that instrument's responses.
            if token.system == nil || token.system == FHIRSystems.ossaScore, let colon = token.code.firstIndex(of: ":") {
                filter.instrumentID = String(token.code[..<colon])
            }
        }
        func matches(_ o: FHIRObservation) -> Bool {
            guard let wanted else { return true }
            return o.code.coding?.contains { $0.code == wanted.code && (wanted.system == nil || $0.system == wanted.system) } ?? false
        }
        var all: [FHIRObservation] = []
        if surveys {
            for response in try await allResponses(actor, filter) {
                let definition = library.instrument(id: response.instrumentID)
                all += FHIRMapping.scoreObservations(response, patientID: patientID, definition: definition).filter(matches)
            }
        }
        if imaging, filter.instrumentID == nil {
            let studies = try await allStudies(actor, ImagingFilter(patientID: patientID, studied: filter.completed, updated: filter.updated))
            if !studies.isEmpty {
                // The side of each study's episode (a patient's episodes: a handful, one read).
                let episodes = try await store.episodes.list(actor, patient: patientID, PageRequest(limit: PageRequest.maximumLimit))
                let sides = Dictionary(episodes.items.map { ($0.id, $0.side) }, uniquingKeysWith: { a, _ in a })
                for study in studies {
                    guard let side = sides[study.episodeID] else { continue }
                    all += FHIRMapping.imagingObservations(study, patientID: patientID, side: side).filter(matches)
                }
            }
            // In time order: a day sorts before the instants of that day (a string compare of FHIR date prefixes).
            all = all.enumerated().sorted { a, b in
                let (x, y) = (a.element.effectiveDateTime ?? "", b.element.effectiveDateTime ?? "")
                return x == y ? a.offset < b.offset : x < y
            }.map(\.element)
        }
        let page = Array(all.dropFirst(query.offset).prefix(query.count))
        return try FHIRIO.response(query.bundle(total: all.count, offset: query.offset, count: query.count, base: baseURL,
                                                entries: page.map { .observation($0) }))
    }

    /// One page of responses; a patient the caller cannot see has none (the same answer as a patient without any).
    private func responsePage(_ actor: ActingUser, _ filter: QuestionnaireFilter, _ page: PageRequest) async throws
        -> (total: Int, items: [QuestionnaireResponseRecord]) {
        do {
            let result = try await store.questionnaires.list(actor, filter, page)
            return (result.total, result.items)
        } catch StoreError.notFound(_, _) {
            return (0, [])
        }
    }

    /// Every imaging study matching `filter` (one patient's: a handful).
    private func allStudies(_ actor: ActingUser, _ filter: ImagingFilter) async throws -> [ImagingStudyRecord] {
        var out: [ImagingStudyRecord] = []
        while true {
            let page: (total: Int, items: [ImagingStudyRecord])
            do {
                let result = try await store.imaging.list(actor, filter, PageRequest(limit: PageRequest.maximumLimit, offset: out.count))
                page = (result.total, result.items)
            } catch StoreError.notFound(_, _) {
                return []
            }
            out += page.items
            if page.items.isEmpty || out.count >= page.total { return out }
        }
    }

    /// Every response matching `filter` (one patient's: tens, read in pages of the store's largest).
    private func allResponses(_ actor: ActingUser, _ filter: QuestionnaireFilter) async throws -> [QuestionnaireResponseRecord] {
        var out: [QuestionnaireResponseRecord] = []
        while true {
            let page = try await responsePage(actor, filter, PageRequest(limit: PageRequest.maximumLimit, offset: out.count))
            out += page.items
            if page.items.isEmpty || out.count >= page.total { return out }
        }
    }

    /// One audit-log entry by its sequence number. Admins only (the store refuses the rest); the read is audited.
    @Sendable func readAuditEvent(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let raw = context.parameters.get("auditEventID") ?? ""
        guard let sequence = Int64(raw), sequence > 0 else { throw Problem(.notFound, detail: "no AuditEvent with id \(raw)") }
        guard let entry = try await store.audit.entries(as: actor, after: sequence - 1, limit: 1).first, entry.sequence == sequence else {
            throw Problem(.notFound, detail: "no AuditEvent with id \(raw)")
        }
        return try FHIRIO.response(FHIRMapping.auditEvent(Self.record(entry)))
    }

    /// GET /fhir/AuditEvent?_count=&_offset= — the log in sequence order; `total` is the newest entry's number
    /// (the log is append-only and numbered from 1, so offset n starts after entry n).
    @Sendable func searchAuditEvents(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = try FHIRSearch(request, type: "AuditEvent")
        let entries = try await store.audit.entries(as: actor, after: Int64(query.offset), limit: query.count)
        let total = Int(try await store.audit.head().sequence)
        return try FHIRIO.response(query.bundle(total: total, offset: query.offset, count: query.count, base: baseURL,
                                                entries: entries.map { .auditEvent(FHIRMapping.auditEvent(Self.record($0))) }))
    }

    @Sendable func refuseAuditWrite(_ request: Request, context: OssaRequestContext) async throws -> Response {
        throw Problem(.methodNotAllowed, detail: "AuditEvent is read-only: Ossa writes its audit log itself",
                      headers: [.allow: "GET"])
    }

    static func record(_ e: AuditEntry) -> AuditRecord {
        AuditRecord(sequence: e.sequence, recorded: e.date, actorUserID: e.actorUserID, actorRole: e.actorRole, action: e.action, outcome: e.outcome,
                    recordType: e.recordType, recordID: e.recordID, fromAddress: e.fromAddress, hash: e.hash, previousHash: e.previousHash)
    }

    /// The caller's sites (a patient's managing organisation).
    func sites(_ actor: ActingUser) async throws -> [UUID: SiteRecord] {
        Dictionary(try await store.sites.list(actor, PageRequest(limit: PageRequest.maximumLimit)).items.map { ($0.id, $0) },
                   uniquingKeysWith: { a, _ in a })
    }

    /// POST /fhir/Patient (`application/fhir+json`): 201 with the Patient as stored and its `Location`. With
    /// `If-None-Exist: identifier=[system|]value` (conditional create) an existing match is answered 200 and nothing
    /// is written; more than one match is 412. Every problem is an OperationOutcome issue at its element.
    @Sendable func createPatient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let body = try await FHIRIO.body(request, context)
        let input: FHIRPatientInput
        do {
            input = try FHIRPatientInput.decode(body)
        } catch {
            throw FHIRIO.problem(error)
        }
        let known = try await sites(actor)
        let siteID = try Self.site(of: input, among: known)
        if let condition = request.headers[FHIRIO.ifNoneExist] {
            let matches = try await patients(matching: condition, actor: actor, sites: known)
            if matches.count > 1 {
                throw Problem(.preconditionFailed, detail: "If-None-Exist matches \(matches.count) patients; make the condition select one")
            }
            if let existing = matches.first {
                return try FHIRIO.response(FHIRMapping.patient(existing, site: known[existing.siteID]))
            }
        }
        let record: PatientRecord
        do {
            record = try await store.patients.create(actor, NewPatient(siteID: siteID, mrn: input.mrn, familyName: input.familyName, givenName: input.givenName,
                                                                       birthDate: input.birthDate, sex: input.sex, email: input.email, phone: input.phone))
        } catch StoreError.invalid(let field, let message) {
            let at = ["familyName": "Patient.name.family", "givenName": "Patient.name.given", "mrn": "Patient.identifier",
                      "email": "Patient.telecom", "phone": "Patient.telecom"][field] ?? "Patient"
            throw Problem.validation([FieldProblem(field: at, message: message)])
        }
        var response = try FHIRIO.response(FHIRMapping.patient(record, site: known[record.siteID]), status: .created)
        response.headers[.location] = baseURL + Paths.FHIR.patient.url(record.id)
        return response
    }

    /// The site a new patient goes to: the one its MRN system, `managingOrganization` or site code names (all that
    /// are given must agree), or the caller's only site.
    static func site(of input: FHIRPatientInput, among sites: [UUID: SiteRecord], at path: String = "Patient") throws -> UUID {
        var named: [(String, UUID)] = []
        // An MRN system of a site this installation does not have (another Ossa's export) says nothing here when the
        // site is also named by its code.
        if let id = input.mrnSite, sites[id] != nil || input.siteCode == nil { named.append(("\(path).identifier", id)) }
        if let id = input.siteID { named.append(("\(path).managingOrganization.reference", id)) }
        if let code = input.siteCode {
            // The code as the site has it first: Foundation's case-insensitive comparison costs much on an import.
            guard let site = sites.values.first(where: { $0.code == code })
                ?? sites.values.first(where: { $0.code.caseInsensitiveCompare(code) == .orderedSame }) else {
                throw Problem.validation([FieldProblem(field: "\(path).managingOrganization.identifier.value", message: "\"\(code)\" is not one of your sites' codes")])
            }
            named.append(("\(path).managingOrganization.identifier", site.id))
        }
        if let first = named.first {
            if let other = named.first(where: { $0.1 != first.1 }) {
                throw Problem.validation([FieldProblem(field: other.0, message: "names another site than \(first.0)")])
            }
            return first.1
        }
        guard sites.count == 1, let only = sites.keys.first else {
            throw Problem.validation([FieldProblem(field: "\(path).managingOrganization",
                                                   message: "name the site: identifier with system \(FHIRSystems.site) and the site's code as value")])
        }
        return only
    }

    /// The patients an `If-None-Exist` condition selects.
    private func patients(matching condition: String, actor: ActingUser, sites: [UUID: SiteRecord]) async throws -> [PatientRecord] {
        let wanted = try Self.condition(condition, field: "If-None-Exist")
        return try await store.patients.find(actor, mrn: wanted.mrn).filter { p in p.mrn == wanted.mrn && (wanted.site == nil || wanted.site == p.siteID) }
    }

    /// A conditional create's condition: `identifier=[system|]value`, the only search it takes. Ossa keeps one
    /// identifier, the MRN: a site's MRN system matches at that site, any other system (or none) matches the value
    /// at the caller's sites, so re-importing what another system sent finds what the first import stored.
    static func condition(_ text: String, field: String) throws -> RecordBatchRepository.MRNCondition {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "identifier", let raw = parts[1].removingPercentEncoding, !raw.isEmpty else {
            throw Problem.badParameter(field, "give identifier=[system|]value (the only condition Ossa takes)")
        }
        let (system, value) = FHIRSearch.token(raw)
        guard !value.isEmpty else { throw Problem.badParameter(field, "give identifier=[system|]value (the only condition Ossa takes)") }
        return RecordBatchRepository.MRNCondition(mrn: value, site: system.flatMap(FHIRSystems.site(ofMRNSystem:)))
    }
}

/// A FHIR search's parameters, checked against `FHIRCapabilities`: an unknown parameter, a repeated one or a bad
/// number is refused (400, OperationOutcome naming it) rather than ignored, so a search never answers more than was
/// asked for.
struct FHIRSearch {
    let type: String
    let path: String
    let values: [String: String]
    let count: Int
    let offset: Int

    init(_ request: Request, type: String) throws {
        self.type = type
        path = request.uri.path
        guard let resource = FHIRCapabilities.resource(type) else { throw Problem(.notFound, detail: "\(type) is not served") }
        let known = Set((resource.searchParameters + FHIRCapabilities.common).map(\.name))
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard known.contains(name) else {
                throw Problem.badParameter(name, "is not a search parameter of \(type); these are: \(known.sorted().joined(separator: ", "))")
            }
            guard values[name] == nil else { throw Problem.badParameter(name, "is given more than once") }
            values[name] = String(value)
        }
        self.values = values
        func number(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let raw = values[name] else { return fallback }
            guard let n = Int(raw), range.contains(n) else {
                throw Problem.badParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
        count = try number("_count", 50, 1...100)
        offset = try number("_offset", 0, 0...Int(Int32.max))
    }

    /// A patient reference: `Patient/<id>` or `<id>`.
    static func patient(_ reference: String) throws -> UUID {
        let raw = reference.hasPrefix("Patient/") ? String(reference.dropFirst("Patient/".count)) : reference
        guard let id = UUID(uuidString: raw) else {
            throw Problem.badParameter("patient", "\"\(reference)\" is not a patient (Patient/<id> or <id>)")
        }
        return id
    }

    /// The required `patient` parameter: searches of clinical records are per patient.
    func requiredPatient() throws -> UUID {
        guard let reference = try string("patient") else {
            throw Problem.badParameter("patient", "is required: \(type) searches are per patient (Patient/<id>)")
        }
        return try FHIRSearch.patient(reference)
    }

    /// A token: `code` or `system|code` (`|code` is a code without a system, matched here as any system's).
    static func token(_ value: String) -> (system: String?, code: String) {
        let parts = value.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return (nil, value) }
        return (parts[0].isEmpty ? nil : parts[0], parts[1])
    }

    /// `_lastUpdated`: when the record last changed, a day (`YYYY-MM-DD`, UTC) or an instant
    /// (`2026-11-01T09:30:00Z`), after at most one prefix `eq` `ge` `gt` `le` `lt`.
    func lastUpdated() throws -> InstantRange? {
        guard let value = try string("_lastUpdated") else { return nil }
        let prefixes = ["eq", "ge", "gt", "le", "lt"]
        let prefix = prefixes.first { value.hasPrefix($0) }
        let text = prefix.map { String(value.dropFirst($0.count)) } ?? value
        let start: Date, end: Date
        if let day = try? CalendarDate(iso: text) {
            (start, end) = (day.startOfDayUTC, day.adding(days: 1).startOfDayUTC)
        } else if let instant = FHIRIO.parseInstant(text) {
            // An instant names its millisecond (versions and lastUpdated are written to the millisecond).
            (start, end) = (instant, instant.addingTimeInterval(0.001))
        } else {
            throw Problem.badParameter("_lastUpdated", "\"\(value)\" is not a day (YYYY-MM-DD) or an instant (2026-11-01T09:30:00Z), optionally after eq, ge, gt, le or lt")
        }
        switch prefix {
        case "ge": return InstantRange(from: start)
        case "gt": return InstantRange(from: end)
        case "le": return InstantRange(before: end)
        case "lt": return InstantRange(before: start)
        default: return InstantRange(from: start, before: end)
        }
    }

    /// A date parameter on a day: `YYYY-MM-DD` (that day) or one prefix, `eq` `ge` `gt` `le` `lt`.
    static func dayRange(_ value: String, parameter: String) throws -> DateRange {
        let prefixes = ["eq", "ge", "gt", "le", "lt"]
        let prefix = prefixes.first { value.hasPrefix($0) }
        let text = prefix.map { String(value.dropFirst($0.count)) } ?? value
        guard let day = try? CalendarDate(iso: text) else {
            throw Problem.badParameter(parameter, "\"\(value)\" is not a day (YYYY-MM-DD, optionally after eq, ge, gt, le or lt)")
        }
        switch prefix {
        case "ge": return DateRange(from: day)
        case "gt": return DateRange(from: day.adding(days: 1))
        case "le": return DateRange(to: day)
        case "lt": return DateRange(to: day.adding(days: -1))
        default: return DateRange(from: day, to: day)
        }
    }

    func string(_ name: String) throws -> String? {
        guard let value = values[name] else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw Problem.badParameter(name, "is empty") }
        guard trimmed.count <= 200 else { throw Problem.badParameter(name, "is longer than 200 characters") }
        return trimmed
    }

    /// The page as a searchset Bundle with `self`, and `next` / `previous` where there are more.
    func bundle(total: Int, offset: Int, count: Int, base: String, entries: [FHIRResource]) -> FHIRBundle {
        func url(_ at: Int) -> String {
            var items = values.filter { $0.key != "_offset" && $0.key != "_count" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            items.append(("_count", String(max(count, 1))))
            items.append(("_offset", String(at)))
            let query = items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .fhirQueryValue) ?? $0.1)" }.joined(separator: "&")
            return base + path + "?" + query
        }
        let next = offset + entries.count < total && !entries.isEmpty ? url(offset + entries.count) : nil
        let previous = offset > 0 ? url(max(0, offset - count)) : nil
        return FHIRBundle.searchset(total: total, entries: entries, base: base + "/fhir", selfURL: url(offset), nextURL: next, previousURL: previous)
    }
}

extension CharacterSet {
    /// Query values: unreserved characters and `|` `:` `/` (tokens and references read better unescaped).
    static let fhirQueryValue: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~|:/")
        return set
    }()
}

/// FHIR responses and errors.
enum FHIRIO {
    static let ifNoneExist = HTTPField.Name("If-None-Exist")!

    /// The request's resource: `application/fhir+json` (or `application/json`), within the upload limit.
    static func body(_ request: Request, _ context: OssaRequestContext) async throws -> Data {
        guard JSONIO.isJSON(request.headers[.contentType]) else {
            throw Problem(.unsupportedMediaType, detail: "send the resource as application/fhir+json")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            throw NIOTooManyBytesError(maxBytes: context.maxUploadSize)
        }
        var request = request
        return Data(try await request.collectBody(upTo: context.maxUploadSize).readableBytesView)
    }

    /// A resource's problems: 400 when it is not valid FHIR, 422 when it is but Ossa cannot store it; each at its element.
    static func problem(_ error: FHIRInputError) -> Problem {
        let problems = error.issues.map { FieldProblem(field: $0.expression, message: $0.message) }
        return error.structural
            ? Problem(.badRequest, type: "/problems/invalid-resource", title: "The resource is not valid FHIR", detail: error.description, errors: problems)
            : Problem.validation(problems)
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return response(try encoder.encode(value), status: status)
    }

    /// A versioned resource: with `ETag: W/"<versionId>"` (FHIR http.html#versioning).
    static func response<T: Encodable & FHIRVersioned>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var response = response(try encoder.encode(value), status: status)
        if let version = value.meta?.versionId { response.headers[.eTag] = "W/\"\(version)\"" }
        return response
    }

    /// The version an `ETag` names (`W/"123"` → `123`).
    static func version(ofETag tag: String) -> String {
        var text = tag.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text.removeFirst(2) }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    static func response(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: FHIRRoutes.contentType, .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A path id, or a 404 OperationOutcome: FHIR ids of Ossa resources are UUIDs.
    static func id(_ context: OssaRequestContext, _ name: String, type: String) throws -> UUID {
        guard let raw = context.parameters.get(name), let id = UUID(uuidString: raw) else {
            throw Problem(.notFound, detail: "no \(type) with id \(context.parameters.get(name) ?? "")")
        }
        return id
    }

    /// The problem as an OperationOutcome: one issue per field problem, located by `expression`, or one for the whole.
    static func operationOutcome(_ problem: Problem) -> Response {
        var result = (try? response(outcome(problem), status: problem.status)) ?? response(Data(), status: problem.status)
        for field in problem.headers { result.headers.append(field) }
        return result
    }

    /// The problem's OperationOutcome (also a batch entry's answer).
    static func outcome(_ problem: Problem) -> FHIROperationOutcome {
        let code: String
        switch problem.status.code {
        case 401: code = "login"
        case 403: code = "forbidden"
        case 404: code = "not-found"
        case 405: code = "not-supported"
        case 409: code = "conflict"
        case 412: code = "multiple-matches"
        case 400, 413, 415, 422: code = "invalid"
        case 500...: code = "exception"
        default: code = "processing"
        }
        let issues = problem.errors.isEmpty
            ? [FHIROperationOutcome.Issue(code: code, diagnostics: problem.detail ?? problem.title)]
            : problem.errors.map { FHIROperationOutcome.Issue(code: code, diagnostics: $0.message, expression: [$0.field]) }
        return FHIROperationOutcome(issue: issues)
    }
}
