import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// X-ray grades: Kellgren–Lawrence 0–4, Ahlbäck "I"–"V" (knee), Tönnis 0–3 (hip).
struct XRayGradesDTO: Codable, Sendable {
    var kellgrenLawrence: KellgrenLawrenceGrade?
    var ahlback: AhlbackGrade?
    var tonnis: TonnisGrade?
}

/// An MRI reading: MOAKS BML grades per subregion (unlisted subregions read as grade 0) and the other findings.
struct MRIFindingsDTO: Codable, Sendable {
    var bml: [BMLFinding]?
    var insufficiencyFracture: InsufficiencyFractureLine?
    var avn: AVNLesion?
    var focalCartilageLesions: [FocalCartilageLesion]?
    var suspectedTumourOrInfection: Bool?

    init(_ study: MRIStudy) {
        bml = study.bml
        insufficiencyFracture = study.insufficiencyFracture
        avn = study.avn
        focalCartilageLesions = study.focalCartilageLesions
        suspectedTumourOrInfection = study.suspectedTumourOrInfection
    }

    func study(on date: CalendarDate) -> MRIStudy {
        MRIStudy(date: date, bml: bml ?? [], insufficiencyFracture: insufficiencyFracture, avn: avn,
                 focalCartilageLesions: focalCartilageLesions, suspectedTumourOrInfection: suspectedTumourOrInfection)
    }
}

/// An imaging study on the wire: an MRI with its findings and BML summary, or an x-ray with its grades.
struct ImagingStudyDTO: Codable, Sendable {
    var id: String
    var episodeId: String
    var siteId: String
    var timing: ImagingTiming
    var modality: ImagingModality
    var date: CalendarDate
    var mri: MRIFindingsDTO?
    var bmlSummary: BMLSummary?
    var xray: XRayGradesDTO?
    var createdAt: String?

    init(_ record: ImagingStudyRecord) {
        id = record.id.lowercasedID
        episodeId = record.episodeID.lowercasedID
        siteId = record.siteID.lowercasedID
        timing = record.timing
        modality = record.modality
        date = record.date
        mri = record.mri.map { MRIFindingsDTO($0) }
        bmlSummary = record.mri == nil ? nil : record.bmlSummary
        xray = record.xray.map { XRayGradesDTO(kellgrenLawrence: $0.kellgrenLawrence, ahlback: $0.ahlback, tonnis: $0.tonnis) }
        createdAt = WireDate.string(record.createdAt)
    }
}

/// POST body: `mri` for an MRI study, `xray` for an x-ray (exactly the one matching `modality`).
struct NewImagingStudyDTO: Codable, Sendable {
    var timing: ImagingTiming
    var modality: ImagingModality
    var date: CalendarDate
    var mri: MRIFindingsDTO?
    var xray: XRayGradesDTO?
}

/// Per-subregion BML size-grade change from a baseline to a follow-up MRI (negative = improvement).
struct BMLChangeDTO: Codable, Sendable {
    var subregion: BMLSubregion
    var baseline: Int
    var followUp: Int
    var change: Int
}

struct BMLComparisonDTO: Codable, Sendable {
    var baselineId: String
    var followUpId: String
    var changes: [BMLChangeDTO]
}

/// Imaging studies and their X-ray and MOAKS MRI findings. Coordinators transcribe reports, clinicians too; both read.
struct ImagingAPI: APIRouteGroup {
    let store: OssaStore

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.get, Paths.API.imagingStudies, use: list)
        api.on(.get, Paths.API.imagingStudy, use: get)
        api.on(.get, Paths.API.imagingStudyBMLChange, use: compare)
        api.on(.get, Paths.API.episodeImagingStudies, use: listForEpisode)
        api.on(.post, Paths.API.episodeImagingStudies, use: create)
    }

    @Sendable func list(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: nil)
    }

    @Sendable func listForEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await listing(request, context: context, episodeID: try context.uuidParameter("episodeID"))
    }

    /// Oldest first. Filters: `episode`, `patient`, `timing`, `modality`, `from`/`to` (study date).
    func listing(_ request: Request, context: OssaRequestContext, episodeID pathEpisode: UUID?) async throws -> Response {
        let actor = try context.requireUser()
        let query = ClinicalQuery(request)
        let filter = ImagingFilter(episodeID: try pathEpisode ?? query.uuid("episode"), patientID: try query.uuid("patient"),
                                   timing: try query.value("timing", as: ImagingTiming.self),
                                   modality: try query.value("modality", as: ImagingModality.self),
                                   studied: try query.dateRange())
        let result = try await store.imaging.list(actor, filter, try query.page())
        return try JSONIO.response(PageDTO(result, ImagingStudyDTO.init))
    }

    @Sendable func get(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let record = try await store.imaging.get(try context.requireUser(), try context.uuidParameter("studyID"))
        return try JSONIO.response(ImagingStudyDTO(record))
    }

    @Sendable func create(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let episodeID = try context.uuidParameter("episodeID")
        let body = try await JSONIO.decode(NewImagingStudyDTO.self, from: request, context: context)
        let new: NewImagingStudy
        switch body.modality {
        case .mri:
            guard let mri = body.mri else {
                throw Problem.validation([FieldProblem(field: "mri", message: "an MRI study needs its reading (\"mri\": {\"bml\": […]})")])
            }
            guard body.xray == nil else {
                throw Problem.validation([FieldProblem(field: "xray", message: "an MRI study has no x-ray grades")])
            }
            new = NewImagingStudy(episodeID: episodeID, timing: body.timing, mri: mri.study(on: body.date))
        case .xray:
            guard let xray = body.xray else {
                throw Problem.validation([FieldProblem(field: "xray", message: "an x-ray study needs its grades (\"xray\": {\"kellgrenLawrence\": …})")])
            }
            guard body.mri == nil else {
                throw Problem.validation([FieldProblem(field: "mri", message: "an x-ray study has no MRI reading")])
            }
            guard xray.kellgrenLawrence != nil || xray.ahlback != nil || xray.tonnis != nil else {
                throw Problem.validation([FieldProblem(field: "xray", message: "record at least one grade (kellgrenLawrence, ahlback or tonnis)")])
            }
            new = NewImagingStudy(episodeID: episodeID, timing: body.timing, xrayOn: body.date,
                                  grades: XRayGrades(kellgrenLawrence: xray.kellgrenLawrence, ahlback: xray.ahlback, tonnis: xray.tonnis))
        }
        let record = try await store.imaging.create(actor, new)
        return try JSONIO.response(ImagingStudyDTO(record), status: .created,
                                   headers: [.location: Paths.API.imagingStudy.url(record.id)])
    }

    /// `GET /imaging-studies/{followUp}/bml-change?baseline={id}`: both MRI studies of the same episode.
    @Sendable func compare(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let followUp = try context.uuidParameter("studyID")
        guard let baseline = try ClinicalQuery(request).uuid("baseline") else {
            throw Problem.badParameter("baseline", "is required: the id of the baseline MRI study")
        }
        let changes = try await store.imaging.compare(actor, baseline: baseline, followUp: followUp)
        return try JSONIO.response(BMLComparisonDTO(
            baselineId: baseline.lowercasedID, followUpId: followUp.lowercasedID,
            changes: changes.map { BMLChangeDTO(subregion: $0.subregion, baseline: $0.baseline, followUp: $0.followUp, change: $0.change) }))
    }
}
