import Foundation
import Hummingbird
import OssaCore
import OssaFHIR
import OssaStore

/// Creates from FHIR: `POST /fhir/Condition` and transaction and batch Bundles (`POST /fhir`).
extension FHIRRoutes {
    /// POST /fhir/Condition: opens an episode for `subject` (`Patient/<id>`), 201 with the Condition and its `Location`.
    @Sendable func createCondition(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let body = try await FHIRIO.body(request, context)
        let input: FHIRConditionInput
        do {
            input = try FHIRConditionInput.decode(body)
        } catch {
            throw FHIRIO.problem(error)
        }
        guard input.subject.hasPrefix("Patient/"), let patientID = UUID(uuidString: String(input.subject.dropFirst("Patient/".count))) else {
            throw Problem.validation([FieldProblem(field: "Condition.subject.reference", message: "\"\(input.subject)\" is not a patient (Patient/<id>)")])
        }
        let episode: EpisodeRecord
        do {
            episode = try await store.episodes.create(actor, NewEpisode(patientID: patientID, joint: input.joint, side: input.side, diagnosis: input.diagnosis))
        } catch StoreError.notFound(let type, _) where type == "patient" {
            throw Problem.validation([FieldProblem(field: "Condition.subject.reference", message: "no patient \(patientID.lowercasedString) among yours")])
        } catch StoreError.invalid(_, let message) {
            throw Problem.validation([FieldProblem(field: "Condition.stage", message: message)])
        }
        var response = try FHIRIO.response(FHIRMapping.condition(episode), status: .created)
        response.headers[.location] = baseURL + Paths.FHIR.condition.url(episode.id)
        return response
    }

    /// POST /fhir/Procedure: a procedure filed under an existing episode (`reasonReference` `Condition/<id>`, whose
    /// patient is the `subject`); 201 with the Procedure as stored and its `Location`.
    @Sendable func createProcedure(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await createFiled(request, context, type: "Procedure", reference: "reasonReference[0].reference")
    }

    /// POST /fhir/QuestionnaireResponse: a completed response filed under an existing episode (the `episode`
    /// extension), scored by the instrument's rule; 201 with the response as stored and its `Location`.
    @Sendable func createQuestionnaireResponse(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await createFiled(request, context, type: "QuestionnaireResponse", reference: "extension.valueReference.reference")
    }

    private func createFiled(_ request: Request, _ context: OssaRequestContext, type: String, reference: String) async throws -> Response {
        let actor = try context.requireUser()
        let body = try await FHIRIO.body(request, context)
        let (entry, item): (FHIRBundleInput.Entry, FHIRBundleInput.Item)
        do {
            (entry, item) = try FHIRBundleInput.single(body, type: type)
        } catch {
            throw FHIRIO.problem(error)
        }
        let subject: String
        switch item {
        case .procedure(let input): subject = input.subject
        case .questionnaireResponse(let input): subject = input.subject
        default: throw Problem.badParameter("resourceType", "is not \(type)")
        }
        let operation = try FHIRImport.operation(entry, item, sites: [:], names: nil)
        let episodeID: UUID
        switch operation {
        case .createProcedure(.existing(let id), _, _), .createResponse(.existing(let id), _, _, _, _, _): episodeID = id
        default: throw Problem.validation([FieldProblem(field: "\(type).\(reference)", message: "names no episode (Condition/<id>)")])
        }
        // The subject must be the episode's patient: a response or procedure filed under another patient's episode
        // would put it in the wrong chart.
        let episode: EpisodeRecord
        do {
            episode = try await store.episodes.get(actor, episodeID)
        } catch StoreError.notFound {
            throw Problem.validation([FieldProblem(field: "\(type).\(reference)", message: "no episode \(episodeID.lowercasedString) among yours")])
        }
        let patient = "Patient/\(episode.patientID.lowercasedString)"
        guard subject == patient else {
            throw Problem.validation([FieldProblem(field: "\(type).subject.reference", message: "\(subject) is not the patient of the episode (\(patient))")])
        }
        let id: UUID
        do {
            id = try await store.batch.apply(actor, [operation])[0].id
        } catch let failure as RecordBatchRepository.Failure {
            throw Problem(failure.error)
        }
        var response: Response
        if type == "Procedure" {
            response = try FHIRIO.response(FHIRMapping.procedure(try await store.procedures.get(actor, id), patientID: episode.patientID), status: .created)
            response.headers[.location] = baseURL + Paths.FHIR.procedure.url(id)
        } else {
            let stored = try await store.questionnaires.get(actor, id)
            response = try FHIRIO.response(FHIRMapping.questionnaireResponse(stored, patientID: episode.patientID,
                                                                             definition: library.instrument(id: stored.instrumentID)), status: .created)
            response.headers[.location] = baseURL + Paths.FHIR.questionnaireResponse.url(id)
        }
        return response
    }

    /// POST /fhir with a transaction or batch Bundle (FHIR R4 http.html#transaction). A transaction is all or
    /// nothing: every entry is read first and every problem named at its entry and element; then its creates run in
    /// one database transaction, `urn:uuid:` references to the Bundle's own Patients resolved, and one failure
    /// writes nothing. A batch answers each entry on its own (its entries may not reference each other).
    @Sendable func bundle(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let body = try await FHIRIO.body(request, context)
        let bundle: FHIRBundleInput
        do {
            bundle = try FHIRBundleInput.decode(body)
        } catch {
            throw FHIRIO.problem(error)
        }
        let sites = try await sites(actor)
        switch bundle.kind {
        case .transaction: return try await transaction(bundle, actor: actor, sites: sites)
        case .batch: return try await batch(bundle, actor: actor, sites: sites)
        }
    }

    private func transaction(_ bundle: FHIRBundleInput, actor: ActingUser, sites: [UUID: SiteRecord]) async throws -> Response {
        let done = try await FHIRImport(store: store).run(bundle, actor: actor, sites: sites)
        var responses: [Int: FHIRBundle.Entry] = [:]
        for (entry, item, outcome, id) in done {
            responses[entry.index] = Self.entryResponse(item, outcome, id: id)
        }
        return try FHIRIO.response(FHIRBundle(type: "transaction-response", entry: bundle.entries.compactMap { responses[$0.index] }))
    }

    private func batch(_ bundle: FHIRBundleInput, actor: ActingUser, sites: [UUID: SiteRecord]) async throws -> Response {
        var answers: [FHIRBundle.Entry] = []
        for entry in bundle.entries {
            do {
                let item: FHIRBundleInput.Item
                switch entry.item {
                case .failure(let error): throw FHIRIO.problem(error)
                case .success(let read): item = read
                }
                let operation = try FHIRImport.operation(entry, item, sites: sites, names: nil)
                do {
                    let outcome = try await store.batch.apply(actor, [operation])
                    answers.append(Self.entryResponse(item, outcome[0]))
                } catch let failure as RecordBatchRepository.Failure {
                    throw Problem(failure.error)
                }
            } catch {
                let problem = Problem(error)
                answers.append(FHIRBundle.Entry(response: FHIRBundle.EntryResponse(
                    status: "\(problem.status.code) \(problem.status.reasonPhrase)",
                    outcome: .operationOutcome(FHIRIO.outcome(problem)))))
            }
        }
        return try FHIRIO.response(FHIRBundle(type: "batch-response", entry: answers))
    }

    static func entryResponse(_ item: FHIRBundleInput.Item, _ outcome: RecordBatchRepository.Outcome, id: String? = nil) -> FHIRBundle.Entry {
        let type = item.resourceType
        let status: String
        switch outcome {
        case .created: status = "201 Created"
        case .matched: status = "200 OK"
        }
        return FHIRBundle.Entry(response: FHIRBundle.EntryResponse(status: status, location: "\(type)/\(id ?? outcome.id.lowercasedString)"))
    }
}

/// A transaction of creates from FHIR (a transaction Bundle, an NDJSON file): read, planned and written all or
/// nothing. `POST /fhir` and `ossa import` share it.
public struct FHIRImport: Sendable {
    let store: OssaStore

    public init(store: OssaStore) {
        self.store = store
    }

    /// What was done, entry by entry (in the order written: Patients first), with the id of the resource the entry
    /// became (an imaging finding: its study's Observation id, `<study>-bml.<subregion>`). Skipped score
    /// Observations are not in it.
    public typealias Done = [(entry: FHIRBundleInput.Entry, item: FHIRBundleInput.Item, outcome: RecordBatchRepository.Outcome, resourceID: String)]

    /// Every entry's problems at once, before anything is written; then the creates in one database transaction
    /// (`dryRun`: rolled back, so nothing is written, as `ossa import --check` wants). Throws a `Problem` whose
    /// errors name each entry and element.
    /// `skipDerived`: score Observations are left out (an export folder's, whose scores are computed again from the
    /// responses); otherwise they are refused.
    public func run(_ bundle: FHIRBundleInput, actor: ActingUser, sites: [UUID: SiteRecord], dryRun: Bool = false,
                    skipDerived: Bool = false) async throws -> Done {
        var issues: [FHIRInputIssue] = []
        // Patients first, then episodes, then what is filed under them, so that an entry may name any Patient or
        // Condition of the input, wherever it stands; superseded consents before standing ones, so that the standing
        // one of a kind is recorded last. Sorted as indices into buckets, then copied once: an import holds thousands
        // of entries, and copying them was most of its planning time.
        let order = ["Patient", "Condition", "Procedure", "QuestionnaireResponse", "Observation"]
        var buckets = [[Int]](repeating: [], count: order.count + 2)
        for (n, entry) in bundle.entries.enumerated() {
            switch entry.item {
            case .failure(let error): issues += error.issues
            case .success(.derivedObservation) where skipDerived: continue
            case .success(.derivedObservation):
                issues.append(FHIRInputIssue(expression: entry.resourcePath, message: "is not an imaging finding of Ossa's: scores are computed again from their QuestionnaireResponse, so leave score Observations out", structural: false))
            case .success(.consent(let consent)): buckets[consent.active ? order.count + 1 : order.count].append(n)
            case .success(let item): buckets[order.firstIndex(of: item.resourceType) ?? order.count - 1].append(n)
            }
        }
        if !issues.isEmpty { throw FHIRIO.problem(FHIRInputError(issues: issues)) }
        var ordered: [(FHIRBundleInput.Entry, FHIRBundleInput.Item)] = []
        ordered.reserveCapacity(buckets.reduce(0) { $0 + $1.count })
        for bucket in buckets {
            for n in bucket {
                let entry = bundle.entries[n]
                guard case .success(let item) = entry.item else { continue }
                ordered.append((entry, item))
            }
        }
        // A Patient or Condition is named by its fullUrl (`urn:uuid:…`) or, as another system's export names it,
        // `Patient/<its id>`.
        var names = InputNames()
        var problems: [FieldProblem] = []
        for (index, (entry, item)) in ordered.enumerated() {
            let type = item.resourceType
            guard type == "Patient" || type == "Condition" else { continue }
            for name in [entry.fullUrl, entry.sourceID.map { "\(type)/\($0)" }].compactMap({ $0 }) {
                if names.operations[name] != nil {
                    problems.append(FieldProblem(field: entry.path, message: "\(name) names another \(type) of this input too"))
                }
                names.operations[name] = index
                names.types[name] = type
                names.patients[name] = type == "Patient" ? index : nil
            }
            if case .condition(let condition) = item { names.conditionSubjects[index] = condition.subject }
        }
        var operations: [RecordBatchRepository.Operation] = []
        operations.reserveCapacity(ordered.count)
        // Each entry's operation; the findings of one imaging study share theirs, made when its last one is read.
        var operationOf: [Int] = []
        operationOf.reserveCapacity(ordered.count)
        var resourceSuffix: [Int: String] = [:]
        var studies: [String: (entries: [Int], findings: [FHIRImagingInput])] = [:], studyOrder: [String] = []
        for (index, (entry, item)) in ordered.enumerated() {
            if case .imaging(let finding) = item {
                if studies[finding.studyKey] == nil { studyOrder.append(finding.studyKey) }
                studies[finding.studyKey, default: ([], [])].entries.append(index)
                studies[finding.studyKey]!.findings.append(finding)
                operationOf.append(-1)
                continue
            }
            do {
                operationOf.append(operations.count)
                operations.append(try Self.operation(entry, item, sites: sites, names: names))
            } catch let problem as Problem {
                problems += problem.errors.isEmpty ? [FieldProblem(field: entry.path, message: problem.detail ?? problem.title)] : problem.errors
            }
        }
        // Studies after everything else but consents, which come last; an operation may only name earlier ones, and
        // a study names its episode only.
        var studyOperations: [RecordBatchRepository.Operation] = []
        for key in studyOrder {
            let study = studies[key]!
            let first = ordered[study.entries[0]].0
            do {
                let (operation, suffixes) = try Self.imagingStudy(study.findings, entries: study.entries.map { ordered[$0].0 }, names: names)
                for (n, index) in study.entries.enumerated() {
                    operationOf[index] = -2 - studyOperations.count
                    resourceSuffix[index] = suffixes[n]
                }
                studyOperations.append(operation)
            } catch let problem as Problem {
                problems += problem.errors.isEmpty ? [FieldProblem(field: first.path, message: problem.detail ?? problem.title)] : problem.errors
            }
        }
        problems += try await patientsOfExistingEpisodes(ordered, names: names, actor: actor)
        if !problems.isEmpty { throw Problem.validation(problems) }
        // Consents stay last: studies go before them.
        let consentStart = operations.firstIndex { if case .createConsent = $0 { true } else { false } } ?? operations.count
        for index in operationOf.indices {
            if operationOf[index] >= consentStart { operationOf[index] += studyOperations.count }
            else if operationOf[index] <= -2 { operationOf[index] = consentStart + (-2 - operationOf[index]) }
        }
        operations.insert(contentsOf: studyOperations, at: consentStart)
        let outcomes: [RecordBatchRepository.Outcome]
        do {
            outcomes = try await store.batch.apply(actor, operations, dryRun: dryRun)
        } catch let failure as RecordBatchRepository.Failure {
            let entry = ordered[operationOf.firstIndex(of: failure.index) ?? 0].0
            let problem = Problem(failure.error)
            throw Problem(problem.status, type: problem.type, title: problem.title, detail: "\(entry.path): \(problem.detail ?? problem.title)",
                          errors: [FieldProblem(field: entry.path, message: problem.detail ?? problem.title)])
        }
        return ordered.enumerated().map { index, pair in
            let outcome = outcomes[operationOf[index]]
            let id = outcome.id.lowercasedString
            return (pair.0, pair.1, outcome, resourceSuffix[index].map { "\(id)-\($0)" } ?? id)
        }
    }

    /// A record filed under an episode that exists already must be of that episode's patient, as the single creates
    /// check: another patient's episode would put it in the wrong chart. One read per episode named.
    private func patientsOfExistingEpisodes(_ ordered: [(FHIRBundleInput.Entry, FHIRBundleInput.Item)], names: InputNames,
                                            actor: ActingUser) async throws -> [FieldProblem] {
        var problems: [FieldProblem] = []
        var patientOf: [UUID: UUID?] = [:]
        for (entry, item) in ordered {
            let subject: String, condition: String, field: String
            switch item {
            case .procedure(let input): (subject, condition, field) = (input.subject, input.condition, "reasonReference[0].reference")
            case .questionnaireResponse(let input): (subject, condition, field) = (input.subject, input.condition, "extension.valueReference.reference")
            case .imaging(let input): (subject, condition, field) = (input.subject, input.condition, "extension.valueReference.reference")
            default: continue
            }
            guard names.operation(condition, type: "Condition") == nil, condition.hasPrefix("Condition/"),
                  let episode = UUID(uuidString: String(condition.dropFirst("Condition/".count))) else { continue }
            if patientOf[episode] == nil {
                do {
                    patientOf[episode] = .some(try await store.episodes.get(actor, episode).patientID)
                } catch is StoreError {
                    patientOf[episode] = .some(nil)
                } catch is AccessDenied {
                    patientOf[episode] = .some(nil)
                }
            }
            let at = "\(entry.resourcePath).\(field)"
            guard let patient = patientOf[episode] ?? nil else {
                problems.append(FieldProblem(field: at, message: "no episode \(episode.lowercasedString) among yours"))
                continue
            }
            let owner = "Patient/\(patient.lowercasedString)"
            if subject != owner {
                problems.append(FieldProblem(field: at, message: "\(condition) is an episode of \(owner), not of \(subject)"))
            }
        }
        return problems
    }

    /// The findings of one study as its create, and each finding's Observation id after the study's id (`bml.<subregion>`).
    static func imagingStudy(_ findings: [FHIRImagingInput], entries: [FHIRBundleInput.Entry],
                             names: InputNames?) throws -> (RecordBatchRepository.Operation, [String]) {
        let first = findings[0]
        var problems: [FieldProblem] = []
        for (finding, entry) in zip(findings, entries).dropFirst() {
            if finding.condition != first.condition || finding.subject != first.subject || finding.date != first.date || finding.timing != first.timing
                || finding.finding.modality != first.finding.modality {
                problems.append(FieldProblem(field: entry.resourcePath, message: "is a finding of the study of \(entries[0].path), but its episode, patient, day, timing or modality differs"))
            }
        }
        let episode = try episodeReference(first.condition, subject: first.subject, names: names,
                                           at: "\(entries[0].resourcePath).extension.valueReference.reference")
        var bml: [BMLFinding] = [], cartilage: [FocalCartilageLesion] = [], suffixes: [String] = []
        var reading: (InsufficiencyFractureLine?, AVNLesion?, Bool?)?, grades: XRayGrades?
        for (finding, entry) in zip(findings, entries) {
            switch finding.finding {
            case .bml(let b):
                bml.append(b)
                suffixes.append("bml.\(b.subregion.rawValue)")
            case .mriReading(let fracture, let avn, let suspected):
                if reading != nil { problems.append(FieldProblem(field: entry.resourcePath, message: "is a second mri-reading of its study")) }
                reading = (fracture, avn, suspected)
                suffixes.append("mri")
            case .cartilage(let lesion):
                cartilage.append(lesion)
                suffixes.append("cartilage.\(cartilage.count)")
            case .xray(let g):
                if grades != nil { problems.append(FieldProblem(field: entry.resourcePath, message: "is a second xray-grades of its study")) }
                grades = g
                suffixes.append("xray")
            }
        }
        if !problems.isEmpty { throw Problem.validation(problems) }
        let new: NewImagingStudy
        if first.finding.modality == .xray {
            new = NewImagingStudy(episodeID: UUID(), timing: first.timing, xrayOn: first.date, grades: grades ?? XRayGrades())
        } else {
            new = NewImagingStudy(episodeID: UUID(), timing: first.timing, mri: MRIStudy(
                date: first.date, bml: bml, insufficiencyFracture: reading?.0, avn: reading?.1,
                focalCartilageLesions: cartilage.isEmpty ? nil : cartilage, suspectedTumourOrInfection: reading?.2))
        }
        return (.createImaging(episode: episode, new), suffixes)
    }

    /// The names of an input's Patients and Conditions (fullUrl, `Type/<source id>`) and the operation each becomes.
    struct InputNames {
        var operations: [String: Int] = [:]
        var types: [String: String] = [:]
        /// The names of Patients only (made once: each Condition looks its subject up in it).
        var patients: [String: Int] = [:]
        /// Each Condition operation's `subject` as written.
        var conditionSubjects: [Int: String] = [:]

        func operation(_ name: String, type: String) -> Int? {
            types[name] == type ? operations[name] : nil
        }
    }

    /// One entry as a store operation. `names` names the input's Patients and Conditions (nil in a batch, where
    /// entries are independent).
    static func operation(_ entry: FHIRBundleInput.Entry, _ item: FHIRBundleInput.Item, sites: [UUID: SiteRecord],
                          names: InputNames?) throws -> RecordBatchRepository.Operation {
        let patients = names?.patients
        switch item {
        case .patient(let input, let condition):
            let site = try FHIRRoutes.site(of: input, among: sites, at: entry.resourcePath)
            return .createPatient(NewPatient(siteID: site, mrn: input.mrn, familyName: input.familyName, givenName: input.givenName,
                                             birthDate: input.birthDate, sex: input.sex, email: input.email, phone: input.phone),
                                  ifNoneExist: try condition.map { try FHIRRoutes.condition($0, field: "\(entry.path).request.ifNoneExist") })
        case .condition(let input):
            let at = "\(entry.resourcePath).subject.reference"
            if let patients, let index = patients[input.subject] {
                return .createEpisode(patient: .operation(index), joint: input.joint, side: input.side, diagnosis: input.diagnosis)
            }
            let patient: RecordBatchRepository.PatientReference
            if input.subject.hasPrefix("Patient/"), let id = UUID(uuidString: String(input.subject.dropFirst("Patient/".count))) {
                patient = .existing(id)
            } else if input.subject.hasPrefix("urn:uuid:") {
                let message = patients == nil ? "a batch's entries are independent: reference an existing Patient/<id>"
                    : "\(input.subject) is not the fullUrl of a Patient in this Bundle"
                throw Problem.validation([FieldProblem(field: at, message: message)])
            } else {
                throw Problem.validation([FieldProblem(field: at, message: "\"\(input.subject)\" is not a patient (Patient/<id>, or a Patient of this input)")])
            }
            return .createEpisode(patient: patient, joint: input.joint, side: input.side, diagnosis: input.diagnosis)
        case .procedure(let input):
            let episode = try episodeReference(input.condition, subject: input.subject, names: names,
                                               at: "\(entry.resourcePath).reasonReference[0].reference")
            return .createProcedure(episode: episode, kind: input.kind, record: input.record)
        case .consent(let input):
            let at = "\(entry.resourcePath).patient.reference"
            if let patients, let index = patients[input.patient] { return .createConsent(patient: .operation(index), input.consent) }
            if input.patient.hasPrefix("Patient/"), let id = UUID(uuidString: String(input.patient.dropFirst("Patient/".count))) {
                return .createConsent(patient: .existing(id), input.consent)
            }
            throw Problem.validation([FieldProblem(field: at, message: "\"\(input.patient)\" is not a patient (Patient/<id>, or a Patient of this input)")])
        case .questionnaireResponse(let input):
            let episode = try episodeReference(input.condition, subject: input.subject, names: names,
                                               at: "\(entry.resourcePath).extension.valueReference.reference")
            return .createResponse(episode: episode, instrumentID: input.instrumentID, answers: input.answers,
                                   completedAt: input.completedAt, source: input.source)
        case .imaging(let input):
            guard names != nil else {
                throw Problem.validation([FieldProblem(field: entry.resourcePath, message: "an imaging finding is one of its study's: send the study's Observations together in a transaction")])
            }
            return try imagingStudy([input], entries: [entry], names: names).0
        case .derivedObservation:
            throw Problem.validation([FieldProblem(field: entry.resourcePath, message: "is not an imaging finding of Ossa's: scores are computed again from their QuestionnaireResponse")])
        }
    }

    /// The episode a Procedure or QuestionnaireResponse is filed under: a Condition of the input (whose subject must
    /// be the entry's subject) or an existing `Condition/<id>`.
    static func episodeReference(_ condition: String, subject: String, names: InputNames?,
                                 at field: String) throws -> RecordBatchRepository.EpisodeReference {
        if let names, let index = names.operation(condition, type: "Condition") {
            if let conditionSubject = names.conditionSubjects[index], conditionSubject != subject,
               names.operations[conditionSubject] == nil || names.operations[conditionSubject] != names.operations[subject] {
                throw Problem.validation([FieldProblem(field: field, message: "\(condition) is an episode of \(conditionSubject), not of \(subject)")])
            }
            return .operation(index)
        }
        if condition.hasPrefix("Condition/"), let id = UUID(uuidString: String(condition.dropFirst("Condition/".count))) {
            return .existing(id)
        }
        if condition.hasPrefix("urn:uuid:") {
            let message = names == nil ? "a batch's entries are independent: reference an existing Condition/<id>"
                : "\(condition) is not the fullUrl of a Condition in this input"
            throw Problem.validation([FieldProblem(field: field, message: message)])
        }
        throw Problem.validation([FieldProblem(field: field, message: "\"\(condition)\" is not an episode (Condition/<id>, or a Condition of this input)")])
    }
}

/// Why an import was refused: every problem, each at its entry or line and element.
public struct FHIRImportFailure: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

extension FHIRImport {
    /// `run` for the command line: the caller's sites looked up, and a refusal as `FHIRImportFailure`.
    public func importing(_ bundle: FHIRBundleInput, actor: ActingUser, dryRun: Bool, skipDerived: Bool = false) async throws -> Done {
        let sites = Dictionary(try await store.sites.list(actor, PageRequest(limit: PageRequest.maximumLimit)).items.map { ($0.id, $0) },
                               uniquingKeysWith: { a, _ in a })
        do {
            return try await run(bundle, actor: actor, sites: sites, dryRun: dryRun, skipDerived: skipDerived)
        } catch let problem as Problem {
            throw FHIRImportFailure(problems: problem.errors.isEmpty ? [problem.detail ?? problem.title] : problem.errors.map { "\($0.field): \($0.message)" })
        } catch let denied as AccessDenied {
            throw FHIRImportFailure(problems: [denied.description])
        }
    }
}
