import Foundation
import OssaCore

// The published IO / subchondral studies that registry analytics sets beside the clinic's own figures ("the clinic
// beside the literature"). The studies are data (`Resources/literature/io-studies.json`, documented in its `notes`);
// a clinic may load its own copy in the same schema through `LiteratureFile.decode(from:)`, whose errors name the
// study id, the outcome id and the field.

/// Evidence tag of a study or a number: how the value was checked.
public enum EvidenceTag: String, Codable, Sendable, CaseIterable, Hashable {
    /// Checked in the primary paper (or its abstract; the note says which).
    case verified = "V"
    /// From a secondary source that restates the paper.
    case secondary = "S"
    /// From memory of the literature, not re-checked.
    case memory = "M"

    public init(from decoder: any Decoder) throws {
        self = try literatureCase(from: decoder, what: "an evidence tag",
                                 explanation: ": V checked in the paper, S from a secondary source, M from memory")
    }
}

/// The literature file: schema version, editing notes and the studies.
public struct LiteratureFile: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    /// How to edit the file (shown to clinics; not interpreted).
    public var notes: [String]?
    public var studies: [PublishedStudy]

    public init(schemaVersion: Int = 1, notes: [String]? = nil, studies: [PublishedStudy]) {
        self.schemaVersion = schemaVersion
        self.notes = notes
        self.studies = studies
    }

    /// Path of the built-in file inside the OssaAnalytics bundle.
    public static let builtInPath = "literature/io-studies.json"

    /// The built-in studies (`Resources/literature/io-studies.json`), decoded and validated once per process.
    public static func builtIn() throws -> LiteratureFile {
        try cachedBuiltIn.get()
    }

    // Initialised once, lazily and thread-safely; immutable afterwards.
    private static let cachedBuiltIn: Result<LiteratureFile, any Error> = Result {
        let data = try LiteratureResource.data(builtInPath)
        do {
            return try decode(from: data)
        } catch let error as FieldValidationError {
            throw FieldValidationError(path: error.path, message: "\(error.message) (in \(builtInPath))")
        }
    }

    /// The built-in file as shipped (the starting point for a clinic's own copy).
    public static func builtInData() throws -> Data {
        try LiteratureResource.data(builtInPath)
    }

    /// Decodes and validates a literature file against the built-in instruments and responder thresholds.
    public static func decode(from data: Data) throws -> LiteratureFile {
        try decode(from: data, instruments: InstrumentLibrary.builtIn(), thresholds: ResponderThresholdTable.builtIn())
    }

    /// Decodes and validates a literature file against the given instruments and responder thresholds (a clinic's
    /// own library or table). Every problem is reported (`FieldValidationError.all`); each message starts with the
    /// study and outcome id, e.g. `studies[1].outcomes[0].estimate: study "sanchez-2019-knee", outcome
    /// "koos-pain-mcii-6m": 1.2 is not a proportion (0–1)`.
    public static func decode(from data: Data, instruments: InstrumentLibrary,
                              thresholds: ResponderThresholdTable) throws(FieldValidationError) -> LiteratureFile {
        let file: LiteratureFile
        do {
            file = try StrictJSON.decode(LiteratureFile.self, from: data)
        } catch {
            throw LiteratureLocator(data: data).annotate(error)
        }
        try file.validate(instruments: instruments, thresholds: thresholds)
        return file
    }

    /// Checks the whole file and throws every problem found (the first one, with the others in `more`).
    public func validate(instruments: InstrumentLibrary, thresholds: ResponderThresholdTable) throws(FieldValidationError) {
        var problems = LiteratureProblems()
        if schemaVersion != 1 {
            problems.add("schemaVersion", "unsupported schema version \(schemaVersion) (this build reads 1)")
        }
        var ids = Set<String>()
        for (index, study) in studies.enumerated() {
            let path = "studies[\(index)]"
            if !ids.insert(study.id).inserted {
                problems.add("\(path).id", "study \"\(study.id)\": the id is used by an earlier study; give each study its own id")
            }
            study.check(at: path, instruments: instruments, thresholds: thresholds, into: &problems)
        }
        if let error = FieldValidationError(all: problems.list) { throw error }
    }

    /// The study with `id`, if any.
    public func study(id: String) -> PublishedStudy? {
        studies.first { $0.id == id }
    }
}

/// One published study: citation, the population of the treated arm, and its outcomes.
public struct PublishedStudy: Codable, Sendable, Equatable, Identifiable {
    /// Stable id (lower-case letters, digits, hyphens), e.g. `sanchez-2016-knee`.
    public var id: String
    /// Short name for the page, e.g. "Sánchez 2016 (knee pilot)".
    public var label: String
    /// Full citation: authors, year, title, journal, volume/pages.
    public var citation: String
    public var doi: String?
    public var pmid: String?
    public var url: String?
    /// How the study's description was checked.
    public var evidence: EvidenceTag
    /// Study design in words ("randomised controlled trial, three arms").
    public var design: String
    /// Who was treated in the arm the outcomes describe.
    public var population: Population
    /// Patients (or joints) in that arm; `nil` when the paper's arm size was not retrieved.
    public var n: Int?
    /// Last or mean follow-up of the study, in months.
    public var followUpMonths: Double?
    /// The other arm, when the study compares.
    public var comparator: Comparator?
    /// Results in words (required when the study has no numeric outcome).
    public var findings: [String]?
    public var notes: [String]?
    public var outcomes: [PublishedOutcome]

    public init(id: String, label: String, citation: String, doi: String? = nil, pmid: String? = nil, url: String? = nil,
                evidence: EvidenceTag, design: String, population: Population, n: Int? = nil, followUpMonths: Double? = nil,
                comparator: Comparator? = nil, findings: [String]? = nil, notes: [String]? = nil, outcomes: [PublishedOutcome]) {
        self.id = id
        self.label = label
        self.citation = citation
        self.doi = doi
        self.pmid = pmid
        self.url = url
        self.evidence = evidence
        self.design = design
        self.population = population
        self.n = n
        self.followUpMonths = followUpMonths
        self.comparator = comparator
        self.findings = findings
        self.notes = notes
        self.outcomes = outcomes
    }

    /// The outcome with `id`, if any.
    public func outcome(id: String) -> PublishedOutcome? {
        outcomes.first { $0.id == id }
    }

    /// Outcomes the page can set a clinic figure beside (`matchable` not false).
    public var matchableOutcomes: [PublishedOutcome] { outcomes.filter(\.isMatchable) }

    /// The study population (of the treated arm).
    public struct Population: Codable, Sendable, Equatable {
        public var joint: Joint
        /// Diagnoses of the population; a registry episode matches when its diagnosis is one of them.
        public var diagnoses: [Diagnosis.Kind]
        /// Radiographic grade range, or `nil` when the paper gives none.
        public var grade: GradeRange?
        /// Injected products (`prp`, `bmc`).
        public var products: [InjectedProduct]
        /// `true`: IO combined with an intra-articular injection; `false`: IO/subchondral only; `nil`: either.
        public var intraArticular: Bool?
        /// The population in words (size, age, grade, technique).
        public var description: String

        public init(joint: Joint, diagnoses: [Diagnosis.Kind], grade: GradeRange? = nil, products: [InjectedProduct],
                    intraArticular: Bool? = nil, description: String) {
            self.joint = joint
            self.diagnoses = diagnoses
            self.grade = grade
            self.products = products
            self.intraArticular = intraArticular
            self.description = description
        }

        private enum CodingKeys: String, CodingKey { case joint, diagnoses, grade, products, intraArticular, description }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            joint = try c.decode(Joint.self, forKey: .joint)
            // Diagnosis.Kind has no naming decoder of its own; read the codes and list the accepted ones on error.
            var list = try c.nestedUnkeyedContainer(forKey: .diagnoses)
            var kinds: [Diagnosis.Kind] = []
            while !list.isAtEnd {
                let index = list.currentIndex
                let raw = try list.decode(String.self)
                guard let kind = Diagnosis.Kind(rawValue: raw) else {
                    let allowed = Diagnosis.Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                    throw FieldValidationError(codingPath: c.codingPath + [CodingKeys.diagnoses, LiteratureIndexKey(index)],
                                               message: "\"\(raw)\" is not a diagnosis (one of \(allowed))")
                }
                kinds.append(kind)
            }
            diagnoses = kinds
            grade = try c.decodeIfPresent(GradeRange.self, forKey: .grade)
            products = try c.decode([InjectedProduct].self, forKey: .products)
            intraArticular = try c.decodeIfPresent(Bool.self, forKey: .intraArticular)
            description = try c.decode(String.self, forKey: .description)
        }
    }

    /// A radiographic grade range, inclusive, as grade numbers (Ahlbäck III = 3).
    public struct GradeRange: Codable, Sendable, Equatable {
        public var system: GradingSystem
        public var min: Int
        public var max: Int

        public init(system: GradingSystem, min: Int, max: Int) {
            self.system = system
            self.min = min
            self.max = max
        }
    }

    /// Radiographic grading systems a study population may be given in.
    public enum GradingSystem: String, Codable, Sendable, CaseIterable {
        /// Kellgren–Lawrence 0–4.
        case kellgrenLawrence = "kellgren-lawrence"
        /// Ahlbäck I–V written 1–5 (knee only).
        case ahlback
        /// Tönnis 0–3 (hip only).
        case tonnis

        public init(from decoder: any Decoder) throws {
            self = try literatureCase(from: decoder, what: "a grading system")
        }
    }

    /// The comparison arm of a study.
    public struct Comparator: Codable, Sendable, Equatable {
        /// The arm in words ("intra-articular PRP only").
        public var label: String
        /// Patients (or joints) in the arm, if reported.
        public var n: Int?

        public init(label: String, n: Int? = nil) {
            self.label = label
            self.n = n
        }
    }
}

/// One published number: a PROM change or mean, a responder rate, survival free of joint replacement, or an
/// adverse-event rate, at a follow-up time, with its evidence tag.
public struct PublishedOutcome: Codable, Sendable, Equatable, Identifiable {
    /// Unique within the study, e.g. `koos-pain-mcii-6m`.
    public var id: String
    public var kind: Kind
    /// Ossa instrument id (`koos`, `hoos`, …), or the paper's instrument name when `matchable` is false.
    public var instrument: String?
    /// Score id within the instrument (`pain`, `adl`, `score`, …).
    public var score: String?
    /// Responder rule (responder-rate): a threshold id of the responder table or `omeract-oarsi-2004`; free text
    /// when `matchable` is false.
    public var criterion: String?
    /// Adverse-event rate: lowest severity counted; `nil` = any adverse event.
    public var minimumSeverity: AdverseEventSeverity?
    /// Months after the (first) IO procedure.
    public var months: Double
    public var estimate: Double
    /// Confidence interval of the estimate, when the paper gives one.
    public var lower: Double?
    public var upper: Double?
    public var unit: Unit
    /// Numerator and denominator of a proportion, when the paper gives them.
    public var count: Int?
    public var denominator: Int?
    /// PROM kinds: group mean at baseline and at follow-up, SD of the change.
    public var baseline: Double?
    public var followUp: Double?
    public var sd: Double?
    /// The comparator arm's value of the same outcome.
    public var comparator: ComparatorValue?
    /// `false`: shown without a clinic figure (instrument Ossa does not collect, or an outcome the registry cannot
    /// reproduce). Absent = true.
    public var matchable: Bool?
    public var evidence: EvidenceTag
    public var note: String?

    public init(id: String, kind: Kind, instrument: String? = nil, score: String? = nil, criterion: String? = nil,
                minimumSeverity: AdverseEventSeverity? = nil, months: Double, estimate: Double, lower: Double? = nil,
                upper: Double? = nil, unit: Unit, count: Int? = nil, denominator: Int? = nil, baseline: Double? = nil,
                followUp: Double? = nil, sd: Double? = nil, comparator: ComparatorValue? = nil, matchable: Bool? = nil,
                evidence: EvidenceTag, note: String? = nil) {
        self.id = id
        self.kind = kind
        self.instrument = instrument
        self.score = score
        self.criterion = criterion
        self.minimumSeverity = minimumSeverity
        self.months = months
        self.estimate = estimate
        self.lower = lower
        self.upper = upper
        self.unit = unit
        self.count = count
        self.denominator = denominator
        self.baseline = baseline
        self.followUp = followUp
        self.sd = sd
        self.comparator = comparator
        self.matchable = matchable
        self.evidence = evidence
        self.note = note
    }

    /// Whether the page should set a clinic figure beside this outcome.
    public var isMatchable: Bool { matchable ?? true }

    /// The id of the OMERACT-OARSI 2004 responder rule, accepted as a `criterion`.
    public static let omeractOarsiCriterion = "omeract-oarsi-2004"

    /// What a published number measures.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Mean change from baseline (follow-up − baseline on the instrument's own scale), in points.
        case promChange = "prom-change"
        /// Mean score at follow-up, in points.
        case promMean = "prom-mean"
        /// Share of patients meeting a responder rule.
        case responderRate = "responder-rate"
        /// Share of patients (or joints) free of joint replacement at `months`.
        case survivalFreeOfReplacement = "survival-free-of-replacement"
        /// Share of patients with an adverse event (of at least `minimumSeverity`) by `months`.
        case adverseEventRate = "adverse-event-rate"

        public init(from decoder: any Decoder) throws {
            self = try literatureCase(from: decoder, what: "an outcome kind")
        }

        /// PROM kinds carry an instrument and score, and are in points.
        public var isPROM: Bool { self == .promChange || self == .promMean }

        /// The unit this kind is given in.
        public var unit: Unit { isPROM ? .points : .proportion }
    }

    /// Unit of an estimate.
    public enum Unit: String, Codable, Sendable, CaseIterable {
        /// Score points on the instrument's scale.
        case points
        /// A proportion between 0 and 1.
        case proportion

        public init(from decoder: any Decoder) throws {
            self = try literatureCase(from: decoder, what: "a unit")
        }
    }

    /// The comparator arm's value of an outcome.
    public struct ComparatorValue: Codable, Sendable, Equatable {
        public var estimate: Double
        public var count: Int?
        public var denominator: Int?

        public init(estimate: Double, count: Int? = nil, denominator: Int? = nil) {
            self.estimate = estimate
            self.count = count
            self.denominator = denominator
        }
    }
}

// MARK: - Validation

/// Collects problems with their paths so a clinic sees every mistake at once.
struct LiteratureProblems {
    private(set) var list: [FieldValidationError] = []

    mutating func add(_ path: String, _ message: String) {
        list.append(FieldValidationError(path: path, message: message))
    }
}

/// Ids are used in page addresses and as stable keys: lower-case letters, digits and single hyphens.
private func isWellFormedID(_ id: String) -> Bool {
    guard let first = id.first, let last = id.last, first != "-", last != "-", !id.contains("--") else { return false }
    return id.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
}

private func format(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

extension PublishedStudy {
    func check(at path: String, instruments: InstrumentLibrary, thresholds: ResponderThresholdTable,
               into problems: inout LiteratureProblems) {
        let who = "study \"\(id)\""
        func add(_ field: String, _ message: String) { problems.add(FieldPath.join(path, field), "\(who): \(message)") }

        if !isWellFormedID(id) {
            add("id", "the id must be lower-case letters, digits and hyphens (e.g. \"sanchez-2016-knee\")")
        }
        if label.trimmingCharacters(in: .whitespaces).isEmpty { add("label", "give a short label for the page") }
        if citation.trimmingCharacters(in: .whitespaces).isEmpty {
            add("citation", "give the full citation (authors, year, title, journal, volume/pages)")
        }
        if let doi, !doi.hasPrefix("10.") || !doi.contains("/") {
            add("doi", "\"\(doi)\" is not a DOI (it starts with \"10.\" and contains \"/\"; leave out \"https://doi.org/\"), or use null")
        }
        if let pmid, pmid.isEmpty || !pmid.allSatisfy(\.isASCIIDigitCharacter) {
            add("pmid", "\"\(pmid)\" is not a PubMed id (digits only), or use null")
        }
        if let n, n <= 0 { add("n", "\(n) must be a positive number of patients, or null when not reported") }
        if let months = followUpMonths, !(months.isFinite && months > 0) {
            add("followUpMonths", "\(format(months)) must be a positive number of months")
        }
        if let comparator {
            if comparator.label.trimmingCharacters(in: .whitespaces).isEmpty { add("comparator.label", "describe the comparator arm") }
            if let n = comparator.n, n <= 0 { add("comparator.n", "\(n) must be a positive number, or null when not reported") }
        }
        if outcomes.isEmpty, (findings ?? []).allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            add("findings", "a study without numeric outcomes needs its results in words in findings")
        }
        population.check(at: FieldPath.join(path, "population"), who: who, into: &problems)

        var outcomeIDs = Set<String>()
        for (index, outcome) in outcomes.enumerated() {
            let outcomePath = "\(path).outcomes[\(index)]"
            if !outcomeIDs.insert(outcome.id).inserted {
                problems.add("\(outcomePath).id", "\(who), outcome \"\(outcome.id)\": the id is used by an earlier outcome of this study")
            }
            outcome.check(at: outcomePath, who: "\(who), outcome \"\(outcome.id)\"", study: self,
                          instruments: instruments, thresholds: thresholds, into: &problems)
        }
    }
}

extension PublishedStudy.Population {
    func check(at path: String, who: String, into problems: inout LiteratureProblems) {
        func add(_ field: String, _ message: String) { problems.add(FieldPath.join(path, field), "\(who): \(message)") }
        if diagnoses.isEmpty { add("diagnoses", "list at least one diagnosis") }
        if products.isEmpty { add("products", "list at least one product (prp, bmc)") }
        if description.trimmingCharacters(in: .whitespaces).isEmpty { add("description", "describe the population in words") }
        guard let grade else { return }
        let (range, name): (ClosedRange<Int>, String) = switch grade.system {
        case .kellgrenLawrence: (0...4, "Kellgren–Lawrence grades are 0–4")
        case .ahlback: (1...5, "Ahlbäck grades are written 1–5 (III = 3)")
        case .tonnis: (0...3, "Tönnis grades are 0–3")
        }
        if grade.system == .ahlback, joint != .knee { add("grade.system", "Ahlbäck grading is for the knee, not the \(joint.rawValue)") }
        if grade.system == .tonnis, joint != .hip { add("grade.system", "Tönnis grading is for the hip, not the \(joint.rawValue)") }
        if !range.contains(grade.min) { add("grade.min", "\(grade.min) is not a grade: \(name)") }
        if !range.contains(grade.max) { add("grade.max", "\(grade.max) is not a grade: \(name)") }
        if grade.min > grade.max { add("grade.max", "\(grade.max) is below min \(grade.min)") }
    }
}

extension PublishedOutcome {
    func check(at path: String, who: String, study: PublishedStudy, instruments: InstrumentLibrary,
               thresholds: ResponderThresholdTable, into problems: inout LiteratureProblems) {
        func add(_ field: String, _ message: String) { problems.add(FieldPath.join(path, field), "\(who): \(message)") }
        let kindName = kind.rawValue

        if !isWellFormedID(id) { add("id", "the id must be lower-case letters, digits and hyphens (e.g. \"koos-pain-6m\")") }
        if !(months.isFinite && months > 0) { add("months", "\(format(months)) must be a positive number of months after the IO procedure") }
        if unit != kind.unit {
            add("unit", "\(kindName) outcomes are in \(kind.unit.rawValue), not \(unit.rawValue)")
        }

        // Numbers: finite, proportions in 0…1, and lower ≤ estimate ≤ upper.
        let isProportion = kind.unit == .proportion
        func checkValue(_ value: Double?, _ field: String) {
            guard let value else { return }
            if !value.isFinite {
                add(field, "must be a number")
            } else if isProportion, !(0...1).contains(value) {
                add(field, "\(format(value)) is not a proportion (0–1; write 53% as 0.53)")
            }
        }
        checkValue(estimate, "estimate")
        checkValue(lower, "lower")
        checkValue(upper, "upper")
        switch (lower, upper) {
        case (nil, nil): break
        case (.some, nil): add("upper", "give both lower and upper of the confidence interval, or neither")
        case (nil, .some): add("lower", "give both lower and upper of the confidence interval, or neither")
        case let (lower?, upper?):
            if lower > estimate { add("lower", "\(format(lower)) is above the estimate \(format(estimate)) (lower ≤ estimate ≤ upper)") }
            if upper < estimate { add("upper", "\(format(upper)) is below the estimate \(format(estimate)) (lower ≤ estimate ≤ upper)") }
        }
        if isProportion {
            checkCounts(count: count, denominator: denominator, estimate: estimate, field: "", add: add)
        } else if count != nil || denominator != nil {
            add(count != nil ? "count" : "denominator", "count and denominator belong to proportions, not to \(kindName) outcomes")
        }
        if let comparator {
            if study.comparator == nil { add("comparator", "the study has no comparator arm; describe it in the study's comparator first") }
            checkValue(comparator.estimate, "comparator.estimate")
            if isProportion {
                checkCounts(count: comparator.count, denominator: comparator.denominator, estimate: comparator.estimate,
                            field: "comparator", add: add)
            }
        }

        // Fields that belong to other kinds.
        if !kind.isPROM {
            for (value, field) in [(baseline, "baseline"), (followUp, "followUp"), (sd, "sd")] where value != nil {
                add(field, "only PROM outcomes (prom-change, prom-mean) have \(field)")
            }
        } else if let sd, !(sd.isFinite && sd >= 0) {
            add("sd", "\(format(sd)) must be zero or more")
        }
        if kind != .responderRate, criterion != nil { add("criterion", "only responder-rate outcomes have a criterion") }
        if kind != .adverseEventRate, minimumSeverity != nil { add("minimumSeverity", "only adverse-event-rate outcomes have a minimumSeverity") }

        switch kind {
        case .promChange, .promMean, .responderRate:
            checkInstrument(study: study, instruments: instruments, thresholds: thresholds, add: add)
        case .survivalFreeOfReplacement, .adverseEventRate:
            if instrument != nil { add("instrument", "\(kindName) outcomes have no instrument") }
            if score != nil { add("score", "\(kindName) outcomes have no score") }
        }
    }

    private func checkCounts(count: Int?, denominator: Int?, estimate: Double, field: String,
                             add: (String, String) -> Void) {
        let countField = FieldPath.join(field, "count")
        let denominatorField = FieldPath.join(field, "denominator")
        switch (count, denominator) {
        case (nil, nil): return
        case (.some, nil): add(denominatorField, "give the denominator with the count, or neither")
        case (nil, .some): add(countField, "give the count with the denominator, or neither")
        case let (count?, denominator?):
            if denominator <= 0 {
                add(denominatorField, "\(denominator) must be a positive number")
            } else if count < 0 || count > denominator {
                add(countField, "\(count) must be between 0 and the denominator \(denominator)")
            } else if estimate.isFinite, (0...1).contains(estimate), abs(Double(count) / Double(denominator) - estimate) > 0.0051 {
                let ratio = (Double(count) / Double(denominator) * 1000).rounded() / 1000
                add(FieldPath.join(field, "estimate"),
                    "\(format(estimate)) does not match \(count)/\(denominator) = \(format(ratio))")
            }
        }
    }

    private func checkInstrument(study: PublishedStudy, instruments: InstrumentLibrary, thresholds: ResponderThresholdTable,
                                 add: (String, String) -> Void) {
        let kindName = kind.rawValue
        guard let instrument, !instrument.trimmingCharacters(in: .whitespaces).isEmpty else {
            add("instrument", "\(kindName) outcomes need the instrument (an Ossa instrument id, or the paper's instrument name with \"matchable\": false)")
            return
        }
        if kind == .responderRate, (criterion ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            add("criterion", "responder-rate outcomes need their responder rule (a threshold id, \(Self.omeractOarsiCriterion), or the paper's rule in words with \"matchable\": false)")
        }
        guard isMatchable else { return }
        let unmatchable = "or set \"matchable\": false to show the published figure without a clinic figure"
        guard let definition = instruments.instrument(id: instrument) else {
            add("instrument", "\"\(instrument)\" is not an Ossa instrument (one of \(instruments.ids.joined(separator: ", "))); use one of them, \(unmatchable)")
            return
        }
        if let joints = definition.joints, !joints.isEmpty, !joints.contains(study.population.joint.rawValue) {
            add("instrument", "\(definition.abbreviation) is for the \(joints.joined(separator: "/")), not the \(study.population.joint.rawValue)")
        }
        let scoreIDs = definition.scores.map(\.id)
        if let score {
            if !scoreIDs.contains(score) {
                let known = scoreIDs.isEmpty ? "it has no scores" : "one of \(scoreIDs.joined(separator: ", "))"
                add("score", "\"\(score)\" is not a score of \(instrument) (\(known)), \(unmatchable)")
            }
        } else {
            add("score", "give the score of \(instrument) (one of \(scoreIDs.joined(separator: ", ")))")
        }
        guard kind == .responderRate, let criterion, !criterion.isEmpty, criterion != Self.omeractOarsiCriterion else { return }
        guard let threshold = thresholds.threshold(id: criterion) else {
            add("criterion", "\"\(criterion)\" is not a responder threshold id (Resources/responders/thresholds.json) nor \(Self.omeractOarsiCriterion); add the threshold to the table, \(unmatchable)")
            return
        }
        if threshold.instrument != instrument || threshold.score != (score ?? "") {
            add("criterion", "threshold \"\(criterion)\" is for \(threshold.instrument) \(threshold.score), not \(instrument) \(score ?? "")")
        }
    }
}

// MARK: - Decoding support

/// Decodes a string-backed enum of this file, naming the accepted values on failure.
private func literatureCase<E: RawRepresentable & CaseIterable>(from decoder: any Decoder, what: String,
                                                                explanation: String = "") throws -> E
where E.RawValue == String {
    let container = try decoder.singleValueContainer()
    guard let raw = try? container.decode(String.self) else {
        throw FieldValidationError(codingPath: decoder.codingPath, message: "expected \(what) as a string")
    }
    guard let value = E(rawValue: raw) else {
        let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        throw FieldValidationError(codingPath: decoder.codingPath, message: "\"\(raw)\" is not \(what) (one of \(allowed)\(explanation))")
    }
    return value
}

/// An array index in a coding path.
private struct LiteratureIndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ index: Int) { stringValue = "\(index)"; intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.init(intValue) }
}

/// Adds the study and outcome ids to a decoding error, so a clinic editing the file sees which entry is wrong
/// (decoding errors only know array positions).
private struct LiteratureLocator {
    let root: Any?

    init(data: Data) {
        root = try? JSONSerialization.jsonObject(with: data)
    }

    func annotate(_ error: FieldValidationError) -> FieldValidationError {
        let annotated = error.all.map { problem in
            guard let prefix = prefix(for: problem.path) else { return problem }
            return FieldValidationError(path: problem.path, message: "\(prefix): \(problem.message)")
        }
        return FieldValidationError(all: annotated) ?? error
    }

    /// `study "x", outcome "y"` for a path under `studies[i].outcomes[j]`, when those entries have ids.
    private func prefix(for path: String) -> String? {
        guard let studyIndex = index(after: "studies[", in: path),
              let studies = (root as? [String: Any])?["studies"] as? [Any], studies.indices.contains(studyIndex),
              let study = studies[studyIndex] as? [String: Any], let studyID = study["id"] as? String else { return nil }
        var text = "study \"\(studyID)\""
        if let outcomeIndex = index(after: "].outcomes[", in: path),
           let outcomes = study["outcomes"] as? [Any], outcomes.indices.contains(outcomeIndex),
           let outcomeID = (outcomes[outcomeIndex] as? [String: Any])?["id"] as? String {
            text += ", outcome \"\(outcomeID)\""
        }
        return text
    }

    private func index(after marker: String, in path: String) -> Int? {
        guard let start = path.range(of: marker)?.upperBound,
              let end = path[start...].firstIndex(of: "]") else { return nil }
        return Int(path[start..<end])
    }
}

/// Reads this target's bundled files. Linux Foundation treats a bundle holding a `Resources` folder as versioned,
/// so its `resourceURL` may already end in `Resources`.
private enum LiteratureResource {
    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "bundled resource '\(path)' is missing from the OssaAnalytics bundle" }
    }

    static func data(_ path: String) throws -> Data {
        guard let base = Bundle.module.resourceURL else { throw Missing(path: path) }
        for url in [base.appendingPathComponent(path), base.appendingPathComponent("Resources").appendingPathComponent(path)] {
            if let data = FileManager.default.contents(atPath: url.path) { return data }
        }
        throw Missing(path: path)
    }
}

private extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
