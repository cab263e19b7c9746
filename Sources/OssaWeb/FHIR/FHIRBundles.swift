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
            throw Problem.validation([FieldProblem(field: "Condition.subject.reference", message: "no patient \(patientID.uuidString.lowercased()) among yours")])
        } catch StoreError.invalid(_, let message) {
            throw Problem.validation([FieldProblem(field: "Condition.stage", message: message)])
        }
        var response = try FHIRIO.response(FHIRMapping.condition(episode), status: .created)
        response.headers[.location] = baseURL + Paths.FHIR.condition.url(episode.id)
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

    /// One entry as a store operation. `patients` maps a Bundle Patient's `fullUrl` to its operation's index (nil in
    /// a batch, where entries are independent).
    private func operation(_ entry: FHIRBundleInput.Entry, _ item: FHIRBundleInput.Item, sites: [UUID: SiteRecord],
                           patients: [String: Int]?) throws -> RecordBatchRepository.Operation {
        let path = entry.path
        switch item {
        case .patient(let input, let condition):
            let site = try Self.site(of: input, among: sites, at: "\(path).resource")
            return .createPatient(NewPatient(siteID: site, mrn: input.mrn, familyName: input.familyName, givenName: input.givenName,
                                             birthDate: input.birthDate, sex: input.sex, email: input.email, phone: input.phone),
                                  ifNoneExist: try condition.map { try Self.condition($0, field: "\(path).request.ifNoneExist") })
        case .condition(let input):
            let at = "\(path).resource.subject.reference"
            let patient: RecordBatchRepository.PatientReference
            if input.subject.hasPrefix("Patient/"), let id = UUID(uuidString: String(input.subject.dropFirst("Patient/".count))) {
                patient = .existing(id)
            } else if input.subject.hasPrefix("urn:uuid:") {
                guard let patients else {
                    throw Problem.validation([FieldProblem(field: at, message: "a batch's entries are independent: reference an existing Patient/<id>")])
                }
                guard let index = patients[input.subject] else {
                    throw Problem.validation([FieldProblem(field: at, message: "\(input.subject) is not the fullUrl of a Patient in this Bundle")])
                }
                patient = .operation(index)
            } else {
                throw Problem.validation([FieldProblem(field: at, message: "\"\(input.subject)\" is not a patient (Patient/<id>, or a Patient entry's urn:uuid: fullUrl)")])
            }
            return .createEpisode(patient: patient, joint: input.joint, side: input.side, diagnosis: input.diagnosis)
        }
    }

    private func transaction(_ bundle: FHIRBundleInput, actor: ActingUser, sites: [UUID: SiteRecord]) async throws -> Response {
        // Every entry's problems at once, before anything is written.
        var issues: [FHIRInputIssue] = []
        var items: [(FHIRBundleInput.Entry, FHIRBundleInput.Item)] = []
        for entry in bundle.entries {
            switch entry.item {
            case .failure(let error): issues += error.issues
            case .success(let item): items.append((entry, item))
            }
        }
        if !issues.isEmpty { throw FHIRIO.problem(FHIRInputError(issues: issues)) }
        // Patients first, so that a Condition may name any Patient of the Bundle, wherever it stands.
        let ordered = items.filter { if case .patient = $0.1 { true } else { false } } + items.filter { if case .condition = $0.1 { true } else { false } }
        var patients: [String: Int] = [:]
        for (index, (entry, item)) in ordered.enumerated() {
            guard case .patient = item, let url = entry.fullUrl else { continue }
            guard patients[url] == nil else {
                throw Problem.validation([FieldProblem(field: "\(entry.path).fullUrl", message: "\(url) is the fullUrl of another entry too")])
            }
            patients[url] = index
        }
        var operations: [RecordBatchRepository.Operation] = []
        var problems: [FieldProblem] = []
        for (entry, item) in ordered {
            do {
                operations.append(try operation(entry, item, sites: sites, patients: patients))
            } catch let problem as Problem {
                problems += problem.errors.isEmpty ? [FieldProblem(field: entry.path, message: problem.detail ?? problem.title)] : problem.errors
            }
        }
        if !problems.isEmpty { throw Problem.validation(problems) }
        let outcomes: [RecordBatchRepository.Outcome]
        do {
            outcomes = try await store.batch.apply(actor, operations)
        } catch let failure as RecordBatchRepository.Failure {
            let entry = ordered[failure.index].0
            let problem = Problem(failure.error)
            throw Problem(problem.status, type: problem.type, title: problem.title, detail: "\(entry.path): \(problem.detail ?? problem.title)",
                          errors: [FieldProblem(field: entry.path, message: problem.detail ?? problem.title)])
        }
        var responses: [Int: FHIRBundle.Entry] = [:]
        for ((entry, item), outcome) in zip(ordered, outcomes) {
            responses[entry.index] = Self.entryResponse(item, outcome)
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
                let operation = try operation(entry, item, sites: sites, patients: nil)
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

    static func entryResponse(_ item: FHIRBundleInput.Item, _ outcome: RecordBatchRepository.Outcome) -> FHIRBundle.Entry {
        let type: String
        switch item {
        case .patient: type = "Patient"
        case .condition: type = "Condition"
        }
        let status: String
        switch outcome {
        case .created: status = "201 Created"
        case .matched: status = "200 OK"
        }
        return FHIRBundle.Entry(response: FHIRBundle.EntryResponse(status: status, location: "\(type)/\(outcome.id.uuidString.lowercased())"))
    }
}
