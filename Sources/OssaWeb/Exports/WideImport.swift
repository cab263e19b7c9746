import Foundation
import OssaCore
import OssaStore

/// `ossa import FILE.csv` (issue #12): Ossa's wide CSV read back — as `ossa export csv-wide` writes it, or as a REDCap
/// project set up from its data dictionary exports its records ("CSV / Microsoft Excel (raw data)") — all or nothing.
///
/// What a record (`record_id`, one episode) becomes:
/// - its patient (`patient_id` groups the records of one patient; without it, the site and `mrn`), matched by record
///   number at the site when Ossa has them already;
/// - the episode: joint, side, diagnosis (with `kl_grade` for osteoarthritis), status and last contact;
/// - a follow-up timepoint per event row with a visit or a questionnaire: the event's code, `visit_due_date` (or the
///   protocol's date from `first_procedure_date`), the protocol's window around it and `visit_status`;
/// - a questionnaire response per complete form (`<form>_complete` = 2), scored again by the instrument's rule; a
///   score in the file must equal it;
/// - outcome events: joint replacement (`joint_replacement_date` and `_kind`), death, withdrawal, lost to follow-up.
///
/// Procedures are not in the file (only the first one's date and product, and counts), so the columns that only
/// summarise them (`first_procedure_date` — used for the protocol's due dates only —, `first_procedure_product`,
/// `io_procedures`, `adverse_events`) are not imported; import procedures as FHIR. A de-identified file cannot be imported: it has no names or dates.
public struct WideCSVImport: Sendable {
    let store: OssaStore
    let library: InstrumentLibrary
    let followUp: FollowUpProtocol

    public init(store: OssaStore, library: InstrumentLibrary, protocol followUp: FollowUpProtocol) {
        (self.store, self.library, self.followUp) = (store, library, followUp)
    }

    public struct Summary: Sendable, Equatable {
        public var rows = 0
        public var patientsCreated = 0
        public var patientsMatched = 0
        public var episodes = 0
        public var timepoints = 0
        public var responses = 0
        public var outcomes = 0
        /// Columns of the file that are read but not imported, and columns REDCap adds that Ossa ignores.
        public var ignoredColumns: [String] = []
    }

    /// Reads `data`, lists every problem it can find before writing (each at its row and column), then writes
    /// everything in one transaction (`dryRun`: rolled back). Throws `FHIRImportFailure` with the problems.
    public func importing(_ data: Data, actor: ActingUser, dryRun: Bool) async throws -> Summary {
        let sites = try await store.sites.list(actor, PageRequest(limit: PageRequest.maximumLimit)).items
        var plan = try WidePlan(data, library: library, protocol: followUp, sites: Dictionary(sites.map { ($0.code, $0.id) }, uniquingKeysWith: { a, _ in a }))
        let outcomes: [RecordBatchRepository.Outcome]
        do {
            outcomes = try await store.batch.apply(actor, plan.operations, dryRun: dryRun, library: library)
        } catch let failure as RecordBatchRepository.Failure {
            let problem = Problem(failure.error)
            throw FHIRImportFailure(problems: ["\(plan.origins[failure.index]): \(problem.errors.first.map { "\($0.field): \($0.message)" } ?? problem.detail ?? problem.title)"])
        } catch let denied as AccessDenied {
            throw FHIRImportFailure(problems: [denied.description])
        }
        for (operation, outcome) in zip(plan.operations, outcomes) {
            switch (operation, outcome) {
            case (.createPatient, .matched): plan.summary.patientsMatched += 1
            case (.createPatient, .created): plan.summary.patientsCreated += 1
            case (.createEpisode, _): plan.summary.episodes += 1
            case (.createTimepoint, _): plan.summary.timepoints += 1
            case (.createResponse, _): plan.summary.responses += 1
            case (.createOutcome, _): plan.summary.outcomes += 1
            default: break
            }
        }
        return plan.summary
    }
}

/// A wide CSV read into the batch's operations, each with where in the file it comes from.
struct WidePlan {
    var operations: [RecordBatchRepository.Operation] = []
    var origins: [String] = []
    var summary = WideCSVImport.Summary()

    /// The columns that summarise what the file does not carry.
    static let summaryColumns = ["first_procedure_date", "first_procedure_product", "io_procedures", "adverse_events", "joint_replacement"]

    init(_ data: Data, library: InstrumentLibrary, protocol followUp: FollowUpProtocol, sites: [String: UUID]) throws {
        guard var text = String(data: data, encoding: .utf8) else { throw FHIRImportFailure(problems: ["the file is not UTF-8 text"]) }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let rows = CSVReader.rows(text)
        guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces) }), header.contains(where: { !$0.isEmpty }) else {
            throw FHIRImportFailure(problems: ["the file is empty: the first row must be the header (record_id, redcap_event_name, …)"])
        }
        var problems: [String] = []
        func problem(_ row: Int, _ column: String?, _ message: String) {
            problems.append(column.map { "row \(row), \($0): \(message)" } ?? "row \(row): \(message)")
        }
        let forms = ResearchForms(library: library, deidentified: false)
        let events = ResearchEvents(protocol: followUp)
        var known: Set<String> = ["redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
        for form in forms.forms { known.formUnion(form.fields.map(\.name)); known.insert("\(form.name)_complete") }
        let deidentifiedOnly = Set(ResearchForms(library: library, deidentified: true).forms.flatMap { $0.fields.map(\.name) }).subtracting(known)
        var column: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            if column[name] != nil { problem(1, name, "appears twice in the header") }
            column[name] = index
            if known.contains(name) || name.isEmpty { continue }
            if name.hasPrefix("redcap_") || name.hasSuffix("_timestamp") {
                summary.ignoredColumns.append(name)
            } else if deidentifiedOnly.contains(name) {
                problem(1, name, "is a column of a de-identified export, which cannot be imported (it has no names, record numbers or dates)")
            } else {
                problem(1, name, "is not a variable of Ossa's data dictionary (ossa export csv-wide writes it as data-dictionary.csv)")
            }
        }
        for required in ["record_id", "redcap_event_name"] where column[required] == nil {
            problem(1, nil, "the header has no \(required) column")
        }
        if !problems.isEmpty { throw FHIRImportFailure(problems: problems) }
        summary.ignoredColumns += Self.summaryColumns.filter { column[$0] != nil && $0 != "joint_replacement" }

        // Rows by record, in the file's order.
        var records: [(id: String, rows: [Int])] = [], recordIndex: [String: Int] = [:]
        for (index, row) in rows.enumerated().dropFirst() {
            if row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            summary.rows += 1
            guard row.count == header.count else {
                problem(index + 1, nil, "has \(row.count) fields; the header has \(header.count)")
                continue
            }
            let id = row[column["record_id"]!].trimmingCharacters(in: .whitespaces)
            if id.isEmpty { problem(index + 1, "record_id", "is empty"); continue }
            if let at = recordIndex[id] { records[at].rows.append(index) } else {
                recordIndex[id] = records.count
                records.append((id, [index]))
            }
        }
        if summary.rows == 0 { problems.append("the file has a header and no records") }

        func value(_ row: Int, _ name: String) -> String? {
            guard let i = column[name], rows[row].count == header.count else { return nil }
            let text = rows[row][i].trimmingCharacters(in: .whitespaces)
            return text.isEmpty ? nil : text
        }
        func date(_ row: Int, _ name: String) -> CalendarDate? {
            guard let text = value(row, name) else { return nil }
            do { return try CalendarDate(iso: text) } catch { problem(row + 1, name, error.message); return nil }
        }
        func coded<T: RawRepresentable & CaseIterable>(_ row: Int, _ name: String, _ type: T.Type) -> T? where T.RawValue == String {
            guard let text = value(row, name) else { return nil }
            if let match = T.allCases.first(where: { ResearchForms.code($0.rawValue) == text || $0.rawValue == text }) { return match }
            problem(row + 1, name, "\"\(text)\" is not one of \(T.allCases.map { ResearchForms.code($0.rawValue) }.joined(separator: ", "))")
            return nil
        }
        func required<T>(_ row: Int, _ name: String, _ read: (Int, String) -> T?) -> T? {
            if value(row, name) == nil { problem(row + 1, name, "is required"); return nil }
            return read(row, name)
        }

        let episodeFields = forms.forms[0].fields.map(\.name).filter { $0 != "record_id" }
        let visitFields = forms.forms[1].fields.map(\.name)
        let questionnaires = forms.forms.dropFirst(2)
        var patientOperation: [String: (index: Int, patient: NewPatient, row: Int)] = [:]

        for record in records {
            // The episode's values stand on one row (REDCap: the first event's).
            let carrying = record.rows.filter { row in episodeFields.contains { value(row, $0) != nil } }
            guard carrying.count == 1, let main = carrying.first else {
                problem(record.rows[0] + 1, "record_id", carrying.isEmpty
                    ? "record \(record.id) has no row with its episode's values (site, names, joint, side, diagnosis…)"
                    : "record \(record.id) has its episode's values on rows \(carrying.map { String($0 + 1) }.joined(separator: " and ")); give them once")
                continue
            }
            let at = "row \(main + 1) (record \(record.id))"
            let before = problems.count
            var siteID: UUID?
            if let code = required(main, "site", value) {
                siteID = sites[code]
                if siteID == nil { problem(main + 1, "site", "\"\(code)\" is not one of your sites (\(sites.keys.sorted().joined(separator: ", ")))") }
            }
            let family = required(main, "family_name", value), given = required(main, "given_name", value)
            let birth = required(main, "birth_date", date)
            let sex = coded(main, "sex", PatientSex.self)
            let joint = required(main, "joint") { coded($0, $1, Joint.self) }
            let side = required(main, "side") { coded($0, $1, Side.self) }
            let kind = required(main, "diagnosis") { coded($0, $1, Diagnosis.Kind.self) }
            var kl: KellgrenLawrenceGrade?
            if let text = value(main, "kl_grade") {
                if kind != nil, kind != .osteoarthritis { problem(main + 1, "kl_grade", "is given for osteoarthritis only") }
                do { kl = try KellgrenLawrenceGrade.from(Int(text) ?? -1) } catch { problem(main + 1, "kl_grade", "\"\(text)\" is not a Kellgren–Lawrence grade (0–4)") }
            }
            let status = coded(main, "episode_status", EpisodeStatus.self) ?? .open
            let lastContact = date(main, "last_contact_date")
            let firstProcedure = date(main, "first_procedure_date")
            var outcomes: [OutcomeEvent] = []
            let replaced = value(main, "joint_replacement")
            if let replaced, replaced != "0", replaced != "1" { problem(main + 1, "joint_replacement", "\"\(replaced)\" is not 1 (yes) or 0 (no)") }
            if let day = date(main, "joint_replacement_date") {
                if replaced == "0" { problem(main + 1, "joint_replacement_date", "is given while joint_replacement is 0 (no)") }
                if let kind = required(main, "joint_replacement_kind", { coded($0, $1, ReplacementKind.self) }) {
                    outcomes.append(.jointReplacement(kind: kind, date: day))
                }
            } else if replaced == "1" {
                problem(main + 1, "joint_replacement_date", "is required when joint_replacement is 1 (yes)")
            } else if value(main, "joint_replacement_kind") != nil {
                problem(main + 1, "joint_replacement_kind", "is given without joint_replacement_date")
            }
            if let day = date(main, "death_date") { outcomes.append(.death(date: day)) }
            if let day = date(main, "withdrawal_date") { outcomes.append(.withdrawal(date: day)) }
            if let day = date(main, "lost_to_follow_up_date") { outcomes.append(.lostToFollowUp(lastContact: day)) }
            // Death last: the store refuses an event dated after a recorded death.
            outcomes.sort { a, b in (a.isDeath ? 1 : 0, a.date) < (b.isDeath ? 1 : 0, b.date) }
            // A record whose episode cannot be read still has its rows checked, so that one run lists every problem;
            // nothing is written once there is one, so its rows' operations name no real episode then.
            var episode = -1
            if problems.count == before, let siteID, let family, let given, let birth, let joint, let side, let kind {
                let patient = NewPatient(siteID: siteID, mrn: value(main, "mrn"), familyName: family, givenName: given, birthDate: birth, sex: sex)
                let key = value(main, "patient_id").map { "id:\($0)" } ?? patient.mrn.map { "mrn:\(siteID):\($0)" } ?? "record:\(record.id)"
                var patientIndex: Int?
                if let earlier = patientOperation[key] {
                    if earlier.patient == patient { patientIndex = earlier.index } else {
                        problem(main + 1, value(main, "patient_id") == nil ? "mrn" : "patient_id",
                                "names the patient of row \(earlier.row + 1) with other details (site, record number, names, birth date or sex)")
                    }
                } else {
                    patientIndex = operations.count
                    patientOperation[key] = (operations.count, patient, main)
                    operations.append(.createPatient(patient, ifNoneExist: patient.mrn.map { .init(mrn: $0, site: siteID) }))
                    origins.append(at)
                }
                let diagnosis: Diagnosis
                switch kind {
                case .osteoarthritis: diagnosis = .osteoarthritis(OAGrading(kellgrenLawrence: kl))
                case .boneMarrowLesion: diagnosis = .boneMarrowLesion
                case .insufficiencyFracture: diagnosis = .insufficiencyFracture(koshino: nil)
                case .boneBruise: diagnosis = .boneBruise(injuryDate: nil, monthsSinceInjury: nil)
                case .avascularNecrosis: diagnosis = .avascularNecrosis(nil)
                case .boneMarrowEdemaSyndrome: diagnosis = .boneMarrowEdemaSyndrome
                }
                if let patientIndex {
                    episode = operations.count
                    operations.append(.createEpisode(patient: .operation(patientIndex), joint: joint, side: side, diagnosis: diagnosis,
                                                     status: status, lastContact: lastContact))
                    origins.append(at)
                }
            }
            let schedule = firstProcedure.flatMap { day in joint.map { followUp.schedule(indexDate: day, joint: $0) } }

            // Each event row: its timepoint (a visit or questionnaires at a protocol event) and its questionnaires.
            var seenEvents: [String: Int] = [:]
            for row in record.rows {
                let rowAt = "row \(row + 1) (record \(record.id))"
                guard let eventName = required(row, "redcap_event_name", value) else { continue }
                guard let event = events.events.first(where: { $0.uniqueName == eventName }) else {
                    problem(row + 1, "redcap_event_name", "\"\(eventName)\" is not an event of the follow-up protocol (see events.csv)")
                    continue
                }
                let filled = questionnaires.filter { form in
                    form.fields.contains { value(row, $0.name) != nil } || value(row, "\(form.name)_complete") != nil
                }
                let unscheduled = event.code == ResearchEvents.unscheduled
                if unscheduled {
                    for name in visitFields where value(row, name) != nil {
                        problem(row + 1, name, "an unscheduled row has no visit; give it at the timepoint's event")
                    }
                    let instrument = value(row, "redcap_repeat_instrument")
                    if instrument == nil, !filled.isEmpty { problem(row + 1, "redcap_repeat_instrument", "is required on an unscheduled row") }
                    if let instrument, !filled.allSatisfy({ $0.name == instrument }) {
                        problem(row + 1, "redcap_repeat_instrument", "names \(instrument), but the row holds \(filled.map(\.name).joined(separator: ", "))")
                    }
                } else if let earlier = seenEvents[eventName] {
                    problem(row + 1, "redcap_event_name", "record \(record.id) has the event \(eventName) on row \(earlier + 1) already")
                    continue
                } else {
                    seenEvents[eventName] = row
                }
                var timepoint: Int?
                if !unscheduled, visitFields.contains(where: { value(row, $0) != nil }) || !filled.isEmpty {
                    let due = date(row, "visit_due_date") ?? schedule?[event.code]?.targetDate
                    guard let due else {
                        problem(row + 1, "visit_due_date", "is required (or first_procedure_date, to take the protocol's date)")
                        continue
                    }
                    let window = followUp.window(code: event.code, due: due) ?? (due, due)
                    let status = coded(row, "visit_status", TimepointStatus.self) ?? (filled.isEmpty ? .pending : .completed)
                    timepoint = operations.count
                    operations.append(.createTimepoint(episode: .operation(episode), NewTimepoint(
                        code: event.code, protocolID: followUp.id, dueDate: due, windowStart: window.open, windowEnd: window.close, status: status)))
                    origins.append(rowAt)
                }
                for form in filled {
                    guard let instrument = form.instrument else { continue }
                    let complete = value(row, "\(form.name)_complete")
                    if complete != "2" {
                        problem(row + 1, "\(form.name)_complete", complete.map { "is \($0), not 2 (complete): Ossa keeps completed questionnaires only; mark it complete or clear the form's values" }
                                ?? "is required (2 = complete) where the form has values")
                        continue
                    }
                    guard let completed = required(row, "\(form.name)_date", date) else { continue }
                    var answers: [String: Int?] = [:]
                    var readable = true
                    for item in instrument.items where item.itemType == .choice {
                        let name = ResearchForms.itemVariable(form.name, item.code)
                        guard let text = value(row, name) else { continue }
                        guard let number = Int(text) else { problem(row + 1, name, "\"\(text)\" is not a whole number"); readable = false; continue }
                        answers[item.code] = number
                    }
                    guard readable else { continue }
                    var result: ScoreResult?
                    do {
                        if instrument.isScorable { result = try instrument.score(answers) } else { try instrument.validate(answers: answers) }
                    } catch {
                        problem(row + 1, form.name, error.description)
                        continue
                    }
                    for score in result?.scores ?? [] {
                        let name = ResearchForms.scoreVariable(form.name, score.id)
                        guard let text = value(row, name) else { continue }
                        guard let given = Double(text) else { problem(row + 1, name, "\"\(text)\" is not a number"); continue }
                        guard let computed = score.value, abs(computed - given) <= 1e-6 * max(1, abs(computed)) else {
                            problem(row + 1, name, "is \(text), but the answers score \(score.value.map(ChartValues.number) ?? "nothing (too few answered)")")
                            continue
                        }
                    }
                    // The file has the day; noon UTC keeps it that day wherever it is read.
                    let noon = Date(timeIntervalSince1970: Double(completed.dayNumber) * 86_400 + 43_200)
                    operations.append(.createResponse(episode: .operation(episode), instrumentID: instrument.id, answers: answers, completedAt: noon,
                                                      source: .import, timepoint: timepoint))
                    origins.append("\(rowAt), \(form.name)")
                }
            }
            for event in outcomes {
                operations.append(.createOutcome(episode: .operation(episode), event))
                origins.append(at)
            }
        }
        if !problems.isEmpty { throw FHIRImportFailure(problems: problems) }
    }
}

private extension OutcomeEvent {
    var isDeath: Bool { if case .death = self { true } else { false } }
}
