import Crypto
import Foundation
import OssaCore
import OssaStore

public enum ResearchExportError: Error, CustomStringConvertible, Sendable {
    case cannotWrite(String)
    case exists(String)

    public var description: String {
        switch self {
        case .cannotWrite(let path): "cannot write \(path)"
        case .exists(let path): "\(path) already exists; export into an empty directory or remove it"
        }
    }
}

/// How the research files identify people: by Ossa's ids, record numbers, names and dates (for the clinic's own
/// REDCap project), or de-identified by HIPAA Safe Harbor (45 CFR 164.514(b)(2)) with research ids from a keyed hash.
public enum ResearchIdentity: Sendable {
    case identified
    /// `key`: the installation's secret (HMAC-SHA256): research ids are stable across exports and cannot be traced
    /// back to Ossa's ids without it.
    case deidentified(key: Data)

    var isDeidentified: Bool { if case .deidentified = self { true } else { false } }

    /// `E`, `P` or `S` and 16 hex digits of HMAC-SHA256(key, kind:id).
    func researchID(_ prefix: String, _ id: UUID) -> String {
        guard case .deidentified(let key) = self else { return id.lowercasedString }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(prefix):\(id.lowercasedString)".utf8), using: SymmetricKey(data: key))
        return prefix + mac.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// The research files of `ossa export csv-wide|csv-long|deidentified` (issue #12): a page of whole charts at a time
/// (`ExportRepository.charts`), so memory stays bounded; every file is written into a hidden directory beside the
/// output and moved into place only when all of them are complete, so a failed export leaves nothing behind.
///
/// - wide (`wide.csv`): one row per episode × timepoint, REDCap's import format for a longitudinal project with one
///   arm — `record_id`, `redcap_event_name`, `redcap_repeat_instrument`, `redcap_repeat_instance`, then each form's
///   variables and `<form>_complete` (2 = complete). Responses without a timepoint are repeating instruments of the
///   `unscheduled` event. With it: `data-dictionary.csv` (REDCap's data dictionary), `events.csv`,
///   `instrument-designation.csv` and `repeating-instruments.csv` (REDCap's project set-up files) and `codebook.csv`.
/// - long (`long.csv`): one row per answer and per score, with `episodes.csv` (one row per episode) and `codebook.csv`.
public struct ResearchExport: Sendable {
    public struct Summary: Sendable {
        /// File name → data rows (the header not counted), in the order written.
        public var files: [(name: String, rows: Int)] = []
        public var episodes = 0
        /// Episodes with no IO procedure: in a de-identified export their dates have no anchor and are left empty.
        public var unanchored = 0
        /// De-identified: episodes whose patient was over 89 at the first IO procedure (age written as 90+).
        public var topCoded = 0
        /// De-identified: distinct patients.
        public var patients = 0
        /// De-identified: patients left out because their current research-use consent is `deny`.
        public var leftOutForConsent = 0
    }

    let store: OssaStore
    let library: InstrumentLibrary
    let followUp: FollowUpProtocol
    let pageSize: Int

    public init(store: OssaStore, library: InstrumentLibrary, protocol followUp: FollowUpProtocol, pageSize: Int = 500) {
        (self.store, self.library, self.followUp, self.pageSize) = (store, library, followUp, pageSize)
    }

    public static let wideFiles = ["wide.csv", "data-dictionary.csv", "events.csv", "instrument-designation.csv", "repeating-instruments.csv", "codebook.csv"]
    public static let longFiles = ["long.csv", "episodes.csv", "codebook.csv"]

    /// The episodes an export of `sites` would read (for a progress bar).
    public func count(_ actor: ActingUser, sites: Set<UUID>?, deidentified: Bool = false) async throws -> Int {
        try await store.export.chartCount(actor, sites: sites, deidentified: deidentified)
    }

    // MARK: Wide

    public func wide(_ actor: ActingUser, into directory: URL, identity: ResearchIdentity = .identified, sites: Set<UUID>? = nil,
                     since: Date? = nil, what: String = "csv-wide", progress: @Sendable (Int) async -> Void = { _ in }) async throws -> Summary {
        try await staged(into: directory, files: Self.wideFiles) { stage in
            try await store.export.start(actor, what: what, deidentified: identity.isDeidentified)
            let forms = ResearchForms(library: library, deidentified: identity.isDeidentified)
            var events = ResearchEvents(protocol: followUp)
            let first = events.events[0]
            var header = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
            for form in forms.forms {
                header += form.fields.map(\.name).filter { $0 != "record_id" } + ["\(form.name)_complete"]
            }
            let column = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            var data = try CSVFile(stage.appendingPathComponent("wide.csv"), header: header)
            var designated: Set<String> = []
            var patients: Set<UUID> = []
            var repeating: Set<String> = []
            var summary = Summary()
            var excluded: Set<UUID> = []
            try await charts(actor, sites: sites, since: since, deidentified: identity.isDeidentified, leftOut: { excluded.formUnion($0) }) { chart in
                let view = ChartValues(chart, identity: identity, library: library)
                summary.count(view, &patients)
                func row(_ event: ResearchEvents.Event, _ fill: (inout [String]) -> Void) throws {
                    var values = [String](repeating: "", count: header.count)
                    values[0] = view.recordID
                    values[1] = event.uniqueName
                    fill(&values)
                    try data.write(values)
                }
                func put(_ values: [String: String], form: String, into row: inout [String]) {
                    for (name, value) in values { if let i = column[name] { row[i] = value } }
                    row[column["\(form)_complete"]!] = "2"
                    designated.insert("\(form)|\(row[1])")
                }
                let byTimepoint = Dictionary(grouping: chart.responses.filter { $0.timepointID != nil }, by: { $0.timepointID! })
                let known = Set(chart.timepoints.map(\.id))
                var timepoints = chart.timepoints.map { (events.note($0.code), $0) }
                let order = Dictionary(events.events.enumerated().map { ($1.code, $0) }, uniquingKeysWith: { a, _ in a })
                timepoints.sort { (order[$0.0.code] ?? 0, $0.1.dueDate) < (order[$1.0.code] ?? 0, $1.1.dueDate) }
                if !timepoints.contains(where: { $0.0.code == first.code }) {
                    try row(first) { put(view.episodeValues(forms), form: "episode", into: &$0) }
                }
                for (event, timepoint) in timepoints {
                    try row(event) { values in
                        if event.code == first.code { put(view.episodeValues(forms), form: "episode", into: &values) }
                        put(view.visitValues(timepoint), form: "visit", into: &values)
                        // One response per instrument and timepoint: the latest, should it have been answered twice.
                        let latest = Dictionary((byTimepoint[timepoint.id] ?? []).map { ($0.instrumentID, $0) }, uniquingKeysWith: { a, b in a.completedAt > b.completedAt ? a : b })
                        for response in latest.values.sorted(by: { $0.instrumentID < $1.instrumentID }) {
                            put(view.responseValues(response), form: ResearchForms.code(response.instrumentID), into: &values)
                        }
                    }
                }
                let unscheduled = events.event(ResearchEvents.unscheduled)!
                var instances: [String: Int] = [:]
                for response in chart.responses where response.timepointID.map({ !known.contains($0) }) ?? true {
                    let form = ResearchForms.code(response.instrumentID)
                    instances[form, default: 0] += 1
                    repeating.insert(form)
                    try row(unscheduled) { values in
                        values[2] = form
                        values[3] = String(instances[form]!)
                        put(view.responseValues(response), form: form, into: &values)
                    }
                }
                await progress(summary.episodes)
            }
            summary.leftOutForConsent = excluded.count
            summary.files.append(("wide.csv", try data.close()))

            var dictionary = try CSVFile(stage.appendingPathComponent("data-dictionary.csv"), header: ResearchForms.dictionaryHeader)
            for line in forms.dictionaryRows { try dictionary.write(line) }
            summary.files.append(("data-dictionary.csv", try dictionary.close()))

            var eventFile = try CSVFile(stage.appendingPathComponent("events.csv"),
                                        header: ["event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name", "custom_event_label"])
            for event in events.events {
                try eventFile.write([event.name, "1", String(event.dayOffset), "0", "0", event.uniqueName, event.label])
            }
            summary.files.append(("events.csv", try eventFile.close()))

            // Every form on the events the protocol asks it at, and wherever the data has it.
            for event in events.events where event.code != ResearchEvents.unscheduled {
                designated.insert("visit|\(event.uniqueName)")
                for instrument in event.instruments { designated.insert("\(ResearchForms.code(instrument))|\(event.uniqueName)") }
            }
            designated.insert("episode|\(first.uniqueName)")
            var designation = try CSVFile(stage.appendingPathComponent("instrument-designation.csv"), header: ["arm_num", "unique_event_name", "form"])
            let formOrder = Dictionary(forms.forms.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
            let eventOrder = Dictionary(events.events.enumerated().map { ($1.uniqueName, $0) }, uniquingKeysWith: { a, _ in a })
            let pairs = designated.map { $0.split(separator: "|").map(String.init) }.filter { formOrder[$0[0]] != nil }
                .sorted { (eventOrder[$0[1]] ?? 0, formOrder[$0[0]] ?? 0) < (eventOrder[$1[1]] ?? 0, formOrder[$1[0]] ?? 0) }
            for pair in pairs { try designation.write(["1", pair[1], pair[0]]) }
            summary.files.append(("instrument-designation.csv", try designation.close()))

            var repeats = try CSVFile(stage.appendingPathComponent("repeating-instruments.csv"), header: ["event_name", "form_name", "custom_form_label"])
            for form in forms.forms where repeating.contains(form.name) {
                try repeats.write([events.event(ResearchEvents.unscheduled)!.uniqueName, form.name, ""])
            }
            summary.files.append(("repeating-instruments.csv", try repeats.close()))
            summary.files.append(("codebook.csv", try Self.codebook(forms, long: false, into: stage)))
            return summary
        }
    }

    // MARK: Long

    public func long(_ actor: ActingUser, into directory: URL, identity: ResearchIdentity = .identified, sites: Set<UUID>? = nil,
                     since: Date? = nil, what: String = "csv-long", progress: @Sendable (Int) async -> Void = { _ in }) async throws -> Summary {
        try await staged(into: directory, files: Self.longFiles) { stage in
            try await store.export.start(actor, what: what, deidentified: identity.isDeidentified)
            let forms = ResearchForms(library: library, deidentified: identity.isDeidentified)
            let episodeFields = forms.forms[0].fields.map(\.name)
            var episodes = try CSVFile(stage.appendingPathComponent("episodes.csv"), header: episodeFields)
            let dated = identity.isDeidentified
            var answers = try CSVFile(stage.appendingPathComponent("long.csv"), header: Self.longHeader(deidentified: dated))
            var patients: Set<UUID> = []
            var summary = Summary()
            var excluded: Set<UUID> = []
            try await charts(actor, sites: sites, since: since, deidentified: identity.isDeidentified, leftOut: { excluded.formUnion($0) }) { chart in
                let view = ChartValues(chart, identity: identity, library: library)
                summary.count(view, &patients)
                let values = view.episodeValues(forms)
                try episodes.write(episodeFields.map { values[$0] ?? "" })
                let codes = Dictionary(chart.timepoints.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                for response in chart.responses {
                    let timepoint = response.timepointID.flatMap { codes[$0] }
                    let form = ResearchForms.code(response.instrumentID)
                    let prefix = [view.recordID, timepoint?.code ?? ResearchEvents.unscheduled, timepoint.map { view.date($0.dueDate) } ?? "",
                                  view.date(CalendarDate(utc: response.completedAt)), response.instrumentID, response.instrumentVersion,
                                  response.scoringVersion, response.source.rawValue]
                    let instrument = library.instrument(id: response.instrumentID)
                    for item in instrument?.items.filter({ $0.itemType == .choice }) ?? [] {
                        let value = response.answers[item.code] ?? nil
                        let label = value.flatMap { v in instrument?.options(for: item).first { $0.value == v }?.label } ?? ""
                        try answers.write(prefix + ["item", item.code, ResearchForms.itemVariable(form, item.code), value.map(String.init) ?? "", label])
                    }
                    for score in response.scores {
                        try answers.write(prefix + ["score", score.id, ResearchForms.scoreVariable(form, score.id),
                                                    score.value.map(ChartValues.number) ?? "", ""])
                    }
                }
                await progress(summary.episodes)
            }
            summary.leftOutForConsent = excluded.count
            summary.files.append(("long.csv", try answers.close()))
            summary.files.append(("episodes.csv", try episodes.close()))
            summary.files.append(("codebook.csv", try Self.codebook(forms, long: true, into: stage)))
            return summary
        }
    }

    static func longHeader(deidentified: Bool) -> [String] {
        ["record_id", "timepoint", deidentified ? "due_day" : "due_date", deidentified ? "completed_day" : "completed_date", "instrument",
         "instrument_version", "scoring_version", "source", "kind", "code", "variable", "value", "label"]
    }

    // MARK: De-identified

    public static let deidentifiedFiles = ["wide", "long", "deidentification-report.json"]

    /// The wide and long files de-identified by HIPAA Safe Harbor (`wide/`, `long/`) and `deidentification-report.json`
    /// (what was removed or transformed, and the counts). `key`: the installation's research-id key.
    public func deidentified(_ actor: ActingUser, into directory: URL, key: Data, sites: Set<UUID>? = nil, since: Date? = nil,
                             what: String = "deidentified", progress: @Sendable (Int) async -> Void = { _ in }) async throws -> Summary {
        let total = try await count(actor, sites: sites, deidentified: true)
        return try await staged(into: directory, files: Self.deidentifiedFiles) { stage in
            let identity = ResearchIdentity.deidentified(key: key)
            let wide = try await self.wide(actor, into: stage.appendingPathComponent("wide"), identity: identity, sites: sites, since: since,
                                           what: "\(what) (wide)") { await progress($0) }
            let long = try await self.long(actor, into: stage.appendingPathComponent("long"), identity: identity, sites: sites, since: since,
                                           what: "\(what) (long)") { await progress(total + $0) }
            var summary = long
            summary.files = wide.files.map { ("wide/\($0.name)", $0.rows) } + long.files.map { ("long/\($0.name)", $0.rows) }
            let report = Self.report(summary, sites: sites?.count)
            try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                .write(to: stage.appendingPathComponent("deidentification-report.json"))
            summary.files.append(("deidentification-report.json", 1))
            return summary
        }
    }

    /// What a de-identified export removed and changed, by the Safe Harbor list (45 CFR 164.514(b)(2)(i)).
    static func report(_ summary: Summary, sites: Int?) -> [String: Any] {
        [
            "method": "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
            "episodes": summary.episodes,
            "patients": summary.patients,
            "removed": [
                ["identifier": "(A) names", "fields": ["family_name", "given_name"], "action": "removed"],
                ["identifier": "(B) geographic subdivisions smaller than a state", "fields": ["site"],
                 "action": "the site replaced by a keyed research id; patients' addresses are not held"],
                ["identifier": "(C) dates (except year) and ages over 89", "fields": ["birth_date", "every *_date"],
                 "action": "birth date removed; every date written as days from the episode's first IO procedure (*_day); age at the first IO procedure in whole years, over 89 as 90+"],
                ["identifier": "(D)–(F) telephone and fax numbers, e-mail addresses", "fields": ["phone", "email"], "action": "removed (never exported)"],
                ["identifier": "(H) medical record numbers", "fields": ["mrn"], "action": "removed"],
                ["identifier": "(R) any other unique identifying number or code", "fields": ["record_id", "patient_id"],
                 "action": "Ossa's ids replaced by research ids: HMAC-SHA256 with the installation's key, stable across exports, not reversible without it"],
                ["identifier": "free text", "fields": ["procedure notes", "discharge instructions", "adverse-event descriptions", "free-text answers"],
                 "action": "not exported"],
            ],
            "ages_written_90_plus": summary.topCoded,
            "episodes_without_io_procedure": summary.unanchored,
            "episodes_without_io_procedure_note": "no day 0: their dates are left empty",
            "consent": "patients whose current research-use consent is deny are left out of every file",
            "patients_left_out_for_consent": summary.leftOutForConsent,
            "sites": sites.map { $0 as Any } ?? "all the exporter's sites",
            "files": summary.files.map { ["name": $0.name, "rows": $0.rows] },
        ]
    }

    // MARK: Codebook

    /// Every variable of the files: where it is, what it means, its type and coded values.
    static func codebook(_ forms: ResearchForms, long: Bool, into stage: URL) throws -> Int {
        var file = try CSVFile(stage.appendingPathComponent("codebook.csv"),
                               header: ["file", "variable", "form", "label", "type", "values", "minimum", "maximum", "identifier", "note"])
        func type(_ field: ResearchField) -> String {
            switch field.validation {
            case "date_ymd": "date (YYYY-MM-DD)"
            case "integer": "integer"
            case "number": "number"
            default: field.kind == .radio ? "coded" : "text"
            }
        }
        for form in forms.forms {
            for field in form.fields {
                let where_ = long ? (form.name == "episode" ? "episodes.csv" : "long.csv (variable)") : "wide.csv"
                try file.write([where_, field.name, form.name, field.label, type(field),
                                field.choices.map { "\($0.code) = \($0.label)" }.joined(separator: "; "), field.minimum ?? "", field.maximum ?? "",
                                field.identifier ? "yes" : "", [field.note, field.branching.map { "asked only if \($0)" }].compactMap { $0 }.joined(separator: "; ")])
            }
            if !long { try file.write(["wide.csv", "\(form.name)_complete", form.name, "\(form.label): form status", "coded", "2 = complete", "", "", "", "REDCap's form status"]) }
        }
        let days = forms.deidentified
        let shared: [[String]] = long ? [
            ["long.csv", "record_id", "", "The episode (as in episodes.csv)", "text", "", "", "", "", ""],
            ["long.csv", "timepoint", "", "The follow-up timepoint's code, or unscheduled", "text", "", "", "", "", ""],
            ["long.csv", days ? "due_day" : "due_date", "", "When the timepoint was due", days ? "integer" : "date (YYYY-MM-DD)", "", "", "", "", days ? "Days from the first IO procedure" : ""],
            ["long.csv", days ? "completed_day" : "completed_date", "", "When the questionnaire was completed (UTC day)", days ? "integer" : "date (YYYY-MM-DD)", "", "", "", "", days ? "Days from the first IO procedure" : ""],
            ["long.csv", "instrument", "", "The instrument's id", "text", "", "", "", "", ""],
            ["long.csv", "instrument_version", "", "The instrument definition's version", "text", "", "", "", "", ""],
            ["long.csv", "scoring_version", "", "The scoring algorithm's version", "text", "", "", "", "", ""],
            ["long.csv", "source", "", "Who entered it", "coded", ResponseSource.allCases.map(\.rawValue).joined(separator: "; "), "", "", "", ""],
            ["long.csv", "kind", "", "An answer to an item or a score", "coded", "item; score", "", "", "", ""],
            ["long.csv", "code", "", "The item's or score's code in the instrument", "text", "", "", "", "", ""],
            ["long.csv", "variable", "", "The same value's variable in wide.csv", "text", "", "", "", "", ""],
            ["long.csv", "value", "", "The answer's coded value or the score; empty when unanswered or not scorable", "number", "", "", "", "", ""],
            ["long.csv", "label", "", "The answer's wording", "text", "", "", "", "", ""],
        ] : [
            ["wide.csv", "redcap_event_name", "", "The timepoint (REDCap event)", "coded", "see events.csv", "", "", "", ""],
            ["wide.csv", "redcap_repeat_instrument", "", "For a response without a timepoint: its form", "text", "", "", "", "", ""],
            ["wide.csv", "redcap_repeat_instance", "", "For a response without a timepoint: its number within the form", "integer", "", "", "", "", ""],
        ]
        for line in shared { try file.write(line) }
        return try file.close()
    }

    // MARK: Reading and staging

    /// Reads every chart of the caller's (or the given) sites, a page at a time.
    func charts(_ actor: ActingUser, sites: Set<UUID>?, since: Date?, deidentified: Bool, leftOut: (Set<UUID>) -> Void = { _ in },
                _ body: (ExportChart) async throws -> Void) async throws {
        var after: UUID?
        repeat {
            try Task.checkCancellation()
            let page = try await store.export.charts(actor, after: after, since: since, limit: pageSize, sites: sites, deidentified: deidentified)
            for chart in page.charts { try await body(chart) }
            leftOut(page.leftOut)
            after = page.next
        } while after != nil
    }

    /// Writes into a fresh hidden directory inside `directory`, then moves the files into it: all of them or none.
    func staged(into directory: URL, files: [String], _ body: (URL) async throws -> Summary) async throws -> Summary {
        try await ExportStage.run(into: directory, clashes: { files.contains($0) }, body)
    }
}

extension ResearchExport.Summary {
    mutating func count(_ view: ChartValues, _ patients: inout Set<UUID>) {
        episodes += 1
        if view.anchor == nil { unanchored += 1 }
        if view.identity.isDeidentified, let anchor = view.anchor, ChartValues.age(born: view.chart.patient.birthDate, on: anchor) > 89 { topCoded += 1 }
        if patients.insert(view.chart.patient.id).inserted { self.patients += 1 }
    }
}

/// An export's hidden working directory inside the output directory: `body` writes there, and everything it wrote
/// is moved into the output only when it returns, so a failed export leaves nothing; an output already holding a
/// file the export would write (`clashes`) is refused before anything is written.
enum ExportStage {
    static func run<T>(into directory: URL, clashes: (String) -> Bool, _ body: (URL) async throws -> T) async throws -> T {
        let manager = FileManager.default
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        if let clash = try manager.contentsOfDirectory(atPath: directory.path).sorted().first(where: clashes) {
            throw ResearchExportError.exists(directory.appendingPathComponent(clash).path)
        }
        let stage = directory.appendingPathComponent(".ossa-export-\(UUID().lowercasedString)")
        try manager.createDirectory(at: stage, withIntermediateDirectories: false)
        defer { try? manager.removeItem(at: stage) }
        let result = try await body(stage)
        // The manifest (where there is one) last, so that a reader who sees it finds every file it names.
        let written = try manager.contentsOfDirectory(atPath: stage.path).sorted { ($0 == "manifest.json" ? 1 : 0, $0) < ($1 == "manifest.json" ? 1 : 0, $1) }
        for name in written { try manager.moveItem(at: stage.appendingPathComponent(name), to: directory.appendingPathComponent(name)) }
        return result
    }
}

/// One chart's values as the research files write them: identified, or by Safe Harbor (no names, record numbers,
/// contact details or birth date; dates as days from the first IO procedure; ages over 89 as 90+).
struct ChartValues {
    let chart: ExportChart
    let identity: ResearchIdentity
    let library: InstrumentLibrary
    /// The first IO procedure's date: day 0 of a de-identified chart.
    let anchor: CalendarDate?
    let recordID: String

    init(_ chart: ExportChart, identity: ResearchIdentity, library: InstrumentLibrary) {
        (self.chart, self.identity, self.library) = (chart, identity, library)
        anchor = chart.procedures.filter { $0.kind == .io }.map(\.record.date).min()
        recordID = identity.researchID("E", chart.episode.id)
    }

    /// A date: ISO, or days from the anchor (empty without one).
    func date(_ day: CalendarDate?) -> String {
        guard let day else { return "" }
        guard identity.isDeidentified else { return day.iso }
        guard let anchor else { return "" }
        return String(day.dayNumber - anchor.dayNumber)
    }

    static func number(_ value: Double) -> String {
        let rounded = (value * 1e6).rounded() / 1e6
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int(rounded)) : String(rounded)
    }

    func episodeValues(_ forms: ResearchForms) -> [String: String] {
        let episode = chart.episode, patient = chart.patient
        let io = chart.procedures.filter { $0.kind == .io }
        let firstIO = io.first
        func dated(_ name: String) -> String { forms.deidentified ? name.replacingOccurrences(of: "_date", with: "_day") : name }
        func first(_ kind: OutcomeKind) -> CalendarDate? { chart.outcomes.filter { $0.kind == kind }.map(\.date).min() }
        var values: [String: String] = [
            "record_id": recordID,
            "sex": patient.sex.map { ResearchForms.code($0.rawValue) } ?? "",
            "joint": ResearchForms.code(episode.joint.rawValue), "side": ResearchForms.code(episode.side.rawValue),
            "diagnosis": ResearchForms.code(episode.diagnosis.kind.rawValue),
            "episode_status": ResearchForms.code(episode.status.rawValue),
            "first_procedure_product": firstIO.map { $0.record.bmc != nil ? "bmc" : "prp" } ?? "",
            "io_procedures": String(io.count),
            "joint_replacement": first(.jointReplacement) == nil ? "0" : "1",
            dated("joint_replacement_date"): date(first(.jointReplacement)),
            "joint_replacement_kind": chart.outcomes.filter { $0.kind == .jointReplacement }.min { $0.date < $1.date }
                .flatMap { if case .jointReplacement(let kind, _) = $0.event { ResearchForms.code(kind.rawValue) } else { nil } } ?? "",
            dated("death_date"): date(first(.death)),
            dated("withdrawal_date"): date(first(.withdrawal)),
            dated("lost_to_follow_up_date"): date(first(.lostToFollowUp)),
            "adverse_events": String(chart.outcomes.filter { $0.kind == .adverseEvent }.count),
            dated("last_contact_date"): date(episode.lastContactDate),
        ]
        if case .osteoarthritis(let grading) = episode.diagnosis, let kl = grading.kellgrenLawrence { values["kl_grade"] = String(kl.rawValue) }
        if forms.deidentified {
            values["patient_research_id"] = identity.researchID("P", patient.id)
            values["site"] = identity.researchID("S", episode.siteID)
            if let anchor {
                let age = Self.age(born: patient.birthDate, on: anchor)
                values["age_at_first_procedure"] = age > 89 ? "90+" : String(age)
            }
        } else {
            values["patient_id"] = patient.id.lowercasedString
            values["site"] = chart.siteCode
            values["mrn"] = patient.mrn ?? ""
            values["family_name"] = patient.familyName
            values["given_name"] = patient.givenName
            values["birth_date"] = patient.birthDate.iso
            values["first_procedure_date"] = firstIO.map { $0.record.date.iso } ?? ""
        }
        return values
    }

    /// Whole years from `born` to `day`.
    static func age(born: CalendarDate, on day: CalendarDate) -> Int {
        day.year - born.year - ((day.month, day.day) < (born.month, born.day) ? 1 : 0)
    }

    func visitValues(_ timepoint: TimepointRecord) -> [String: String] {
        [identity.isDeidentified ? "visit_due_day" : "visit_due_date": date(timepoint.dueDate),
         "visit_status": ResearchForms.code(timepoint.status.rawValue)]
    }

    func responseValues(_ response: QuestionnaireResponseRecord) -> [String: String] {
        let form = ResearchForms.code(response.instrumentID)
        var values = [identity.isDeidentified ? "\(form)_day" : "\(form)_date": date(CalendarDate(utc: response.completedAt))]
        for (code, value) in response.answers {
            if let value { values[ResearchForms.itemVariable(form, code)] = String(value) }
        }
        for score in response.scores {
            if let value = score.value { values[ResearchForms.scoreVariable(form, score.id)] = Self.number(value) }
        }
        return values
    }
}
