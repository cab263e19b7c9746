import Foundation

/// Anatomical grouping of BML subregions used for "compartments involved".
///
/// Knee compartments follow MOAKS (Hunter 2011). For the hip the groups are the two
/// bones (femoral head, acetabulum): the HOAMS subregions (Roemer 2011) were not available to us.
public enum Compartment: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    case patellofemoral
    case medialTibiofemoral = "medial-tibiofemoral"
    case lateralTibiofemoral = "lateral-tibiofemoral"
    case subspinous
    case femoralHead = "femoral-head"
    case acetabulum

    public static func < (a: Compartment, b: Compartment) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Bone where an intraosseous injection can be placed (knee: Sánchez 2014 technique; hip: Sánchez/Fiz technique).
public enum BoneTarget: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    case medialTibialPlateau = "medial-tibial-plateau"
    case lateralTibialPlateau = "lateral-tibial-plateau"
    case medialFemoralCondyle = "medial-femoral-condyle"
    case lateralFemoralCondyle = "lateral-femoral-condyle"
    case patella
    case trochlea
    case femoralHead = "femoral-head"
    case acetabulum

    public var displayName: String {
        switch self {
        case .medialTibialPlateau: "medial tibial plateau"
        case .lateralTibialPlateau: "lateral tibial plateau"
        case .medialFemoralCondyle: "medial femoral condyle"
        case .lateralFemoralCondyle: "lateral femoral condyle"
        case .patella: "patella"
        case .trochlea: "trochlea"
        case .femoralHead: "femoral head"
        case .acetabulum: "acetabulum (supra-acetabular roof)"
        }
    }

    public static func < (a: BoneTarget, b: BoneTarget) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public init(from decoder: any Decoder) throws {
        self = try decodeNamedCase(from: decoder, what: "bone target")
    }
}

/// BML subregions: the 15 MOAKS knee locations, and a pragmatic hip set.
///
/// Hip: HOAMS (Roemer 2011) subregions were not retrievable (paper not available to us), so Ossa defines
/// six femoral-head regions (superior, anterior, posterior, medial, lateral, central weight-bearing)
/// and three acetabular regions (superior roof, anterior, posterior). Replace them with HOAMS once the
/// paper is obtained; stored findings keep their raw codes.
public enum BMLSubregion: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    // Knee (MOAKS)
    case patellaMedial = "patella-medial"
    case patellaLateral = "patella-lateral"
    case trochleaMedial = "trochlea-medial"
    case trochleaLateral = "trochlea-lateral"
    case femurCentralMedial = "femur-central-medial"
    case femurCentralLateral = "femur-central-lateral"
    case femurPosteriorMedial = "femur-posterior-medial"
    case femurPosteriorLateral = "femur-posterior-lateral"
    case tibiaAnteriorMedial = "tibia-anterior-medial"
    case tibiaCentralMedial = "tibia-central-medial"
    case tibiaPosteriorMedial = "tibia-posterior-medial"
    case tibiaAnteriorLateral = "tibia-anterior-lateral"
    case tibiaCentralLateral = "tibia-central-lateral"
    case tibiaPosteriorLateral = "tibia-posterior-lateral"
    case subspinous
    // Hip (pragmatic set; see type documentation)
    case femoralHeadSuperior = "femoral-head-superior"
    case femoralHeadAnterior = "femoral-head-anterior"
    case femoralHeadPosterior = "femoral-head-posterior"
    case femoralHeadMedial = "femoral-head-medial"
    case femoralHeadLateral = "femoral-head-lateral"
    case femoralHeadCentral = "femoral-head-central"
    case acetabulumSuperior = "acetabulum-superior"
    case acetabulumAnterior = "acetabulum-anterior"
    case acetabulumPosterior = "acetabulum-posterior"

    public var joint: Joint {
        switch compartment {
        case .femoralHead, .acetabulum: .hip
        default: .knee
        }
    }

    public var compartment: Compartment {
        switch self {
        case .patellaMedial, .patellaLateral, .trochleaMedial, .trochleaLateral: .patellofemoral
        case .femurCentralMedial, .femurPosteriorMedial, .tibiaAnteriorMedial, .tibiaCentralMedial, .tibiaPosteriorMedial:
            .medialTibiofemoral
        case .femurCentralLateral, .femurPosteriorLateral, .tibiaAnteriorLateral, .tibiaCentralLateral, .tibiaPosteriorLateral:
            .lateralTibiofemoral
        case .subspinous: .subspinous
        case .femoralHeadSuperior, .femoralHeadAnterior, .femoralHeadPosterior, .femoralHeadMedial, .femoralHeadLateral, .femoralHeadCentral:
            .femoralHead
        case .acetabulumSuperior, .acetabulumAnterior, .acetabulumPosterior: .acetabulum
        }
    }

    /// Where an IO injection for a lesion in this subregion goes. The subspinous region lies between
    /// the tibial spines; it is reached through the medial plateau portal (the usual tibial entry,
    /// Sánchez 2014), so it maps to the medial tibial plateau.
    public var boneTarget: BoneTarget {
        switch self {
        case .patellaMedial, .patellaLateral: .patella
        case .trochleaMedial, .trochleaLateral: .trochlea
        case .femurCentralMedial, .femurPosteriorMedial: .medialFemoralCondyle
        case .femurCentralLateral, .femurPosteriorLateral: .lateralFemoralCondyle
        case .tibiaAnteriorMedial, .tibiaCentralMedial, .tibiaPosteriorMedial, .subspinous: .medialTibialPlateau
        case .tibiaAnteriorLateral, .tibiaCentralLateral, .tibiaPosteriorLateral: .lateralTibialPlateau
        case .femoralHeadSuperior, .femoralHeadAnterior, .femoralHeadPosterior, .femoralHeadMedial, .femoralHeadLateral, .femoralHeadCentral:
            .femoralHead
        case .acetabulumSuperior, .acetabulumAnterior, .acetabulumPosterior: .acetabulum
        }
    }

    public static func subregions(of joint: Joint) -> [BMLSubregion] { allCases.filter { $0.joint == joint } }

    public static func < (a: BMLSubregion, b: BMLSubregion) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public init(from decoder: any Decoder) throws {
        self = try decodeNamedCase(from: decoder, what: "BML subregion")
    }
}

/// MOAKS BML reading for one subregion (Hunter 2011). Subregions not listed read as grade 0.
public struct BMLFinding: Sendable, Hashable, Codable {
    public var subregion: BMLSubregion
    /// Size grade 0–3 (% of subregion volume).
    public var size: BMLSizeGrade
    /// % of the lesion that is BML rather than cyst, 0–3.
    public var bmlPercent: BMLPercentGrade?
    /// Number of distinct BMLs in the subregion.
    public var count: Int?

    public init(subregion: BMLSubregion, size: BMLSizeGrade, bmlPercent: BMLPercentGrade? = nil, count: Int? = nil) {
        self.subregion = subregion
        self.size = size
        self.bmlPercent = bmlPercent
        self.count = count
    }

    /// More than 20 separate lesions in one subregion is a typing error, not a reading.
    public static let plausibleCount = 0...20

    func validate(at path: String) throws(FieldValidationError) {
        if let count {
            guard Self.plausibleCount.contains(count) else {
                throw FieldValidationError(path: FieldPath.join(path, "count"), message: "\(count) is outside the plausible range 0–20 lesions")
            }
            if size == .none, count > 0 {
                throw FieldValidationError(path: FieldPath.join(path, "count"), message: "\(count) lesions recorded with size grade 0")
            }
            if size != .none, count == 0 {
                throw FieldValidationError(path: FieldPath.join(path, "count"), message: "0 lesions recorded with size grade \(size.rawValue)")
            }
        }
    }
}

/// Summary of a BML reading (MOAKS-derived summaries: burden, maximal grade, compartments).
public struct BMLSummary: Sendable, Hashable, Codable {
    /// Sum of size grades over all subregions.
    public var burden: Int
    /// Largest size grade (0 when none).
    public var maxGrade: Int
    /// Subregions with size grade ≥ 1.
    public var subregionsInvolved: Int
    /// Subregions with size grade ≥ 2.
    public var subregionsGrade2OrMore: Int
    /// Compartments with at least one subregion of grade ≥ 1, in anatomical order.
    public var compartments: [Compartment]

    public init(_ findings: [BMLFinding]) {
        burden = findings.reduce(0) { $0 + $1.size.rawValue }
        maxGrade = findings.map(\.size.rawValue).max() ?? 0
        subregionsInvolved = findings.filter { $0.size >= .small }.count
        subregionsGrade2OrMore = findings.filter { $0.size >= .medium }.count
        compartments = Set(findings.filter { $0.size >= .small }.map(\.subregion.compartment)).sorted()
    }
}

/// Per-subregion change between a baseline and a follow-up MRI (negative = improvement).
public struct BMLChange: Sendable, Hashable, Codable {
    public var subregion: BMLSubregion
    public var baseline: Int
    public var followUp: Int
    public var change: Int { followUp - baseline }

    /// Compares two readings; a subregion absent from one study is read as grade 0 there, and
    /// subregions that are 0 on both are omitted.
    public static func compare(baseline: [BMLFinding], followUp: [BMLFinding]) -> [BMLChange] {
        let before = Dictionary(baseline.map { ($0.subregion, $0.size.rawValue) }, uniquingKeysWith: max)
        let after = Dictionary(followUp.map { ($0.subregion, $0.size.rawValue) }, uniquingKeysWith: max)
        return Set(before.keys).union(after.keys).sorted().compactMap { region in
            let b = before[region] ?? 0, a = after[region] ?? 0
            return (a == 0 && b == 0) ? nil : BMLChange(subregion: region, baseline: b, followUp: a)
        }
    }
}

/// Depth of a focal cartilage lesion.
public enum CartilageLesionDepth: String, Sendable, Codable, CaseIterable {
    case partialThickness = "partial-thickness"
    case fullThickness = "full-thickness"
    case osteochondral

    public init(from decoder: any Decoder) throws {
        self = try decodeNamedCase(from: decoder, what: "cartilage lesion depth")
    }
}

/// A focal (circumscribed) cartilage defect — a surgical question: IO therapy does not regrow cartilage.
public struct FocalCartilageLesion: Sendable, Hashable, Codable {
    public var subregion: BMLSubregion?
    /// Area in cm².
    public var areaCm2: Double?
    public var depth: CartilageLesionDepth?

    public init(subregion: BMLSubregion? = nil, areaCm2: Double? = nil, depth: CartilageLesionDepth? = nil) {
        self.subregion = subregion
        self.areaCm2 = areaCm2
        self.depth = depth
    }

    /// Largest focal lesion area worth recording; beyond that it is diffuse loss, not focal.
    public static let plausibleAreaCm2 = 0.0...20.0
}

/// A subchondral insufficiency-fracture line on MRI.
public struct InsufficiencyFractureLine: Sendable, Hashable, Codable {
    public var subregion: BMLSubregion?
    public var lengthMm: Double?
    public init(subregion: BMLSubregion? = nil, lengthMm: Double? = nil) {
        self.subregion = subregion
        self.lengthMm = lengthMm
    }
}

/// An osteonecrotic lesion on MRI.
public struct AVNLesion: Sendable, Hashable, Codable {
    public var subregion: BMLSubregion?
    /// Subchondral collapse present.
    public var collapse: Bool?
    /// Articular surface depression in mm (ARCO IIIA ≤ 2 mm, IIIB > 2 mm).
    public var depressionMm: Double?
    public init(subregion: BMLSubregion? = nil, collapse: Bool? = nil, depressionMm: Double? = nil) {
        self.subregion = subregion
        self.collapse = collapse
        self.depressionMm = depressionMm
    }
}

/// One MRI study of the treated joint.
public struct MRIStudy: Sendable, Hashable, Codable {
    public var date: CalendarDate
    /// BML per subregion; unlisted subregions are grade 0.
    public var bml: [BMLFinding]
    public var insufficiencyFracture: InsufficiencyFractureLine?
    public var avn: AVNLesion?
    public var focalCartilageLesions: [FocalCartilageLesion]?
    /// Radiologist raised suspicion of tumour or osteomyelitis (an IO-access red flag).
    public var suspectedTumourOrInfection: Bool?

    public init(date: CalendarDate, bml: [BMLFinding] = [], insufficiencyFracture: InsufficiencyFractureLine? = nil,
                avn: AVNLesion? = nil, focalCartilageLesions: [FocalCartilageLesion]? = nil, suspectedTumourOrInfection: Bool? = nil) {
        self.date = date
        self.bml = bml
        self.insufficiencyFracture = insufficiencyFracture
        self.avn = avn
        self.focalCartilageLesions = focalCartilageLesions
        self.suspectedTumourOrInfection = suspectedTumourOrInfection
    }

    public var bmlSummary: BMLSummary { BMLSummary(bml) }

    /// Checks subregions against the joint, duplicates, counts and sizes.
    public func validate(joint: Joint, at path: String) throws(FieldValidationError) {
        var seen = Set<BMLSubregion>()
        for (i, finding) in bml.enumerated() {
            let here = FieldPath.index(FieldPath.join(path, "bml"), i)
            if joint == .knee || joint == .hip, finding.subregion.joint != joint {
                throw FieldValidationError(path: FieldPath.join(here, "subregion"),
                                           message: "\"\(finding.subregion.rawValue)\" is a \(finding.subregion.joint.rawValue) subregion, but the joint is the \(joint.rawValue)")
            }
            if joint == .ankle || joint == .shoulder {
                throw FieldValidationError(path: FieldPath.join(here, "subregion"),
                                           message: "no BML subregion grid is defined for the \(joint.rawValue); describe the lesion in the clinical note")
            }
            if !seen.insert(finding.subregion).inserted {
                throw FieldValidationError(path: FieldPath.join(here, "subregion"), message: "\"\(finding.subregion.rawValue)\" is listed twice")
            }
            try finding.validate(at: here)
        }
        for (i, lesion) in (focalCartilageLesions ?? []).enumerated() {
            let here = FieldPath.index(FieldPath.join(path, "focalCartilageLesions"), i)
            if let area = lesion.areaCm2, !FocalCartilageLesion.plausibleAreaCm2.contains(area) || area == 0 {
                throw FieldValidationError(path: FieldPath.join(here, "areaCm2"), message: "\(area) cm² is outside the plausible range (0–20 cm²]")
            }
        }
        if let depth = avn?.depressionMm, depth < 0 || depth > 30 {
            throw FieldValidationError(path: FieldPath.join(path, "avn.depressionMm"), message: "\(depth) mm is outside the plausible range 0–30 mm")
        }
    }
}
