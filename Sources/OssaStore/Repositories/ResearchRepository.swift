import FluentKit
import Foundation
import OssaCore
import SQLKit

/// One treatment episode without identifiers, for registry research (researchers see de-identified
/// data only).
///
/// Left out: names, MRN, contact details, birth date and every calendar date. Ages are given as 10-year bands
/// (90 and over together) at the index date, time as the treatment year and as days counted from the index date
/// (the first IO procedure; the first screening for an untreated episode). `studyKey` is the episode's id: it is
/// meaningless outside the database, and researchers have no access to the identified records it points to.
public struct DeidentifiedEpisode: Sendable, Hashable {
    public var studyKey: UUID
    public var siteID: UUID
    public var joint: Joint
    public var side: Side
    /// `Diagnosis.Kind` raw value (`osteoarthritis`, `bone-marrow-lesion`, …).
    public var diagnosis: String
    public var kellgrenLawrence: Int?
    public var ahlback: Int?
    public var tonnis: Int?
    public var sex: PatientSex?
    /// `"60-69"`, …, `"90+"`; nil when there is no index date.
    public var ageBand: String?
    public var treated: Bool
    public var treatmentYear: Int?
    /// The latest screening decision's standing category (override when present).
    public var screeningCategory: ScreeningCategory?
    public var baselineBMLBurden: Int?
    public var baselineBMLMaxGrade: Int?
    /// Products injected over all procedures, sorted.
    public var products: [InjectedProduct]
    public var intraArticular: Bool
    public var procedures: Int
    public var questionnaireResponses: Int
    /// Days from the index date to the first joint replacement / death, when there was one.
    public var jointReplacementDay: Int?
    public var deathDay: Int?
    /// Days from the index date to the last known contact (censoring).
    public var lastFollowUpDay: Int?
}

public struct ResearchFilter: Sendable, Hashable {
    public var siteID: UUID?
    public var joint: Joint?
    public var diagnosis: String?
    public var treatedOnly: Bool

    public init(siteID: UUID? = nil, joint: Joint? = nil, diagnosis: String? = nil, treatedOnly: Bool = false) {
        self.siteID = siteID
        self.joint = joint
        self.diagnosis = diagnosis
        self.treatedOnly = treatedOnly
    }
}

/// The researchers' de-identified read model, limited to their granted sites; every page is audited as an export.
public struct ResearchRepository: Sendable {
    let database: OssaDatabase

    public func episodes(_ actor: ActingUser, _ filter: ResearchFilter = ResearchFilter(),
                         _ page: PageRequest = PageRequest()) async throws -> Page<DeidentifiedEpisode> {
        let scope = try await Access.require(actor, .export, .deidentified, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            guard var query = EpisodeRepository.scoped(EpisodeModel.query(on: db), actor, scope) else { return ClinicalScope.emptyPage(page) }
            if let siteID = filter.siteID { query = query.filter(\.$site.$id == siteID) }
            if let joint = filter.joint { query = query.filter(\.$joint == joint.rawValue) }
            if let diagnosis = filter.diagnosis { query = query.filter(\.$diagnosisType == diagnosis) }
            // Patients who denied research use of their data are never in a de-identified export.
            let denied = try await ConsentRepository.researchDenied(among: nil, on: try db.sqlDatabase())
            if !denied.isEmpty { query = query.filter(\.$patient.$id !~ Array(denied)) }
            if filter.treatedOnly {
                query = query.filter(.sql(embed: "\(ident: "episodes").\(ident: "id") IN (SELECT \(ident: "episode_id") FROM \(ident: "procedures") WHERE \(ident: "kind") = \(bind: ProcedureKind.io.rawValue))"))
            }
            let total = try await query.copy().count()
            let episodes = try await query.sort(\.$id).range(page.offset..<(page.offset + page.limit)).all()
            let ids = try episodes.map { try $0.requireID() }
            let rows = try await Self.rows(episodes, ids: ids, on: db)
            try await AuditLog.append(AuditEvent(actor: actor, action: .export, recordType: .deidentified,
                                                 recordID: "episodes:offset=\(page.offset),rows=\(rows.count)"), on: db)
            return Page(items: rows, total: total, limit: page.limit, offset: page.offset)
        }
    }

    static func rows(_ episodes: [EpisodeModel], ids: [UUID], on db: any Database) async throws -> [DeidentifiedEpisode] {
        guard !ids.isEmpty else { return [] }
        let patients = try await PatientModel.query(on: db).filter(\.$id ~~ Set(episodes.map { $0.$patient.id })).all()
        let patientByID = Dictionary(try patients.map { (try $0.requireID(), $0) }, uniquingKeysWith: { a, _ in a })
        let procedures = try await ProcedureModel.query(on: db).filter(\.$episode.$id ~~ ids).sort(\.$procedureDate).all()
        let injections = try await ProcedureRepository.injections(of: try procedures.map { try $0.requireID() }, on: db)
        let screenings = try await ScreeningDecisionModel.query(on: db).filter(\.$episode.$id ~~ ids).sort(\.$evaluationDate).all()
        let studies = try await ImagingStudyModel.query(on: db).filter(\.$episode.$id ~~ ids).filter(\.$modality == ImagingModality.mri.rawValue)
            .sort(\.$studyDate).all()
        let findings = try await ImagingRepository.findings(of: try studies.map { try $0.requireID() }, on: db)
        let outcomes = try await OutcomeEventModel.query(on: db).filter(\.$episode.$id ~~ ids).sort(\.$eventDate).all()
        let sql = try db.sqlDatabase()
        let responseRows = try await sql.select().column("episode_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
            .column(SQLFunction("MAX", args: SQLColumn("completed_at")), as: "last")
            .from("questionnaire_responses").where("episode_id", .in, SQLBind.group(ids)).groupBy("episode_id").all()
        var responseCount: [UUID: Int] = [:], lastResponse: [UUID: Date] = [:]
        for row in responseRows {
            let id = try row.decode(column: "episode_id", as: UUID.self)
            responseCount[id] = try row.decode(column: "n", as: Int.self)
            lastResponse[id] = try? row.decode(column: "last", as: Date.self)
        }

        return try episodes.map { episode in
            let id = try episode.requireID()
            let record = try EpisodeRecord(episode)
            let mine = procedures.filter { $0.$episode.id == id }
            let io = mine.filter { $0.kind == ProcedureKind.io.rawValue }
            let firstScreening = screenings.first { $0.$episode.id == id }
            let indexDate = try (io.first?.procedureDate ?? firstScreening?.evaluationDate).map { try parseStoredDate($0, field: "indexDate") }
            var grading: OAGrading?
            if case .osteoarthritis(let g) = record.diagnosis { grading = g }
            let patient = patientByID[episode.$patient.id]
            var ageBand: String?
            if let indexDate, let birth = try patient.map({ try parseStoredDate($0.birthDate, field: "birthDate") }) {
                var age = indexDate.year - birth.year
                if (indexDate.month, indexDate.day) < (birth.month, birth.day) { age -= 1 }
                ageBand = age >= 90 ? "90+" : "\(age / 10 * 10)-\(age / 10 * 10 + 9)"
            }
            let latest = screenings.last { $0.$episode.id == id }
            let baseline = studies.first { $0.$episode.id == id }
            let summary = try baseline.map { BMLSummary(findings[try $0.requireID()] ?? []) }
            let injected = try mine.flatMap { injections[try $0.requireID()] ?? [] }
            let events = outcomes.filter { $0.$episode.id == id }
            func day(_ iso: String?) throws -> Int? {
                guard let iso, let indexDate else { return nil }
                return indexDate.days(to: try parseStoredDate(iso, field: "date"))
            }
            let lastDates = [episode.lastContactDate, events.last?.eventDate, mine.last?.procedureDate,
                             lastResponse[id].map { CalendarDate(utc: $0).iso }].compactMap { $0 }
            return DeidentifiedEpisode(
                studyKey: id, siteID: episode.$site.id, joint: record.joint, side: record.side, diagnosis: episode.diagnosisType,
                kellgrenLawrence: grading?.kellgrenLawrence?.rawValue, ahlback: grading?.ahlback?.rawValue, tonnis: grading?.tonnis?.rawValue,
                sex: patient?.sex.flatMap(PatientSex.init(rawValue:)), ageBand: ageBand, treated: !io.isEmpty,
                treatmentYear: io.isEmpty ? nil : indexDate?.year,
                screeningCategory: (latest?.overrideCategory ?? latest?.category).flatMap(ScreeningCategory.init(rawValue:)),
                baselineBMLBurden: summary?.burden, baselineBMLMaxGrade: summary?.maxGrade,
                products: Array(Set(injected.map(\.product))).sorted { $0.rawValue < $1.rawValue },
                intraArticular: injected.contains { $0.target == .intraArticular },
                procedures: mine.count, questionnaireResponses: responseCount[id] ?? 0,
                jointReplacementDay: try day(events.first { $0.kind == OutcomeKind.jointReplacement.rawValue }?.eventDate),
                deathDay: try day(events.first { $0.kind == OutcomeKind.death.rawValue }?.eventDate),
                lastFollowUpDay: try day(lastDates.max()))
        }
    }
}
