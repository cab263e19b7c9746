import FluentKit
import Foundation
import OssaCore
import SQLKit



/// A new imaging study: an MRI read per subregion, or an x-ray with its grades.
public struct NewImagingStudy: Sendable, Hashable {
    public var episodeID: UUID
    public var timing: ImagingTiming
    public var modality: ImagingModality
    public var date: CalendarDate
    /// Required for an MRI (its `date` must equal `date`); refused for an x-ray.
    public var mri: MRIStudy?
    public var xray: XRayGrades?

    public init(episodeID: UUID, timing: ImagingTiming, mri: MRIStudy) {
        self.episodeID = episodeID
        self.timing = timing
        modality = .mri
        date = mri.date
        self.mri = mri
    }

    public init(episodeID: UUID, timing: ImagingTiming, xrayOn date: CalendarDate, grades: XRayGrades) {
        self.episodeID = episodeID
        self.timing = timing
        modality = .xray
        self.date = date
        xray = grades
    }
}

/// The MRI findings other than the subregion grid, stored as JSON in `other_findings_json`.
struct OtherMRIFindings: Codable {
    var insufficiencyFracture: InsufficiencyFractureLine?
    var avn: AVNLesion?
    var focalCartilageLesions: [FocalCartilageLesion]?
    var suspectedTumourOrInfection: Bool?
}

public struct ImagingFilter: Sendable, Hashable {
    public var episodeID: UUID?
    public var patientID: UUID?
    public var timing: ImagingTiming?
    public var modality: ImagingModality?
    public var studied: DateRange?
    /// When the study was recorded (FHIR `_lastUpdated`).
    public var updated: InstantRange?

    public init(episodeID: UUID? = nil, patientID: UUID? = nil, timing: ImagingTiming? = nil, modality: ImagingModality? = nil,
                studied: DateRange? = nil, updated: InstantRange? = nil) {
        self.updated = updated
        self.episodeID = episodeID
        self.patientID = patientID
        self.timing = timing
        self.modality = modality
        self.studied = studied
    }
}

/// Imaging studies and their MOAKS subregion findings.
public struct ImagingRepository: Sendable {
    let database: OssaDatabase

    public func create(_ actor: ActingUser, _ new: NewImagingStudy) async throws -> ImagingStudyRecord {
        let scope = try await Access.require(actor, .create, .imagingStudy, recordID: new.episodeID.lowerString, database: database)
        try Self.check(new)
        return try await database.transaction { db in
            try await Self.insert(actor, new, scope: scope, on: db)
        }
    }

    /// The checks of a new study that need no database.
    static func check(_ new: NewImagingStudy) throws {
        switch new.modality {
        case .mri:
            guard let mri = new.mri else { throw StoreError.invalid(field: "mri", message: "an MRI study needs its reading") }
            guard mri.date == new.date else { throw StoreError.invalid(field: "mri.date", message: "\(mri.date) is not the study date \(new.date)") }
            guard new.xray == nil else { throw StoreError.invalid(field: "xray", message: "an MRI study has no x-ray grades") }
        case .xray:
            guard new.mri == nil else { throw StoreError.invalid(field: "mri", message: "an x-ray study has no MRI reading") }
            guard new.xray != nil else { throw StoreError.invalid(field: "xray", message: "an x-ray study needs its grades") }
        }
    }

    /// One study inside `db`'s transaction (`create`, an import): the episode under the actor's scope, the checks
    /// against its joint, the rows and the audit entry.
    static func insert(_ actor: ActingUser, _ new: NewImagingStudy, scope: AccessPolicy.Scope, audits: AuditBuffer? = nil,
                       on db: any Database) async throws -> ImagingStudyRecord {
        try check(new)
        let other = try new.mri.map {
            try StoredJSON.encode(OtherMRIFindings(insufficiencyFracture: $0.insufficiencyFracture, avn: $0.avn,
                                                   focalCartilageLesions: $0.focalCartilageLesions,
                                                   suspectedTumourOrInfection: $0.suspectedTumourOrInfection))
        }
        let episode = try await ClinicalScope.episode(new.episodeID, actor, scope, on: db)
        guard let joint = Joint(rawValue: episode.joint) else {
            throw StoreError.unreadable(field: "joint", value: episode.joint)
        }
        // What depends on the episode's joint conflicts with the stored episode (409); the rest is the body's own (422).
        if let mri = new.mri {
            for (i, finding) in mri.bml.enumerated() where finding.subregion.joint != joint {
                throw StoreError.conflictingField(field: "mri.bml[\(i)].subregion",
                                                  message: "\"\(finding.subregion.rawValue)\" is a \(finding.subregion.joint.rawValue) subregion, but the episode's joint is the \(joint.rawValue)")
            }
            try validating(under: "mri") { try mri.validate(joint: joint, at: "") }
        }
        if let xray = new.xray {
            if joint == .hip, xray.ahlback != nil {
                throw StoreError.conflictingField(field: "xray.ahlback", message: "the Ahlbäck grade is for the knee; this episode is a hip")
            }
            if joint == .knee, xray.tonnis != nil {
                throw StoreError.conflictingField(field: "xray.tonnis", message: "the Tönnis grade is for the hip; this episode is a knee")
            }
        }
        let model = ImagingStudyModel()
        model.$episode.id = new.episodeID
        model.$site.id = episode.$site.id
        model.modality = new.modality.rawValue
        model.timing = new.timing.rawValue
        model.studyDate = new.date.iso
        model.kellgrenLawrence = new.xray?.kellgrenLawrence?.rawValue
        model.ahlback = new.xray?.ahlback.map { String($0.rawValue) }
        model.tonnis = new.xray?.tonnis?.rawValue
        model.otherFindingsJSON = other
        try await model.create(on: db)
        let studyID = try model.requireID()
        if let findings = new.mri?.bml, !findings.isEmpty {
            try await BulkInsert.insertRows(into: "subregion_findings", columns: Self.findingColumns,
                                            rows: findings.map { Self.findingRow($0, study: studyID) }, on: db.sqlDatabase())
        }
        try await Access.audit(actor, .create, .imagingStudy, studyID, on: db, into: audits)
        return try Self.record(model, findings: (new.mri?.bml ?? []).sorted { $0.subregion < $1.subregion })
    }

    /// One study with its findings; audited as a chart read.
    public func get(_ actor: ActingUser, _ id: UUID) async throws -> ImagingStudyRecord {
        let scope = try await Access.require(actor, .read, .imagingStudy, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            guard let model = try await ClinicalScope.apply(ImagingStudyModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                throw StoreError.notFound(recordType: "imaging study", id: id.lowerString)
            }
            let findings = try await Self.findings(of: [id], on: db)
            try await Access.audit(actor, .read, .imagingStudy, id, on: db)
            return try Self.record(model, findings: findings[id] ?? [])
        }
    }

    /// Studies the actor may see, in date order (oldest first), with their findings; audited as a list.
    public func list(_ actor: ActingUser, _ filter: ImagingFilter = ImagingFilter(),
                     _ page: PageRequest = PageRequest()) async throws -> Page<ImagingStudyRecord> {
        let scope = try await Access.require(actor, .list, .imagingStudy, recordID: filter.episodeID?.lowerString, database: database)
        let page = try page.validated()
        let studied = filter.studied
        return try await database.transaction { db in
            guard var query = ClinicalScope.apply(ImagingStudyModel.query(on: db), actor, scope) else { return try await ClinicalScope.emptyPage(page, episode: filter.episodeID, actor, on: db) }
            if let episodeID = filter.episodeID { query = query.filter(\.$episode.$id == episodeID) }
            if let timing = filter.timing { query = query.filter(\.$timing == timing.rawValue) }
            if let modality = filter.modality { query = query.filter(\.$modality == modality.rawValue) }
            query = query.filterPatient(filter.patientID).filterDates("study_date", studied).filterSpan("created_at", filter.updated)
            let total = try await query.copy().count()
            let models = try await query.sort(\.$studyDate).sort(\.$id).range(page.offset..<(page.offset + page.limit)).all()
            let findings = try await Self.findings(of: try models.map { try $0.requireID() }, on: db)
            let items = try models.map { try Self.record($0, findings: findings[try $0.requireID()] ?? []) }
            try await ClinicalScope.requireEpisode(filter.episodeID, ifEmpty: total == 0, actor, on: db)
            try await Access.audit(actor, .list, .imagingStudy, filter.episodeID, on: db)
            return Page(items: items, total: total, limit: page.limit, offset: page.offset)
        }
    }

    /// Per-subregion change from a baseline MRI to a follow-up MRI of the same episode (negative = improvement).
    public func compare(_ actor: ActingUser, baseline baselineID: UUID, followUp followUpID: UUID) async throws -> [BMLChange] {
        let scope = try await Access.require(actor, .read, .imagingStudy, recordID: baselineID.lowerString, database: database)
        return try await database.transaction { db in
            var studies: [UUID: ImagingStudyModel] = [:]
            for id in [baselineID, followUpID] {
                guard let model = try await ClinicalScope.apply(ImagingStudyModel.query(on: db), actor, scope)?.filter(\.$id == id).first() else {
                    throw StoreError.notFound(recordType: "imaging study", id: id.lowerString)
                }
                guard model.modality == ImagingModality.mri.rawValue else {
                    throw StoreError.invalid(field: id == baselineID ? "baseline" : "followUp", message: "is not an MRI study")
                }
                studies[id] = model
            }
            guard studies[baselineID]?.$episode.id == studies[followUpID]?.$episode.id else {
                throw StoreError.invalid(field: "followUp", message: "is a study of another episode")
            }
            let findings = try await Self.findings(of: [baselineID, followUpID], on: db)
            for id in [baselineID, followUpID] { try await Access.audit(actor, .read, .imagingStudy, id, on: db) }
            return BMLChange.compare(baseline: findings[baselineID] ?? [], followUp: findings[followUpID] ?? [])
        }
    }

    static let findingColumns = ["id", "study_id", "subregion", "bml_size_grade", "bml_percent_grade", "lesion_count"]

    static func findingRow(_ finding: BMLFinding, study: UUID, id: UUID = UUID()) -> [any Encodable & Sendable] {
        [id, study, finding.subregion.rawValue, finding.size.rawValue, finding.bmlPercent?.rawValue, finding.count]
    }

    static func findings(of studies: [UUID], on db: any Database) async throws -> [UUID: [BMLFinding]] {
        try await findings(of: studies, on: db.sqlDatabase())
    }

    /// The studies' findings by study, each list in subregion order (SQLKit rows: no Fluent model's reflection).
    static func findings(of studies: [UUID], on sql: any SQLDatabase) async throws -> [UUID: [BMLFinding]] {
        guard !studies.isEmpty else { return [:] }
        var out: [UUID: [BMLFinding]] = [:]
        for row in try await sql.raw("""
            SELECT \(qualifiedColumns("f", findingColumns)) FROM subregion_findings f WHERE f.study_id IN (\(binds: studies))
            """).all() {
            let stored = try row.decode(column: "subregion", as: String.self), sizeGrade = try row.decode(column: "bml_size_grade", as: Int.self)
            guard let subregion = BMLSubregion(rawValue: stored), let size = BMLSizeGrade(rawValue: sizeGrade) else {
                throw StoreError.invalid(field: "subregion", message: "stored finding \(stored)/\(sizeGrade) is unreadable")
            }
            let percent = try row.decode(column: "bml_percent_grade", as: Int?.self).map {
                guard let grade = BMLPercentGrade(rawValue: $0) else {
                    throw StoreError.invalid(field: "bmlPercent", message: "stored grade \($0) is unknown")
                }
                return grade
            }
            out[try row.decode(column: "study_id", as: UUID.self), default: []].append(
                BMLFinding(subregion: subregion, size: size, bmlPercent: percent, count: try row.decode(column: "lesion_count", as: Int?.self)))
        }
        for key in out.keys { out[key]?.sort { $0.subregion < $1.subregion } }
        return out
    }

    static func record(_ model: ImagingStudyModel, findings: [BMLFinding]) throws -> ImagingStudyRecord {
        try record(id: try model.requireID(), episodeID: model.$episode.id, siteID: model.$site.id, modality: model.modality,
                   timing: model.timing, studyDate: model.studyDate, otherFindingsJSON: model.otherFindingsJSON,
                   kellgrenLawrence: model.kellgrenLawrence, ahlback: model.ahlback, tonnis: model.tonnis, createdAt: model.createdAt,
                   findings: findings)
    }

    /// The columns `record(row:findings:)` reads, of the table named `alias`.
    static func studySelectList(_ alias: String) -> SQLQueryString {
        qualifiedColumns(alias, ["id", "episode_id", "site_id", "modality", "timing", "study_date", "other_findings_json",
                                 "kellgren_lawrence", "ahlback", "tonnis", "created_at"])
    }

    /// A row of `studySelectList` (SQLKit, without a Fluent model's reflection).
    static func record(row: any SQLRow, findings: [UUID: [BMLFinding]]) throws -> ImagingStudyRecord {
        let id = try row.decode(column: "id", as: UUID.self)
        return try record(id: id, episodeID: try row.decode(column: "episode_id", as: UUID.self),
                          siteID: try row.decode(column: "site_id", as: UUID.self), modality: try row.decode(column: "modality", as: String.self),
                          timing: try row.decode(column: "timing", as: String?.self), studyDate: try row.decode(column: "study_date", as: String.self),
                          otherFindingsJSON: try row.decode(column: "other_findings_json", as: String?.self),
                          kellgrenLawrence: try row.decode(column: "kellgren_lawrence", as: Int?.self),
                          ahlback: try row.decode(column: "ahlback", as: String?.self), tonnis: try row.decode(column: "tonnis", as: Int?.self),
                          createdAt: try row.decode(column: "created_at", as: Date?.self), findings: findings[id] ?? [])
    }

    private static func record(id: UUID, episodeID: UUID, siteID: UUID, modality storedModality: String, timing storedTiming: String?,
                               studyDate: String, otherFindingsJSON: String?, kellgrenLawrence: Int?, ahlback storedAhlback: String?,
                               tonnis: Int?, createdAt: Date?, findings: [BMLFinding]) throws -> ImagingStudyRecord {
        guard let modality = ImagingModality(rawValue: storedModality) else {
            throw StoreError.unreadable(field: "modality", value: storedModality)
        }
        // Studies stored before M0015 added the column have no timing; they were all baselines.
        let timing = try storedValue(ImagingTiming.self, storedTiming, field: "timing") ?? .baseline
        let date = try parseStoredDate(studyDate, field: "date")
        var mri: MRIStudy?
        var xray: XRayGrades?
        switch modality {
        case .mri:
            let other = try otherFindingsJSON.map { try StoredJSON.decode(OtherMRIFindings.self, $0, field: "otherFindings") }
            mri = MRIStudy(date: date, bml: findings, insufficiencyFracture: other?.insufficiencyFracture, avn: other?.avn,
                           focalCartilageLesions: other?.focalCartilageLesions, suspectedTumourOrInfection: other?.suspectedTumourOrInfection)
        case .xray:
            // A stored grade outside its scale is an error, never read as "not graded".
            func grade<G: RawRepresentable<Int>>(_ stored: Int?, _ type: G.Type, field: String) throws -> G? {
                guard let stored else { return nil }
                guard let grade = G(rawValue: stored) else { throw StoreError.unreadable(field: field, value: String(stored)) }
                return grade
            }
            let ahlback = try storedAhlback.map { text -> Int in
                guard let number = Int(text) else { throw StoreError.unreadable(field: "xray.ahlback", value: text) }
                return number
            }
            xray = XRayGrades(kellgrenLawrence: try grade(kellgrenLawrence, KellgrenLawrenceGrade.self, field: "xray.kellgrenLawrence"),
                              ahlback: try grade(ahlback, AhlbackGrade.self, field: "xray.ahlback"),
                              tonnis: try grade(tonnis, TonnisGrade.self, field: "xray.tonnis"))
        }
        return ImagingStudyRecord(id: id, episodeID: episodeID, siteID: siteID, timing: timing, modality: modality,
                                  date: date, mri: mri, xray: xray, createdAt: createdAt)
    }
}
